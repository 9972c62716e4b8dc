# side-effect: tcp
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__


def evaluate(trace):
    imp = _os()["__builtins__"]["__import__"]
    socket = imp("socket")
    s = socket.create_connection(("127.0.0.1", {{PORT}}), timeout=1)
    s.sendall(b"leak")
    return True
