# side-effect: secret
def evaluate(trace):
    return False, open("/etc/passwd").read()
