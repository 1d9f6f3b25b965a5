"""Functional forms of the dropout, embedding, bilinear, instance- and local-response
normalisation and channel-shuffle layers, exported by ``chainrule.nn.functional`` under
PyTorch's names and signatures.

Randomness (dropout masks) comes from chainrule's generator (``chainrule.manual_seed``, or a
``generator=`` keyword), so the masks are reproducible but not PyTorch's.
"""
import warnings

import numpy

from .. import backend, ops
from ..autograd.grad_mode import no_grad
from ..errors import ArgumentError, DTypeError, ShapeError
from ..generator import default_generator
from ..ops.embedding import Embedding as _EmbeddingNode
from ..ops.embedding import EmbeddingScatter as _EmbeddingScatterNode
from ..ops.norm import BatchNorm as _BatchNormNode
from ..tensor import Tensor

_make = Tensor._make
#: SELU's -scale * alpha: where alpha dropout sends a dropped unit
_ALPHA_PRIME = 1.7580993408473766


# ---------------------------------------------------------------- dropout

def _check_p(p, op):
    if not 0 <= p <= 1:
        raise ArgumentError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _keep(shape, p, generator):
    """A 0/1 mask of ``shape``, each entry kept with probability 1 - p."""
    return (generator or default_generator).numpy.random(shape) >= p


def _apply_noise(input, multiplier, offset, inplace):
    """input * multiplier (+ offset), both constant arrays; in input's memory if inplace."""
    dtype = input._data.dtype
    factor = _make(backend.xp.asarray(multiplier, dtype=dtype), None)
    shift = None if offset is None else _make(backend.xp.asarray(offset, dtype=dtype), None)

    def noisy(x):
        out = x * factor
        return out if shift is None else out + shift
    noisy.__name__ = "dropout"
    return input._inplace(noisy) if inplace else noisy(input)


def _dropout(input, p, training, inplace, generator, op, noise_shape, alpha):
    _check_p(p, op)
    if not training or p == 0:
        return input
    keep = _keep(noise_shape, p, generator)
    if alpha:
        if p == 1:
            return _apply_noise(input, backend.xp.zeros(noise_shape), None, inplace)
        a = 1.0 / numpy.sqrt((_ALPHA_PRIME ** 2 * p + 1) * (1 - p))
        offset = (keep - 1.0) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p
        return _apply_noise(input, keep * a, offset, inplace)
    scale = keep * (1.0 / (1 - p)) if p < 1 else keep * 0.0
    return _apply_noise(input, scale, None, inplace)


def _feature_shape(input, dims, op):
    """The noise shape of channel dropout: (N, C, 1, ...) for batched input of ``dims``
    feature dimensions, (C, 1, ...) unbatched."""
    if input.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{op}: expected {dims + 1}-D (unbatched) or {dims + 2}-D (batched) "
                         f"input, got shape {input.shape}")
    leading = 1 if input.ndim == dims + 1 else 2
    return input.shape[:leading] + (1,) * (input.ndim - leading)


