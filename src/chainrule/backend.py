"""The array module every op computes with.

All array calls in chainrule go through ``backend.xp``: NumPy by default, CuPy after
``use("cupy")``. Op code writes ``xp.exp(x)`` after ``xp = backend.xp``-style lookups,
so swapping the module swaps the engine without touching any op.

>>> from chainrule import backend
>>> backend.name
'numpy'
"""
import numpy
from .errors import ArgumentError

xp = numpy
name = "numpy"

default_float = numpy.dtype("float32")


def use(module_name):
    """Select the array module: ``"numpy"`` or ``"cupy"`` (needs ``chainrule[gpu]``)."""
    global xp, name
    if module_name == "numpy":
        xp, name = numpy, "numpy"
    elif module_name == "cupy":
        try:
            import cupy
        except ImportError as error:
            raise ImportError(
                "the CuPy backend needs CuPy: pip install 'chainrule[gpu]'") from error
        xp, name = cupy, "cupy"
    else:
        raise ArgumentError(f"unknown backend {module_name!r}: choose 'numpy' or 'cupy'")


def to_numpy(array):
    """Return ``array`` as a NumPy array (copying from the GPU when needed)."""
    if isinstance(array, numpy.ndarray):
        return array
    get = getattr(array, "get", None)
    return get() if get is not None else numpy.asarray(array)
