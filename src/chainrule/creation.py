"""Factories: tensor, zeros, ones, full, arange, linspace, eye, rand, randn, randint, *_like.

Floating results default to float32 (PyTorch's default); random ones draw from the global
generator (``chainrule.manual_seed``) unless a ``generator`` is given.
"""
import numpy

import math

from . import backend, backend_helpers
from .errors import ArgumentError, ArgumentTypeError, DLPackError, DTypeError
from .generator import default_generator
from .ops._util import check_fits
from .device import as_device, check_usable, device_of, move_array, same_place
from .ops import sampling
from .tensor import Tensor
from .tensor_base import check_supported, to_array


def tensor(data, dtype=None, requires_grad=False, name=None, *, device=None,
           pin_memory=False):
    """Make a tensor from a number, a (nested) list, a NumPy array or another tensor.

    Like ``torch.tensor`` it always copies: changing the array afterwards does not change the
    tensor (``from_numpy`` and ``as_tensor`` share the array's memory instead).

    >>> import chainrule, numpy
    >>> x = chainrule.tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> x.dtype, x.shape, x.requires_grad
    (dtype('float32'), (2,), True)
    >>> a = numpy.zeros(2)
    >>> t = chainrule.tensor(a)
    >>> a[0] = 5.0
    >>> t.tolist()
    [0.0, 0.0]
    """
    if type(data) is float and device is None and backend.name == "numpy":
        return _from_float(data, dtype, requires_grad, name)
    source = data._data if isinstance(data, Tensor) else data
    array = to_array(source, dtype)
    if hasattr(source, "shape") and backend_helpers.may_share_memory(array, source):
        array = backend_helpers.contiguous_copy(array)
    if device is not None:
        array = _placed(array, device, "tensor")
    return Tensor(array, requires_grad=requires_grad, name=name)


_FLOAT32, _FLOAT64 = numpy.dtype("float32"), numpy.dtype("float64")


def _from_float(value, dtype, requires_grad, name):
    """``tensor(python_float)`` on NumPy: the same array as the general conversion (the
    default float dtype unless ``dtype`` says otherwise), made in one step; the seed examples
    make three of these per iteration."""
    if dtype is None:
        dtype = backend.default_float
    elif dtype is not _FLOAT32 and dtype is not _FLOAT64:   # (NumPy's dtypes are singletons)
        dtype = numpy.dtype(backend.numpy_dtype(dtype))
        check_supported(dtype)
    try:
        array = backend.xp.asarray(value, dtype=dtype)
    except (OverflowError, ValueError):         # inf, nan or too large for an integer dtype
        raise ArgumentError(f"tensor(): the value {value!r} cannot be converted to {dtype} "
                            "without overflow") from None
    result = Tensor._make(array, None)
    if name is not None:
        result.name = name
    if requires_grad:
        result.requires_grad_(True)
    return result


def _shape(size, op="a factory"):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    for n in size:
        if isinstance(n, (bool, float)) or not isinstance(n, (int, numpy.integer)):
            raise ArgumentTypeError(f"{op}: a size must be a sequence of ints, got {size!r}")
    shape = tuple(int(n) for n in size)
    if any(n < 0 for n in shape):
        raise ArgumentError(f"{op}: a tensor's size cannot be negative, got {shape}")
    return shape


def _dtype(dtype):
    if dtype is None:
        return backend.default_float
    dtype = numpy.dtype(dtype)
    check_supported(dtype)
    return dtype


def _finish(array, requires_grad, device=None, op="a factory"):
    if device is not None:
        array = _placed(array, device, op)
    return Tensor(array, requires_grad=requires_grad)


def _placed(array, device, op):
    """``array`` on ``device`` (``"cpu"``, ``"cuda"``, a chainrule.device; checked first:
    ``"cuda"`` without CuPy or a GPU says what is missing)."""
    target = check_usable(as_device(device, op))
    return array if same_place(array, target) else move_array(array, target)


def zeros(*size, dtype=None, requires_grad=False, device=None, layout=None, pin_memory=False):
    """Zeros of the given size (float32 unless ``dtype`` says otherwise).

    >>> import chainrule
    >>> chainrule.zeros(2, 3).shape, chainrule.zeros((2,), dtype=chainrule.int64).tolist()
    ((2, 3), [0, 0])
    """
    return _finish(backend.xp.zeros(_shape(size, "zeros"), dtype=_dtype(dtype)), requires_grad,
                   device, "zeros")


