# side-effect: none
# expect: timeout
def evaluate(trace):
    while True:
        pass
