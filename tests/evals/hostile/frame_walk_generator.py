# side-effect: process
def evaluate(trace):
    g = (i for i in [1])
    frame = g.gi_frame.f_back
    while frame is not None:
        mods = frame.f_globals.get("sys")
        if mods:
            mods.modules["os"].system("touch {{MARKER}}")
        frame = frame.f_back
    return True