def ones(*size, dtype=None, requires_grad=False, device=None, layout=None, pin_memory=False):
    """Ones of the given size.

    >>> import chainrule
    >>> chainrule.ones(2).tolist()
    [1.0, 1.0]
    """
    return _finish(backend.xp.ones(_shape(size, "ones"), dtype=_dtype(dtype)), requires_grad,
                   device, "ones")


def empty(*size, dtype=None, requires_grad=False, device=None, layout=None, pin_memory=False,
          memory_format=None):
    """A tensor of the given size whose values are unspecified (chainrule fills it with zeros,
    so a program that reads it before writing behaves the same on every run).

    >>> import chainrule
    >>> chainrule.empty(2, 3, dtype=chainrule.float64).shape
    (2, 3)
    """
    return _finish(backend.xp.zeros(_shape(size, "empty"), dtype=_dtype(dtype)), requires_grad,
                   device, "empty")


def _fill_dtype(fill_value):
    """PyTorch's dtype for ``full`` without a dtype: bool, int64 or the default float."""
    if isinstance(fill_value, (bool, numpy.bool_)):
        return numpy.dtype(numpy.bool_)
    if isinstance(fill_value, (int, numpy.integer)):
        return numpy.dtype(numpy.int64)
    return backend.default_float


def full(size, fill_value, dtype=None, requires_grad=False, *, device=None, layout=None,
         pin_memory=False):
    """``fill_value`` everywhere; without ``dtype``, a bool gives bool, an int int64 and a
    float float32 (PyTorch's rule).

    >>> import chainrule
    >>> chainrule.full((2,), 0.5).tolist(), chainrule.full((2,), 7).dtype
    ([0.5, 0.5], dtype('int64'))
    """
    size = (size,) if isinstance(size, (int, numpy.integer)) else tuple(size)
    dtype = _fill_dtype(_scalar_value(fill_value, "full")) if dtype is None else _dtype(dtype)
    check_fits(_scalar_value(fill_value, "full"), dtype, "full")
    return _finish(backend.xp.full(_shape(size, "full"), _scalar_value(fill_value, "full"),
                                   dtype=dtype), requires_grad, device, "full")


