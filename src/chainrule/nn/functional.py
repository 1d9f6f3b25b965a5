"""Functional forms of the layers and losses (``chainrule.nn.functional``, PyTorch's ``F``).

Losses take ``reduction="mean" | "sum" | "none"`` and check their inputs, so a shape or
dtype mistake is an error that says what to change rather than a silently wrong loss.
"""

import numpy

from .. import backend
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..generator import default_generator
from ..ops import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu,  # noqa: F401
                   softmax, softplus, tanh, one_hot)
from ..ops import clamp, exp, log, log1p, maximum, where
from ..ops.linalg import linear  # noqa: F401
from ..ops.conv import conv1d, conv2d, conv_transpose2d  # noqa: F401
from ..ops.attention import (multi_head_attention_forward,  # noqa: F401
                             scaled_dot_product_attention)
from ..ops.norm import BatchNorm as _BatchNormNode
from ..ops.pool import (adaptive_avg_pool2d, avg_pool2d, max_pool2d,  # noqa: F401
                        upsample_nearest)
from ..ops.shape import pad as _pad_numpy_style
from ..tensor import Tensor
from .rmsnorm import rms_norm  # noqa: F401

_make = Tensor._make


def _as_tensor(x, name, op):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (numpy.ndarray, list, tuple, int, float)):
        return Tensor(x)
    raise ArgumentTypeError(f"{op}: {name} must be a Tensor (or array), got {type(x).__name__}")


def _reduce(loss, reduction, op):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ArgumentError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _same_shape(input, target, op):
    if input.shape != target.shape:
        hint = ""
        if input.ndim == target.ndim + 1 and input.shape[-1] == 1:
            hint = " — use input.squeeze(-1) or target.unsqueeze(-1)"
        elif target.ndim == input.ndim + 1 and target.shape[-1] == 1:
            hint = " — use target.squeeze(-1)"
        raise ShapeError(f"{op}: input has shape {input.shape} but target has shape "
                         f"{target.shape}; they must match{hint}")


def _regression_pair(input, target, op):
    """input and target as same-shape float tensors, or an error naming ``op`` and the shapes."""
    input = _as_tensor(input, "input", op)
    target = _float_target(target, input, op)
    _same_shape(input, target, op)
    return input, target


def _float_target(target, input, op):
    target = _as_tensor(target, "target", op)
    if target._data.dtype.kind != "f":
        target = target.to(input.dtype)
    return target


# ---------------------------------------------------------------- regression losses