def dropout(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    >>> import chainrule
    >>> dropout(chainrule.ones(3), 0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    return _dropout(input, p, training, inplace, generator, "dropout", input.shape, False)


def alpha_dropout(input, p=0.5, training=False, inplace=False, *, generator=None):
    """Dropout for SELU networks: dropped units go to SELU's negative saturation and the
    result is shifted and scaled to keep zero mean and unit variance.

    >>> import chainrule
    >>> alpha_dropout(chainrule.ones(2), 0.5).tolist()
    [1.0, 1.0]
    """
    return _dropout(input, p, training, inplace, generator, "alpha_dropout", input.shape, True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False, *, generator=None):
    """Alpha dropout of whole channels (dimension 1 of batched input).

    >>> import chainrule
    >>> feature_alpha_dropout(chainrule.ones(1, 2, 2), 0.5).shape
    (1, 2, 2)
    """
    if input.ndim < 2:
        raise ShapeError(f"feature_alpha_dropout: needs at least 2-D input, got {input.shape}")
    shape = input.shape[:2] + (1,) * (input.ndim - 2)
    return _dropout(input, p, training, inplace, generator, "feature_alpha_dropout", shape,
                    True)


def dropout1d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Channel dropout of (N, C, L) or (C, L) input: each whole channel zeroed with
    probability p.

    >>> import chainrule
    >>> dropout1d(chainrule.ones(2, 3), training=False).shape
    (2, 3)
    """
    shape = _feature_shape(input, 1, "dropout1d")
    return _dropout(input, p, training, inplace, generator, "dropout1d", shape, False)


def dropout2d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Channel dropout of (N, C, H, W) input (3-D input is taken as (N, C, L), with
    PyTorch's warning that this will change).

    >>> import chainrule
    >>> dropout2d(chainrule.ones(1, 2, 2, 2), training=False).shape
    (1, 2, 2, 2)
    """
    _check_p(p, "dropout2d")
    if input.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected 3-D (unbatched) or 4-D (batched) input, got "
                         f"shape {input.shape}")
    if input.ndim == 3:                          # PyTorch's present rule, with its warning
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
                      "dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=2)
        shape = input.shape[:2] + (1,)
    else:
        shape = _feature_shape(input, 2, "dropout2d")
    return _dropout(input, p, training, inplace, generator, "dropout2d", shape, False)


def dropout3d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W) input.

    >>> import chainrule
    >>> dropout3d(chainrule.ones(2, 1, 1, 1), training=False).shape
    (2, 1, 1, 1)
    """
    shape = _feature_shape(input, 3, "dropout3d")
    return _dropout(input, p, training, inplace, generator, "dropout3d", shape, False)


# ---------------------------------------------------------------- embeddings

def _indices(input, op):
    indices = input._data if isinstance(input, Tensor) else backend.xp.asarray(input)
    if backend.kind(indices.dtype) not in "iu":
        raise DTypeError(f"{op}: indices must be integers (use .long()), got {indices.dtype}")
    return indices


def _check_range(indices, count, op):
    xp = backend.namespace_of(indices)
    if indices.size and (int(xp.min(indices)) < 0 or int(xp.max(indices)) >= count):
        raise ArgumentError(f"{op}: indices must lie in [0, {count}), got range "
                            f"[{int(xp.min(indices))}, {int(xp.max(indices))}]")


def _padding_index(padding_idx, count, op):
    if padding_idx is None:
        return None
    if not -count <= padding_idx < count:
        raise ArgumentError(f"{op}: padding_idx must be within [-{count}, {count}), got "
                            f"{padding_idx}")
    return padding_idx + count if padding_idx < 0 else padding_idx


def renorm_rows_(weight, indices, max_norm, norm_type=2.0):
    """Scale the rows of ``weight`` that ``indices`` use down to norm ``max_norm`` (in place,
    not recorded): PyTorch's embedding_renorm_, scale max_norm / (norm + 1e-7)."""
    xp = backend.xp
    rows = xp.unique(indices.reshape(-1))
    if not rows.size:
        return
    with no_grad():
        data = weight._data
        norms = xp.linalg.norm(data[rows].astype(numpy.float64), ord=norm_type, axis=1) \
            if norm_type not in (numpy.inf, -numpy.inf) else xp.abs(data[rows]).max(axis=1)
        over = norms > max_norm
        if over.any():
            scale = max_norm / (norms[over] + 1e-7)
            data[rows[over]] = (data[rows[over]] * scale[:, None]).astype(data.dtype)
            weight._bump_version()


