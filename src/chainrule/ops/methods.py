"""Attach the ops to Tensor as operators and methods (``x + y``, ``x.sum(dim=0)``, ...)."""
from .. import backend
from ..tensor import Tensor
from . import activation, arithmetic, indexing, linalg, reduction, shape
from ._util import lift

_make = Tensor._make


def _reflected(fn):
    def method(self, other):
        return fn(lift(other, self), self)
    return method


def _compare(ufunc_name):
    def method(self, other):
        other = other.data if isinstance(other, Tensor) else other
        return _make(getattr(backend.xp, ufunc_name)(self.data, other), None)
    return method


_OPERATORS = {
    "__add__": arithmetic.add, "__radd__": _reflected(arithmetic.add),
    "__sub__": arithmetic.sub, "__rsub__": _reflected(arithmetic.sub),
    "__mul__": arithmetic.mul, "__rmul__": _reflected(arithmetic.mul),
    "__truediv__": arithmetic.div, "__rtruediv__": _reflected(arithmetic.div),
    "__pow__": arithmetic.pow, "__rpow__": _reflected(arithmetic.pow),
    "__matmul__": linalg.matmul, "__rmatmul__": _reflected(linalg.matmul),
    "__neg__": arithmetic.neg, "__abs__": arithmetic.abs,
    "__getitem__": indexing.getitem,
    "__lt__": _compare("less"), "__le__": _compare("less_equal"),
    "__gt__": _compare("greater"), "__ge__": _compare("greater_equal"),
    "__eq__": _compare("equal"), "__ne__": _compare("not_equal"),
}

_METHODS = [
    arithmetic.add, arithmetic.sub, arithmetic.mul, arithmetic.div, arithmetic.pow,
    arithmetic.exp, arithmetic.log, arithmetic.log1p, arithmetic.sqrt, arithmetic.rsqrt,
    arithmetic.abs, arithmetic.sign, arithmetic.sin, arithmetic.cos, arithmetic.maximum,
    arithmetic.minimum, arithmetic.clamp, arithmetic.clip, arithmetic.square,
    arithmetic.reciprocal, arithmetic.erf,
    activation.sigmoid, activation.tanh, activation.relu, activation.softmax,
    activation.log_softmax,
    reduction.sum, reduction.mean, reduction.max, reduction.min, reduction.prod,
    reduction.logsumexp, reduction.var, reduction.std, reduction.norm, reduction.argmax,
    reduction.argmin, reduction.all, reduction.any,
    shape.reshape, shape.view, shape.permute, shape.transpose, shape.swapaxes, shape.flatten,
    shape.squeeze, shape.unsqueeze, shape.expand, shape.broadcast_to, shape.flip, shape.tile,
    shape.repeat, shape.sum_to,
    indexing.gather, indexing.index_select, indexing.take_along_axis,
    linalg.matmul, linalg.dot, linalg.outer,
]

for _name, _fn in _OPERATORS.items():
    setattr(Tensor, _name, _fn)
for _fn in _METHODS:
    setattr(Tensor, _fn.__name__, _fn)   # a plain function becomes a method: t.sum(dim=0)
Tensor.view = shape.view          # aliases: their __name__ is the original's
Tensor.repeat = shape.repeat
Tensor.clip = arithmetic.clip
Tensor.divide = arithmetic.div
Tensor.multiply = arithmetic.mul
Tensor.subtract = arithmetic.sub


def _split(self, split_size, dim=0):
    return shape.split(self, split_size, dim)


def _chunk(self, chunks, dim=0):
    return shape.chunk(self, chunks, dim)


def _type_as(self, other):
    return self.to(other.dtype)


Tensor.split = _split
Tensor.chunk = _chunk
Tensor.type_as = _type_as
Tensor.is_floating_point = lambda self: self.data.dtype.kind == "f"
Tensor.element_size = lambda self: self.data.itemsize
