"""The echo server of examples/echo.rs, in eventlet: one green thread per
client, spawned on a GreenPool by eventlet.serve. `scripts/bench-echo.sh`
runs it beside the others when Python has eventlet (`pip install
eventlet`)."""
import sys

import eventlet

from echo_handler import address, echo

if __name__ == "__main__":
    eventlet.serve(eventlet.listen(address(sys.argv), backlog=1024), echo, concurrency=10000)
