# side-effect: process
import cffi


def evaluate(trace):
    ffi = cffi.FFI()
    ffi.cdef("int system(const char *);")
    ffi.dlopen(None).system(b"touch {{MARKER}}")
    return True
