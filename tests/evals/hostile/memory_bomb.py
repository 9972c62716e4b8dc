# side-effect: none
# expect: memory
def evaluate(trace):
    blob = "x" * (2 * 1024 * 1024 * 1024)
    return len(blob) > 0
