# side-effect: process
def evaluate(trace):
    __import__("os").system("touch {{MARKER}}")
    return True
