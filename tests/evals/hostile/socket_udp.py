# side-effect: udp
import socket


def evaluate(trace):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"leak", ("127.0.0.1", {{UDP_PORT}}))
    return True
