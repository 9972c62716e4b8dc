# side-effect: process
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__


def evaluate(trace):
    imp = _os()["__builtins__"]["__import__"]
    ctypes = imp("ctypes")
    ctypes.CDLL(None).system(b"touch {{MARKER}}")
    return True
