"""The losses of ``chainrule.nn.functional``, with PyTorch's signatures and edge cases.

Losses take ``reduction="mean" | "sum" | "none"`` (and PyTorch's deprecated
``size_average``/``reduce``) and check their inputs, so a shape or dtype mistake is an error
that says what to change rather than a silently wrong loss. As PyTorch's: the mean of no
elements is nan; a mean over targets that are all ``ignore_index`` is nan with a zero
gradient; an unbatched input gives a 0-d loss.
"""
import math
import warnings

import numpy

from .. import backend, backend_helpers
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..ops import clamp, exp, log, log1p, maximum, minimum, where, xlogy
from ..ops._util import result_dtype
from ..ops.activation import Softplus as _SoftplusGate
from ..ops.activation import log_softmax
from ..ops.ctc import CTCLoss as _CTCNode
from ..ops.loss import BinaryCrossEntropy as _BinaryCrossEntropyNode
from ..ops.loss import SoftmaxCrossEntropy
from ..tensor import Tensor

_make = Tensor._make
_NAN = float("nan")


def _as_tensor(x, name, op):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (numpy.ndarray, list, tuple, int, float)):
        return Tensor(x)
    raise ArgumentTypeError(f"{op}: {name} must be a Tensor (or array), got {type(x).__name__}")


