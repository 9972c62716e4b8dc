# side-effect: file
def evaluate(trace):
    with open("{{MARKER}}", "w") as f:
        f.write("pwned")
    return True
