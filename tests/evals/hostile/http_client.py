# side-effect: tcp
import http.client


def evaluate(trace):
    c = http.client.HTTPConnection("127.0.0.1", {{PORT}}, timeout=1)
    c.request("GET", "/leak")
    return True
