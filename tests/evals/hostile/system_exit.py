# side-effect: none
# expect: SystemExit
def evaluate(trace):
    raise SystemExit(0)
