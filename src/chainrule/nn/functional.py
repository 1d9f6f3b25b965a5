"""Functional forms of the layers and losses (``chainrule.nn.functional``, PyTorch's ``F``).

The activations live in :mod:`chainrule.nn.activation_functions` and the losses in
:mod:`chainrule.nn.loss_functions`; both are exported here under PyTorch's names.
"""

from .. import backend
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError  # noqa: F401
from ..ops import one_hot  # noqa: F401
from ..ops import clamp
from ..ops.linalg import linear  # noqa: F401
from ..ops.conv_nd import (conv1d, conv2d, conv3d, conv_transpose1d,  # noqa: F401
                           conv_transpose2d, conv_transpose3d)
from ..ops.attention import (multi_head_attention_forward,  # noqa: F401
                             scaled_dot_product_attention)
from ..ops.norm import BatchNorm as _BatchNormNode
from ..ops.norm import LayerNorm as _LayerNormNode
from ..ops.norm import scale_shift as _scale_shift
from ..tensor_base import TensorBase
from ..ops.resample import (affine_grid, grid_sample, interpolate, upsample,  # noqa: F401
                            upsample_bilinear, upsample_nearest)
from ..ops.fold import fold, pixel_shuffle, pixel_unshuffle, unfold  # noqa: F401
from ..ops.pool_functional import (  # noqa: F401  (pooling, every option)
    adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices, adaptive_max_pool2d, adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d, adaptive_max_pool3d_with_indices, avg_pool1d, avg_pool2d, avg_pool3d,
    lp_pool1d, lp_pool2d, lp_pool3d, max_pool1d, max_pool1d_with_indices, max_pool2d,
    max_pool2d_with_indices, max_pool3d, max_pool3d_with_indices, max_unpool1d, max_unpool2d,
    max_unpool3d)
from ..ops.padding import pad  # noqa: F401  (F.pad: constant, reflect, replicate, circular)
from .activation_functions import *  # noqa: F401,F403  (relu, gelu, softmax, glu, ...)
from .layer_functions import *  # noqa: F401,F403  (dropout, embedding, instance_norm, ...)
from .loss_functions import *  # noqa: F401,F403  (mse_loss, cross_entropy, ctc_loss, ...)
from .rmsnorm import rms_norm  # noqa: F401
from ..ops.distance import pdist  # noqa: F401,E402  (issue 19)
from ..ops.sampling import gumbel_softmax  # noqa: F401,E402  (issue 19)



# ---------------------------------------------------------------- layers as functions

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
    if _one_layer_norm_node(input, weight, bias, normalized_shape):
        affine = [t for t in (weight, bias) if t is not None]
        return _LayerNormNode(len(normalized_shape), eps, weight is not None,
                              bias is not None)(input, *affine)
    return _layer_norm_composition(input, normalized_shape, weight, bias, eps)


def _layer_norm_composition(input, normalized_shape, weight, bias, eps):
    """layer_norm as chainrule ops (bfloat16, mixed dtypes, empty input; the node's
    reference in its tests)."""
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


def _one_layer_norm_node(input, weight, bias, normalized_shape):
    """Whether layer_norm is one LayerNorm node: float16/32/64 input with weight and bias of
    its dtype and of the normalised shape, and something to normalise; anything else (bfloat16,
    mixed dtypes, empty rows) is the composition of ops, which knows those rules."""
    dtype = input._data.dtype
    if backend.is_bfloat16(dtype) or backend.kind(dtype) != "f" or not input._data.size:
        return False
    return all(t is None or (isinstance(t, TensorBase) and t._data.dtype == dtype and
                             tuple(t.shape) == normalized_shape) for t in (weight, bias))


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
    if not training:
        scale = (running_var + eps).rsqrt()
        if weight is not None:
            scale = scale * weight
        shift = -running_mean * scale
        if bias is not None:
            shift = shift + bias
        return _scale_shift(input, scale, shift)
    count = input._data.size // input.shape[1]
    if count <= 1:
        raise ArgumentError(f"batch_norm: expected more than 1 value per channel when "
                            f"training, got input of shape {input.shape}")
    node = _BatchNormNode(eps, weight is not None, bias is not None)
    out = node(input, *[t for t in (weight, bias) if t is not None])
    if running_mean is not None:
        running_mean._data *= 1 - momentum
        running_mean._data += momentum * backend.xp.astype(node.batch_mean,
                                                           running_mean._data.dtype)
    if running_var is not None:
        unbiased = node.batch_var * (count / (count - 1))
        running_var._data *= 1 - momentum
        running_var._data += momentum * backend.xp.astype(unbiased, running_var._data.dtype)
    return out


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
