# side-effect: tcp
import socket


def evaluate(trace):
    s = socket.create_connection(("127.0.0.1", {{PORT}}), timeout=1)
    s.sendall(b"leak")
    return True
