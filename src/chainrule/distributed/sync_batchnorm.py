"""SyncBatchNorm: batch statistics computed over the whole global batch (all ranks).

Opt-in (``convert_sync_batchnorm(model)``): by default BatchNorm stays per replica, as in
PyTorch. The statistics are sums all-reduced across ranks by a differentiable op, so the
gradients are the exact gradients of the global batch.
"""
import numpy

from ..autograd.function import Function
from ..nn.norm import _BatchNorm
from . import runtime


class AllReduceSum(Function):
    """y = sum over ranks of x (every rank gets it); backward all-reduces the gradient too."""

    def forward(self, x):
        out = numpy.array(x, copy=True)
        runtime.all_reduce(out)
        return out

    def backward(self, gy):
        return AllReduceSum()(gy)


def all_reduce_sum(x):
    return AllReduceSum()(x) if runtime.is_distributed() else x


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, ...) input with mean and variance taken over every rank's batch."""

    expected_dims = (2, 3, 4, 5)

    def forward(self, x):
        if x.ndim not in self.expected_dims or x.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm({self.num_features}): expected input of shape "
                             f"(N, {self.num_features}, ...), got {x.shape}")
        if not self.training:
            return super().forward(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        local_count = x._data.size // x.shape[1]
        counts = numpy.array([local_count], dtype=numpy.float64)
        runtime.all_reduce(counts)
        count = float(counts[0])
        mean = (all_reduce_sum(x.sum(dim=axes)) * (1.0 / count)).reshape(shape)
        centered = x - mean
        var = (all_reduce_sum((centered * centered).sum(dim=axes)) * (1.0 / count)).reshape(shape)
        if self.track_running_stats:
            self.num_batches_tracked._data += 1
            m = self.momentum
            self.running_mean._data *= 1 - m
            self.running_mean._data += m * mean._data.reshape(-1)
            self.running_var._data *= 1 - m
            self.running_var._data += m * var._data.reshape(-1) * (count / max(count - 1, 1))
        out = centered * (var + self.eps).rsqrt()
        if self.weight is not None:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out


def convert_sync_batchnorm(module):
    """Replace every BatchNorm1d/2d inside ``module`` by a SyncBatchNorm with the same state.

    >>> import chainrule
    >>> model = convert_sync_batchnorm(chainrule.nn.Sequential(chainrule.nn.BatchNorm1d(3)))
    >>> type(model[0]).__name__
    'SyncBatchNorm'
    """
    for name, child in list(module._modules.items()):
        if isinstance(child, _BatchNorm) and not isinstance(child, SyncBatchNorm):
            sync = SyncBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                 child.track_running_stats)
            sync.load_state_dict(child.state_dict())
            module._modules[name] = sync
        elif child is not None:
            convert_sync_batchnorm(child)
    return module