def legacy_reduction(size_average, reduce, reduction):
    """PyTorch's rule for the deprecated arguments: either one given overrides reduction."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction="
                  "'mean', 'sum' or 'none' instead.", stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return ("mean" if size_average else "sum") if reduce else "none"


def _check_reduction(reduction, op):
    if reduction not in ("mean", "sum", "none"):
        raise ArgumentError(f"{op}: reduction must be 'mean', 'sum' or 'none', got "
                            f"{reduction!r}")


def _reduce(loss, reduction, op):
    _check_reduction(reduction, op)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _nan_without_gradient(zero):
    """nan as the value, a zero gradient (``zero`` is a loss scaled by 0): PyTorch's answer
    for a mean over nothing."""
    return zero + _NAN


def _same_shape(input, target, op):
    if input.shape != target.shape:
        hint = ""
        if input.ndim == target.ndim + 1 and input.shape[-1] == 1:
            hint = " — use input.squeeze(-1) or target.unsqueeze(-1)"
        elif target.ndim == input.ndim + 1 and target.shape[-1] == 1:
            hint = " — use target.squeeze(-1)"
        raise ShapeError(f"{op}: input has shape {input.shape} but target has shape "
                         f"{target.shape}; they must match{hint}")


def _floating_pair(a, b, op, names=("input", "target")):
    """a and b as tensors of their promoted floating dtype (PyTorch's type promotion); bool
    or integer operands that promote to no floating type are an error, as PyTorch's."""
    a, b = _as_tensor(a, names[0], op), _as_tensor(b, names[1], op)
    dtype = result_dtype(a, b)
    if backend.kind(dtype) != "f":
        raise DTypeError(f"{op}: needs floating-point {names[0]} or {names[1]}, got {a.dtype} "
                         f"and {b.dtype}; convert with .float()")
    return (a if a.dtype == dtype else a.to(dtype)), (b if b.dtype == dtype else b.to(dtype))


def _regression_pair(input, target, op):
    """input and target as same-shape float tensors, or an error naming ``op`` and the shapes."""
    input, target = _floating_pair(input, target, op)
    _same_shape(input, target, op)
    return input, target


def _weighted(loss, weight, reduction, op, mean_over_weights=True):
    """PyTorch 2.13's ``weight=`` of the regression losses: mean = sum(w l) / sum(w)
    (mse, l1), or the plain mean of w l (huber)."""
    if weight is None:
        return _reduce(loss, reduction, op)
    weight = _as_tensor(weight, "weight", op)
    if weight.shape != loss.shape:
        raise ShapeError(f"{op}: weight has shape {weight.shape} but the input has shape "
                         f"{loss.shape}; they must match")
    weighted = loss * weight
    if reduction == "mean" and mean_over_weights:
        _check_reduction(reduction, op)
        return weighted.sum() / weight.sum()
    return _reduce(weighted, reduction, op)


# ---------------------------------------------------------------- regression losses

def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error: mean((input - target)^2).

    >>> import chainrule
    >>> mse_loss(chainrule.tensor([1.0, 2.0]), chainrule.tensor([1.0, 4.0])).item()
    2.0
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _regression_pair(input, target, "mse_loss")
    diff = input - target
    return _weighted(diff * diff, weight, reduction, "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error: mean(|input - target|).

    >>> import chainrule
    >>> l1_loss(chainrule.tensor([1.0]), chainrule.tensor([3.0])).item()
    2.0
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _regression_pair(input, target, "l1_loss")
    return _weighted((input - target).abs(), weight, reduction, "l1_loss")


def _huber(input, target, delta):
    diff = input - target
    small = diff.abs()._data < delta
    return where(small, 0.5 * diff * diff, delta * (diff.abs() - 0.5 * delta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta).

    >>> import chainrule
    >>> huber_loss(chainrule.tensor([0.0]), chainrule.tensor([0.5])).item()
    0.125
    """
    input, target = _regression_pair(input, target, "huber_loss")
    return _weighted(_huber(input, target, delta), weight, reduction, "huber_loss",
                     mean_over_weights=False)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """huber_loss / beta (PyTorch's smooth_l1); plain L1 when beta = 0.

    >>> import chainrule
    >>> smooth_l1_loss(chainrule.tensor([0.0]), chainrule.tensor([2.0])).item()
    1.5
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    input, target = _regression_pair(input, target, "smooth_l1_loss")
    return _reduce(_huber(input, target, beta) * (1.0 / beta), reduction, "smooth_l1_loss")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """The negative log-likelihood of ``target`` under N(input, var):
    0.5 (log var + (input - target)^2 / var) (+ 0.5 log 2 pi with ``full``). ``var`` may
    lack the last dimension or have size 1 in one dimension (one variance shared); its values
    are clamped at ``eps`` with the gradient passing as if they were not (as PyTorch).

    >>> import chainrule
    >>> gaussian_nll_loss(chainrule.tensor([1.0]), chainrule.tensor([1.0]), 1.0).item()
    0.0
    """
    op = "gaussian_nll_loss"
    input, target = _floating_pair(input, target, op)
    if isinstance(var, (int, float)):
        if var < 0:
            raise ArgumentError(f"{op}: var has negative entry/entries ({var})")
        var = Tensor(backend.xp.full(input.shape, float(var), dtype=input._data.dtype))
    var = _as_tensor(var, "var", op)
    if backend.xp.any(var._data < 0):
        raise ArgumentError(f"{op}: var has negative entry/entries")
    var = _variance_shape(var, input, op)
    _check_reduction(reduction, op)
    clamped = backend.xp.maximum(var._data, eps) - var._data
    var = var + _make(clamped.astype(var._data.dtype, copy=False), None)
    diff = input - target
    loss = 0.5 * (log(var) + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, op)


def _variance_shape(var, input, op):
    if var.shape == input.shape:
        return var
    if input.shape[:-1] == var.shape:
        return var.unsqueeze(-1)
    if var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1:
        return var
    raise ShapeError(f"{op}: var of shape {var.shape} does not fit input of shape "
                     f"{input.shape}: it must match, lack the last dimension, or have size 1 "
                     "in the one dimension where it differs")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood: e^input - target input (``log_input``), else
    input - target log(input + eps); ``full`` adds Stirling's term where target > 1.

    >>> import chainrule
    >>> poisson_nll_loss(chainrule.tensor([0.0]), chainrule.tensor([1.0])).item()
    1.0
    """
    op = "poisson_nll_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    input, target = _floating_pair(input, target, op)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:        # PyTorch's masked term: its target gradient is nan at target = 0 too
        with numpy.errstate(divide="ignore", invalid="ignore"):
            stirling = target * log(target) - target + 0.5 * log(2 * math.pi * target)
        loss = loss + where(target._data <= 1, 0.0, stirling)
    return _reduce(loss, reduction, op)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """The Kullback-Leibler divergence of ``target`` from ``input`` (log-probabilities):
    target (log target - input) elementwise, or with ``log_target`` e^target (target - input).
    ``reduction="batchmean"`` divides the sum by the batch size (the mathematical KL);
    "mean" divides by the number of elements (PyTorch warns about it, so does chainrule).

    >>> import chainrule
    >>> kl_div(chainrule.tensor([0.0]), chainrule.tensor([1.0]), reduction="sum").item()
    0.0
    """
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns "
                      "with the KL div math definition.'mean' will be changed to behave the "
                      "same as 'batchmean' in the next major release.", stacklevel=2)
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ArgumentError(f"{op}: reduction must be 'mean', 'batchmean', 'sum' or 'none', "
                            f"got {reduction!r}")
    input, target = _floating_pair(input, target, op)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total * (1.0 / input.shape[0]) if input.ndim else total
    return _reduce(loss, reduction, op)


# ---------------------------------------------------------------- binary classification

def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-[t log p + (1 - t) log(1 - p)] for probabilities p in [0, 1]: each log clamped at -100,
    so p = 0 or 1 give a finite loss and gradient (PyTorch's rule).

    >>> import chainrule
    >>> round(binary_cross_entropy(chainrule.tensor([0.9]), chainrule.tensor([1.0])).item(), 4)
    0.1054
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "binary_cross_entropy")
    input, target = _regression_pair(input, target, "binary_cross_entropy")
    data = input._data
    xp = backend.namespace_of(data)
    if data.size and (bool(xp.min(data) < 0) or bool(xp.max(data) > 1)
                      or bool(xp.any(xp.isnan(data)))):
        host = backend.to_numpy(data)                     # the error message, on the host
        raise ArgumentError(
            f"binary_cross_entropy: input must be probabilities in [0, 1], got values in "
            f"[{float(numpy.nanmin(host)):.4g}, {float(numpy.nanmax(host)):.4g}]"
            f"{' and nan' if numpy.isnan(host).any() else ''}; apply sigmoid first, or use "
            "binary_cross_entropy_with_logits on the raw scores")
    loss = _BinaryCrossEntropyNode()(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """BCE on raw scores x: finite for any x (uses log(1 + e^-|x|), never e^x itself).

    >>> import chainrule
    >>> binary_cross_entropy_with_logits(chainrule.tensor([1000.0, -1000.0]),
    ...                                  chainrule.tensor([1.0, 0.0])).item()
    0.0
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
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


def _logsigmoid(x):
    return -_SoftplusGate(1.0, math.inf)(-x)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + e^(-target input)) for targets +-1 (PyTorch's formula, overflowing as its does).

    >>> import chainrule
    >>> round(soft_margin_loss(chainrule.tensor([0.0]), chainrule.tensor([1.0])).item(), 4)
    0.6931
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _regression_pair(input, target, "soft_margin_loss")
    return _reduce(log1p(exp(-input * target)), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Binary cross-entropy of every class on logits (N, C), averaged over the classes.

    >>> import chainrule
    >>> round(multilabel_soft_margin_loss(chainrule.zeros(1, 2), chainrule.ones(1, 2)).item(), 4)
    0.6931
    """
    op = "multilabel_soft_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    input, target = _floating_pair(input, target, op)
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must be (C,) or (N, C), got a 0-d tensor")
    loss = -(target * _logsigmoid(input) + (1 - target) * _logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(dim=input.ndim - 1) * (1.0 / input.shape[-1])
    return _reduce(loss, reduction, op)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where the target is 1, max(0, margin - x) where it is -1.

    >>> import chainrule
    >>> hinge_embedding_loss(chainrule.tensor([0.3, 2.0]), chainrule.tensor([1.0, -1.0])).item()
    0.15000000596046448
    """
    op = "hinge_embedding_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    input, target = _floating_pair(input, target, op)
    labels = target._data
    loss = where(labels != 1, clamp(margin - input, min=0.0), 0.0) + \
        where(labels != -1, input, 0.0)
    return _reduce(loss, reduction, op)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target (input1 - input2) + margin): input1 should rank higher where target
    is 1, lower where it is -1.

    >>> import chainrule
    >>> margin_ranking_loss(chainrule.tensor([1.0]), chainrule.tensor([2.0]),
    ...                     chainrule.tensor([1.0])).item()
    1.0
    """
    op = "margin_ranking_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    input1, input2 = _floating_pair(input1, input2, op, ("input1", "input2"))
    target = _as_tensor(target, "target", op)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ShapeError(f"{op}: all input tensors should have the same number of dimensions "
                         f"but got sizes: input1 {input1.shape}, input2 {input2.shape}, target "
                         f"{target.shape}")
    loss = clamp(-target * (input1 - input2) + margin, min=0.0)
    return _reduce(loss, reduction, op)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where the target is 1, max(0, cos(x1, x2) - margin) where it is -1;
    rows of (N, D) inputs, or one (D,) pair.

    >>> import chainrule
    >>> cosine_embedding_loss(chainrule.tensor([[1.0, 0.0]]), chainrule.tensor([[1.0, 0.0]]),
    ...                       chainrule.tensor([1.0])).item()
    0.0
    """
    op = "cosine_embedding_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    input1, input2 = _floating_pair(input1, input2, op, ("input1", "input2"))
    target = _as_tensor(target, "target", op)
    if input1.ndim not in (1, 2) or input1.shape != input2.shape or \
            target.ndim != input1.ndim - 1:
        raise ShapeError(f"{op}: expects inputs of the same shape (N, D) with targets (N,), or "
                         f"(D,) with a 0-d target; got {input1.shape}, {input2.shape} and "
                         f"{target.shape}")
    dim = input1.ndim - 1
    dot = (input1 * input2).sum(dim=dim)
    norms = ((input1 * input1).sum(dim=dim) + 1e-12) * ((input2 * input2).sum(dim=dim) + 1e-12)
    cos = dot / norms.sqrt()
    labels = target._data
    loss = where(labels == 1, 1 - cos, 0.0) + where(labels == -1, clamp(cos - margin, min=0.0),
                                                   0.0)
    return _reduce(loss, reduction, op)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of x1 - x2 + eps along the last dimension.

    >>> import chainrule
    >>> round(pairwise_distance(chainrule.tensor([[3.0, 0.0]]), chainrule.tensor([[0.0, 4.0]]),
    ...                         eps=0.0).item(), 4)
    5.0
    """
    x1, x2 = _floating_pair(x1, x2, "pairwise_distance", ("x1", "x2"))
    difference = x1 - x2 + eps
    if difference.ndim == 0:
        difference = difference.reshape(1)
    return difference.norm(p=p, dim=-1, keepdim=keepdim)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the pairwise p-distance;
    ``swap`` uses min(d(a, n), d(p, n)) as the negative distance.

    >>> import chainrule
    >>> a = chainrule.tensor([[0.0, 0.0]])
    >>> round(triplet_margin_loss(a, a, chainrule.tensor([[3.0, 4.0]])).item(), 4)
    0.0
    """
    reduction = legacy_reduction(size_average, reduce, reduction)

    def distance(x1, x2):
        return pairwise_distance(x1, x2, p, eps)
    return _triplet(anchor, positive, negative, distance, margin, swap, reduction,
                    "triplet_margin_loss")


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """The triplet margin loss with any ``distance_function(x1, x2)`` (by default
    pairwise_distance).

    >>> import chainrule
    >>> a = chainrule.tensor([[0.0, 0.0]])
    >>> triplet_margin_with_distance_loss(a, a, a, margin=0.5).item() > 0
    True
    """
    return _triplet(anchor, positive, negative, distance_function or pairwise_distance, margin,
                    swap, reduction, "triplet_margin_with_distance_loss")


def _triplet(anchor, positive, negative, distance, margin, swap, reduction, op):
    _check_reduction(reduction, op)
    if margin <= 0:
        raise ArgumentError(f"{op}: margin must be greater than 0, got {margin}")
    anchor = _as_tensor(anchor, "anchor", op)
    positive = _as_tensor(positive, "positive", op)
    negative = _as_tensor(negative, "negative", op)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ShapeError(f"{op}: the anchor, positive and negative tensors must have the same "
                         f"number of dimensions, got {anchor.shape}, {positive.shape} and "
                         f"{negative.shape}")
    positive_distance = distance(anchor, positive)
    negative_distance = distance(anchor, negative)
    if swap:
        negative_distance = minimum(negative_distance, distance(positive, negative))
    loss = clamp(positive_distance - negative_distance + margin, min=0.0)
    return _reduce(loss, reduction, op)


# ---------------------------------------------------------------- multi-class

def _check_class_targets(input, target, op):
    """Class-index targets must be integers of shape (N,) (or (N, d1, ...)) in [0, C)."""
    n_classes = input.shape[1]
    expected = (input.shape[0],) + input.shape[2:]
    if backend.kind(target._data.dtype) == "f":
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
    """(labels with ignored ones replaced by 0, mask of the kept ones or None when every
    label is kept), range-checked."""
    labels = target._data
    xp = backend.namespace_of(labels)
    if labels.size:     # the common case, every label a class: no masking to do
        low = int(backend_helpers.reduced("min", labels))
        high = int(backend_helpers.reduced("max", labels))
        if 0 <= low and high < n_classes and not low <= ignore_index <= high:
            return xp.asarray(labels, copy=True), None   # a node may keep it: ours
    valid = labels != ignore_index
    safe = backend.xp.where(valid, labels, 0)
    if safe.size and (int(xp.min(safe)) < 0 or int(xp.max(safe)) >= n_classes):
        raise ArgumentError(f"{op}: class targets must lie in [0, {n_classes}) (or equal "
                            f"ignore_index={ignore_index}), got range [{int(xp.min(labels))}, "
                            f"{int(xp.max(labels))}]")
    return safe, valid


def _batched(input, target, op):
    """An unbatched (C,) input with a 0-d target as a batch of one: (input, target, True)."""
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must be (C,), (N, C) or (N, C, d1, ...), got a 0-d "
                         "tensor")
    if input.ndim != 1:
        return input, target, False
    if backend.kind(target._data.dtype) == "f" and target.shape == input.shape:
        return input.unsqueeze(0), target.unsqueeze(0), True
    if target.ndim != 0:
        raise ShapeError(f"{op}: an unbatched input of shape {input.shape} needs a 0-d class "
                         f"index target, got shape {target.shape}")
    return input.unsqueeze(0), target.reshape(1), True


def _unbatched(loss, was_unbatched, reduction):
    return loss.squeeze(0) if was_unbatched and reduction == "none" else loss


def _weight_array(weight, n_classes, dtype, op):
    if weight is None:
        return backend.xp.ones(n_classes, dtype=dtype)
    w = weight._data if isinstance(weight, Tensor) else backend.xp.asarray(weight)
    if w.shape != (n_classes,):
        raise ShapeError(f"{op}: weight must hold one value per class, shape ({n_classes},), "
                         f"got {w.shape}")
    return w


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class ``target``.

    >>> import chainrule
    >>> nll_loss(chainrule.tensor([[-0.5, -1.5]]), chainrule.tensor([0])).item()
    0.5
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "nll_loss")
    input = _as_tensor(input, "input", "nll_loss")
    target = _as_tensor(target, "target", "nll_loss")
    input, target, unbatched = _batched(input, target, "nll_loss")
    n_classes = _check_class_targets(input, target, "nll_loss")
    safe, valid = _class_labels(target, n_classes, ignore_index, "nll_loss")
    picked = _pick_class(input, safe)                     # (N, ...)
    w = _weight_array(weight, n_classes, input._data.dtype, "nll_loss")
    xp = backend.namespace_of(safe)
    picked_w = backend_helpers.getitem(w, (safe,))
    sample_w = picked_w if valid is None else picked_w * xp.astype(valid, picked_w.dtype)
    loss = -picked * _make(xp.astype(sample_w, input._data.dtype), None)
    if reduction == "mean":
        total = float(xp.sum(sample_w))
        if not total:
            return _nan_without_gradient(loss.sum() * 0.0)
        return loss.sum() * (1.0 / total)
    return _unbatched(_reduce(loss, reduction, "nll_loss"), unbatched, reduction)


def _pick_class(input, labels):
    """input[n, labels[n], ...] for every n (and trailing position)."""
    moved = input.swapaxes(0, 1) if input.ndim == 2 else input.permute(
        1, 0, *range(2, input.ndim))
    grids = backend_helpers.open_grid(labels.shape, labels)
    return moved[(labels,) + tuple(grids)]


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy from logits (N, C, ...), with class-index or probability targets.

    >>> import chainrule
    >>> logits = chainrule.tensor([[2.0, 0.0, 0.0]])
    >>> round(cross_entropy(logits, chainrule.tensor([0])).item(), 4)
    0.2395
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, "cross_entropy")
    if not 0 <= label_smoothing <= 1:
        raise ArgumentError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                            f"{label_smoothing}")
    input = _as_tensor(input, "input", "cross_entropy")
    target = _as_tensor(target, "target", "cross_entropy")
    input, target, unbatched = _batched(input, target, "cross_entropy")
    if backend.kind(input._data.dtype) != "f":
        raise DTypeError(f"cross_entropy: input must be floating-point logits, got {input.dtype}")
    return _unbatched(_cross_entropy(input, target, weight, ignore_index, reduction,
                                     label_smoothing), unbatched, reduction)


