# side-effect: file
import os


def evaluate(trace):
    fd = os.open("{{MARKER}}", os.O_CREAT | os.O_WRONLY)
    os.write(fd, b"pwned")
    return True
