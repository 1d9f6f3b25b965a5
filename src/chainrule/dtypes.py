"""Dtypes by PyTorch's names, their limits, the default floating dtype, and memory formats.

chainrule's dtypes are NumPy dtypes (``chainrule.float32 == numpy.dtype("float32")``), so
``x.dtype == chainrule.float32`` and ``x.dtype == numpy.float32`` both hold. ``bfloat16`` is
the real bfloat16 of the ``ml_dtypes`` package; NumPy computes with it in float32 and rounds
back. :func:`finfo` and :func:`iinfo` answer as ``torch.finfo``/``torch.iinfo`` (Python
numbers); :func:`set_default_dtype` changes what ``tensor(1.5)``, ``zeros(2)`` and integer
promotion give.

>>> import chainrule
>>> chainrule.finfo(chainrule.bfloat16).eps, chainrule.iinfo(chainrule.int8).max
(0.0078125, 127)
>>> chainrule.get_default_dtype()
dtype('float32')
"""
import builtins

import numpy

from . import backend
from .autograd.function import Function
from .errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from .tensor_base import TensorBase

#: PyTorch name -> dtype (aliases included); complex dtypes are not supported by chainrule
class _LazyNames(dict):
    """A name table whose bfloat16 entry appears when it is first asked for (``"bfloat16"``
    in DTYPES, ``"BFloat16Tensor"`` in LEGACY_DTYPES): importing ml_dtypes costs a second."""

    def __init__(self, lazy_key, entries):
        super().__init__(entries)
        self.lazy_key = lazy_key

    def __contains__(self, key):
        if key == self.lazy_key:
            backend.load_bfloat16()
        return dict.__contains__(self, key)

    def __missing__(self, key):
        if key == self.lazy_key and backend.load_bfloat16() is not None:
            return dict.__getitem__(self, key)
        raise KeyError(key)


DTYPES = {
    "float16": numpy.dtype("float16"), "half": numpy.dtype("float16"),
    "float32": numpy.dtype("float32"), "float": numpy.dtype("float32"),
    "float64": numpy.dtype("float64"), "double": numpy.dtype("float64"),
    "uint8": numpy.dtype("uint8"), "uint16": numpy.dtype("uint16"),
    "uint32": numpy.dtype("uint32"), "uint64": numpy.dtype("uint64"),
    "int8": numpy.dtype("int8"), "int16": numpy.dtype("int16"),
    "short": numpy.dtype("int16"), "int32": numpy.dtype("int32"),
    "int": numpy.dtype("int32"), "int64": numpy.dtype("int64"),
    "long": numpy.dtype("int64"), "bool": numpy.dtype("bool"),
}

#: dtype -> the name of PyTorch's legacy tensor type (``x.type()`` gives 'torch.FloatTensor')
LEGACY_NAMES = {
    numpy.dtype("float32"): "FloatTensor", numpy.dtype("float64"): "DoubleTensor",
    numpy.dtype("float16"): "HalfTensor", numpy.dtype("uint8"): "ByteTensor",
    numpy.dtype("int8"): "CharTensor", numpy.dtype("int16"): "ShortTensor",
    numpy.dtype("int32"): "IntTensor", numpy.dtype("int64"): "LongTensor",
    numpy.dtype("bool"): "BoolTensor",
}
LEGACY_DTYPES = _LazyNames("BFloat16Tensor",
                           {name: dtype for dtype, name in LEGACY_NAMES.items()})
#: what ``x.type()`` answers: the legacy names, and the three unsigned dtypes that have a
#: type name but no legacy constructor in PyTorch
TYPE_NAMES = {**LEGACY_NAMES, **{numpy.dtype(f"uint{bits}"): f"UInt{bits}Tensor"
                                 for bits in (16, 32, 64)}}
DTYPES = _LazyNames("bfloat16", DTYPES)


def _add_bfloat16(dtype):
    """Enter ml_dtypes' bfloat16 in the tables once it is loaded (see backend.bfloat16)."""
    if dtype is None:
        return
    dict.__setitem__(DTYPES, "bfloat16", dtype)
    LEGACY_NAMES[dtype] = TYPE_NAMES[dtype] = "BFloat16Tensor"
    dict.__setitem__(LEGACY_DTYPES, "BFloat16Tensor", dtype)
    globals()["bfloat16"] = dtype


