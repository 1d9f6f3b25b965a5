"""Piecewise activations: hardtanh (and relu6), hardsigmoid, hardswish, threshold, hardshrink,
softshrink and prelu.

Each is one gate because PyTorch's derivative at the break points is a choice, not a
consequence of composition: hardtanh's gradient is 0 exactly at min and max (clamp's passes
there), hardswish's is 1 at x = 3, and so on. Each gate saves its input and says where the
gradient passes; the masks are constants, so second derivatives follow. At NaN inputs the
values and gradients are those of PyTorch's vectorised CPU kernels (which answer for all
but the last few elements of a tensor; its scalar tail loop can differ).
"""
import numpy

from .. import backend, backend_helpers
from ..autograd.function import Function
from .arithmetic import PassWhere, where


class _Masked(Function):
    """A gate whose gradient is gy times a constant ``slope`` where ``passes(x)`` (a bool
    array) holds, and 0 elsewhere."""

    slope = None                                                # None: gy itself

    def backward(self, gy):
        (x,) = self.saved_tensors
        passed = PassWhere(self.passes(x._data))(gy)
        return passed if self.slope is None else passed * self.slope


class Hardtanh(_Masked):
    """min_val where x < min_val, max_val where x > max_val, x between; the gradient passes
    only strictly inside (min_val, max_val), as PyTorch's."""

    def __init__(self, min_val, max_val):
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.astype(backend.xp.clip(x, self.min_val, self.max_val), x.dtype, copy=False)

    def passes(self, x):
        return (x > self.min_val) & (x < self.max_val)

    def to_onnx(self, b, x, batch):
        return b.node("Clip", [x[0], b.scalar(self.min_val), b.scalar(self.max_val)])


class Hardsigmoid(_Masked):
    """clip(x / 6 + 1/2, 0, 1); gradient 1/6 strictly inside (-3, 3)."""

    slope = float(numpy.float32(1 / 6))     # PyTorch's constant is 1.0f / 6.0f, in float64 too

    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.astype(backend.xp.clip(x / 6 + 0.5, 0, 1), x.dtype, copy=False)

    def passes(self, x):
        return (x > -3) & (x < 3)

    def to_onnx(self, b, x, batch):
        return b.node("HardSigmoid", x, alpha=1 / 6, beta=0.5)


class Hardswish(Function):
    """x * clip(x + 3, 0, 6) / 6; gradient 0 up to -3, x / 3 + 1/2 between, 1 from 3 on
    (PyTorch's pieces)."""

    def forward(self, x):
        self.save_for_backward(x)
        with backend_helpers.errstate(invalid="ignore"):             # -inf * 0 is NaN, as PyTorch
            return backend.xp.astype(x * backend.xp.clip(x + 3, 0, 6) / 6, x.dtype, copy=False)

    def backward(self, gy):
        (x,) = self.saved_tensors
        data = x._data
        slope = where(data >= 3, 1.0, x * (1 / 3) + 0.5)       # NaN keeps its NaN slope
        return PassWhere(~(data <= -3))(gy * slope)             # 0 up to -3, even for inf

    def to_onnx(self, b, x, batch):
        return b.node("HardSwish", x)


class Threshold(_Masked):
    """x where x > threshold, else ``value``; gradient 1 where x > threshold."""

    def __init__(self, threshold, value):
        self.threshold, self.value = threshold, value

    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.astype(backend.xp.where(x <= self.threshold, self.value, x), x.dtype, copy=False)

    def passes(self, x):
        return ~(x <= self.threshold)                           # NaN passes, as PyTorch

    def to_onnx(self, b, x, batch):
        below = b.node("LessOrEqual", [x[0], b.scalar(self.threshold)])
        return b.node("Where", [below, b.scalar(self.value), x[0]])


class Hardshrink(_Masked):
    """x where |x| > lambd, else 0 (0 at |x| = lambd; NaN stays NaN); gradient 1 where
    |x| > lambd."""

    def __init__(self, lambd):
        self.lambd = lambd

    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.astype(backend.xp.where(self._inside(x), 0, x), x.dtype, copy=False)

    def _inside(self, x):
        return (x >= -self.lambd) & (x <= self.lambd)

    def passes(self, x):
        return (x < -self.lambd) | (x > self.lambd)

    def to_onnx(self, b, x, batch):
        return b.node("Shrink", x, lambd=float(self.lambd), bias=0.0)


class Softshrink(Hardshrink):
    """x - lambd above lambd, x + lambd below -lambd, 0 between; gradient 1 outside."""

    def forward(self, x):
        self.save_for_backward(x)
        xp = backend.xp
        shrunk = x - xp.clip(x, -self.lambd, self.lambd)
        return backend.xp.astype(xp.where(self._inside(x), 0, shrunk), x.dtype, copy=False)

    def to_onnx(self, b, x, batch):
        return b.node("Shrink", x, lambd=float(self.lambd), bias=float(self.lambd))


class PReLU(Function):
    """x where x > 0, else weight * x (weight broadcast against x); one gate so that the
    mask is computed from the input it is given (an exported graph recomputes it) and the
    gradient at x = 0 is PyTorch's (weight)."""

    def forward(self, x, weight):
        self.save_for_backward(x, weight)
        return backend.xp.astype(backend.xp.where(x > 0, x, weight * x), x.dtype, copy=False)

    def backward(self, gy):
        x, weight = self.saved_tensors
        positive = x._data > 0
        gx = gy * where(positive, 1.0, weight) if self.needs_input_grad[0] else None
        gw = where(positive, 0.0, gy * x) if self.needs_input_grad[1] else None
        return gx, gw

    def to_onnx(self, b, x, batch):
        return b.node("PRelu", x)
