"""Gradient clipping, parameter/vector conversion, and (in submodules, as PyTorch's)
``rnn``, ``parametrize`` and ``parametrizations`` (weight_norm, spectral_norm); the
deprecated ``weight_norm`` / ``remove_weight_norm`` (``weight_g``, ``weight_v``).

Clipping writes new gradient arrays rather than editing them in place: two parameters
may share one gradient array (see the engine), and each must be scaled exactly once.
"""
import math

import numpy

from ... import backend
from ...errors import ArgumentTypeError, ShapeError
from ...ops import cat
from ...tensor import Tensor
from . import rnn  # noqa: F401  (chainrule.nn.utils.rnn, as PyTorch's)
from . import parametrizations, parametrize  # noqa: F401  (as PyTorch's)
from .weight_norm import remove_weight_norm, weight_norm  # noqa: F401  (deprecated, as PyTorch's)


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


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clip every gradient element into [-clip_value, clip_value] (``foreach`` is accepted
    for PyTorch's signature; there is one implementation).

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> w.grad = chainrule.tensor([5.0])
    >>> clip_grad_value_([w], 1.0); w.grad.tolist()
    [1.0]
    """
    clip_value = float(clip_value)
    for p in _with_grads(parameters):
        p.grad = Tensor._make(backend.xp.clip(p.grad._data, -clip_value, clip_value), None)


def parameters_to_vector(parameters):
    """All parameters flattened and concatenated into one vector (differentiable, as
    PyTorch's).

    >>> import chainrule
    >>> parameters_to_vector(chainrule.nn.Linear(2, 3).parameters()).shape
    (9,)
    """
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the vector ``vec`` into the parameters (not recorded).

    >>> import chainrule
    >>> layer = chainrule.nn.Linear(2, 1)
    >>> vector_to_parameters(chainrule.tensor([1.0, 2.0, 3.0]), layer.parameters())
    >>> layer.weight.tolist(), layer.bias.tolist()
    ([[1.0, 2.0]], [3.0])
    """
    if not isinstance(vec, Tensor):
        raise ArgumentTypeError(f"vector_to_parameters: expected a Tensor, but got "
                                f"{type(vec).__name__}")
    parameters = list(parameters)
    total = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.numel() != total:
        raise ShapeError(f"vector_to_parameters: the parameters hold {total} values but the "
                         f"vector has shape {vec.shape}")
    offset = 0
    data = vec._data
    for p in parameters:
        n = p.numel()
        p._data[...] = data[offset:offset + n].reshape(p.shape)
        p._bump_version()
        offset += n