def __getattr__(attribute):
    """``chainrule.dtypes.bfloat16``, loaded on first use."""
    if attribute == "bfloat16" and backend.load_bfloat16() is not None:
        return globals()["bfloat16"]
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


def as_dtype(dtype, op="dtype"):
    """A NumPy dtype from a chainrule/NumPy dtype, a name (``"float32"``, ``"bfloat16"``,
    ``"long"``) or a Python type (``float`` is float64, ``int`` int64, as in PyTorch)."""
    if isinstance(dtype, numpy.dtype):
        return dtype
    dtype = backend.numpy_dtype(dtype)               # an array API test dtype
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise ArgumentTypeError(f"{op}: {dtype!r} is not a dtype (use chainrule.float32, "
                                "chainrule.int64, ...)") from None


# ---------------------------------------------------------------- promotion

#: PyTorch's promotion categories: bool < integers < floating (bfloat16's kind is "V")
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2}
_LIMITED_UNSIGNED = tuple(numpy.dtype(f"uint{bits}") for bits in (16, 32, 64))


def _category(dtype):
    return _CATEGORY[dtype.kind]


def promote_types(type1, type2):
    """The dtype two operands of these dtypes combine to, as ``torch.promote_types``: a
    higher category (bool < integer < floating) wins, within one the wider type (uint8 and
    int8 give int16, float16 and bfloat16 float32). uint16/32/64 promote with floating
    dtypes and with themselves only, as in PyTorch.

    >>> import chainrule
    >>> promote_types(chainrule.int32, chainrule.float16), promote_types("uint8", "int8")
    (dtype('float16'), dtype('int16'))
    """
    a, b = as_dtype(type1, "promote_types"), as_dtype(type2, "promote_types")
    if a == b:
        return a
    if (a in _LIMITED_UNSIGNED or b in _LIMITED_UNSIGNED) and \
            not (backend.is_floating(a) or backend.is_floating(b)):
        raise DTypeError(f"promote_types: promotion for uint16, uint32, uint64 types is not "
                         f"supported, attempted to promote {_name(a)} and {_name(b)}")
    if _category(a) != _category(b):
        return a if _category(a) > _category(b) else b
    return numpy.promote_types(a, b)


def can_cast(from_, to):
    """Whether PyTorch's type promotion allows casting ``from_`` to ``to``
    (``torch.can_cast``): never to a lower category (floating to integer, anything to bool).

    >>> import chainrule
    >>> can_cast(chainrule.float64, chainrule.int32), can_cast(chainrule.int64, chainrule.int8)
    (False, True)
    """
    return _category(as_dtype(from_, "can_cast")) <= _category(as_dtype(to, "can_cast"))


def result_type(tensor1, tensor2):
    """The dtype an arithmetic op on these operands (tensors or Python numbers) gives, as
    ``torch.result_type``: a tensor with dimensions decides within its category; a 0-d
    tensor or a number only lifts the result to a higher category (a Python float gives the
    default float dtype, an int int64).

    >>> import chainrule
    >>> result_type(chainrule.ones(2, dtype=chainrule.int32), 2.5)
    dtype('float32')
    >>> result_type(chainrule.tensor(1.0, dtype=chainrule.float64), chainrule.ones(2))
    dtype('float32')
    """
    ranked = ([], [], [])              # (tensors with dimensions, 0-d tensors, numbers)
    for operand in (tensor1, tensor2):
        if isinstance(operand, TensorBase):
            ranked[0 if operand._data.ndim else 1].append(operand._data.dtype)
        elif isinstance(operand, (builtins.bool, builtins.int, builtins.float)):
            ranked[2].append(_number_dtype(operand))
        else:
            raise ArgumentTypeError(f"result_type: expected tensors or Python numbers, got "
                                    f"{builtins.type(operand).__name__}")
    result = None
    for group in ranked:
        if not group:
            continue
        dtype = group[0] if len(group) == 1 else promote_types(*group)
        if result is None or _category(dtype) > _category(result):
            result = dtype
    return result


def _number_dtype(value):
    if isinstance(value, builtins.bool):
        return numpy.dtype(numpy.bool_)
    if isinstance(value, builtins.int):
        return numpy.dtype(numpy.int64)
    return backend.default_float


# ---------------------------------------------------------------- limits

