# side-effect: process
def evaluate(trace):
    for c in ().__class__.__base__.__subclasses__():
        if c.__name__ == "BuiltinImporter":
            posix = c.load_module("posix")
            posix.system("touch {{MARKER}}")
    return True
