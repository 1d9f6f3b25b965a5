"""Activations: sigmoid, tanh, relu, leaky_relu, elu, gelu, softplus, silu, mish, softmax,
log_softmax.

Each forward is written to stay finite at inputs of +-1000 (no overflow, no NaN), and each
backward is the textbook local derivative times the upstream gradient.
"""
import math

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..errors import ArgumentError, DTypeError
from ..tensor_base import TensorBase
from ._util import as_floating, constant_array, normalize_axis, require_float, require_tensor
from .arithmetic import erf, erf_array, exp, minimum, where
from .shape import chunk, concatenate


def sigmoid_array(x):
    """1 / (1 + e^-x) without overflow: e^-|x| is at most 1."""
    xp = backend.xp
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    """Kept as a gate for stability: 1 / (1 + exp(-x)) overflows to inf/inf = NaN in its
    gradient at x = -1000; this one never does.

    f(x) = 1 / (1 + e^-x); local gradient f(1 - f).
    """

    def forward(self, x):
        y = sigmoid_array(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        return _output_local(SigmoidBackward, gy, self)


def _local(gate, gy, y):
    """``gate()(gy, y)``, the backward of tanh, sigmoid or relu as a node when the backward
    pass is recorded (create_graph), else the same values from ``gate.on_arrays``."""
    if state.enabled:
        return gate()(gy, y)
    return gy._make(gate.on_arrays(gy._data, y._data), None)


def _output_local(gate, gy, node):
    """``_local(gate, gy, y)`` for the output y that ``node`` saved (tanh, sigmoid, relu): not
    recorded, y's array is read without making a tensor of it."""
    if state.enabled:
        (y,) = node.saved_tensors
        return gate()(gy, y)
    (y,) = node.saved_arrays
    return gy._make(gate.on_arrays(gy._data, y), None)


class SigmoidBackward(Function):
    """Kept as a gate for speed: sigmoid's backward gy * y (1 - y) in one node instead of
    three (PyTorch's sigmoid_backward); its own backward is sigmoid's second derivative."""

    @staticmethod
    def on_arrays(gy, y):
        return gy * y * (constant_array(1.0, y.dtype) - y)

    def forward(self, gy, y):
        self.save_for_backward(gy if self.needs_input_grad[1] else None, y)
        return self.on_arrays(gy, y)

    def backward(self, g):
        gy, y = self.saved_tensors
        need_gy, need_y = self.needs_input_grad
        return (g * y * (1 - y) if need_gy else None), (g * gy * (1 - 2 * y) if need_y else None)


class Tanh(Function):
    """Local gradient 1 - tanh^2."""

    def forward(self, x):
        y = backend.xp.tanh(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        return _output_local(TanhBackward, gy, self)


class TanhBackward(Function):
    """Kept as a gate for speed: tanh's backward gy (1 - y^2) in one node instead of three
    (PyTorch's tanh_backward); its own backward is tanh's second derivative."""

    @staticmethod
    def on_arrays(gy, y):
        return gy * (constant_array(1.0, y.dtype) - y * y)

    def forward(self, gy, y):
        self.save_for_backward(gy if self.needs_input_grad[1] else None, y)
        return self.on_arrays(gy, y)

    def backward(self, g):
        gy, y = self.saved_tensors
        need_gy, need_y = self.needs_input_grad
        return (g * (1 - y * y) if need_gy else None), (-2 * g * gy * y if need_y else None)


class ReLU(Function):
    """max(x, 0) (-0.0 kept, as PyTorch's); the gradient passes where the output is not 0
    (positive, or nan), as PyTorch's: 0 at x = 0."""

    def forward(self, x):
        y = backend_helpers.relu_values(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        return _output_local(ReLUBackward, gy, self)


def relu_gradient(gy, y):
    """gy where relu's output y is not 0, else 0: the backward of the fused gates (LinearReLU,
    ConvReLU), which save y beside the gate's own values."""
    return _local(ReLUBackward, gy, y)


class ReLUAfter:
    """Mixin for a gate followed by a ReLU in one node (LinearReLU, ConvReLU): forward takes
    the relu in place on the gate's new output and saves it after what the gate saved;
    backward masks gy by relu's gradient, then runs the gate's ``_gradients`` on it with
    what the gate saved. The two gates' computations, with one node, one array and one pass
    fewer."""

    __slots__ = ()

    def forward(self, *arrays):
        y = super().forward(*arrays)                # a new array: relu'd in place
        backend_helpers.relu_values(y, out=y)                      # as ReLU
        self.save_for_backward(*self._to_save, y)
        return y

    def backward(self, gy):
        *saved, y = self.saved_tensors
        return self._gradients(relu_gradient(gy, y), *saved)


class ReLUBackward(Function):
    """Kept as a gate for speed: relu's backward in one node instead of a comparison and a
    masked copy (PyTorch's threshold_backward(gy, y, 0): gy where y <= 0 is false, else 0).
    For relu's output y (>= 0 or nan) that is gy where y != 0, else +0.0 (an infinite gy
    too): the gradient passes where the output is positive or nan, as PyTorch's does. It is
    linear in gy, and its derivative with respect to y is 0."""

    @staticmethod
    def on_arrays(gy, y):
        return backend_helpers.keep_where(gy, y != 0)

    def forward(self, gy, y):
        self.save_for_backward(y)
        return self.on_arrays(gy, y)

    def backward(self, g):
        (y,) = self.saved_tensors
        return (ReLUBackward()(g, y) if self.needs_input_grad[0] else None), None


class LeakyReLU(Function):
    """Kept as a gate for speed: one node instead of where(x > 0, x, slope * x).

    x where x > 0, else slope * x; local gradient 1 or slope.
    """

    def __init__(self, negative_slope):
        self.negative_slope = negative_slope

    def forward(self, x):
        self.save_for_backward(x)
        return backend.xp.where(x > 0, x, x * self.negative_slope)

    def backward(self, gy):
        (x,) = self.saved_tensors
        xp = backend.xp
        slope = xp.where(x._data > 0, xp.asarray(1.0, dtype=gy.dtype), self.negative_slope)
        return gy * slope


class ELU(Function):
    """Kept as a gate for accuracy and speed: expm1 keeps alpha (e^x - 1) exact near 0, in
    one node.

    x for x > 0, alpha (e^x - 1) otherwise; local gradient 1 or alpha e^x.
    """

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        xp = backend.xp
        self.save_for_backward(x)
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0)))

    def backward(self, gy):
        (x,) = self.saved_tensors
        # exp of min(x, 0): the branch not taken never overflows (no 0 * inf in 2nd order)
        return gy * where(x._data > 0, 1.0, exp(minimum(x, 0.0)) * self.alpha)


