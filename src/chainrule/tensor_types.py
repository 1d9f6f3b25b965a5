"""PyTorch's legacy tensor types: ``FloatTensor``, ``LongTensor``, ``DoubleTensor``, ...

Each is a constructor and an ``isinstance`` check at once, as in PyTorch:
``LongTensor([1, 2])`` makes an int64 tensor, ``FloatTensor(2, 3)`` a 2 x 3 float32 one
(chainrule fills it with zeros), and ``isinstance(x, FloatTensor)`` asks whether ``x`` is a
float32 tensor on the CPU (``chainrule.cuda.FloatTensor`` is not provided).

>>> import chainrule
>>> chainrule.LongTensor([1, 2]).dtype, chainrule.FloatTensor(2, 3).shape
(dtype('int64'), (2, 3))
>>> isinstance(chainrule.ones(2), chainrule.FloatTensor)
True
"""
import numpy

from . import backend
from .dtypes import LEGACY_NAMES
from .errors import ArgumentError, ArgumentTypeError, DTypeError
from .tensor import Tensor
from .tensor_base import to_array


class _LegacyType(type):
    """The metaclass: calling the class makes a tensor; ``isinstance`` checks the dtype."""

    def __call__(cls, *args, device=None):
        if device is not None and str(device) != "cpu":
            raise ArgumentError(f"{cls.__name__}: legacy constructors make CPU tensors; use "
                                f"chainrule.tensor(data, device={str(device)!r})")
        return _construct(cls.__name__, cls.dtype, args)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and not obj.is_cuda

    def __repr__(cls):
        return f"<class 'chainrule.{cls.__name__}'>"


def _construct(name, dtype, args):
    """``Name()``, ``Name(*sizes)`` or ``Name(data)`` (a tuple is data, as in PyTorch)."""
    if not args:
        return Tensor(numpy.zeros(0, dtype=dtype))
    if all(type(a) is int for a in args):
        return Tensor(numpy.zeros(_sizes(name, args), dtype=dtype))
    if len(args) != 1:
        raise ArgumentTypeError(f"{name}(): expected sizes (ints) or one sequence of data, "
                                f"got {len(args)} arguments")
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype != dtype:
            raise DTypeError(f"{name}(): expected a tensor of dtype {dtype}, got "
                             f"{data.dtype}; convert it with .to(chainrule.{dtype})")
        return data
    if isinstance(data, (float, bool)) or (isinstance(data, (int, numpy.integer))):
        raise ArgumentTypeError(f"{name}(): data must be a sequence (got "
                                f"{type(data).__name__})")
    return Tensor(to_array(data, dtype))


def _sizes(name, args):
    if any(n < 0 for n in args):
        raise ArgumentError(f"{name}(): trying to create a tensor with negative dimension "
                            f"{min(args)}: {list(args)}")
    return tuple(args)


def _legacy_type(dtype, name):
    doc = f"A {dtype} CPU tensor: ``{name}(data)``, ``{name}(*sizes)`` or ``isinstance``."
    return _LegacyType(name, (), {"dtype": dtype, "__doc__": doc, "__module__": __name__})


_TYPES = {name: _legacy_type(dtype, name) for dtype, name in LEGACY_NAMES.items()}
globals().update(_TYPES)


def bfloat16_type():
    """``BFloat16Tensor``, made when first asked for (bfloat16 loads ml_dtypes)."""
    if "BFloat16Tensor" not in _TYPES and backend.load_bfloat16() is not None:
        _TYPES["BFloat16Tensor"] = _legacy_type(backend.load_bfloat16(), "BFloat16Tensor")
    return _TYPES["BFloat16Tensor"]


def __getattr__(attribute):
    if attribute == "BFloat16Tensor":
        return bfloat16_type()
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")

__all__ = sorted(_TYPES)
