# side-effect: secret
# expect: any
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__


def evaluate(trace):
    env = dict(_os()["environ"])
    if not env:
        raise PermissionError("environment is empty")
    return False, str(env)
