"""Gradient clipping and parameter/vector conversion.

Clipping writes new gradient arrays rather than editing them in place: two parameters
may share one gradient array (see the engine), and each must be scaled exactly once.
"""
import math

import numpy

from ... import backend
from ...ops import cat
from ...tensor import Tensor
from . import rnn  # noqa: F401  (chainrule.nn.utils.rnn, as PyTorch's)


def _with_grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their total norm is at most ``max_norm``.
    Returns the total norm before clipping (a tensor), as PyTorch does.

    >>> import chainrule
    >>> w = chainrule.tensor([3.0, 4.0], requires_grad=True)
    >>> w.grad = chainrule.tensor([3.0, 4.0])
    >>> clip_grad_norm_([w], 1.0).item(), [round(v, 3) for v in w.grad.tolist()]
    (5.0, [0.6, 0.8])
    """
    params = _with_grads(parameters)
    if not params:
        return Tensor(0.0)
    xp = backend.xp
    norm_type = float(norm_type)
    if norm_type == math.inf:
        total = max(float(xp.abs(p.grad._data).max()) for p in params)
    else:
        total = sum(float((xp.abs(p.grad._data.astype(numpy.float64)) ** norm_type).sum())
                    for p in params) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total gradient norm is {total}")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for p in params:
            p.grad = Tensor._make(p.grad._data * xp.asarray(coef, dtype=p.grad._data.dtype), None)
    return Tensor(total)


def clip_grad_value_(parameters, clip_value):
    """Clip every gradient element into [-clip_value, clip_value].

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> w.grad = chainrule.tensor([5.0])
    >>> clip_grad_value_([w], 1.0); w.grad.tolist()
    [1.0]
    """
    for p in _with_grads(parameters):
        p.grad = Tensor._make(backend.xp.clip(p.grad._data, -clip_value, clip_value), None)


def parameters_to_vector(parameters):
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vector, parameters):
    offset = 0
    data = vector._data if isinstance(vector, Tensor) else vector
    for p in parameters:
        n = p.numel()
        p._data[...] = data[offset:offset + n].reshape(p.shape)
        p._bump_version()
        offset += n
