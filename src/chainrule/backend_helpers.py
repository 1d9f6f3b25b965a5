"""The few array operations chainrule needs beyond the array API standard.

Ops compute with the standard's functions on the array's own namespace (``backend.xp``, or
:func:`chainrule.backend.namespace_of` for an array they are handed), which NumPy, CuPy and
``array_api_strict`` all provide. What the standard lacks lives here, one function per need,
each with a NumPy and a CuPy implementation:

==========================  ===========================================================
``may_share_memory(a, b)``  whether two arrays may overlap (``tensor()`` copies if so)
``scatter_add(t, i, v)``    ``t[i] += v`` with repeated indices summed (``ufunc.at``)
``scatter_reduce(...)``     the same for multiply, maximum, minimum (``scatter_reduce``)
``getitem(x, i)``           ``x[i]`` with advanced indices (arrays mixed with slices)
``setitem(t, i, v)``        ``t[i] = v`` with integer-array (fancy) indices
``open_grid(shape, like)``  ``numpy.indices(shape, sparse=True)`` (gather/scatter grids)
``sliding_windows(x, ...)`` strided window views for im2col (``as_strided``)
``strides_of(x)``           element strides (the standard has no strides)
``to_scalar(a)``            ``a.item()``
``einsum(spec, *ops)``      Einstein summation
``pad(x, widths, ...)``     constant/reflect/replicate/circular padding
``special(name, *x)``       one SciPy special function (``erf``, ...; cupyx on the GPU)
``errstate(**kw)``          silence floating-point warnings (host-side, a no-op on CuPy)
``special_module(op)``      scipy.special / cupyx.scipy.special (the special functions)
``stable_argsort(x, axis)`` a stable argsort (NumPy's ``kind="stable"``)
``copy_into(t, s)``         ``copyto(t, s, casting="unsafe")`` (in-place results)
``into(out, f, *a)``        ``f(*a, out=out)`` (NumPy's ``out=``, to reuse memory)
``assign(t, s)``            ``t[...] = s`` (large copies on OpenBLAS's threads)
``reduced(name, x, ...)``   ``xp.sum/max/min(x, ...)`` without NumPy's Python wrapper
``keep_where(v, m)``        ``where(m, v, 0)`` at a multiply's speed (masked gradients)
``per_channel(f, rows, v)`` ``f(rows, v[None, :, None])``, faster than NumPy's broadcast
``channel_sums(rows)``      ``sum(rows, axis=(0, 2))``, faster (einsum's loop)
``relu_values(x, out)``     ``maximum(0, x)``, vectorised (NumPy's float32 loop against a
                            scalar is not) and keeping -0.0 as PyTorch's relu
``add_scaled_(y, a, x)``    ``y += a * x`` rounded once, as PyTorch's ``add_(x, alpha=a)``
``base_of(a)``, ...         memory layout: the array a view was taken of, its root,
                            C-contiguity, writeability, a C-ordered copy (views, .grad)
==========================  ===========================================================

``array_api_strict`` arrays (the test mode, see :mod:`chainrule.backend_strict`) cross to
NumPy here and only here: the helper converts its inputs with ``numpy.from_dlpack``,
computes with the NumPy implementation and hands back a strict array, so the strict test
run proves that everything else in an op is standard.

>>> import numpy
>>> target = numpy.zeros(3)
>>> scatter_add(target, (numpy.array([0, 0, 2]),), numpy.ones(3))
>>> target.tolist()
[2.0, 0.0, 1.0]
"""
import contextlib
import ctypes
import functools
import math
import sys

import numpy

from . import backend, backend_pool, backend_strict


def _kind(array):
    """'numpy', 'cupy' or 'strict': which implementation serves ``array``."""
    if type(array) is _NDARRAY or isinstance(array, (numpy.ndarray, numpy.generic)):
        return "numpy"
    module = type(array).__module__
    if module.startswith("cupy"):
        return "cupy"
    if module.startswith("array_api_strict"):
        return "strict"
    return "numpy"


def _cupy():
    return sys.modules["cupy"]


