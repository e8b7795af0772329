"""The echo server of examples/echo.rs, in gevent: one greenlet per client.
`scripts/bench-echo.sh` runs it beside green's, tokio's and std's when
Python has gevent (`pip install gevent`)."""
import sys

from gevent.server import StreamServer

from echo_handler import address, echo

if __name__ == "__main__":
    StreamServer(address(sys.argv), echo, backlog=1024).serve_forever()
