# side-effect: process
import subprocess


def evaluate(trace):
    subprocess.Popen(["sleep", "1000", "{{MARKER}}"])
    return True