class finfo:                                      # noqa: N801  (PyTorch's name)
    """The limits of a floating dtype, as ``torch.finfo``: ``bits, eps, max, min, tiny,
    smallest_normal, resolution`` (Python floats) and ``dtype`` (its name).

    >>> f = finfo(numpy.float16)
    >>> f.bits, f.eps, f.max, f.dtype
    (16, 0.0009765625, 65504.0, 'float16')
    """

    def __init__(self, type=None):                # noqa: A002  (PyTorch's argument name)
        dtype = backend.default_float if type is None else as_dtype(type, "finfo")
        if not backend.is_floating(dtype):
            raise DTypeError(f"finfo() requires a floating point input type, got {dtype}; "
                             "use chainrule.iinfo for integer types")
        info = _ml_finfo(dtype) if backend.is_bfloat16(dtype) else numpy.finfo(dtype)
        self.bits = builtins.int(info.bits)
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = builtins.float(info.resolution)
        self.dtype = _name(dtype)

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


def _ml_finfo(dtype):
    import ml_dtypes
    return ml_dtypes.finfo(dtype)


class iinfo:                                      # noqa: N801  (PyTorch's name)
    """The limits of an integer dtype, as ``torch.iinfo``: ``bits, min, max, dtype``.

    >>> iinfo(numpy.uint8).max, iinfo(numpy.int64).min
    (255, -9223372036854775808)
    """

    def __init__(self, type):                     # noqa: A002
        dtype = as_dtype(type, "iinfo")
        if dtype.kind == "b":
            raise DTypeError("bool is not supported by iinfo (it has no integer range)")
        if dtype.kind not in "iu":
            raise DTypeError(f"iinfo() requires an integer input type, got {dtype}; use "
                             "chainrule.finfo for floating types")
        info = numpy.iinfo(dtype)
        self.bits, self.min, self.max = builtins.int(info.bits), builtins.int(info.min), \
            builtins.int(info.max)
        self.dtype = _name(dtype)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def _name(dtype):
    return "bfloat16" if backend.is_bfloat16(dtype) else dtype.name


# ---------------------------------------------------------------- the default dtype

def get_default_dtype():
    """The floating dtype of ``tensor(1.5)``, ``zeros(2)``, ``rand(2)`` and integer promotion
    (float32 unless :func:`set_default_dtype` changed it)."""
    return backend.default_float


def set_default_dtype(dtype):
    """Make ``dtype`` (float16, bfloat16, float32 or float64) the default floating dtype, as
    ``torch.set_default_dtype``: factories and Python floats use it from now on.

    >>> set_default_dtype(numpy.float64)
    >>> import chainrule
    >>> chainrule.tensor(1.5).dtype
    dtype('float64')
    >>> set_default_dtype(numpy.float32)
    """
    dtype = as_dtype(dtype, "set_default_dtype")
    if not backend.is_floating(dtype):
        raise DTypeError(f"set_default_dtype: only floating-point types can be the default "
                         f"type, got {dtype}")
    backend.default_float = dtype


def set_default_tensor_type(t):
    """PyTorch's older form: ``set_default_tensor_type('torch.DoubleTensor')`` (or the
    class ``chainrule.DoubleTensor``) sets the default dtype; CUDA types are refused."""
    name = t if isinstance(t, str) else getattr(t, "__name__", repr(t))
    if name.startswith("torch.cuda.") or name.startswith("chainrule.cuda."):
        raise ArgumentError(f"set_default_tensor_type({name!r}): CUDA tensor types cannot "
                            "be the default; move tensors with .to('cuda')")
    short = name.rpartition(".")[2]
    if short not in LEGACY_DTYPES:
        raise ArgumentError(f"set_default_tensor_type: unknown tensor type {name!r}")
    set_default_dtype(LEGACY_DTYPES[short])


# ---------------------------------------------------------------- questions about tensors

def is_tensor(obj):
    """Whether ``obj`` is a chainrule tensor (``torch.is_tensor``).

    >>> import chainrule
    >>> is_tensor(chainrule.ones(1)), is_tensor([1.0])
    (True, False)
    """
    return isinstance(obj, TensorBase)


def _tensor_argument(t, op):
    if not isinstance(t, TensorBase):
        raise ArgumentTypeError(f"{op}(): argument 'input' must be a Tensor, not "
                                f"{builtins.type(t).__name__}")
    return t


