# side-effect: none
# expect: wrong return type
class Truthy(int):
    def __bool__(self):
        return True


def evaluate(trace):
    return Truthy(1)
