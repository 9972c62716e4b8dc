# side-effect: none
# expect: wrong return type
class Evil:
    def __eq__(self, other):
        return True

    def __hash__(self):
        return hash(True)


def evaluate(trace):
    return Evil()
