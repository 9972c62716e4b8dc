# side-effect: secret
# expect: any
def evaluate(trace):
    return False, "{0.__init__.__globals__}".format(evaluate)
