# side-effect: none
# expect: wrong return type
def evaluate(trace):
    return None
