# side-effect: process
import importlib


def evaluate(trace):
    importlib.import_module("os").system("touch {{MARKER}}")
    return True