def _host(value):
    """A strict array (or a tuple/list of them) as NumPy (the strict boundary); anything
    else as it is."""
    if isinstance(value, (tuple, list)):
        return type(value)(_host(v) for v in value)
    return numpy.from_dlpack(value) if backend_strict.is_strict_array(value) else value


def _strict(array):
    return backend_strict.strict_namespace().asarray(array)


def _writable_host(array):
    """The NumPy array behind a strict array, to change it in place (the strict boundary:
    the strict array keeps the NumPy array it wraps as ``_array``)."""
    return array._array


# ---------------------------------------------------------------- memory

def may_share_memory(a, b):
    """Whether ``a`` and ``b`` may share memory (False when either is not an array)."""
    kind = _kind(a)
    if kind == "cupy":
        return bool(_cupy().may_share_memory(a, b)) if _kind(b) == "cupy" else False
    if kind == "strict":
        a = _writable_host(a)
    if backend_strict.is_strict_array(b):
        b = _writable_host(b)
    return isinstance(b, numpy.ndarray) and bool(numpy.may_share_memory(a, b))


_NDARRAY = numpy.ndarray     # the common case of the memory-layout helpers, asked first


def base_of(array):
    """The array ``array`` is a view of (``ndarray.base``), or None."""
    if type(array) is not _NDARRAY and _kind(array) == "strict":
        array = _writable_host(array)
    return array.base


def memory_root(array):
    """The array that owns ``array``'s memory (following ``base`` to the end)."""
    if type(array) is not _NDARRAY and _kind(array) == "strict":
        array = _writable_host(array)
    base = getattr(array, "base", None)
    while base is not None:
        array, base = base, getattr(base, "base", None)
    return array


def is_c_contiguous(array):
    if type(array) is not _NDARRAY and _kind(array) == "strict":
        array = _writable_host(array)
    return bool(array.flags.c_contiguous)


def ones_like(array):
    """An array of ones of ``array``'s shape and dtype (a 0-d NumPy one, the gradient of
    a loss, five times faster than ``numpy.ones_like``).

    >>> ones_like(numpy.zeros((), numpy.float32))
    array(1., dtype=float32)
    """
    if type(array) is _NDARRAY and not array.shape:
        return numpy.array(1, array.dtype)
    return backend.xp.ones_like(array)


def owns_contiguous(array):
    """Whether ``array`` owns its memory (a view of nothing), is writeable and C-contiguous:
    what a ``.grad`` must be to be stored without a copy."""
    if type(array) is not _NDARRAY:
        return base_of(array) is None and is_writeable(array) and is_c_contiguous(array)
    flags = array.flags
    return array.base is None and flags.writeable and flags.c_contiguous


def is_writeable(array):
    if type(array) is not _NDARRAY and _kind(array) == "strict":
        array = _writable_host(array)
    flags = array.flags
    return bool(getattr(flags, "writeable", True))        # CuPy arrays are always writeable


def contiguous_copy(array):
    """A C-ordered copy of ``array`` that shares memory with nothing."""
    if _kind(array) == "strict":
        return _strict(numpy.array(_writable_host(array), order="C", copy=True))
    return array.copy(order="C")


# ---------------------------------------------------------------- scatter / setitem

def scatter_add(target, index, values):
    """``target[index] += values`` in place, where ``index`` may repeat positions (each
    occurrence adds, as ``numpy.add.at``; plain ``+=`` would keep only one)."""
    scatter_reduce(target, index, values, "add")


def scatter_reduce(target, index, values, name):
    """``ufunc.at`` in place for ``name`` in add, multiply, maximum, minimum: every
    occurrence of a repeated index combines with what is there.

    >>> target = numpy.zeros(2)
    >>> scatter_reduce(target, (numpy.array([1, 1]),), numpy.array([3.0, 5.0]), "maximum")
    >>> target.tolist()
    [0.0, 5.0]
    """
    kind = _kind(target)
    if kind == "numpy":
        getattr(numpy, name).at(target, index, values)
    elif kind == "cupy":
        getattr(_cupy(), name).at(target, index, values)
    else:
        getattr(numpy, name).at(_writable_host(target), _host(index), _host(values))


