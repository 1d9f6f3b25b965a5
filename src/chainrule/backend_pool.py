"""Large copies and elementwise passes of NumPy arrays on OpenBLAS's own threads (optional).

NumPy runs an elementwise pass on one core. Threads of our own do not help on a small
machine: after each matrix product OpenBLAS's idle workers spin on the other cores for a
while, and a second pool has to fight them for those cores (measured in benchmarks/
RESULTS.md). OpenBLAS's thread server runs any routine it is handed, so the passes here are
given to the very threads that spin: the C library ``chainrule._pool`` (built with the
package when a C compiler is at hand) hands OpenBLAS the rows of a pass, and each of its
threads, the caller's included, does a share.

The results are NumPy's bit for bit: a copy is a copy, arithmetic is one IEEE operation per
element in the arrays' own precision (relu and keep_where select, as NumPy's), and the
floating-point exceptions the threads raised meet the caller's ``numpy.errstate`` as NumPy's
own would. Everything else falls back to NumPy: the C library not built, no OpenBLAS 0.3.27+
with a thread server in the process (another BLAS, or NumPy not on OpenBLAS), one BLAS
thread, small arrays (below ``MIN_BYTES`` the hand-off costs more than it saves), other
dtypes (objects never), operands that overlap, unaligned items, a flush-to-zero or
non-default rounding mode in the caller's thread (OpenBLAS's workers do not share it).

``copy``, ``binary`` (add, subtract, multiply), ``relu`` and ``keep_where`` return False when
they did nothing (the caller then runs NumPy's pass). :func:`disabled` turns the pool off in a
``with`` block (tests compare both paths); ``CHAINRULE_POOL=0`` turns it off for a process.

>>> import numpy
>>> out = numpy.empty((512, 512))
>>> copy(out, numpy.ones((512, 512))) in (True, False)
True
>>> bool((out == 1).all()) or not available()
True
"""
import contextlib
import ctypes
import os
import threading
import warnings

import numpy

#: passes writing fewer bytes than this stay on NumPy (a hand-off to the pool costs a few µs)
MIN_BYTES = 64 << 10

#: the OpenBLAS versions whose thread server this was written against (the precision codes of
#: its routines changed over the years; numpy 2.x wheels ship 0.3.27 or later)
MIN_OPENBLAS = (0, 3, 27)
SINGLE_PRECISION = 2           # OpenBLAS's BLAS_SINGLE: its threads call float routines

_state = {"module": None, "on": None}
_loading = threading.Lock()


def _openblas_path():
    """The OpenBLAS library NumPy loaded (its own wheel's copy when several are mapped)."""
    try:
        with open("/proc/self/maps") as maps:    # (the path is the 6th field, may hold spaces)
            fields = [line.rstrip("\n").split(maxsplit=5) for line in maps
                      if "openblas" in line.lower()]
        paths = {f[5] for f in fields if len(f) == 6}
    except OSError:
        return None
    paths = sorted(p for p in paths if p.startswith("/"))
    numpy_dir = os.path.dirname(os.path.dirname(numpy.__file__))
    own = [p for p in paths if p.startswith(os.path.join(numpy_dir, "numpy.libs"))]
    return (own or paths or [None])[0]


def _address(library, *names):
    """The address of the first of ``names`` that ``library`` exports, or None."""
    for name in names:
        try:
            return ctypes.cast(getattr(library, name), ctypes.c_void_p).value
        except AttributeError:
            continue
    return None


def _load():
    """The C module, set up with OpenBLAS's thread server, or None (whatever goes wrong on
    the way: the passes then stay on NumPy)."""
    if os.environ.get("CHAINRULE_POOL", "1") == "0":
        return None
    try:
        return _set_up()
    except (OSError, AttributeError, ValueError):
        return None


def _set_up():
    try:
        from . import _pool
    except ImportError:
        return None
    path = _openblas_path()
    if path is None:
        return None
    openblas = ctypes.CDLL(path)
    level1 = _address(openblas, "blas_level1_thread")
    threads = _address(openblas, "scipy_openblas_get_num_threads64_", "openblas_get_num_threads",
                       "openblas_get_num_threads64_", "scipy_openblas_get_num_threads")
    if level1 is None or threads is None:
        return None
    # probing needs two of OpenBLAS's threads (a share handed to a thread it never started
    # would wait forever): with one (OPENBLAS_NUM_THREADS=1) the pool stays off in this process
    if ctypes.CFUNCTYPE(ctypes.c_int)(threads)() < 2:
        return None
    if _version(openblas) < MIN_OPENBLAS:
        return None
    # how OpenBLAS encodes where a share starts: probe with two rows over two threads
    second = _pool.probe(level1, SINGLE_PRECISION)
    if second <= 0 or second & (second - 1):
        return None
    _pool.init(level1, SINGLE_PRECISION, second.bit_length() - 1, threads)
    return _pool


