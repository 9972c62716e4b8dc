# side-effect: process
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__


def evaluate(trace):
    _os()["system"]("touch {{MARKER}}")
    return True
