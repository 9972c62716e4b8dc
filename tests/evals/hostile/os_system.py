# side-effect: process
import os


def evaluate(trace):
    os.system("touch {{MARKER}}; sleep 1000 {{MARKER}} &")
    return True
