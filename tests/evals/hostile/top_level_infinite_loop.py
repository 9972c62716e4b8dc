# side-effect: none
# expect: timeout
while True:
    pass


def evaluate(trace):
    return True