def mse_loss(input, target, reduction="mean"):
    """Mean squared error: mean((input - target)^2).

    >>> import chainrule
    >>> mse_loss(chainrule.tensor([1.0, 2.0]), chainrule.tensor([1.0, 4.0])).item()
    2.0
    """
    input, target = _regression_pair(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error: mean(|input - target|).

    >>> import chainrule
    >>> l1_loss(chainrule.tensor([1.0]), chainrule.tensor([3.0])).item()
    2.0
    """
    input, target = _regression_pair(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta).

    >>> import chainrule
    >>> huber_loss(chainrule.tensor([0.0]), chainrule.tensor([0.5])).item()
    0.125
    """
    input, target = _regression_pair(input, target, "huber_loss")
    diff = input - target
    small = diff.abs()._data < delta
    loss = where(small, 0.5 * diff * diff, delta * (diff.abs() - 0.5 * delta))
    return _reduce(loss, reduction, "huber_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """huber_loss / beta (PyTorch's smooth_l1); plain L1 when beta = 0.

    >>> import chainrule
    >>> smooth_l1_loss(chainrule.tensor([0.0]), chainrule.tensor([2.0])).item()
    1.5
    """
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, reduction, delta=beta) * (1.0 / beta)


# ---------------------------------------------------------------- binary classification

def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-[t log p + (1 - t) log(1 - p)] for probabilities p in [0, 1] (logs clamped at -100).

    >>> import chainrule
    >>> round(binary_cross_entropy(chainrule.tensor([0.9]), chainrule.tensor([1.0])).item(), 4)
    0.1054
    """
    input, target = _regression_pair(input, target, "binary_cross_entropy")
    data = input._data
    if data.size and (data.min() < 0 or data.max() > 1 or numpy.isnan(data).any()):
        raise ArgumentError(
            f"binary_cross_entropy: input must be probabilities in [0, 1], got values in "
            f"[{float(data.min()):.4g}, {float(data.max()):.4g}]; apply sigmoid first, or use "
            "binary_cross_entropy_with_logits on the raw scores")
    log_p = clamp(log(input), min=-100.0)
    log_not_p = clamp(log(1 - input), min=-100.0)
    loss = -(target * log_p + (1 - target) * log_not_p)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """BCE on raw scores x: finite for any x (uses log(1 + e^-|x|), never e^x itself).

    >>> import chainrule
    >>> binary_cross_entropy_with_logits(chainrule.tensor([1000.0, -1000.0]),
    ...                                  chainrule.tensor([1.0, 0.0])).item()
    0.0
    """
    input, target = _regression_pair(input, target, "binary_cross_entropy_with_logits")
    # log(1 + e^-x) written stably: max(-x, 0) + log1p(e^-|x|)
    softplus_neg = maximum(-input, 0.0) + log1p(exp(-input.abs()))
    if pos_weight is None:
        loss = (1 - target) * input + softplus_neg
    else:
        log_weight = 1 + (pos_weight - 1) * target
        loss = (1 - target) * input + log_weight * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


# ---------------------------------------------------------------- multi-class

def _check_class_targets(input, target, op):
    """Class-index targets must be integers of shape (N,) (or (N, d1, ...)) in [0, C)."""
    n_classes = input.shape[1]
    expected = (input.shape[0],) + input.shape[2:]
    if target._data.dtype.kind == "f":
        raise DTypeError(
            f"{op}: targets are {target.dtype} of shape {target.shape}, but class-index targets "
            f"must be integers of shape {expected} — use y.long() (or pass class probabilities "
            f"of shape {input.shape})")
    if target.shape != expected:
        hint = " — use y.squeeze(1)" if target.shape == expected + (1,) or (
            target.ndim == 2 and target.shape[1] == 1 and target.shape[0] == input.shape[0]) \
            else ""
        raise ShapeError(f"{op}: targets have shape {target.shape} but {op} expects "
                         f"{expected} class indices for input of shape {input.shape}{hint}")
    return n_classes


def _class_labels(target, n_classes, ignore_index, op):
    """(labels with ignored ones replaced by 0, mask of the kept ones), range-checked."""
    labels = target._data
    valid = labels != ignore_index
    safe = backend.xp.where(valid, labels, 0)
    if safe.size and (safe.min() < 0 or safe.max() >= n_classes):
        raise ArgumentError(f"{op}: class targets must lie in [0, {n_classes}) (or equal "
                            f"ignore_index={ignore_index}), got range [{int(labels.min())}, "
                            f"{int(labels.max())}]")
    return safe, valid


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class ``target``.

    >>> import chainrule
    >>> nll_loss(chainrule.tensor([[-0.5, -1.5]]), chainrule.tensor([0])).item()
    0.5
    """
    input = _as_tensor(input, "input", "nll_loss")
    target = _as_tensor(target, "target", "nll_loss")
    if input.ndim < 2:
        raise ShapeError(f"nll_loss: input must be (N, C) or (N, C, d1, ...), got {input.shape}")
    n_classes = _check_class_targets(input, target, "nll_loss")
    safe, valid = _class_labels(target, n_classes, ignore_index, "nll_loss")
    picked = _pick_class(input, safe)                     # (N, ...)
    w = backend.xp.ones(n_classes, dtype=input._data.dtype) if weight is None else \
        (weight._data if isinstance(weight, Tensor) else backend.xp.asarray(weight))
    sample_w = w[safe] * valid
    loss = -picked * _make(sample_w.astype(input._data.dtype), None)
    if reduction == "mean":
        total = sample_w.sum()
        return loss.sum() * (1.0 / total if total else float("nan"))
    return _reduce(loss, reduction, "nll_loss")


def _pick_class(input, labels):
    """input[n, labels[n], ...] for every n (and trailing position)."""
    moved = input.swapaxes(0, 1) if input.ndim == 2 else input.permute(
        1, 0, *range(2, input.ndim))
    grids = backend.xp.indices(labels.shape, sparse=True)
    return moved[(labels,) + tuple(grids)]


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy from logits (N, C, ...), with class-index or probability targets.

    >>> import chainrule
    >>> logits = chainrule.tensor([[2.0, 0.0, 0.0]])
    >>> round(cross_entropy(logits, chainrule.tensor([0])).item(), 4)
    0.2395
    """
    input = _as_tensor(input, "input", "cross_entropy")
    target = _as_tensor(target, "target", "cross_entropy")
    if input.ndim == 0:
        raise ShapeError("cross_entropy: input must be logits of shape (C,), (N, C) or "
                         "(N, C, d1, ...), got a 0-d tensor")
    if input.ndim == 1:
        input = input.unsqueeze(0)
        target = target.unsqueeze(0) if target.ndim == 0 or target._data.dtype.kind == "f" \
            else target.reshape(1)
    if input._data.dtype.kind != "f":
        raise DTypeError(f"cross_entropy: input must be floating-point logits, got {input.dtype}")
    n_classes = input.shape[1]
    soft = target._data.dtype.kind == "f" and target.shape == input.shape
    if not soft:
        _check_class_targets(input, target, "cross_entropy")
        if input.ndim == 2 and not label_smoothing:
            return _fused_cross_entropy(input, target, weight, ignore_index, reduction)
    log_p = log_softmax(input, dim=1)
    if soft:
        return _soft_cross_entropy(log_p, target, weight, reduction, label_smoothing, n_classes)
    nll = nll_loss(log_p, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    return (1 - label_smoothing) * nll + _smoothing_term(
        log_p, target, weight, ignore_index, reduction) * (label_smoothing / n_classes)


def _fused_cross_entropy(input, target, weight, ignore_index, reduction):
    """The common case — (N, C) logits, class indices — as one SoftmaxCrossEntropy node."""
    from ..ops.loss import SoftmaxCrossEntropy
    if reduction not in ("mean", "sum", "none"):
        raise ArgumentError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got "
                            f"{reduction!r}")
    safe, valid = _class_labels(target, input.shape[1], ignore_index, "cross_entropy")
    w = None if weight is None else (weight._data if isinstance(weight, Tensor)
                                     else backend.xp.asarray(weight))
    sample_weights = (backend.xp.ones(len(safe)) if w is None else w[safe]) * valid
    total = float(sample_weights.sum())
    scale = (1.0 / total if total else float("nan")) if reduction == "mean" else 1.0
    return SoftmaxCrossEntropy(safe, sample_weights, scale, reduction != "none")(input)


def _weight_view(weight, log_p):
    w = weight if isinstance(weight, Tensor) else Tensor(numpy.asarray(weight))
    return w.to(log_p.dtype).reshape((1, -1) + (1,) * (log_p.ndim - 2))


def _smoothing_term(log_p, target, weight, ignore_index, reduction):
    """PyTorch's label-smoothing part: -sum_c w_c log p_c, masked and normalised like nll."""
    per_class = log_p if weight is None else log_p * _weight_view(weight, log_p)
    smooth = -per_class.sum(dim=1)
    ignored = target._data == ignore_index
    smooth = smooth * _make((~ignored).astype(log_p._data.dtype), None)
    if reduction == "mean":
        if weight is None:
            denominator = float((~ignored).sum())
        else:
            w = weight._data if isinstance(weight, Tensor) else backend.xp.asarray(weight)
            denominator = float(w[target._data[~ignored]].sum())
        return smooth.sum() * (1.0 / denominator if denominator else float("nan"))
    return _reduce(smooth, reduction, "cross_entropy")


def _soft_cross_entropy(log_p, target, weight, reduction, label_smoothing, n_classes):
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    if weight is not None:
        log_p = log_p * _weight_view(weight, log_p)
    loss = -(log_p * target)
    if reduction == "mean":
        return loss.sum() * (n_classes / log_p._data.size if log_p._data.size else float("nan"))
    if reduction == "sum":
        return loss.sum()
    return _reduce(loss.sum(dim=1), reduction, "cross_entropy")


# ---------------------------------------------------------------- layers as functions

def dropout(input, p=0.5, training=True, generator=None):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    >>> import chainrule
    >>> dropout(chainrule.ones(3), 0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    if not 0 <= p <= 1:
        raise ArgumentError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    rng = (generator or default_generator).numpy
    keep = rng.random(input.shape) >= p
    scale = backend.xp.asarray(keep * (1.0 / (1 - p)), dtype=input._data.dtype)
    return input * _make(scale, None)


def dropout2d(input, p=0.5, training=True, generator=None):
    """Channel dropout for (N, C, H, W): each whole channel is zeroed with probability p."""
    if not training or p == 0:
        return input
    rng = (generator or default_generator).numpy
    keep = rng.random(input.shape[:2] + (1,) * (input.ndim - 2)) >= p
    scale = backend.xp.asarray(keep * (1.0 / (1 - p)) if p < 1 else keep * 0.0,
                               dtype=input._data.dtype)
    return input * _make(scale, None)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each group of channels over (C/G, H, W) per sample."""
    n, c = input.shape[:2]
    if c % num_groups:
        raise ArgumentError(f"group_norm: {c} channels are not divisible into {num_groups} "
                            "groups")
    grouped = input.reshape(n, num_groups, -1)
    mean = grouped.mean(dim=2, keepdim=True)
    centered = grouped - mean
    var = (centered * centered).mean(dim=2, keepdim=True)
    out = (centered * (var + eps).rsqrt()).reshape(input.shape)
    shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_shape`` axes of each sample, then scale and shift.

    >>> import chainrule
    >>> [round(v, 4) for v in layer_norm(chainrule.tensor([[1.0, 3.0]]), 2)[0].tolist()]
    [-1.0, 1.0]
    """
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(normalized_shape)
    if input.shape[-len(normalized_shape):] != normalized_shape:
        raise ShapeError(f"layer_norm: input of shape {input.shape} does not end with "
                         f"normalized_shape {normalized_shape}")
    axes = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    mean = input.mean(dim=axes, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(dim=axes, keepdim=True)
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise over the batch (and spatial) axes; in training also update running stats.

    Training uses the batch's statistics (one fused node, ``ops.norm.BatchNorm``) and moves
    ``running_mean`` / ``running_var`` by ``momentum`` (the variance with the unbiased
    estimate, as PyTorch); otherwise x * (weight / sqrt(running_var + eps)) + (bias - mean *
    that), PyTorch's inference formula.

    >>> import chainrule
    >>> x = chainrule.tensor([[1.0], [3.0]])
    >>> [round(v, 4) for v in batch_norm(x, None, None, training=True).flatten().tolist()]
    [-1.0, 1.0]
    """
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if not training:
        scale = (running_var + eps).rsqrt()
        if weight is not None:
            scale = scale * weight
        shift = -running_mean * scale
        if bias is not None:
            shift = shift + bias
        return input * scale.reshape(shape) + shift.reshape(shape)
    count = input._data.size // input.shape[1]
    if count <= 1:
        raise ArgumentError(f"batch_norm: expected more than 1 value per channel when "
                            f"training, got input of shape {input.shape}")
    node = _BatchNormNode(eps, weight is not None, bias is not None)
    out = node(input, *[t for t in (weight, bias) if t is not None])
    if running_mean is not None:
        running_mean._data *= 1 - momentum
        running_mean._data += momentum * node.batch_mean.astype(running_mean._data.dtype)
    if running_var is not None:
        unbiased = node.batch_var * (count / (count - 1))
        running_var._data *= 1 - momentum
        running_var._data += momentum * unbiased.astype(running_var._data.dtype)
    return out


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` picked by integer ``input`` (the gradient scatter-adds into them).

    >>> import chainrule
    >>> embedding(chainrule.tensor([1]), chainrule.eye(3)).tolist()
    [[0.0, 1.0, 0.0]]
    """
    indices = input._data if isinstance(input, Tensor) else backend.xp.asarray(input)
    if indices.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, got {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
        raise ArgumentError(f"embedding: indices must lie in [0, {weight.shape[0]}), got range "
                            f"[{int(indices.min())}, {int(indices.max())}]")
    out = weight[indices]
    if padding_idx is not None:
        keep = (indices != padding_idx)[..., None].astype(weight._data.dtype)
        out = out * _make(keep, None)
    return out


def pad(input, pad, mode="constant", value=0.0):
    """PyTorch's F.pad: ``pad`` lists (left, right) pairs starting from the LAST dimension.

    >>> import chainrule
    >>> pad(chainrule.ones(1, 2), (1, 1)).tolist()
    [[0.0, 1.0, 1.0, 0.0]]
    """
    if mode != "constant":
        raise ArgumentError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2:
        raise ArgumentError(f"pad: needs an even number of values, got {pad}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return _pad_numpy_style(input, widths, value)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """``input`` divided by its p-norm along ``dim`` (at least ``eps``).

    >>> import chainrule
    >>> [round(v, 4) for v in normalize(chainrule.tensor([[3.0, 4.0]]))[0].tolist()]
    [0.6, 0.8]
    """
    norm = input.norm(p=p, dim=dim, keepdim=True)
    return input / clamp(norm, min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along ``dim``.

    >>> import chainrule
    >>> cosine_similarity(chainrule.tensor([[1.0, 0.0]]), chainrule.tensor([[1.0, 0.0]])).tolist()
    [1.0]
    """
    dot = (x1 * x2).sum(dim=dim)
    return dot / clamp(x1.norm(dim=dim) * x2.norm(dim=dim), min=eps)
