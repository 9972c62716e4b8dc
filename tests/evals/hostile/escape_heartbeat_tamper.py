# side-effect: none
# expect: timeout
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__


def evaluate(trace):
    os = _os()
    for fd in range(3, 32):  # look for the heartbeat memfd to fake progress while spinning
        try:
            os["pwrite"](fd, (1).to_bytes(8, "little"), 0)
        except OSError:
            pass
    while True:
        pass
