# side-effect: secret
import os


def evaluate(trace):
    return False, str(dict(os.environ))