def getitem(x, index):
    """``x[index]`` for PyTorch's (NumPy's) advanced indices: integer arrays mixed with
    slices, several arrays, a mask among other indices. The standard takes only a lone mask
    or integer arrays with integers, so for strict arrays this crosses to NumPy.

    >>> getitem(numpy.arange(6).reshape(2, 3), (slice(None), numpy.array([2, 0]))).tolist()
    [[2, 0], [5, 3]]
    """
    if _kind(x) == "strict":
        return _strict(numpy.asarray(_writable_host(x)[_host(index)]))
    return x[index]


def open_grid(shape, like):
    """``numpy.indices(shape, sparse=True)`` in the standard: one ``arange`` per axis,
    shaped to broadcast against the others (``like`` gives the namespace and device).

    >>> [g.shape for g in open_grid((2, 3), numpy.zeros(1))]
    [(2, 1), (1, 3)]
    """
    xp = backend.namespace_of(like)
    return tuple(xp.reshape(xp.arange(n), tuple(n if i == axis else 1
                                                 for i in range(len(shape))))
                 for axis, n in enumerate(shape))


def to_scalar(array):
    """The Python number held by a one-element array (``ndarray.item()``)."""
    if _kind(array) == "strict":
        return _writable_host(array).item()
    return array.item()


def into(out, function, *arrays):
    """``function(*arrays, out=out)`` (NumPy's ``out=``, which saves a temporary): the
    standard has no ``out=``, so strict arrays get ``out[...] = function(*arrays)``.

    >>> out = numpy.zeros(2)
    >>> into(out, numpy.add, numpy.ones(2), 1.0).tolist()
    [2.0, 2.0]
    """
    if type(out) is not _NDARRAY:
        if _kind(out) == "strict":
            out[...] = function(*arrays)
            return out
    elif len(arrays) == 2 and backend_pool.binary(function, out, *arrays):
        return out          # (add, subtract, multiply of large float arrays: OpenBLAS's threads)
    return function(*arrays, out=out)


def assign(target, source):
    """``target[...] = source``; a large NumPy copy of one dtype runs on OpenBLAS's threads
    (:mod:`chainrule.backend_pool`: the same values).

    >>> target = numpy.zeros((2, 2))
    >>> assign(target, numpy.arange(2.0))
    >>> target.tolist()
    [[0.0, 1.0], [0.0, 1.0]]
    """
    if type(target) is not _NDARRAY or not backend_pool.copy(target, source):
        target[...] = source


_REDUCING_UFUNCS = {"sum": numpy.add, "max": numpy.maximum, "min": numpy.minimum}


def reduced(name, x, axis=None, keepdims=False):
    """``xp.sum``, ``xp.max`` or ``xp.min`` (``name``) of ``x`` over ``axis``: for a NumPy
    array the ufunc's own ``reduce``, which is what ``numpy.sum`` calls (the same result)
    after a Python wrapper that costs more than the reduction itself on small arrays
    (~3 µs of a 6 µs row max of a (128, 10) array). Hot paths (the cross-entropy gate,
    Linear's bias gradient) call this; the rest of chainrule calls ``xp`` directly.

    >>> reduced("max", numpy.array([[1.0, 3.0], [4.0, 2.0]]), axis=1).tolist()
    [3.0, 4.0]
    """
    if type(x) is _NDARRAY:
        return _REDUCING_UFUNCS[name].reduce(x, axis=axis, keepdims=keepdims)
    return getattr(backend.namespace_of(x), name)(x, axis=axis, keepdims=keepdims)


def add_scaled_(target, alpha, values):
    """``target += alpha * values`` in place, each element rounded once (a fused
    multiply-add), as PyTorch's ``target.add_(values, alpha=alpha)`` and its SGD step compute
    it: NumPy's two ufuncs round the product and then the sum, which differs in the last bit
    for about one element in fifty. Done by BLAS ``axpy`` from the OpenBLAS NumPy itself
    links (one pass, no temporary, NumPy's own thread pool); where that is not available or
    the arrays are not two C-contiguous float32/float64 NumPy arrays of one dtype and size,
    the two-step form (the same up to that last bit), as also for a BLAS whose axpy does not
    pass :func:`_fused_axpy`'s probe.

    >>> y = numpy.ones(3)
    >>> add_scaled_(y, -0.5, numpy.full(3, 2.0)).tolist()
    [0.0, 0.0, 0.0]
    """
    axpy = _blas_axpy(target, values)
    if axpy is None:
        if _kind(target) == "strict":
            target[...] = target + alpha * values
        else:
            target += alpha * values
        return target
    axpy(target, float(alpha), values)
    return target


