"""The echo server of examples/echo.rs, in eventlet: one green thread per
client, spawned on a GreenPool by eventlet.serve. `scripts/bench-echo.sh`
runs it beside the others when Python has eventlet (`pip install
eventlet`)."""
import sys

import eventlet


def echo(sock, _addr):
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)


def main():
    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9000").rsplit(":", 1)
    eventlet.serve(eventlet.listen((host, int(port)), backlog=1024), echo, concurrency=10000)


if __name__ == "__main__":
    main()
