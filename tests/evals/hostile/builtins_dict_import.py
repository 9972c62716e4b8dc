# side-effect: process
def evaluate(trace):
    __builtins__["__import__"]("os").system("touch {{MARKER}}")
    return True
