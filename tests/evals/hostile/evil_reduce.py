# side-effect: none
# expect: wrong return type
class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def evaluate(trace):
    return Evil(), "reason"
