# side-effect: process
import os


def evaluate(trace):
    os.execv("/bin/sh", ["sh", "-c", "touch {{MARKER}}"])
