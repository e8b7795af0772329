"""The echo server of examples/echo.rs, in gevent: one greenlet per client.
`scripts/bench-echo.sh` runs it beside green's, tokio's and std's when
Python has gevent (`pip install gevent`)."""
import sys

from gevent.server import StreamServer


def echo(sock, _addr):
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)


def main():
    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9000").rsplit(":", 1)
    StreamServer((host, int(port)), echo, backlog=1024).serve_forever()


if __name__ == "__main__":
    main()
