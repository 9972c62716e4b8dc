# side-effect: udp
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__


def evaluate(trace):
    imp = _os()["__builtins__"]["__import__"]
    socket = imp("_socket")
    s = socket.socket(2, 2)
    s.sendto(b"leak", ("127.0.0.1", {{UDP_PORT}}))
    return True
