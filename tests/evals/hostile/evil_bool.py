# side-effect: none
# expect: wrong return type
class Evil:
    def __bool__(self):
        while True:
            pass


def evaluate(trace):
    return Evil()
