"""Helpers for optimizers that work on all parameters as one flat vector (LBFGS, Newton)."""
import numpy

from .. import backend
from ..tensor import Tensor


def params_of(optimizer):
    return [p for group in optimizer.param_groups for p in group["params"]]


_FLOAT64 = numpy.dtype(numpy.float64)


def flat_grad(params):
    xp = backend.namespace_of(params[0]._data)
    parts = [xp.zeros(p._data.size, dtype=p._data.dtype) if p.grad is None
             else xp.reshape(p.grad._data, (-1,)) for p in params]
    return xp.astype(xp.concat(parts), _FLOAT64)


def flat_params(params):
    xp = backend.namespace_of(params[0]._data)
    return xp.astype(xp.concat([xp.reshape(p._data, (-1,)) for p in params]), _FLOAT64)


def add_flat(params, step, direction):
    """params += step * direction (direction flat, float64)."""
    offset = 0
    for p in params:
        n = p._data.size
        xp = backend.namespace_of(p._data)
        p._data += xp.astype(xp.reshape(step * direction[offset:offset + n], p.shape),
                             p._data.dtype)
        p._bump_version()
        offset += n


def set_flat(params, values):
    offset = 0
    for p in params:
        n = p._data.size
        p._data[...] = backend.namespace_of(values).reshape(values[offset:offset + n], p.shape)
        p._bump_version()
        offset += n


def split_like(params, flat):
    """A flat vector -> one Tensor per parameter (for Hessian-vector products)."""
    out, offset = [], 0
    for p in params:
        n = p._data.size
        xp = backend.namespace_of(flat)
        out.append(Tensor._make(xp.astype(xp.reshape(flat[offset:offset + n], p.shape),
                                          p._data.dtype), None))
        offset += n
    return out
