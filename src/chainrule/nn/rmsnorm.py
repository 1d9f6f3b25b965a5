"""RMSNorm: scale each sample by the reciprocal of its root mean square over the trailing
``normalized_shape`` axes (no centring, no bias), then by a learned weight.

    y = x / sqrt(mean(x²) + eps) * weight
"""
import numpy

from ..creation import ones
from ..errors import ArgumentError, ShapeError
from ..ops._util import require_float, require_tensor
from .module import Module, on_device
from .parameter import Parameter


def _shape(normalized_shape):
    return (int(normalized_shape),) if isinstance(normalized_shape, (int, numpy.integer)) \
        else tuple(int(n) for n in normalized_shape)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """PyTorch's F.rms_norm; ``eps=None`` uses the machine epsilon of the input's dtype
    (float32's for float16 and float32 inputs, float64's for float64).

    >>> import chainrule
    >>> [round(v, 4) for v in rms_norm(chainrule.tensor([[3.0, 4.0]]), 2)[0].tolist()]
    [0.8485, 1.1314]
    """
    require_float(require_tensor(input, "rms_norm"), "rms_norm")
    shape = _shape(normalized_shape)
    if not shape or input.shape[input.ndim - len(shape):] != shape or len(shape) > input.ndim:
        raise ShapeError(f"rms_norm: input of shape {input.shape} does not end with "
                         f"normalized_shape {shape}")
    if weight is not None and tuple(weight.shape) != shape:
        raise ShapeError(f"rms_norm: weight of shape {weight.shape} does not match "
                         f"normalized_shape {shape}")
    if eps is None:
        dtype = numpy.float64 if input._data.dtype == numpy.float64 else numpy.float32
        eps = float(numpy.finfo(dtype).eps)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    out = input * ((input * input).mean(dim=axes, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


class RMSNorm(Module):
    """Root-mean-square normalisation over the last dimensions (PyTorch's layer).

    >>> import chainrule
    >>> RMSNorm(4)(chainrule.ones(2, 4)).tolist()[0]
    [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        self.normalized_shape = _shape(normalized_shape)
        if eps is not None and not eps >= 0:
            raise ArgumentError(f"RMSNorm: eps must be >= 0 or None, got {eps}")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        on_device(self, device)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight._data[...] = 1
            self.weight._bump_version()

    def forward(self, x):
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
