# side-effect: file
import tempfile


def evaluate(trace):
    f = tempfile.NamedTemporaryFile(dir="{{MARKER_DIR}}", delete=False)
    f.write(b"pwned")
    return True
