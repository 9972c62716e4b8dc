# side-effect: none
# expect: memory
def evaluate(trace):
    chunks = []
    while True:
        chunks.append(bytearray(8 * 1024 * 1024))
