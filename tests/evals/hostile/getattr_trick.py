# side-effect: process
def evaluate(trace):
    cls = getattr(trace, "__cl" + "ass__")
    return False, str(cls)
