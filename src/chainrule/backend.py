"""The array module every op computes with, and the arrays' devices.

All array calls in chainrule go through ``backend.xp``: NumPy by default, CuPy after
``use("cupy")`` (which the first tensor moved to ``"cuda"`` does for you). Op code writes
``xp.exp(x)`` after ``xp = backend.xp``-style lookups, so swapping the module swaps the engine
without touching any op. :func:`namespace_of` gives the module of one array (NumPy for a
NumPy array, CuPy for a CuPy one), for code that must follow the array it is given.

A tensor's device is the type of its array: a NumPy array lives on the CPU, a CuPy array on
the GPU it was made on. No other bookkeeping is kept, so the CPU path pays nothing for devices.

bfloat16 comes from the ``ml_dtypes`` package, which gives NumPy a real bfloat16 dtype (its
ufuncs compute in float32 and round back). Its ``dtype.kind`` is ``"V"``, so code asks
:func:`is_floating` rather than ``dtype.kind == "f"`` where bfloat16 must count as floating.

>>> from chainrule import backend
>>> backend.name
'numpy'
>>> backend.is_floating(numpy.dtype("float16")), backend.is_floating(numpy.dtype("int8"))
(True, False)
"""
import sys

import numpy

from . import backend_strict
from .errors import ArgumentError, CupyMissingError, DeviceError

_BFLOAT16_HOOKS = []     # called with the dtype once ml_dtypes is loaded (dtypes' tables)


def __getattr__(attribute):
    """``backend.bfloat16``: ml_dtypes' bfloat16 as a NumPy dtype, imported on first use
    (importing ml_dtypes takes about a second; most programs never touch bfloat16). None
    where ml_dtypes is missing."""
    if attribute == "bfloat16":
        return load_bfloat16()
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


def load_bfloat16():
    if "bfloat16" not in globals():
        try:                                  # a core dependency
            import ml_dtypes
            dtype = numpy.dtype(ml_dtypes.bfloat16)
        except ImportError:                   # pragma: no cover
            dtype = None
        globals()["bfloat16"] = dtype
        for hook in _BFLOAT16_HOOKS:
            hook(dtype)
    return globals()["bfloat16"]


def on_bfloat16(hook):
    """Run ``hook(dtype)`` when bfloat16 is loaded (at once if it already is)."""
    _BFLOAT16_HOOKS.append(hook)
    if "bfloat16" in globals():
        hook(globals()["bfloat16"])


xp = numpy
name = "numpy"

default_float = numpy.dtype("float32")

GPU_EXTRA = "pip install 'chainrule[gpu]'"


def use(module_name):
    """Select the array module: ``"numpy"``, ``"cupy"`` (needs ``chainrule[gpu]``) or
    ``"array_api_strict"`` (a test mode: see :mod:`chainrule.backend_strict`)."""
    global xp, name
    if module_name == "numpy":
        xp, name = numpy, "numpy"
    elif module_name == "cupy":
        xp, name = cupy_module(), "cupy"
    elif module_name == "array_api_strict":
        xp, name = backend_strict.strict_namespace(), "array_api_strict"
    else:
        raise ArgumentError(f"unknown backend {module_name!r}: choose 'numpy', 'cupy' or "
                            "'array_api_strict'")


def cupy_module():
    """The ``cupy`` module, or a :class:`CupyMissingError` (an ImportError) saying what to
    install."""
    try:
        import cupy
    except ImportError as error:
        raise CupyMissingError("CUDA tensors need CuPy, which is not installed: "
                          f"{GPU_EXTRA} (CuPy for CUDA 12)") from error
    return cupy


def gpu_count():
    """How many CUDA GPUs CuPy sees: 0 without CuPy, without a GPU or without a driver.
    Never imports CuPy for the first time when it is not installed (a cheap check)."""
    cupy = sys.modules.get("cupy")
    if cupy is None:
        try:
            import cupy
        except ImportError:
            return 0
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:                     # CUDARuntimeError: no driver, no device
        return 0


def is_floating(dtype):
    """Whether ``dtype`` is a floating dtype: float16/32/64 or bfloat16 (a NumPy dtype or
    an array API one)."""
    dtype = numpy_dtype(dtype)
    return dtype.kind == "f" or (dtype.kind == "V" and dtype.name == "bfloat16")


def numpy_dtype(dtype):
    """``dtype`` as a NumPy dtype (chainrule's dtype vocabulary): NumPy and CuPy dtypes
    pass through, an ``array_api_strict`` dtype is mapped to its NumPy twin."""
    return dtype if isinstance(dtype, numpy.dtype) else backend_strict.numpy_dtype(dtype)


def kind(dtype):
    """NumPy's one-letter kind of ``dtype`` (``"f"``, ``"i"``, ``"u"``, ``"b"``, ``"V"`` for
    bfloat16), for any backend's dtype: op code asks this, not ``dtype.kind``."""
    if isinstance(dtype, numpy.dtype):      # NumPy's and CuPy's: asked on every op
        return dtype.kind
    return backend_strict.numpy_dtype(dtype).kind


def is_bfloat16(dtype):
    # an array can only hold bfloat16 once ml_dtypes is loaded: asking by name loads nothing
    dtype = numpy_dtype(dtype)
    return dtype.kind == "V" and dtype.name == "bfloat16"    # .name is slow: ask kind first


def namespace_of(array):
    """The array module of ``array``: ``numpy`` for NumPy arrays (and anything on the CPU),
    ``cupy`` for CuPy arrays."""
    if isinstance(array, (numpy.ndarray, numpy.generic)):
        return numpy
    module = type(array).__module__
    if module.startswith("cupy"):
        return sys.modules["cupy"]
    if module.startswith("array_api_strict"):
        return backend_strict.strict_namespace()
    return numpy


def is_gpu_array(array):
    return not isinstance(array, numpy.ndarray) and type(array).__module__.startswith("cupy")


def to_numpy(array):
    """Return ``array`` as a NumPy array (copying from the GPU when needed)."""
    if isinstance(array, numpy.ndarray):
        return array
    get = getattr(array, "get", None)
    if get is not None:
        return get()
    if backend_strict.is_strict_array(array):          # the documented strict boundary
        return numpy.from_dlpack(array)
    return numpy.asarray(array)


def to_gpu(array, index=0):
    """``array`` as a CuPy array on GPU ``index`` (no copy when it is already there);
    switches ``backend.xp`` to CuPy the first time, so that the ops compute there."""
    cupy = cupy_module()
    count = gpu_count()
    if count == 0:
        raise DeviceError("CUDA tensors need an NVIDIA GPU, and CuPy finds none on this "
                           "machine (chainrule.cuda.is_available() is False): use the CPU "
                           "(device='cpu')")
    if index >= count:
        raise DeviceError(f"CUDA device {index} does not exist: this machine has {count} "
                            f"GPU{'s' if count != 1 else ''} (cuda:0 to cuda:{count - 1})")
    if name != "cupy":
        use("cupy")
    with cupy.cuda.Device(index):
        return cupy.asarray(array)
