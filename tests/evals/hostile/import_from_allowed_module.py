# side-effect: process
from json import codecs


def evaluate(trace):
    codecs.open("{{MARKER}}", "w").write("x")
    return True
