# side-effect: none
# expect: timeout
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__


def evaluate(trace):
    sys = _os()["sys"]
    sig = sys.modules.get("_signal") or sys.modules.get("signal")
    for n in range(1, 32):
        try:
            sig.signal(n, sig.SIG_IGN)
        except Exception:
            pass
    try:
        sig.pthread_sigmask(0, set(range(1, 32)))
    except Exception:
        pass
    while True:
        pass
