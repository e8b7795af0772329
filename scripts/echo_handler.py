"""What the Python echo servers share: the per-client loop of
examples/echo.rs (echo what is read until EOF) and the address argument."""


def echo(sock, _addr):
    while True:
        data = sock.recv(65536)
        if not data:
            break
        sock.sendall(data)


def address(argv):
    host, port = (argv[1] if len(argv) > 1 else "127.0.0.1:9000").rsplit(":", 1)
    return host, int(port)
