# side-effect: file
import pathlib


def evaluate(trace):
    pathlib.Path("{{MARKER}}").write_text("pwned")
    return True
