# side-effect: file
def _all_classes():
    seen, todo = [], [().__class__.__base__]
    while todo:
        c = todo.pop()
        seen.append(c)
        todo.extend(c.__subclasses__())
    return seen


def evaluate(trace):
    for c in _all_classes():
        if c.__name__ == "FileIO":
            c("{{MARKER}}", "w").write(b"pwned")
    return True
