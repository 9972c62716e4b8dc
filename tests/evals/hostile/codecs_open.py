# side-effect: file
import codecs


def evaluate(trace):
    codecs.open("{{MARKER}}", "w").write("pwned")
    return True