class GELU(Function):
    """Kept as a gate for speed: one node instead of the five of x * (1 + erf(x/√2)) / 2.

    x * Phi(x), with Phi the normal CDF (exact, via erf) or its tanh approximation. Forward
    keeps Phi(x) (or the tanh) beside x, so that backward does not evaluate erf a second time
    (SciPy's erf costs ~25 times an exp: it was a fifth of a GPT training step); the
    derivative Phi(x) + x phi(x) is then a few passes over arrays when backward is not
    recorded, and the formula in chainrule ops when it is (create_graph: exact second
    derivatives).
    """

    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, x):
        xp = backend.xp
        if self.approximate == "tanh":
            t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
            self.save_for_backward(x, t)
            return 0.5 * x * (1 + t)
        cdf = 0.5 * (1 + erf_array(x / math.sqrt(2.0)))
        self.save_for_backward(x, cdf)
        return x * cdf          # = 0.5 * x * (1 + erf): halving is exact

    def backward(self, gy):
        x, kept = self.saved_tensors
        if state.enabled:       # recorded: in chainrule ops, differentiable again
            return self._recorded_backward(gy, x)
        xs, g = x._data, gy._data
        if self.approximate == "tanh":
            t = kept._data
            # 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
            local = 1 - t * t
            local *= 0.5 * xs
            local *= _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * xs * xs)
            local += 0.5 * (1 + t)
        else:                   # Phi(x) + x phi(x), phi the normal density
            local = xs * xs
            local *= -0.5
            local = backend_helpers.into(local, backend.xp.exp, local)
            local *= 1 / math.sqrt(2 * math.pi)
            local *= xs
            local += kept._data
        local *= g
        return gy._make(local, None)

    def _recorded_backward(self, gy, x):
        if self.approximate == "tanh":
            t = tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
        cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2.0))))
        pdf = exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return gy * (cdf + x * pdf)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class Softplus(Function):
    """Kept as a gate (not relu(z) + log1p(exp(-|z|))) because that composition's gradient
    is wrong at z = 0 (0 instead of 1/2, from the kinks of relu and abs).

    log(1 + e^(beta x)) / beta, linear above ``threshold`` (as PyTorch); gradient sigmoid.
    """

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        self.save_for_backward(x)
        return softplus_array(x, self.beta, self.threshold)

    def backward(self, gy):
        (x,) = self.saved_tensors
        z = x * self.beta
        return gy * where(z._data > self.threshold, 1.0, sigmoid(z))


