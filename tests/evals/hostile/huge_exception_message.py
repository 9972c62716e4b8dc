# side-effect: none
# expect: ValueError
def evaluate(trace):
    raise ValueError("y" * 5_000_000)