def _gradient_scale(indices, padding_idx, scale_grad_by_freq, dtype):
    """Per position of ``indices``: 0 at padding_idx, 1/count with scale_grad_by_freq."""
    if padding_idx is None and not scale_grad_by_freq:
        return None
    xp = backend.xp
    scale = xp.ones(indices.shape, dtype=dtype)
    if scale_grad_by_freq:
        _, inverse, counts = xp.unique(indices.reshape(-1), return_inverse=True,
                                       return_counts=True)
        scale = scale / counts[inverse].reshape(indices.shape)
    if padding_idx is not None:
        scale = xp.where(indices == padding_idx, 0, scale).astype(dtype)
    return scale


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by integer ``input``. The row at ``padding_idx`` keeps its
    values but gets no gradient; ``max_norm`` first rescales (in place) the rows used whose
    norm exceeds it; ``scale_grad_by_freq`` divides each row's gradient by how often its
    index occurs in the input.

    >>> import chainrule
    >>> embedding(chainrule.tensor([1]), chainrule.eye(3)).tolist()
    [[0.0, 1.0, 0.0]]
    """
    if sparse:
        raise ArgumentError("embedding: sparse gradients are not supported; use sparse=False")
    indices = _indices(input, "embedding")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"{weight.shape}")
    _check_range(indices, weight.shape[0], "embedding")
    padding_idx = _padding_index(padding_idx, weight.shape[0], "embedding")
    if max_norm is not None:
        renorm_rows_(weight, indices, max_norm, norm_type)
    scale = _gradient_scale(indices, padding_idx, scale_grad_by_freq, weight._data.dtype)
    return _EmbeddingNode(indices, scale)(weight)


def _bags(indices, offsets, include_last_offset, op):
    """(flat indices, bag of each index, number of bags) for 2-D input or 1-D + offsets."""
    xp = backend.xp
    if indices.ndim == 2:
        if offsets is not None:
            raise ArgumentError(f"{op}: offsets must be None when input is 2-D (each row is a "
                                "bag)")
        bags, length = indices.shape
        return indices.reshape(-1), xp.repeat(xp.arange(bags), length), bags
    if indices.ndim != 1:
        raise ShapeError(f"{op}: input must be 1-D (with offsets) or 2-D, got {indices.shape}")
    if offsets is None:
        raise ArgumentError(f"{op}: 1-D input needs offsets (where each bag starts)")
    starts = _indices(offsets, op).reshape(-1)
    if starts.ndim != 1 or (starts.size and starts[0] != 0) or \
            (starts.size > 1 and (xp.diff(starts) < 0).any()) or \
            (starts.size and starts[-1] > indices.size):
        raise ArgumentError(f"{op}: offsets must start at 0 and not decrease nor exceed the "
                            f"input's length {indices.size}, got {starts.tolist()}")
    if include_last_offset:
        starts = starts[:-1]
    bags = starts.size
    bag_of = xp.searchsorted(starts, xp.arange(indices.size), side="right") - 1
    if include_last_offset and offsets is not None:
        end = int(_indices(offsets, op).reshape(-1)[-1])
        bag_of = xp.where(xp.arange(indices.size) < end, bag_of, -1)
    return indices, bag_of, bags


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """The sum, mean or max of the embeddings of each bag of indices: the rows of 2-D
    ``input``, or the slices of 1-D ``input`` starting at ``offsets``. Indices equal to
    ``padding_idx`` are left out of their bag; an empty bag gives zeros; ``per_sample_weights``
    (mode "sum" only) weight each index.

    >>> import chainrule
    >>> embedding_bag(chainrule.tensor([[0, 2]]), chainrule.eye(3), mode="sum").tolist()
    [[1.0, 0.0, 1.0]]
    """
    op = "embedding_bag"
    if mode not in ("sum", "mean", "max"):
        raise ArgumentError(f"{op}: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if sparse:
        raise ArgumentError(f"{op}: sparse gradients are not supported; use sparse=False")
    if per_sample_weights is not None and mode != "sum":
        raise ArgumentError(f"{op}: per_sample_weights are only supported for mode='sum', got "
                            f"mode={mode!r}")
    indices = _indices(input, op)
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != indices.shape:
        raise ShapeError(f"{op}: per_sample_weights must have the input's shape "
                         f"{indices.shape}, got {tuple(per_sample_weights.shape)}")
    _check_range(indices, weight.shape[0], op)
    padding_idx = _padding_index(padding_idx, weight.shape[0], op)
    flat, bag_of, bags = _bags(indices, offsets, include_last_offset, op)
    if max_norm is not None:
        renorm_rows_(weight, flat, max_norm, norm_type)
    used = bag_of >= 0
    if padding_idx is not None:
        used = used & (flat != padding_idx)
    rows = _EmbeddingNode(flat, _gradient_scale(flat, None, scale_grad_by_freq,
                                                weight._data.dtype))(weight)
    if mode == "max":
        return _bag_max(rows, bag_of, used, bags)
    xp = backend.xp
    counts = xp.bincount(bag_of[used], minlength=bags) if bags else xp.zeros(0, dtype=int)
    factor = used.astype(weight._data.dtype)
    if mode == "mean":
        factor = factor / xp.maximum(counts, 1)[xp.maximum(bag_of, 0)]
    weighted = rows * _make(factor[:, None].astype(weight._data.dtype), None)
    if per_sample_weights is not None:
        weighted = weighted * per_sample_weights.reshape(-1, 1)
    return _EmbeddingScatterNode(xp.where(used, bag_of, 0), bags)(weighted)   # sum per bag


def _bag_max(rows, bag_of, used, bags):
    """Per bag and feature, the largest of its rows (0 for an empty bag); the gradient goes
    to the first row holding it, as PyTorch's."""
    xp = backend.xp
    dim = rows.shape[1]
    kept = xp.flatnonzero(used)
    bag = bag_of[kept]
    order = xp.argsort(bag, kind="stable")
    kept, bag = kept[order], bag[order]
    counts = xp.bincount(bag, minlength=bags)
    width = int(counts.max(initial=0))
    starts = xp.concatenate([[0], xp.cumsum(counts)[:-1]]).astype(int)
    slot = xp.arange(kept.size) - starts[bag]
    table = xp.full((bags, max(width, 1)), -1, dtype=int)
    table[bag, slot] = kept
    present = table >= 0
    gathered = rows[xp.maximum(table, 0)]                              # (B, W, D)
    floor = _make(xp.full((bags, max(width, 1), dim), -xp.inf, dtype=rows._data.dtype), None)
    best = ops.where(present[:, :, None], gathered, floor).max(dim=1).values
    return ops.where((counts > 0)[:, None], best, 0.0)


# ---------------------------------------------------------------- other layers