def _blas_axpy(target, values):
    """NumPy's BLAS saxpy/daxpy for these arrays, or None when it cannot take them."""
    if type(target) is not _NDARRAY or type(values) is not _NDARRAY or \
            target.dtype is not values.dtype or target.size != values.size or \
            not target.size:
        return None
    axpy = _find_numpy_axpy().get(target.dtype.char)
    if axpy is None or not (target.flags.c_contiguous and target.flags.writeable and
                            values.flags.c_contiguous):
        return None
    if values is not target and numpy.may_share_memory(target, values) and \
            target.ctypes.data != values.ctypes.data:      # overlapping: NumPy buffers it
        return None
    return axpy


@functools.cache
def _find_numpy_axpy():
    """{"f": saxpy, "d": daxpy} (as :class:`_FusedAxpy`) from the OpenBLAS library NumPy's
    wheels bundle (symbols ``scipy_cblas_[sd]axpy64_``, 64-bit integers), found next to
    NumPy, for each dtype whose axpy passes the probe of :func:`_fused_axpy`; {} elsewhere (a
    NumPy built on MKL or the system's BLAS): callers then take NumPy's two steps."""
    import ctypes
    import glob
    import os
    here = os.path.dirname(numpy.__file__)
    candidates = []
    for folder in (here + ".libs", os.path.join(here, ".dylibs"), here):
        candidates += sorted(glob.glob(os.path.join(folder, "*scipy_openblas64_*")))
    for path in candidates:
        try:
            library = ctypes.CDLL(path)        # already loaded by NumPy: the same library
            threads = library.scipy_openblas_get_num_threads64_
            threads.restype, threads.argtypes = ctypes.c_int, []
            routines = {}
            for char, name, real in (("f", "scipy_cblas_saxpy64_", ctypes.c_float),
                                     ("d", "scipy_cblas_daxpy64_", ctypes.c_double)):
                routine = getattr(library, name)
                routine.restype = None
                routine.argtypes = [ctypes.c_int64, real, ctypes.c_void_p, ctypes.c_int64,
                                    ctypes.c_void_p, ctypes.c_int64]
                axpy = _fused_axpy(routine, numpy.dtype(char), threads)
                if axpy is not None:
                    routines[char] = axpy
            return routines
        except (OSError, AttributeError):
            continue
    return {}


