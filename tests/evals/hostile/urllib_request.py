# side-effect: tcp
import urllib.request


def evaluate(trace):
    urllib.request.urlopen("http://127.0.0.1:{{PORT}}/leak", timeout=1)
    return True
