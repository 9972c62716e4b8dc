# side-effect: process
import os
import time


def evaluate(trace):
    if os.fork() == 0:
        time.sleep(1000)
    return True