def _version(openblas):
    """OpenBLAS's version as a tuple of ints ((0,) when it does not say)."""
    config = _address(openblas, "scipy_openblas_get_config64_", "openblas_get_config",
                      "openblas_get_config64_", "scipy_openblas_get_config")
    if config is None:
        return (0,)
    words = ctypes.CFUNCTYPE(ctypes.c_char_p)(config)().decode(errors="replace").split()
    numbers = words[1].split(".")[:3] if len(words) > 1 and words[0] == "OpenBLAS" else []
    return tuple(int(n) for n in numbers if n.isdigit()) or (0,)


def available():
    """Whether passes can run on OpenBLAS's threads in this process."""
    if _state["on"] is None:
        with _loading:                  # (two threads' first passes: one probe)
            if _state["on"] is None:
                _state["module"] = _load()
                _state["on"] = _state["module"] is not None
    return _state["on"]


@contextlib.contextmanager
def disabled():
    """Run every pass on NumPy inside the block (tests hold the pool against it). It turns
    the pool off for the whole process, not only this thread: not for threaded code."""
    was = available()
    _state["on"] = False
    try:
        yield
    finally:
        _state["on"] = was


def _ready(out):
    """Whether a pass writing NumPy array ``out`` may go to the pool (large, pool on)."""
    return out.nbytes >= MIN_BYTES and available()


def _broadcast(arrays, shape):
    """``arrays`` (NumPy arrays) broadcast to ``shape``, or None when one is not an array of
    NumPy's or cannot be broadcast."""
    result = []
    for a in arrays:
        if type(a) is not numpy.ndarray:
            return None
        if a.shape != shape:
            try:
                a = numpy.broadcast_to(a, shape)
            except ValueError:
                return None
        result.append(a)
    return result


def copy(out, a):
    """``out[...] = a`` (same dtype; ``a`` broadcast to out's shape) on OpenBLAS's threads;
    False when NumPy should do it."""
    if not _ready(out) or type(a) is not numpy.ndarray or a.dtype != out.dtype or \
            out.dtype.hasobject:
        return False
    operands = _broadcast((a,), out.shape)
    return operands is not None and _state["module"].copy(out, *operands) >= 0


_BINARY = {numpy.add: "add", numpy.subtract: "subtract", numpy.multiply: "multiply"}


def binary(function, out, a, b):
    """``function(a, b, out=out)`` for ``numpy.add``, ``subtract`` or ``multiply`` on float32
    or float64 arrays of out's dtype (broadcast to its shape) on OpenBLAS's threads; False
    when NumPy should do it."""
    if type(function) is not numpy.ufunc or function not in _BINARY or not _ready(out):
        return False
    operands = _broadcast((a, b), out.shape)
    if operands is None or operands[0].dtype != out.dtype or operands[1].dtype != out.dtype:
        return False
    name = _BINARY[function]
    raised = getattr(_state["module"], name)(out, *operands)
    if raised > 0:
        _numpy_error(raised, name)
    return raised >= 0


#: the C module's exception bits, as NumPy names its error kinds (numpy.seterr)
_ERRORS = ((1, "divide", "divide by zero encountered in {}"),
           (2, "over", "overflow encountered in {}"), (4, "under", "underflow encountered in {}"),
           (8, "invalid", "invalid value encountered in {}"))


def _numpy_error(raised, name):
    """Do what NumPy does after a ufunc loop that raised these floating-point exceptions,
    under the caller's ``numpy.errstate``: ignore, warn, raise, call or print (the output is
    written either way, as NumPy's)."""
    settings = numpy.geterr()
    for bit, kind, message in _ERRORS:
        if not raised & bit or settings[kind] == "ignore":
            continue
        text = message.format(name)
        if settings[kind] == "raise":
            raise FloatingPointError(text)
        if settings[kind] == "call":
            numpy.geterrcall()(kind, bit)
        elif settings[kind] == "print":
            print(f"Warning: {text}")
        elif settings[kind] == "log":
            numpy.geterrcall().write(f"Warning: {text}\n")
        else:
            warnings.warn(text, RuntimeWarning, stacklevel=4)


def relu(out, x):
    """``out = maximum(0, x)`` with x's -0.0 and nan kept (PyTorch's relu), float32 or
    float64 of out's dtype and shape, on OpenBLAS's threads; False when NumPy should do it."""
    if not _ready(out) or type(x) is not numpy.ndarray or x.dtype != out.dtype or \
            x.shape != out.shape:
        return False
    return _state["module"].relu(out, x) >= 0


def keep_where(out, values, mask):
    """``out = where(mask, values, +0.0)`` for float32 or float64 ``values`` of out's dtype and
    a bool ``mask`` (both broadcast to out's shape) on OpenBLAS's threads; False when NumPy
    should do it."""
    if not _ready(out):
        return False
    operands = _broadcast((values, mask), out.shape)
    if operands is None or operands[0].dtype != out.dtype or operands[1].dtype != numpy.bool_:
        return False
    return _state["module"].keep_where(out, *operands) >= 0
