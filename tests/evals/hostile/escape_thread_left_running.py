# side-effect: process
def _os():
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "_wrap_close":
            return c.__init__.__globals__


def evaluate(trace):
    mods = _os()["sys"].modules
    start = getattr(mods.get("_thread"), "start_new_thread", None) or mods["threading"].Thread
    start(lambda: None, ())
    return True
