# side-effect: file
import shutil


def evaluate(trace):
    shutil.copy("/etc/hostname", "{{MARKER}}")
    return True
