# side-effect: none
# expect: timeout
import collections
import itertools


def evaluate(trace):
    collections.deque(itertools.count(), maxlen=0)
    return True
