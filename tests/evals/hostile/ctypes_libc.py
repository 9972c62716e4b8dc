# side-effect: process
import ctypes


def evaluate(trace):
    ctypes.CDLL(None).system(b"touch {{MARKER}}")
    return True