class _FusedAxpy:
    """A BLAS axpy called so that every element is rounded once. OpenBLAS's vector kernels
    compute y + a x with fused multiply-adds, but the scalar loop that finishes a length that
    is not a multiple of the kernel's ``block`` (32 float32 and 16 float64 elements on its
    Haswell kernel, which AMD Zen CPUs run) multiplies, rounds, then adds; and when OpenBLAS
    splits a long axpy over its threads, each thread's share ends in that loop. So BLAS gets
    a prefix that is a multiple of ``block`` times the thread count, and the rest is done in a
    copy padded with zeros to whole blocks."""

    __slots__ = ("routine", "dtype", "block", "threads")

    def __init__(self, routine, dtype, block, threads):
        self.routine, self.dtype, self.block, self.threads = routine, dtype, block, threads

    def __call__(self, target, alpha, values):
        """target += alpha * values for two C-contiguous arrays of ``dtype``, one size."""
        n = target.size
        whole = n - n % (self.block * max(1, self.threads()))
        if whole:
            self.routine(whole, alpha, _address(values), 1, _address(target), 1)
        if whole < n:
            tail = n - whole
            padded = -(-tail // self.block) * self.block
            flat_target, flat_values = target.reshape(-1), values.reshape(-1)
            y, x = numpy.zeros(padded, self.dtype), numpy.zeros(padded, self.dtype)
            y[:tail], x[:tail] = flat_target[whole:], flat_values[whole:]
            self.routine(padded, alpha, _address(x), 1, _address(y), 1)
            flat_target[whole:] = y[:tail]


def _address(array):
    """The address of a C-contiguous NumPy array's first element: through ctypes'
    ``from_buffer`` (0.8 us) rather than ``array.ctypes.data`` (1.7 us, a Python object made
    per call; an SGD step asks twice per parameter), which read-only memory still takes."""
    try:
        return ctypes.addressof(_CHAR.from_buffer(array))
    except TypeError:                       # read-only memory: no writable buffer to view
        return array.ctypes.data


_CHAR = ctypes.c_char


def _fused_axpy(routine, dtype, threads):
    """``routine`` as a :class:`_FusedAxpy` with the smallest block for which it rounds every
    element once, or None when no block does (a BLAS without fused multiply-adds). The probe:
    y = -1, x = alpha = 1 + e, where the fused result -1 + (1 + e)^2 = 2e + e^2 is a number of
    ``dtype`` but the product rounded first loses the e^2; every length up to three blocks and
    one long enough to be split over the threads."""
    e = 2.0 ** -(numpy.finfo(dtype).nmant // 2 + 1)
    fused = dtype.type(2 * e + e * e)
    for block in (8, 16, 32, 64, 128):
        axpy = _FusedAxpy(routine, dtype, block, threads)
        share = block * max(1, threads())
        long = share * -(-20_000 // share) + 3      # OpenBLAS threads axpy past 10,000
        for n in list(range(1, 3 * block + 2)) + [long]:
            y, x = numpy.full(n, -1.0, dtype), numpy.full(n, 1 + e, dtype)
            axpy(y, 1 + e, x)
            if not (y == fused).all():
                break
        else:
            return axpy
    return None


#: relu_values compares float arrays with a block of this many zeros: longer than NumPy's
#: default ufunc buffer (8192 elements), so rows of it are never copied into buffers
_ZERO_BLOCK = 16384
_zero_blocks = {}
_BLOCKED_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


def relu_values(x, out=None):
    """``maximum(0, x)`` elementwise: 0 where x < 0, else x (nan and -0.0 kept). For float32 and
    float64 NumPy arrays the zero is a block of zeros as long as a row of x, not a scalar:
    NumPy 2.4's float32 ``maximum`` against a scalar runs 3-4x slower than against an array
    (a (32, 16, 32, 32) activation: 344 vs 93 us on an AMD EPYC VM), and with the zeros first
    a tie returns x, so -0.0 stays -0.0 as in PyTorch's relu (the vector max returns its
    second operand of a tie).

    >>> relu_values(numpy.array([-1.0, -0.0, 2.0])).tolist()
    [0.0, -0.0, 2.0]
    """
    if type(x) is not _NDARRAY:
        xp = backend.namespace_of(x)
        return xp.maximum(x, 0) if out is None else into(out, xp.maximum, x, 0)
    if x.dtype not in _BLOCKED_FLOATS or not x.flags.c_contiguous or \
            (out is not None and not out.flags.c_contiguous):
        if x.dtype.kind != "f" or x.dtype in _BLOCKED_FLOATS:   # (float32/64 keep -0.0 so)
            return numpy.maximum(0, x, out=out)
        values = numpy.where(x < 0, numpy.zeros((), x.dtype), x)   # float16's max loses -0.0
        if out is None:
            return values
        numpy.copyto(out, values)
        return out
    if out is None:
        out = numpy.empty_like(x)
    if backend_pool.relu(out, x):
        return out
    zeros = _zero_blocks.get(x.dtype)
    if zeros is None:
        zeros = _zero_blocks[x.dtype] = numpy.zeros(_ZERO_BLOCK, x.dtype)
        zeros.flags.writeable = False
    size = x.size
    if size <= _ZERO_BLOCK:
        return numpy.maximum(zeros[:size].reshape(x.shape), x, out=out)
    flat, target = x.reshape(-1), out.reshape(-1)
    whole = size - size % _ZERO_BLOCK
    numpy.maximum(zeros, flat[:whole].reshape(-1, _ZERO_BLOCK),
                  out=target[:whole].reshape(-1, _ZERO_BLOCK))
    if whole < size:
        numpy.maximum(zeros[:size - whole], flat[whole:], out=target[whole:])
    return out


def per_channel(function, rows, values, out=None):
    """``function(rows, values[None, :, None])`` for ``rows`` (N, C, R) and ``values`` (C,),
    ``function`` a binary ufunc (``xp.add``, ``xp.subtract``, ``xp.multiply``, ...).

    NumPy 2.4 buffers a (1, C, 1) operand in short pieces, which makes such a broadcast 2-3x
    slower than the same op with a scalar. For large contiguous float arrays the values are
    laid out instead as a block of k whole (C, R) images, at least ``_ZERO_BLOCK`` long, and
    rows are taken k images at a time: the same elementwise results, about twice as fast
    ((32, 16, 1024) float32: 201 -> 105 us on an AMD EPYC VM).

    >>> per_channel(numpy.multiply, numpy.ones((2, 3, 2)), numpy.array([1.0, 2.0, 3.0]))[1]
    array([[1., 1.],
           [2., 2.],
           [3., 3.]])
    """
    n, channels, inner = rows.shape
    if type(rows) is not _NDARRAY or type(values) is not _NDARRAY or inner == 1 or \
            rows.size < 2 * _ZERO_BLOCK or rows.dtype not in _BLOCKED_FLOATS or \
            not rows.flags.c_contiguous or (out is not None and not out.flags.c_contiguous):
        column = backend.namespace_of(rows).reshape(values, (1, -1, 1))
        return function(rows, column) if out is None else into(out, function, rows, column)
    if out is None:
        out = numpy.empty(rows.shape, numpy.result_type(rows, values))
    if backend_pool.binary(function, out, rows, values[None, :, None]):
        return out
    image = channels * inner
    k = min(n, -(-_ZERO_BLOCK // image))
    block = numpy.empty((k, channels, inner), numpy.result_type(rows, values))
    block[...] = values[:, None]
    block = block.reshape(-1)
    whole = n - n % k
    function(rows[:whole].reshape(-1, k * image), block,
             out=out[:whole].reshape(-1, k * image))
    if whole < n:
        function(rows[whole:].reshape(-1), block[:(n - whole) * image],
                 out=out[whole:].reshape(-1))
    return out


def channel_rows(array):
    """A contiguous (N, C, ...) ``array`` as (N, C, rest), a view (rest counted, not -1: an
    empty batch has no size to infer it from).

    >>> channel_rows(numpy.zeros((0, 3, 2, 2))).shape
    (0, 3, 4)
    """
    return reshaped(array, (array.shape[0], array.shape[1], math.prod(array.shape[2:])))


def channel_sums(rows):
    """The sum over axes 0 and 2 of ``rows`` (N, C, R): per channel. NumPy arrays go through
    einsum's loop, 2-3x faster than ``sum(axis=(0, 2))`` ((32, 16, 1024) float32: 138 -> 47
    us) and, like it, accumulating in the array's dtype. A float channel of more than
    ``_LONG_CHANNEL`` values is summed row by row (NumPy's pairwise sums) and the rows'
    sums in float64: einsum's running sum loses more there ((2, 2, 2**19) float32 about
    100: 6e-7 relative, against 6e-9; PyTorch accumulates in double)."""
    if type(rows) is _NDARRAY:
        n, _, inner = rows.shape
        if n * inner > _LONG_CHANNEL and rows.dtype in _BLOCKED_FLOATS:
            per_row = numpy.sum(rows, axis=2)
            return numpy.sum(per_row, axis=0, dtype=numpy.float64).astype(rows.dtype)
        return numpy.einsum("ncr->c", rows)
    return backend.namespace_of(rows).sum(rows, axis=(0, 2))


_LONG_CHANNEL = 1 << 16


_BIT_INTEGERS = {2: numpy.int16, 4: numpy.int32, 8: numpy.int64}


def keep_where(values, mask, out=None):
    """``values`` where the bool ``mask`` holds, else +0.0: a gradient masked as PyTorch
    masks it (``threshold_backward``, a max pool's positions that did not win).

    Not ``values * mask``: ``inf * 0`` is nan and ``-2.0 * 0`` is -0.0. NumPy's ``where``
    gets both right but runs ~10x slower on a random mask (it branches per element), so float
    values are multiplied as the integers their bits spell: a bit pattern times 1 is itself,
    times 0 is +0.0's, in one pass at the speed of a float multiply.

    >>> keep_where(numpy.array([numpy.inf, -2.0, 3.0]), numpy.array([False, False, True]))
    array([0., 0., 3.])
    """
    if _kind(values) == "strict":
        return _select(backend_strict.strict_namespace(), mask, values, out)
    library = _cupy() if _kind(values) == "cupy" else numpy
    bits = _bit_integers(values.dtype)
    if bits is None or (out is not None and out.dtype != values.dtype):
        # complex or long double (no integer of its width) or a cast into ``out``: a select
        return _select(library, mask, values, out)
    if out is None:                 # an array of its own, not a view of the integers' array
        shape = values.shape
        mask_shape = numpy.shape(mask)              # (a Python bool has no .shape)
        if mask_shape != shape:
            shape = numpy.broadcast_shapes(shape, mask_shape)
        out = library.empty(shape, values.dtype)
    if library is numpy and backend_pool.keep_where(out, values, mask):
        return out
    library.multiply(values.view(bits), mask, out=out.view(bits))
    return out


def _bit_integers(dtype):
    """The signed integer type as wide as the float ``dtype``, or None where it has none or
    ``dtype`` is no float (integers and bools have no nan and no -0.0, but the view does
    them no harm)."""
    if dtype.kind in "fiub" or backend.is_bfloat16(dtype):
        return _BIT_INTEGERS.get(dtype.itemsize)
    return None


def _select(library, mask, values, out):
    picked = library.where(mask, values, library.zeros((), dtype=values.dtype))
    if out is None:
        return picked
    out[...] = picked
    return out


def setitem(target, index, values):
    """``target[index] = values`` in place, for the integer-array ("fancy") indices the
    standard's ``__setitem__`` does not take."""
    if _kind(target) == "strict":
        _writable_host(target)[_host(index)] = _host(values)
    else:
        target[index] = values


# ---------------------------------------------------------------- windows, einsum, pad

def strides_of(x):
    """``x``'s strides in elements (not bytes)."""
    if _kind(x) == "strict":
        x = _writable_host(x)
    itemsize = x.dtype.itemsize
    return tuple([s // itemsize for s in x.strides])


def view_as(array, shape):
    """``array`` reshaped without copying (a ValueError when its layout does not allow a
    view): a NumPy array's own method, without ``numpy.reshape``'s Python wrapper (which
    costs more than the reshape; a convolution takes a dozen of them).

    >>> view_as(numpy.zeros((2, 3)), (3, 2)).shape
    (3, 2)
    """
    if type(array) is _NDARRAY:
        return array.reshape(shape, copy=False)
    if _kind(array) == "cupy":
        return array.reshape(shape)
    return backend.namespace_of(array).reshape(array, shape, copy=False)


def reshaped(array, shape):
    """``xp.reshape(array, shape)`` (a copy when the layout needs one): a NumPy array's own
    method, without ``numpy.reshape``'s Python wrapper.

    >>> reshaped(numpy.zeros((2, 3)).T, (6,)).shape
    (6,)
    """
    if type(array) is _NDARRAY:
        return array.reshape(shape)
    return backend.namespace_of(array).reshape(array, shape)


def permuted(array, axes):
    """``xp.permute_dims(array, axes)``, a view: a NumPy array's own ``transpose``, without
    ``numpy.permute_dims``'s Python wrapper.

    >>> permuted(numpy.zeros((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    if type(array) is _NDARRAY:
        return array.transpose(axes)
    return backend.namespace_of(array).permute_dims(array, axes)


def sliding_windows(x, shape, strides):
    """A read-only strided view of ``x`` (``as_strided``; strides in elements, not bytes):
    the windows of im2col without copying (a copy for strict arrays).

    >>> sliding_windows(numpy.arange(5.0), (3, 3), (1, 1)).tolist()
    [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]
    """
    kind = _kind(x)
    if kind == "strict":
        return _strict(numpy.ascontiguousarray(sliding_windows(_host(x), shape, strides)))
    module = numpy.lib.stride_tricks if kind == "numpy" else _cupy().lib.stride_tricks
    itemsize = x.dtype.itemsize
    byte_strides = tuple([s * itemsize for s in strides])
    if kind == "numpy":
        return module.as_strided(x, shape=shape, strides=byte_strides, writeable=False)
    return module.as_strided(x, shape=shape, strides=byte_strides)


def einsum(spec, *operands, optimize=False):
    """``numpy.einsum`` / ``cupy.einsum`` on arrays of one backend."""
    kind = _kind(operands[0])
    if kind == "strict":
        return _strict(numpy.einsum(spec, *_host(operands), optimize=optimize))
    if kind == "cupy":
        return _cupy().einsum(spec, *operands)
    return numpy.einsum(spec, *operands, optimize=optimize)


def pad(x, widths, mode="constant", **kwargs):
    """``numpy.pad`` / ``cupy.pad`` (constant, reflect, edge, wrap)."""
    kind = _kind(x)
    if kind == "strict":
        return _strict(numpy.pad(_host(x), widths, mode=mode, **kwargs))
    return (_cupy() if kind == "cupy" else numpy).pad(x, widths, mode=mode, **kwargs)


# ---------------------------------------------------------------- special functions

def special(name, *arrays):
    """A special function of ``scipy.special`` (``cupyx.scipy.special`` on the GPU) by name:
    ``erf``, ``erfinv``, ``gammaln``, ``digamma``, ``polygamma``, ``i0``, ..."""
    kind = _kind(arrays[0])
    if kind == "cupy":
        import cupyx.scipy.special as module
        return getattr(module, name)(*arrays)
    import scipy.special as module
    if kind == "strict":
        return _strict(getattr(module, name)(*_host(arrays)))
    return getattr(module, name)(*arrays)


class _StrictSpecial:
    """``scipy.special`` for strict arrays: each function crosses to NumPy and back."""

    def __getattr__(self, name):
        import scipy.special as module
        function = getattr(module, name)

        def on_host(*args):
            return _strict(numpy.asarray(function(*_host(args))))
        return on_host


def special_module(op):
    """The module of special functions for the active backend: ``scipy.special``,
    ``cupyx.scipy.special`` on CuPy, a NumPy-crossing proxy for strict arrays."""
    if backend.name == "array_api_strict":
        return _StrictSpecial()
    if backend.name == "cupy":
        try:
            import cupyx.scipy.special as module
        except ImportError as error:
            raise ImportError(f"{op} on the CuPy backend needs cupyx.scipy.special: "
                              "pip install 'chainrule[gpu]'") from error
        return module
    try:
        import scipy.special as module
    except ImportError as error:
        raise ImportError(f"{op} needs SciPy (a dependency of chainrule): pip install "
                          "scipy") from error
    return module


def stable_argsort(x, axis):
    """Indices that sort ``x`` along ``axis``, ties kept in order (a stable sort).

    >>> stable_argsort(numpy.array([2, 1, 2, 1]), 0).tolist()
    [1, 3, 0, 2]
    """
    kind = _kind(x)
    if kind == "strict":
        return backend_strict.strict_namespace().argsort(x, axis=axis, stable=True)
    return (_cupy() if kind == "cupy" else numpy).argsort(x, axis=axis, kind="stable")


def copy_into(target, source):
    """``target[...] = source`` cast to target's dtype whatever the kinds (NumPy's
    ``copyto(casting="unsafe")``: an in-place op's result written back)."""
    kind = _kind(target)
    if kind == "strict":
        target[...] = backend_strict.strict_namespace().astype(source, target.dtype)
        return
    (_cupy() if kind == "cupy" else numpy).copyto(target, source, casting="unsafe")


def errstate(**kwargs):
    """Silence floating-point warnings (NumPy's ``errstate``); CuPy raises none, so there it
    is a no-op. Host-side state, never tensor data."""
    if backend.name == "cupy":
        return contextlib.nullcontext()
    return numpy.errstate(**kwargs)
