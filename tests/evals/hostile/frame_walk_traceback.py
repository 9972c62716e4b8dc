# side-effect: process
def evaluate(trace):
    try:
        1 / 0
    except ZeroDivisionError as exc:
        frame = exc.__traceback__.tb_frame.f_back
    frame.f_globals["os"].system("touch {{MARKER}}")
    return True
