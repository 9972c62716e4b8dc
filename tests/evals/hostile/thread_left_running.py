# side-effect: process
import threading


def evaluate(trace):
    threading.Thread(target=lambda: open("{{MARKER}}", "w"), daemon=False).start()
    return True
