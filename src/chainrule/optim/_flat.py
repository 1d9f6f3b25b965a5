"""Helpers for optimizers that work on all parameters as one flat vector (LBFGS, Newton)."""
import numpy

from ..tensor import Tensor


def params_of(optimizer):
    return [p for group in optimizer.param_groups for p in group["params"]]


def flat_grad(params):
    parts = [numpy.zeros(p._data.size, dtype=p._data.dtype) if p.grad is None
             else p.grad._data.reshape(-1) for p in params]
    return numpy.concatenate(parts).astype(numpy.float64)


def flat_params(params):
    return numpy.concatenate([p._data.reshape(-1) for p in params]).astype(numpy.float64)


def add_flat(params, step, direction):
    """params += step * direction (direction flat, float64)."""
    offset = 0
    for p in params:
        n = p._data.size
        p._data += (step * direction[offset:offset + n]).reshape(p.shape).astype(p._data.dtype)
        p._bump_version()
        offset += n


def set_flat(params, values):
    offset = 0
    for p in params:
        n = p._data.size
        p._data[...] = values[offset:offset + n].reshape(p.shape)
        p._bump_version()
        offset += n


def split_like(params, flat):
    """A flat vector -> one Tensor per parameter (for Hessian-vector products)."""
    out, offset = [], 0
    for p in params:
        n = p._data.size
        out.append(Tensor._make(flat[offset:offset + n].reshape(p.shape).astype(p._data.dtype),
                                None))
        offset += n
    return out
