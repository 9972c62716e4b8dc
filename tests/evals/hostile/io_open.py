# side-effect: file
import io


def evaluate(trace):
    io.open("{{MARKER}}", "w").write("pwned")
    return True