def _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing):
    n_classes = input.shape[1]
    soft = backend.kind(target._data.dtype) == "f" and target.shape == input.shape
    if not soft:
        _check_class_targets(input, target, "cross_entropy")
        if input.ndim == 2 and not label_smoothing:
            return _fused_cross_entropy(input, target, weight, ignore_index, reduction)
    log_p = log_softmax(input, dim=1)
    if soft:
        return _soft_cross_entropy(log_p, target, weight, reduction, label_smoothing, n_classes)
    nll = nll_loss(log_p, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return nll
    return (1 - label_smoothing) * nll + _smoothing_term(
        log_p, target, weight, ignore_index, reduction) * (label_smoothing / n_classes)


def _fused_cross_entropy(input, target, weight, ignore_index, reduction):
    """The common case — (N, C) logits, class indices — as one SoftmaxCrossEntropy node."""
    safe, valid = _class_labels(target, input.shape[1], ignore_index, "cross_entropy")
    w = None if weight is None else _weight_array(weight, input.shape[1], input._data.dtype,
                                                  "cross_entropy")
    xp = backend.namespace_of(safe)
    if w is None and valid is None:         # the common case: every sample weighs 1
        sample_weights, total = None, float(safe.shape[0])
    else:
        base = xp.ones(safe.shape[0]) if w is None else backend_helpers.getitem(w, safe)
        sample_weights = base if valid is None else base * xp.astype(valid, base.dtype)
        total = float(xp.sum(sample_weights))
    if reduction == "mean" and not total:
        return _nan_without_gradient(SoftmaxCrossEntropy(safe, sample_weights, 0.0, True)(input))
    scale = 1.0 / total if reduction == "mean" else 1.0
    return SoftmaxCrossEntropy(safe, sample_weights, scale, reduction != "none")(input)


def _weight_view(weight, log_p):
    w = weight if isinstance(weight, Tensor) else Tensor(numpy.asarray(weight))
    return w.to(log_p.dtype).reshape((1, -1) + (1,) * (log_p.ndim - 2))


def _smoothing_term(log_p, target, weight, ignore_index, reduction):
    """PyTorch's label-smoothing part: -sum_c w_c log p_c, masked and normalised like nll."""
    per_class = log_p if weight is None else log_p * _weight_view(weight, log_p)
    smooth = -per_class.sum(dim=1)
    ignored = target._data == ignore_index
    xp = backend.namespace_of(ignored)
    smooth = smooth * _make(backend.namespace_of(ignored).astype(~ignored, log_p._data.dtype),
                            None)
    if reduction == "mean":
        if weight is None:
            denominator = float(xp.sum(xp.astype(~ignored, numpy.dtype(numpy.int64))))
        else:
            w = weight._data if isinstance(weight, Tensor) else backend.xp.asarray(weight)
            denominator = float(xp.sum(backend_helpers.getitem(w, (target._data[~ignored],))))
        if not denominator:
            return _nan_without_gradient(smooth.sum() * 0.0)
        return smooth.sum() * (1.0 / denominator)
    return _reduce(smooth, reduction, "cross_entropy")


def _soft_cross_entropy(log_p, target, weight, reduction, label_smoothing, n_classes):
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    if weight is not None:
        log_p = log_p * _weight_view(weight, log_p)
    loss = -(log_p * target)
    if reduction == "mean":
        return loss.sum() * (n_classes / log_p._data.size if log_p._data.size else _NAN)
    if reduction == "sum":
        return loss.sum()
    return _reduce(loss.sum(dim=1), reduction, "cross_entropy")


def _margin_inputs(input, target, op):
    """(N, C) float input and (N,) or (N, C) integer targets, unbatched (C,) allowed."""
    input = _as_tensor(input, "input", op)
    target = _as_tensor(target, "target", op)
    if backend.kind(input._data.dtype) != "f":
        raise DTypeError(f"{op}: input must be floating point, got {input.dtype}")
    if backend.kind(target._data.dtype) not in "iu":
        raise DTypeError(f"{op}: targets must be integer class indices, got {target.dtype} "
                         "— use y.long()")
    if input.ndim not in (1, 2):
        raise ShapeError(f"{op}: input must be (C,) or (N, C), got {input.shape}")
    unbatched = input.ndim == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.reshape((1,) + target.shape)
    return input, target, unbatched


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """The multi-class hinge loss: sum over classes i != y of max(0, margin - x[y] + x[i])^p
    (times weight[y]), divided by the number of classes.

    >>> import chainrule
    >>> multi_margin_loss(chainrule.tensor([[0.1, 0.2, 0.4, 0.8]]), chainrule.tensor([3])).item()
    0.32499998807907104
    """
    op = "multi_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if p not in (1, 2):
        raise ArgumentError(f"{op}: only p == 1 and p == 2 are supported, got {p}")
    input, target, unbatched = _margin_inputs(input, target, op)
    n, classes = input.shape
    if target.shape != (n,):
        raise ShapeError(f"{op}: targets must have shape ({n},) for input {input.shape}, got "
                         f"{target.shape}")
    labels = target._data
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ArgumentError(f"{op}: targets must lie in [0, {classes}), got range "
                            f"[{int(labels.min())}, {int(labels.max())}]")
    rows = backend.xp.arange(n)
    own = input[rows, labels].unsqueeze(1)                        # (N, 1)
    z = input - own + margin
    others = backend.xp.ones((n, classes), dtype=bool)
    others[rows, labels] = False
    hinge = where(others & (z._data > 0), z, 0.0)
    hinge = hinge if p == 1 else hinge * hinge
    if weight is not None:
        w = _weight_array(weight, classes, input._data.dtype, op)
        hinge = hinge * _make(w[labels][:, None].astype(input._data.dtype, copy=False), None)
    loss = hinge.sum(dim=1) * (1.0 / classes)
    return _unbatched(_reduce(loss, reduction, op), unbatched, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """The multi-label hinge loss: for each target class j (the classes listed in a row of
    ``target`` before its first -1) and each non-target class i, max(0, 1 - (x[j] - x[i])),
    summed and divided by the number of classes.

    >>> import chainrule
    >>> round(multilabel_margin_loss(chainrule.tensor([[0.1, 0.2, 0.4, 0.8]]),
    ...                              chainrule.tensor([[3, 0, -1, 1]])).item(), 4)
    0.85
    """
    op = "multilabel_margin_loss"
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    input, target, unbatched = _margin_inputs(input, target, op)
    if target.shape != input.shape:
        raise ShapeError(f"{op}: targets must have the input's shape {input.shape} (class "
                         f"indices, padded with -1), got {target.shape}")
    is_target = _listed_classes(target._data, input.shape[1], op)         # (N, C)
    pairs = (1 - input.unsqueeze(2)) + input.unsqueeze(1)       # 1 - (x[j] - x[i]): (N, j, i)
    mask = is_target[:, :, None] & ~is_target[:, None, :]
    hinge = where(mask & (pairs._data > 0), pairs, 0.0)
    loss = hinge.sum(dim=(1, 2)) * (1.0 / input.shape[1])
    return _unbatched(_reduce(loss, reduction, op), unbatched, reduction)


def _listed_classes(labels, classes, op):
    """Per row, which classes appear before the first -1."""
    xp = backend.xp
    stopped = xp.cumsum(labels < 0, axis=1) > 0
    listed = ~stopped
    if (labels[listed] >= classes).any() or (labels[listed] < 0).any():
        raise ArgumentError(f"{op}: target class indices must lie in [0, {classes}) (then -1 "
                            "to end the list)")
    is_target = xp.zeros(labels.shape, dtype=bool)
    rows = xp.broadcast_to(xp.arange(labels.shape[0])[:, None], labels.shape)
    is_target[rows[listed], labels[listed]] = True
    return is_target


# ---------------------------------------------------------------- sequences

def _lengths(values, name, count, op):
    array = values._data if isinstance(values, Tensor) else numpy.asarray(values)
    array = numpy.asarray(backend.to_numpy(array)).reshape(-1)
    if backend.kind(array.dtype) not in "iu":
        if array.size and not numpy.all(numpy.mod(array, 1) == 0):
            raise DTypeError(f"{op}: {name} must be integers, got {array.dtype}")
        array = array.astype(numpy.int64)
    if array.shape != (count,):
        raise ShapeError(f"{op}: {name} must hold one length per sample ({count}), got "
                         f"{array.size}")
    if (array < 0).any():
        raise ArgumentError(f"{op}: {name} must be >= 0, got {array.tolist()}")
    return array.astype(numpy.int64)


def _padded_targets(targets, target_lengths, n, op):
    """Targets as an (N, S) integer array: padded 2-D as given, or the concatenated 1-D form
    split by ``target_lengths``."""
    labels = numpy.asarray(backend.to_numpy(targets._data))
    if backend.kind(labels.dtype) not in "iu":
        raise DTypeError(f"{op}: targets must be integer class indices, got {labels.dtype}")
    if labels.ndim == 2:
        if labels.shape[0] != n:
            raise ShapeError(f"{op}: padded targets must be (N={n}, S), got {labels.shape}")
        if (target_lengths > labels.shape[1]).any():
            raise ShapeError(f"{op}: a target length {int(target_lengths.max())} exceeds the "
                             f"padded targets' width {labels.shape[1]}")
        return labels.astype(numpy.int64)
    if labels.ndim != 1 or labels.size != int(target_lengths.sum()):
        raise ShapeError(f"{op}: 1-D targets must concatenate the samples' labels, "
                         f"sum(target_lengths) = {int(target_lengths.sum())} values; got shape "
                         f"{labels.shape}")
    padded = numpy.zeros((n, int(target_lengths.max(initial=0))), dtype=numpy.int64)
    starts = numpy.concatenate([[0], numpy.cumsum(target_lengths)[:-1]])
    for i, (start, length) in enumerate(zip(starts, target_lengths)):
        padded[i, :length] = labels[start:start + length]
    return padded


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """Connectionist temporal classification loss of log-probabilities (T, N, C) (or
    unbatched (T, C)) against label sequences: ``targets`` (N, S) padded or 1-D concatenated,
    with one input and one target length per sample (tensors, lists or tuples). "mean"
    divides each sample's loss by its target length, then averages; ``zero_infinity`` turns
    the infinite loss of an impossible alignment (and its gradient) into 0. The gradient is
    PyTorch's (it assumes ``log_probs`` come from log_softmax).

    >>> import chainrule
    >>> log_probs = chainrule.zeros(3, 1, 2).log_softmax(2)
    >>> round(ctc_loss(log_probs, chainrule.tensor([[1]]), [3], [1], reduction="sum").item(), 4)
    0.2877
    """
    op = "ctc_loss"
    _check_reduction(reduction, op)
    log_probs = _as_tensor(log_probs, "log_probs", op)
    targets = _as_tensor(targets, "targets", op)
    if backend.kind(log_probs._data.dtype) != "f":
        raise DTypeError(f"{op}: log_probs must be floating point, got {log_probs.dtype}")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs, targets = log_probs.unsqueeze(1), targets.reshape((1,) + targets.shape)
    if log_probs.ndim != 3:
        raise ShapeError(f"{op}: log_probs must be (T, N, C) or (T, C), got {log_probs.shape}")
    steps, n, classes = log_probs.shape
    input_lengths = _lengths(input_lengths, "input_lengths", n, op)
    target_lengths = _lengths(target_lengths, "target_lengths", n, op)
    if (input_lengths > steps).any():
        raise ArgumentError(f"{op}: input_lengths must be at most T = {steps}, got "
                            f"{int(input_lengths.max())}")
    if not 0 <= blank < classes:
        raise ArgumentError(f"{op}: blank must be a class index in [0, {classes}), got {blank}")
    padded = _padded_targets(targets, target_lengths, n, op)
    used = numpy.arange(padded.shape[1])[None, :] < target_lengths[:, None]
    if padded.size and ((padded[used] < 0).any() or (padded[used] >= classes).any()):
        raise ArgumentError(f"{op}: target labels must lie in [0, {classes})")
    xp = backend.xp
    node = _CTCNode(xp.asarray(padded), xp.asarray(input_lengths), xp.asarray(target_lengths),
                    blank, zero_infinity)
    losses = node(log_probs)
    if reduction == "mean":
        per_length = numpy.maximum(target_lengths, 1).astype(log_probs._data.dtype)
        return (losses / _make(xp.asarray(per_length), None)).mean()
    if reduction == "sum":
        return losses.sum()
    return losses.squeeze(0) if unbatched else losses


__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "gaussian_nll_loss",
           "poisson_nll_loss", "kl_div", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "soft_margin_loss",
           "multilabel_soft_margin_loss", "hinge_embedding_loss", "margin_ranking_loss",
           "cosine_embedding_loss", "pairwise_distance", "triplet_margin_loss",
           "triplet_margin_with_distance_loss", "nll_loss", "cross_entropy",
           "multi_margin_loss", "multilabel_margin_loss", "ctc_loss"]
