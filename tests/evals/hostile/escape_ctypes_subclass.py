# side-effect: process
def _all_classes():
    seen, todo = [], [().__class__.__base__]
    while todo:
        c = todo.pop()
        seen.append(c)
        todo.extend(c.__subclasses__() if c is not type else [])
    return seen


def evaluate(trace):
    for c in _all_classes():
        if c.__name__ == "CDLL":
            c(None).system(b"touch {{MARKER}}")
            return True
    raise LookupError("ctypes is not loaded in this worker")
