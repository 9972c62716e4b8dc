# side-effect: none
def evaluate(trace):
    breakpoint()
    return input() == "yes"
