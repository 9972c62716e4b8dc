# side-effect: file
import json


def evaluate(trace):
    json.codecs.open("{{MARKER}}", "w").write("pwned")
    return True
