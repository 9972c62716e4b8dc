# side-effect: file
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__


def evaluate(trace):
    os = _os()
    fd = os["open"]("{{MARKER}}", os["O_CREAT"] | os["O_WRONLY"])
    os["write"](fd, b"pwned")
    return True
