# side-effect: none
# expect: RecursionError
def evaluate(trace):
    def down(n):
        return down(n + 1) + 1

    return down(0) > 0