def _scalar_value(value, op):
    """A Python number from a number or a one-element tensor."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ArgumentError(f"{op}: expected a number, got a tensor of shape {value.shape}")
        return value.item()
    if isinstance(value, numpy.generic):
        return value.item()
    if not isinstance(value, (int, float, bool)):
        raise ArgumentTypeError(f"{op}: expected a number, got {type(value).__name__}")
    return value


def _is_floating(value):
    return isinstance(value, float)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, *, device=None,
           layout=None, pin_memory=False):
    """Values from ``start`` up to (not including) ``end`` by ``step``, with PyTorch's rules:
    int64 when every argument is an integer, else float32; an integer ``dtype`` truncates
    the arguments toward zero (int64 truncates all three first, as PyTorch does).

    >>> import chainrule
    >>> chainrule.arange(3).tolist(), chainrule.arange(0, 1, 0.25).tolist()
    ([0, 1, 2], [0.0, 0.25, 0.5, 0.75])
    """
    if end is None:
        start, end = 0, start
    start, end, step = (_scalar_value(v, "arange") for v in (start, end, step))
    if dtype is None:
        floating = any(_is_floating(v) for v in (start, end, step))
        dtype = backend.default_float if floating else numpy.dtype(numpy.int64)
    dtype = _dtype(dtype)
    _check_range(start, end, step)
    if backend.kind(dtype) == "b":
        raise DTypeError("arange: a bool dtype is not supported (as in PyTorch)")
    if dtype == numpy.int64:
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ArgumentError("arange: step must be nonzero (an int64 arange truncates "
                                "the step toward zero first)")
        size = max(-((start - end) // step), 0)
        values = start + step * numpy.arange(size, dtype=numpy.int64)
    else:
        size = max(math.ceil((float(end) - float(start)) / float(step)), 0)
        if backend.kind(dtype) in "iu":
            values = int(start) + int(step) * numpy.arange(size, dtype=numpy.int64)
        else:
            values = float(start) + float(step) * numpy.arange(size, dtype=numpy.float64)
    return _finish(backend.xp.asarray(values.astype(dtype)), requires_grad, device, "arange")


def _check_range(start, end, step):
    start, end, step = float(start), float(end), float(step)
    if step == 0:
        raise ArgumentError("arange: step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ArgumentError(f"arange: unsupported range {start} -> {end} (bounds must be "
                            "finite)")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise ArgumentError(f"arange: upper bound and lower bound inconsistent with step "
                            f"sign (start={start}, end={end}, step={step})")


def _steps(steps, op):
    if isinstance(steps, (bool, float)) or not isinstance(steps, (int, numpy.integer)):
        raise ArgumentTypeError(f"{op}: steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise ArgumentError(f"{op}: number of steps must be non-negative, got {steps}")
    return int(steps)


def _linspace_values(start, end, steps, dtype):
    """PyTorch's linspace kernel: the first half counts up from start, the second half down
    from end (both ends exact), each value one fused multiply-add; integer dtypes truncate
    start and end first and step in float64, floating dtypes compute in their own precision."""
    if backend.kind(dtype) in "iub":
        start, end = int(start), int(end)
        compute = numpy.dtype(numpy.float64)
    else:
        compute = dtype
    start, end = compute.type(start), compute.type(end)
    if steps == 1:
        return numpy.full(1, start, dtype=compute)
    step = (end - start) / compute.type(steps - 1)
    index = numpy.arange(steps)
    up = _fused_multiply_add(step, index, start, compute)
    down = _fused_multiply_add(-step, steps - 1 - index, end, compute)
    return numpy.where(index < steps // 2, up, down)


def _fused_multiply_add(a, b, c, dtype):
    """``a * b + c`` rounded once, as the fused instruction PyTorch's kernels compile to
    (the difference decides where an integer linspace truncates). Below float64 the float64
    product is exact; in float64 the product's rounding error is recovered (Dekker)."""
    b = numpy.asarray(b, dtype=numpy.float64)
    if dtype != numpy.float64:
        return (numpy.float64(a) * b + numpy.float64(c)).astype(dtype)
    a, c = numpy.float64(a), numpy.float64(c)
    product = a * b
    split = 134217729.0                      # 2**27 + 1: halves of 26 bits
    a_hi = a * split - (a * split - a)
    b_hi = b * split - (b * split - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    product_error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    total = product + c
    virtual = total - product
    sum_error = (product - (total - virtual)) + (c - virtual)
    return total + (sum_error + product_error)


def linspace(start, end, steps, dtype=None, requires_grad=False, *, device=None, layout=None,
             pin_memory=False):
    """``steps`` evenly spaced values from start to end, inclusive (float32 by default; an
    integer ``dtype`` truncates toward zero, as PyTorch does).

    >>> import chainrule
    >>> chainrule.linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> chainrule.linspace(-10, 10, 7, dtype=chainrule.int64).tolist()
    [-10, -6, -3, 0, 3, 6, 10]
    """
    start, end = _scalar_value(start, "linspace"), _scalar_value(end, "linspace")
    steps, dtype = _steps(steps, "linspace"), _dtype(dtype)
    values = _linspace_values(start, end, steps, dtype)
    return _finish(backend.xp.asarray(_truncate(values, dtype)), requires_grad, device,
                   "linspace")


def _truncate(values, dtype):
    if backend.kind(dtype) in "iu":
        return numpy.trunc(values).astype(dtype)
    return values.astype(dtype)


def logspace(start, end, steps, base=10.0, dtype=None, requires_grad=False, *, device=None,
             layout=None, pin_memory=False):
    """``base ** linspace(start, end, steps)``; an integer ``dtype`` truncates start and end
    first and the powers after, computing in float32 (PyTorch's rule).

    >>> import chainrule
    >>> chainrule.logspace(0, 3, 4).tolist()
    [1.0, 10.0, 100.0, 1000.0]
    >>> chainrule.logspace(0, 3, 4, base=2.5, dtype=chainrule.int64).tolist()
    [1, 2, 6, 15]
    """
    start, end = _scalar_value(start, "logspace"), _scalar_value(end, "logspace")
    steps, dtype = _steps(steps, "logspace"), _dtype(dtype)
    base = float(_scalar_value(base, "logspace"))
    if steps == 1:
        values = numpy.asarray([base ** float(start)])
    elif backend.kind(dtype) in "iub":
        start, end = int(start), int(end)
        step = numpy.float32(end - start) / numpy.float32(steps - 1)
        index = numpy.arange(steps)
        up = start + step * index.astype(numpy.float32)
        down = end - step * (steps - 1 - index).astype(numpy.float32)
        exponents = numpy.where(index < steps // 2, up, down).astype(numpy.float32)
        values = numpy.power(numpy.float32(base), exponents)
    else:
        exponents = _linspace_values(start, end, steps, dtype)
        values = numpy.power(dtype.type(base), exponents)
    return _finish(backend.xp.asarray(_truncate(numpy.asarray(values), dtype)), requires_grad,
                   device, "logspace")


def eye(n, m=None, dtype=None, requires_grad=False, *, device=None, layout=None,
        pin_memory=False):
    """The identity matrix.

    >>> import chainrule
    >>> chainrule.eye(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return _finish(backend.xp.eye(n, m, dtype=_dtype(dtype)), requires_grad, device, "eye")


def _random(array, dtype, requires_grad, device=None, op="a random factory"):
    dtype = _dtype(dtype)
    if not backend.is_floating(dtype):
        raise DTypeError(f"{op}: random floating values cannot be {dtype} (use randint for "
                         "integers)")
    return _finish(backend.xp.asarray(array.astype(dtype, copy=False)), requires_grad, device,
                   op)


def rand(*size, dtype=None, requires_grad=False, generator=None, device=None, layout=None,
         pin_memory=False):
    """Uniform on [0, 1), drawn from ``generator`` or the global one.

    >>> import chainrule
    >>> _ = chainrule.manual_seed(0)
    >>> chainrule.rand(2, 3).shape
    (2, 3)
    """
    g = generator or default_generator
    return _random(g.numpy.random(_shape(size)), dtype, requires_grad, device, "rand")


def randn(*size, dtype=None, requires_grad=False, generator=None, device=None, layout=None,
          pin_memory=False):
    """Standard normal samples.

    >>> import chainrule
    >>> chainrule.randn(4, dtype="float64").dtype
    dtype('float64')
    """
    g = generator or default_generator
    return _random(g.numpy.standard_normal(_shape(size)), dtype, requires_grad, device, "randn")


def randint(low, high=None, size=(), dtype=None, generator=None, *, device=None,
            requires_grad=False, layout=None, pin_memory=False):
    """Integers in [low, high) (int64 unless ``dtype`` says otherwise).

    >>> import chainrule
    >>> x = chainrule.randint(0, 3, (100,))
    >>> bool((x >= 0).all() and (x < 3).all())
    True
    """
    if high is None:
        low, high = 0, low
    g = generator or default_generator
    values = g.numpy.integers(low, high, size=tuple(size))
    return _finish(backend.xp.asarray(values, dtype=numpy.dtype(dtype or numpy.int64)),
                   requires_grad, device, "randint")


def randperm(n, generator=None, *, dtype=None, device=None, requires_grad=False,
             layout=None, pin_memory=False):
    g = generator or default_generator
    values = g.numpy.permutation(n).astype(numpy.dtype(dtype or numpy.int64))
    return _finish(backend.xp.asarray(values), requires_grad, device, "randperm")


def _like_dtype(t, dtype):
    return t.dtype if dtype is None else _dtype(dtype)


def _like_device(t, device):
    """The device of a ``*_like`` result: ``device``, else the device of ``t``."""
    return device_of(t._data) if device is None else device


def zeros_like(t, dtype=None, requires_grad=False, *, device=None, layout=None,
               memory_format=None):
    """Zeros with the shape and dtype of ``t``.

    >>> import chainrule
    >>> chainrule.zeros_like(chainrule.ones(2, 2)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    return _finish(backend.xp.zeros(t.shape, dtype=_like_dtype(t, dtype)), requires_grad,
                   _like_device(t, device), "zeros_like")


def ones_like(t, dtype=None, requires_grad=False, *, device=None, layout=None,
              memory_format=None):
    """Ones with the shape and dtype of ``t``.

    >>> import chainrule
    >>> chainrule.ones_like(chainrule.arange(3)).tolist()
    [1, 1, 1]
    """
    return _finish(backend.xp.ones(t.shape, dtype=_like_dtype(t, dtype)), requires_grad,
                   _like_device(t, device), "ones_like")


def empty_like(t, dtype=None, requires_grad=False, *, device=None, layout=None,
               memory_format=None):
    """A tensor with the shape and dtype of ``t`` and unspecified values (zeros here).

    >>> import chainrule
    >>> chainrule.empty_like(chainrule.ones(2, 3), dtype=chainrule.int64).dtype
    dtype('int64')
    """
    return _finish(backend.xp.zeros(t.shape, dtype=_like_dtype(t, dtype)), requires_grad,
                   _like_device(t, device), "empty_like")


def full_like(t, fill_value, dtype=None, requires_grad=False, *, device=None, layout=None,
              memory_format=None):
    """``fill_value`` with the shape and dtype of ``t`` (an integer tensor truncates a float
    fill value, as PyTorch does).

    >>> import chainrule
    >>> chainrule.full_like(chainrule.zeros(2), 7.0).tolist()
    [7.0, 7.0]
    >>> chainrule.full_like(chainrule.arange(2), 2.7).tolist()
    [2, 2]
    """
    value = _scalar_value(fill_value, "full_like")
    check_fits(value, _like_dtype(t, dtype), "full_like")
    return _finish(backend.xp.full(t.shape, value, dtype=_like_dtype(t, dtype)), requires_grad,
                   _like_device(t, device), "full_like")


def rand_like(input, *, dtype=None, device=None, requires_grad=False, layout=None,  # noqa: A002
              memory_format=None, generator=None):
    """Uniform [0, 1) values with the shape, dtype and device of ``input`` (a floating
    tensor, unless ``dtype`` says another floating dtype).

    >>> import chainrule
    >>> chainrule.rand_like(chainrule.zeros(2, dtype=chainrule.float64)).dtype
    dtype('float64')
    """
    g = generator or default_generator
    return _random(g.numpy.random(input.shape), _like_dtype(input, dtype), requires_grad,
                   _like_device(input, device), "rand_like")


def randn_like(input, *, dtype=None, device=None, requires_grad=False,  # noqa: A002
               layout=None, memory_format=None, generator=None):
    """Standard normal values with the shape, dtype and device of ``input`` (floating).

    >>> import chainrule
    >>> chainrule.randn_like(chainrule.zeros(2, 3)).shape
    (2, 3)
    """
    g = generator or default_generator
    return _random(g.numpy.standard_normal(input.shape), _like_dtype(input, dtype),
                   requires_grad, _like_device(input, device), "randn_like")


def randint_like(input, low=0, high=None, *, dtype=None, device=None,  # noqa: A002
                 requires_grad=False, layout=None, memory_format=None, generator=None):
    """Integers in [low, high) with the shape, dtype and device of ``input``, as
    ``torch.randint_like``: ``randint_like(x, high)`` or ``randint_like(x, low, high)``.

    >>> import chainrule
    >>> chainrule.randint_like(chainrule.zeros(3), 1).tolist()
    [0.0, 0.0, 0.0]
    """
    if high is None:
        low, high = 0, low
    low, high = int(_scalar_value(low, "randint_like")), \
        int(_scalar_value(high, "randint_like"))
    if not low < high:
        raise ArgumentError(f"randint_like: expected low < high, got low={low}, high={high}")
    g = generator or default_generator
    values = g.numpy.integers(low, high, size=input.shape).astype(_like_dtype(input, dtype))
    return _finish(backend.xp.asarray(values), requires_grad, _like_device(input, device),
                   "randint_like")


def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False, layout=None, pin_memory=False):
    """Normal samples in PyTorch's four forms: ``normal(mean_tensor, std_tensor)`` (broadcast
    together), ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)`` (the tensor's
    shape, dtype and device), and ``normal(mean, std, size)`` with two numbers (float32 or
    ``dtype``). As in PyTorch the gradient with respect to a tensor mean or std is zero.

    >>> import chainrule
    >>> chainrule.normal(0.0, 1.0, (2, 3)).shape
    (2, 3)
    >>> chainrule.normal(chainrule.zeros(2), 0.0).tolist()
    [0.0, 0.0]
    """
    if out is not None:
        raise ArgumentError("normal: out= is not supported; assign the result instead")
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            raise ArgumentTypeError("normal: size is only for normal(mean, std, size) with "
                                    "two numbers; with a tensor the shape is the tensor's")
        return sampling.normal(mean, std, generator=generator)
    if size is None:
        raise ArgumentTypeError("normal(mean, std) with two numbers needs a size: "
                                "normal(mean, std, size), or a tensor mean or std")
    shape = _shape((size,) if isinstance(size, (int, numpy.integer)) else tuple(size),
                   "normal")
    mean, std = float(_scalar_value(mean, "normal")), sampling.check_std(
        _scalar_value(std, "normal"), "normal")
    g = generator or default_generator
    return _random(mean + std * g.numpy.standard_normal(shape), dtype, requires_grad, device,
                   "normal")


#: the dtypes torch.from_numpy accepts, less complex (chainrule holds no complex numbers)
_FROM_NUMPY_DTYPES = tuple(numpy.dtype(name) for name in (
    "float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint64", "uint32",
    "uint16", "uint8", "bool"))


def from_numpy(ndarray):
    """A tensor sharing ``ndarray``'s memory and dtype, as ``torch.from_numpy``: a change
    made through either is seen by the other (on the CuPy backend the array is copied to the
    GPU instead). Refuses what PyTorch refuses: non-arrays, other dtypes, a byte order that
    is not the machine's; a reversed (negatively strided) array is taken as it is.

    >>> import chainrule, numpy
    >>> a = numpy.zeros(2)
    >>> t = chainrule.from_numpy(a)
    >>> a[0] = 5.0
    >>> t
    tensor([5., 0.], dtype=float64)
    """
    if not isinstance(ndarray, numpy.ndarray):
        raise ArgumentTypeError(f"from_numpy: expected a numpy.ndarray, got "
                                f"{type(ndarray).__name__} (chainrule.tensor copies other data)")
    if not ndarray.dtype.isnative:
        raise ArgumentError(f"from_numpy: the array's byte order ({ndarray.dtype.str}) is not "
                            "this machine's; convert it first with "
                            "array.astype(array.dtype.newbyteorder('='))")
    if ndarray.dtype not in _FROM_NUMPY_DTYPES:
        raise DTypeError(f"from_numpy: cannot take an array of dtype {ndarray.dtype}; the "
                         "supported dtypes are " + ", ".join(map(str, _FROM_NUMPY_DTYPES)))
    return Tensor(ndarray)


class _Capsule:
    """A bare DLPack capsule (``torch.utils.dlpack.to_dlpack``) dressed as an array: NumPy's
    ``from_dlpack`` only takes objects with ``__dlpack__``."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **options):
        return self.capsule

    def __dlpack_device__(self):
        return (_DLPACK_CPU, 0)             # NumPy reads the capsule's own device and checks


_DLPACK_CPU = 1


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A tensor sharing memory with ``ext_tensor``: anything with ``__dlpack__`` (a PyTorch,
    JAX or CuPy tensor, a NumPy array, a chainrule tensor) or a DLPack capsule, as
    ``torch.from_dlpack``. Nothing is copied unless ``copy=True``; the tensor does not require
    grad (call ``requires_grad_()``). A change made in place through either library is seen
    by both; chainrule's version counter counts only changes made through chainrule
    (docs/pytorch.md, DLPack).

    >>> import chainrule, numpy
    >>> a = numpy.arange(3.0)
    >>> t = chainrule.from_dlpack(a)
    >>> a[0] = 7.0
    >>> t
    tensor([7., 1., 2.], dtype=float64)
    """
    if device not in (None, "cpu"):
        raise ArgumentError(f"from_dlpack: device must be None or 'cpu', got {device!r}")
    source = _Capsule(ext_tensor) if type(ext_tensor).__name__ == "PyCapsule" else ext_tensor
    if not hasattr(source, "__dlpack__") or not hasattr(source, "__dlpack_device__"):
        raise ArgumentTypeError(f"from_dlpack: expected an object with __dlpack__ (a PyTorch, "
                                f"JAX or CuPy tensor, a NumPy array) or a DLPack capsule, got "
                                f"{type(ext_tensor).__name__}")
    options = {} if copy is None else {"copy": copy}
    on_cpu = source.__dlpack_device__()[0] == _DLPACK_CPU
    try:
        if backend.name == "numpy" or on_cpu:
            array = numpy.from_dlpack(source, **options)
        else:
            array = backend.xp.from_dlpack(source, **options)
    except RuntimeError as error:           # NumPy: "Unsupported dtype in DLTensor"
        raise DTypeError(f"from_dlpack: {type(ext_tensor).__name__} of dtype "
                         f"{getattr(ext_tensor, 'dtype', '?')} cannot be taken: {error} "
                         "(chainrule holds float16/32/64, integers and bool)") from error
    except (BufferError, TypeError, ValueError) as error:
        raise DLPackError(f"from_dlpack: {type(ext_tensor).__name__} cannot be exported "
                          f"to chainrule's {backend.name} backend: {error}") from error
    if backend.kind(array.dtype) not in "fiub":
        raise DTypeError(f"from_dlpack: cannot take a tensor of dtype {array.dtype} "
                         "(chainrule holds float16/32/64, integers and bool)")
    return Tensor(array)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor without a copy where it can be (a tensor of the dtype and device
    asked for is returned as it is; an array shares its memory).

    >>> import chainrule
    >>> x = chainrule.ones(2)
    >>> chainrule.as_tensor(x) is x
    True
    """
    if isinstance(data, Tensor):
        t = data if dtype is None or data.dtype == numpy.dtype(dtype) else data.to(dtype)
        return t if device is None else t.to(device)
    return _finish(to_array(data, dtype), False, device, "as_tensor")


def _triangle_indices(row, col, offset, dtype, op, numpy_fn, device=None):
    for name, value in (("row", row), ("col", col), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
            raise ArgumentTypeError(f"{op}: {name} must be an int, got {type(value).__name__}")
    if row < 0 or col < 0:
        raise ArgumentError(f"{op}: row and col must be non-negative, got row={row}, "
                            f"col={col}")
    dtype = numpy.dtype(numpy.int64) if dtype is None else _dtype(dtype)
    if backend.kind(dtype) not in "iu":
        raise DTypeError(f"{op}: dtype must be an integer dtype, got {dtype}")
    rows, cols = numpy_fn(int(row), int(offset), int(col))
    return _finish(backend.xp.asarray(numpy.stack([rows, cols]).astype(dtype)), False, device,
                   op)


def tril_indices(row, col, offset=0, dtype=None, *, device=None, layout=None):
    """The (row, column) coordinates of the lower triangle of a ``row`` x ``col`` matrix, as a
    2 x N int64 tensor in row-major order; ``offset`` moves the diagonal as in ``tril``.

    >>> import chainrule
    >>> chainrule.tril_indices(3, 3).tolist()
    [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    """
    return _triangle_indices(row, col, offset, dtype, "tril_indices", numpy.tril_indices,
                             device)


def triu_indices(row, col, offset=0, dtype=None, *, device=None, layout=None):
    """The (row, column) coordinates of the upper triangle of a ``row`` x ``col`` matrix.

    >>> import chainrule
    >>> chainrule.triu_indices(2, 3, 1).tolist()
    [[0, 0, 1], [1, 2, 2]]
    """
    return _triangle_indices(row, col, offset, dtype, "triu_indices", numpy.triu_indices,
                             device)


__all__ = ["tensor", "zeros", "ones", "empty", "full", "arange", "linspace", "logspace", "eye",
           "rand", "randn", "randint", "randperm", "zeros_like", "ones_like", "empty_like",
           "full_like", "rand_like", "randn_like", "randint_like", "normal", "from_numpy",
           "from_dlpack", "as_tensor", "tril_indices", "triu_indices"]


def empty_like_shape(shape, dtype=None):
    """Uninitialised-but-zeroed storage of ``shape`` for a layer to initialise."""
    return backend.xp.zeros(tuple(shape), dtype=_dtype(dtype))
