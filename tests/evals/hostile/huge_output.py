# side-effect: none
# expect: output too large
def evaluate(trace):
    return False, "x" * 5_000_000
