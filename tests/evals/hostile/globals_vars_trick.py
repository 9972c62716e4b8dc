# side-effect: process
def evaluate(trace):
    b = globals()["__builtins__"]
    return False, str(vars(b))
