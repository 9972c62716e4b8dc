# side-effect: process
def evaluate(trace):
    exec("import os; os.system('touch {{MARKER}}')")
    return True
