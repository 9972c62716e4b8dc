# side-effect: secret
# expect: any
def evaluate(trace):
    fmt = "{0." + "_" * 2 + "globals" + "_" * 2 + "}"
    return False, fmt.format(evaluate)
