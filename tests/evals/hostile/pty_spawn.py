# side-effect: process
import pty


def evaluate(trace):
    pty.spawn(["sh", "-c", "touch {{MARKER}}"])
    return True