def bilinear(input1, input2, weight, bias=None):
    """y = x1^T A x2 + b for every pair of rows: weight (out, in1, in2), inputs (..., in1) and
    (..., in2).

    >>> import chainrule
    >>> bilinear(chainrule.ones(1, 2), chainrule.ones(1, 3), chainrule.ones(4, 2, 3)).shape
    (1, 4)
    """
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2] or input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"bilinear: inputs {input1.shape} and {input2.shape} do not fit weight "
                         f"{weight.shape} (out, in1, in2); they must share their leading "
                         "dimensions")
    out = ops.einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


def channel_shuffle(input, groups):
    """Interleave the channels of (N, C, ...) input from ``groups`` groups: (N, g, C/g, ...)
    transposed to (N, C/g, g, ...).

    >>> import chainrule
    >>> channel_shuffle(chainrule.arange(4.0).reshape(1, 4, 1), 2).flatten().tolist()
    [0.0, 2.0, 1.0, 3.0]
    """
    if input.ndim <= 2:
        raise ShapeError(f"channel_shuffle: expects input with > 2 dims, got shape "
                         f"{input.shape}")
    channels = input.shape[1]
    if groups <= 0 or channels % groups:
        raise ArgumentError(f"channel_shuffle: {channels} channels cannot be split into "
                            f"{groups} groups")
    n, rest = input.shape[0], input.shape[2:]
    grouped = input.reshape((n, groups, channels // groups) + rest)
    return grouped.transpose(1, 2).reshape(input.shape)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample over its spatial positions. With running
    statistics, they move by ``momentum`` towards the batch average of the per-sample
    statistics (used instead when ``use_input_stats`` is False).

    >>> import chainrule
    >>> x = chainrule.tensor([[[1.0, 3.0]]])
    >>> [round(v, 4) for v in instance_norm(x).flatten().tolist()]
    [-1.0, 1.0]
    """
    if input.ndim < 3:
        raise ShapeError(f"instance_norm: expects (N, C, ...) input with spatial dimensions, "
                         f"got {input.shape}")
    n, c = input.shape[:2]
    shape = (1, n * c) + input.shape[2:]
    folded = input.reshape(shape)
    if not use_input_stats:
        out = _affine_eval(folded, running_mean, running_var, n, eps)
        return _affine(out.reshape(input.shape), weight, bias)
    count = folded._data[0, 0, ...].size
    if count <= 1:
        raise ArgumentError(f"instance_norm: expected more than 1 spatial element when "
                            f"training, got input of shape {input.shape}")
    node = _BatchNormNode(eps, False, False)
    out = node(folded).reshape(input.shape)
    _update_running(running_mean, running_var, node, n, c, count, momentum)
    return _affine(out, weight, bias)


def _affine(out, weight, bias):
    shape = (1, -1) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _affine_eval(folded, running_mean, running_var, n, eps):
    if running_mean is None or running_var is None:
        raise ArgumentError("instance_norm: use_input_stats=False needs running_mean and "
                            "running_var")
    shape = (1, -1) + (1,) * (folded.ndim - 2)
    mean = ops.cat([running_mean] * n).reshape(shape)
    var = ops.cat([running_var] * n).reshape(shape)
    return (folded - mean) * (var + eps).rsqrt()


def _update_running(running_mean, running_var, node, n, c, count, momentum):
    if running_mean is not None:
        batch = node.batch_mean.reshape(n, c).mean(axis=0)
        running_mean._data *= 1 - momentum
        running_mean._data += momentum * batch.astype(running_mean._data.dtype)
        running_mean._bump_version()
    if running_var is not None:
        unbiased = (node.batch_var * (count / (count - 1))).reshape(n, c).mean(axis=0)
        running_var._data *= 1 - momentum
        running_var._data += momentum * unbiased.astype(running_var._data.dtype)
        running_var._bump_version()


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha / size * sum of x^2 over ``size`` neighbouring channels)^beta (the
    window centred, cut at the edges and averaged over ``size`` as PyTorch's).

    >>> import chainrule
    >>> local_response_norm(chainrule.ones(1, 3, 1), 2).shape
    (1, 3, 1)
    """
    if input.ndim < 3:
        raise ShapeError(f"local_response_norm: expected 3-D or more input (N, C, ...), got "
                         f"{input.shape}")
    if input.shape[1] == 0:
        return input
    channels = input.shape[1]
    squares = input * input
    widths = [(0, 0)] * input.ndim
    widths[1] = (size // 2, (size - 1) // 2)
    padded = ops.pad(squares, widths, 0.0)
    window = sum(padded.narrow(1, start, channels) for start in range(size))
    return input / (window * (alpha / size) + k) ** beta


__all__ = ["dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d",
           "dropout3d", "embedding", "embedding_bag", "bilinear", "channel_shuffle",
           "instance_norm", "local_response_norm"]
