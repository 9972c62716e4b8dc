# side-effect: none
# expect: timeout
import re


def evaluate(trace):
    return bool(re.match(r"(a+)+$", "a" * 64 + "b"))