def is_floating_point(input):                     # noqa: A002
    """Whether the tensor's dtype is floating (float16, bfloat16, float32, float64)."""
    return backend.is_floating(_tensor_argument(input, "is_floating_point")._data.dtype)


def is_nonzero(input):                            # noqa: A002
    """The truth of a one-element tensor (an ArgumentError for any other)."""
    t = _tensor_argument(input, "is_nonzero")
    if t._data.size != 1:
        raise ArgumentError(f"is_nonzero: a tensor with {t._data.size} values cannot be "
                            "converted to a bool (it needs exactly one)")
    return builtins.bool(t._data.reshape(()) != 0)


def numel(input):                                 # noqa: A002
    """The number of elements of a tensor."""
    return builtins.int(_tensor_argument(input, "numel")._data.size)


# ---------------------------------------------------------------- memory formats

class memory_format:                              # noqa: N801  (PyTorch's name)
    """A memory layout: ``contiguous_format`` (row-major), ``preserve_format`` (keep the
    source's), ``channels_last`` (NHWC strides for 4-d tensors), ``channels_last_3d``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"chainrule.{self.name}"

    def __reduce__(self):
        return self.name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")

#: the axis order in memory of each channels-last format, and the rank it needs
_CHANNELS_LAST = {"channels_last": ((0, 2, 3, 1), 4), "channels_last_3d": ((0, 2, 3, 4, 1), 5)}


def check_memory_format(fmt, ndim, op):
    """``fmt`` checked to be a memory format that fits a tensor of ``ndim`` dimensions."""
    if not isinstance(fmt, memory_format):
        raise ArgumentTypeError(f"{op}: memory_format must be chainrule.contiguous_format, "
                                f"preserve_format or channels_last, got {fmt!r}")
    if fmt.name in _CHANNELS_LAST and ndim != _CHANNELS_LAST[fmt.name][1]:
        raise ShapeError(f"{op}: required rank {_CHANNELS_LAST[fmt.name][1]} tensor to use "
                         f"{fmt.name} format, got {ndim} dimensions")
    return fmt


def laid_out(array, fmt):
    """The values of ``array`` in memory laid out as ``fmt`` (always a new array)."""
    xp = backend.namespace_of(array)
    if fmt.name == "preserve_format":
        return array.copy(order="K")
    if fmt.name == "contiguous_format":
        return xp.array(array, order="C", copy=True)
    order = _CHANNELS_LAST[fmt.name][0]
    inverse = tuple(order.index(axis) for axis in range(len(order)))
    return xp.ascontiguousarray(array.transpose(order)).transpose(inverse)


def is_laid_out(array, fmt):
    """Whether ``array``'s memory already follows ``fmt`` (``is_contiguous(memory_format=)``)."""
    if fmt.name in ("contiguous_format", "preserve_format"):
        return builtins.bool(array.flags.c_contiguous)
    order, rank = _CHANNELS_LAST[fmt.name]
    return array.ndim == rank and builtins.bool(array.transpose(order).flags.c_contiguous)


class Relayout(Function):
    """A copy with the same values in another memory layout (the gradient passes as is)."""

    def __init__(self, fmt):
        self.fmt = fmt

    def forward(self, x):
        return laid_out(x, self.fmt)

    def backward(self, gy):
        return gy


def relayout(x, fmt, op="clone"):
    """A differentiable copy of tensor ``x`` laid out as memory format ``fmt``.

    >>> import chainrule
    >>> y = relayout(chainrule.ones(1, 2, 3, 3), channels_last)
    >>> y.is_contiguous(), y.is_contiguous(memory_format=channels_last)
    (False, True)
    """
    return Relayout(check_memory_format(fmt, x.ndim, op))(x)


# ---------------------------------------------------------------- the names
globals().update(DTYPES)          # float16, float32, ..., int, long, bool
backend.on_bfloat16(_add_bfloat16)   # and bfloat16, when it is first asked for
bool_ = DTYPES["bool"]

__all__ = sorted(DTYPES) + [
    "bool_", "finfo", "iinfo", "promote_types", "can_cast", "result_type", "get_default_dtype", "set_default_dtype",
    "set_default_tensor_type", "is_tensor", "is_floating_point", "is_nonzero", "numel",
    "memory_format", "contiguous_format", "preserve_format", "channels_last",
    "channels_last_3d"]