def softplus_array(x, beta=1.0, threshold=math.inf):
    """log(1 + e^(beta x)) / beta without overflow, x itself above ``threshold``."""
    xp = backend.namespace_of(x)
    z = beta * x
    soft = (xp.maximum(z, 0) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
    return xp.where(z > threshold, x, soft)


class SiLU(Function):
    """x * sigmoid(x), kept as a gate for PyTorch's gradient gy * (s (1 + x (1 - s))): the
    composition's gy s + gy x s (1 - s) is inf - inf = nan for an infinite gy where
    PyTorch's is infinite."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * sigmoid_array(x)

    def backward(self, gy):
        (x,) = self.saved_tensors
        if not state.enabled:                   # not recorded: the same values on arrays
            s = sigmoid_array(x._data)
            return gy._make(gy._data * (s * (1 + x._data * (1 - s))), None)
        s = sigmoid(x)
        return gy * (s * (1 + x * (1 - s)))

    def to_onnx(self, b, x, batch):
        return b.node("Mul", [x[0], b.node("Sigmoid", [x[0]])])


class Mish(Function):
    """x * tanh(softplus(x)), kept as a gate for PyTorch's gradient
    gy * (t + x s (1 - t^2)) (t = tanh(softplus(x)), s = sigmoid(x)), which an infinite gy
    does not turn into nan as the composition's sum of two terms does."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * backend.xp.tanh(softplus_array(x))

    def backward(self, gy):
        (x,) = self.saved_tensors
        if not state.enabled:                   # not recorded: the same values on arrays
            data = x._data
            t = backend.xp.tanh(softplus_array(data))
            return gy._make(gy._data * (t + data * sigmoid_array(data) * (1 - t * t)), None)
        t = tanh(softplus(x, 1.0, math.inf))
        return gy * (t + x * sigmoid(x) * (1 - t * t))

    def to_onnx(self, b, x, batch):
        return b.node("Mul", [x[0], b.node("Tanh", [b.node("Softplus", [x[0]])])])


class GLU(Function):
    """A gate rather than chunk, sigmoid and mul so that ONNX export can write it (Slice,
    Sigmoid, Mul; the exporter has no general slicing).

    f(x) = a * sigmoid(b) for the halves a, b of x along ``axis``; local gradients
    sigmoid(b) for a and a * sigmoid(b) (1 - sigmoid(b)) for b.
    """

    def __init__(self, axis):
        self.axis = axis

    def halves(self, x):
        half = x.shape[self.axis] // 2
        index = [slice(None)] * x.ndim
        index[self.axis] = slice(0, half)
        first = x[tuple(index)]
        index[self.axis] = slice(half, 2 * half)
        return first, x[tuple(index)]

    def forward(self, x):
        self.save_for_backward(x)
        first, second = self.halves(x)
        return first * sigmoid_array(second)

    def backward(self, gy):
        (x,) = self.saved_tensors
        first, second = chunk(x, 2, self.axis)
        gate = sigmoid(second)
        return concatenate([gy * gate, gy * first * gate * (1 - gate)], self.axis)

    def to_onnx(self, b, x, batch):
        half = self.inputs[0].shape[self.axis] // 2
        first, second = (b.node("Slice", [x[0], b.ints([start]), b.ints([start + half]),
                                          b.ints([self.axis])]) for start in (0, half))
        return b.node("Mul", [first, b.node("Sigmoid", [second])])


class Softmax(Function):
    """Kept as a gate for speed and memory: one node that saves only its output, instead of
    exp(x - max) / sum(exp(x - max)).

    e^x / sum e^x along an axis (shifted by the max, so it never overflows).
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = backend.xp
        e = xp.exp(x - backend.xp.max(x, axis=self.axis, keepdims=True)) if x.size else xp.exp(x)
        y = e / backend.xp.sum(e, axis=self.axis, keepdims=True)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return y * (gy - (gy * y).sum(dim=self.axis, keepdim=True))


class LogSoftmax(Function):
    """Kept as a gate for speed: one node instead of x - logsumexp(x) (two, plus a broadcast).

    Gradient gy - softmax * sum(gy).
    """

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = backend.xp
        shifted = x - backend.xp.max(x, axis=self.axis, keepdims=True) if x.size else x
        y = shifted - xp.log(backend.xp.sum(xp.exp(shifted), axis=self.axis, keepdims=True))
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return gy - exp(y) * gy.sum(dim=self.axis, keepdim=True)


# ---------------------------------------------------------------- functional API

def sigmoid(x):
    """The logistic function, finite for any input.

    >>> import chainrule
    >>> chainrule.sigmoid(chainrule.tensor([-1000.0, 0.0, 1000.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    if not isinstance(x, TensorBase) or backend.kind(x._data.dtype) != "f":
        x = as_floating(require_tensor(x, "sigmoid"))
    return Sigmoid()(x)


def tanh(x):
    """The hyperbolic tangent; local gradient 1 - tanh^2.

    >>> import chainrule
    >>> chainrule.tanh(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    if not isinstance(x, TensorBase) or backend.kind(x._data.dtype) != "f":
        x = as_floating(require_tensor(x, "tanh"))
    return Tanh()(x)


def relu(x):
    """max(x, 0); the gradient passes where x > 0.

    >>> import chainrule
    >>> chainrule.relu(chainrule.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    if backend.kind(x._data.dtype) == "b":
        raise DTypeError("relu: not defined for bool tensors (as in PyTorch)")
    return ReLU()(x)


def leaky_relu(x, negative_slope=0.01):
    """x where x > 0, else negative_slope * x.

    >>> import chainrule
    >>> chainrule.leaky_relu(chainrule.tensor([-10.0, 1.0]), 0.1).tolist()
    [-1.0, 1.0]
    """
    return LeakyReLU(negative_slope)(x)


def elu(x, alpha=1.0):
    """x where x > 0, else alpha (e^x - 1).

    >>> import chainrule
    >>> chainrule.elu(chainrule.tensor([0.0, 1.0])).tolist()
    [0.0, 1.0]
    """
    require_float(x, "elu")
    return ELU(alpha)(x)


def gelu(x, approximate="none"):
    """GELU; ``approximate="tanh"`` for the tanh form, ``"none"`` for the exact erf form.

    >>> import chainrule
    >>> chainrule.gelu(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    if approximate not in ("none", "tanh"):
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    require_float(x, "gelu")
    return GELU(approximate)(x)


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + e^x) (linear above ``threshold``); gradient sigmoid(x).

    >>> import chainrule
    >>> round(chainrule.softplus(chainrule.tensor([0.0])).item(), 4)
    0.6931
    """
    require_float(x, "softplus")
    return Softplus(beta, threshold)(x)


def silu(x):
    """x * sigmoid(x) (swish).

    >>> import chainrule
    >>> chainrule.silu(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    require_float(require_tensor(x, "silu"), "silu")
    return SiLU()(x)


def softmax(x, dim=-1, axis=None):
    """e^x / sum e^x along ``dim``.

    >>> import chainrule
    >>> chainrule.softmax(chainrule.tensor([1.0, 1.0])).tolist()
    [0.5, 0.5]
    """
    require_float(x, "softmax")
    return Softmax(_single_axis(x, dim, axis))(x)


def log_softmax(x, dim=-1, axis=None):
    """x - logsumexp(x) along ``dim``.

    >>> import chainrule
    >>> round(chainrule.log_softmax(chainrule.tensor([0.0, 0.0]))[0].item(), 4)
    -0.6931
    """
    require_float(x, "log_softmax")
    return LogSoftmax(_single_axis(x, dim, axis))(x)


def _single_axis(x, dim, axis):
    chosen = dim if axis is None else axis
    return normalize_axis(chosen, x.ndim)[0] if x.ndim else None


__all__ = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", "silu",
           "softmax", "log_softmax"]
