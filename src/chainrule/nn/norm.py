"""Normalisation layers: LayerNorm, BatchNorm1d/2d/3d (running statistics as in PyTorch;
training mode is one fused node, ``ops.norm.BatchNorm``), GroupNorm, InstanceNorm1d/2d/3d and
LocalResponseNorm."""
import warnings

import numpy

from ..creation import ones, zeros
from ..tensor import Tensor
from . import functional as F
from .module import Module, on_device
from .parameter import Parameter
from ..errors import ArgumentError


class LayerNorm(Module):
    """Normalise over the last dimensions, then scale and shift (learned; ``bias=False``
    keeps only the scale).

    >>> import chainrule
    >>> LayerNorm(4)(chainrule.randn(2, 4)).mean(dim=1).abs().max().item() < 1e-6
    True
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(ones(*shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(zeros(*shape, dtype=dtype)) if elementwise_affine and bias \
            else None
        on_device(self, device)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine="
                f"{self.elementwise_affine}, bias={self.bias is not None}")


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share (PyTorch's _NormBase): the affine parameters
    and the running statistics, each only when asked for."""

    def __init__(self, num_features, eps, momentum, affine, track_running_stats, device,
                 dtype, bias):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_features, dtype=dtype)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", Tensor(numpy.array(0, dtype=numpy.int64)))
        else:
            self.running_mean = self.running_var = None
        on_device(self, device)


class _BatchNorm(_NormBase):
    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def forward(self, x):
        if x.ndim not in self.expected_dims or x.shape[1] != self.num_features:
            raise ArgumentError(f"{type(self).__name__}({self.num_features}): expected input of "
                                f"{' or '.join(f'{d}-D' for d in self.expected_dims)} shape "
                                f"(N, {self.num_features}, ...), got {x.shape}")
        self.warn_if_eval_while_recording(x)
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            momentum = self.momentum
            if momentum is None:            # a cumulative average, as PyTorch's momentum=None
                momentum = 1.0 / float(self.num_batches_tracked._data)
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                True, momentum, self.eps)
        if self.training or not self.track_running_stats:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, self.momentum,
                                self.eps)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            False, self.momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine="
                f"{self.affine}, bias={self.bias is not None}, track_running_stats="
                f"{self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input.

    Training uses the batch's statistics and updates running_mean / running_var with
    ``momentum`` (the variance update uses the unbiased estimate, as PyTorch); eval mode
    uses the running statistics.

    >>> import chainrule
    >>> BatchNorm1d(3)(chainrule.randn(8, 3)).shape
    (8, 3)
    """

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input over the batch and both spatial axes.

    >>> import chainrule
    >>> BatchNorm2d(3)(chainrule.randn(4, 3, 5, 5)).shape
    (4, 3, 5, 5)
    """

    expected_dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) input over the batch and the three spatial axes.

    >>> import chainrule
    >>> BatchNorm3d(2)(chainrule.randn(3, 2, 2, 2, 2)).shape
    (3, 2, 2, 2, 2)
    """

    expected_dims = (5,)


class GroupNorm(Module):
    """Normalise groups of channels per sample (batch-size independent); input (N, C, ...).

    >>> import chainrule
    >>> GroupNorm(2, 4)(chainrule.randn(2, 4, 3, 3)).shape
    (2, 4, 3, 3)
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise ArgumentError(f"GroupNorm: {num_channels} channels are not divisible into "
                                f"{num_groups} groups")
        self.num_groups, self.num_channels, self.eps = num_groups, num_channels, eps
        self.affine = affine
        self.weight = Parameter(ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(zeros(num_channels, dtype=dtype)) if affine and bias else None
        on_device(self, device)

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ArgumentError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected "
                                f"input of shape (N, {self.num_channels}, ...), got {x.shape}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_NormBase):
    """Per-sample, per-channel normalisation over the spatial dimensions (PyTorch's
    _InstanceNorm: no affine parameters and no running statistics unless asked)."""

    spatial_dims = 0

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias)

    def forward(self, x):
        unbatched = x.ndim == self.spatial_dims + 1
        if x.ndim not in (self.spatial_dims + 1, self.spatial_dims + 2):
            raise ArgumentError(f"{type(self).__name__}: expected {self.spatial_dims + 1}-D "
                                f"(unbatched) or {self.spatial_dims + 2}-D input, got shape "
                                f"{x.shape}")
        channels = x.shape[0 if unbatched else 1]
        if channels != self.num_features:
            if self.affine:
                raise ArgumentError(f"{type(self).__name__}({self.num_features}): expected "
                                    f"input with {self.num_features} channels, got {x.shape}")
            warnings.warn(f"input's size at dim={0 if unbatched else 1} does not match "
                          f"num_features. You can silence this warning by not passing in "
                          f"num_features, which is not used because affine=False", stacklevel=2)
        batched = x.unsqueeze(0) if unbatched else x
        out = F.instance_norm(batched, self.running_mean, self.running_var, self.weight,
                              self.bias, self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine="
                f"{self.affine}, bias={self.bias is not None}, track_running_stats="
                f"{self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) input.

    >>> import chainrule
    >>> InstanceNorm1d(2)(chainrule.randn(3, 2, 5)).shape
    (3, 2, 5)
    """
    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) input.

    >>> import chainrule
    >>> InstanceNorm2d(2)(chainrule.randn(2, 4, 4)).shape
    (2, 4, 4)
    """
    spatial_dims = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W) input.

    >>> import chainrule
    >>> InstanceNorm3d(1)(chainrule.randn(1, 2, 2, 2)).shape
    (1, 2, 2, 2)
    """
    spatial_dims = 3


class LocalResponseNorm(Module):
    """Divide each channel by a power of the summed squares of its ``size`` neighbours.

    >>> import chainrule
    >>> LocalResponseNorm(2)(chainrule.ones(1, 3, 2)).shape
    (1, 3, 2)
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
