"""The activation functions of ``chainrule.nn.functional``, with PyTorch's signatures.

``inplace=True`` writes the result into the input's memory, as PyTorch's: the input becomes
the output of the activation's node (a leaf that requires grad refuses, while recording),
and views of it see the new values. Gates that save their input are safe in place (the
engine keeps the old value); compositions of several gates run on a copy of the input when
recording, so no node's saved input is overwritten.

>>> import chainrule
>>> x = chainrule.tensor([-1.0, 2.0, 7.0])
>>> relu6(x, inplace=True) is x, x.tolist()
(True, [0.0, 2.0, 6.0])
"""
import math
import warnings

from .. import ops
from ..autograd.grad_mode import state
from ..errors import ArgumentError, ShapeError
from ..generator import default_generator
from ..ops import piecewise
from ..ops._util import as_floating, require_float, require_tensor
from ..ops.activation import GLU as _GLUGate
from ..ops.activation import Mish as _MishGate
from ..ops.activation import Softplus as _SoftplusGate

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _apply(fn, input, inplace, *args, composed=False):
    """fn(input, *args), or written into ``input`` when ``inplace``."""
    if not inplace:
        return fn(input, *args)
    if composed:
        inner = fn

        def fn(old, *args):                      # noqa: F811  (a copy, when recording)
            return inner(ops.clone(old) if state.enabled and old.requires_grad else old, *args)
        fn.__name__ = inner.__name__
    return input._inplace(fn, *args)


def _gate(cls, *params):
    def fn(x):
        return cls(*params)(x)
    fn.__name__ = cls.__name__.lower()
    return fn


def _floating(input, op):
    """A tensor input for an activation that needs floating point (as PyTorch's kernels)."""
    require_float(require_tensor(input, op), op)
    return input


# ---------------------------------------------------------------- the ReLU family

def relu(input, inplace=False):
    """max(x, 0).

    >>> import chainrule
    >>> relu(chainrule.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    require_tensor(input, "relu")
    return input.relu_() if inplace else ops.relu(input)


def relu_(input):
    """relu in place."""
    return relu(input, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """x clipped to [min_val, max_val]; the gradient passes strictly inside.

    >>> import chainrule
    >>> hardtanh(chainrule.tensor([-3.0, 0.5, 3.0])).tolist()
    [-1.0, 0.5, 1.0]
    """
    require_tensor(input, "hardtanh")
    if min_val > max_val:
        raise ArgumentError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                            f"({max_val})")
    return _apply(_gate(piecewise.Hardtanh, min_val, max_val), input, inplace)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """hardtanh in place."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(x, 0), 6) (hardtanh between 0 and 6).

    >>> import chainrule
    >>> relu6(chainrule.tensor([-1.0, 7.0])).tolist()
    [0.0, 6.0]
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x.

    >>> import chainrule
    >>> leaky_relu(chainrule.tensor([-10.0, 1.0]), 0.1).tolist()
    [-1.0, 1.0]
    """
    _floating(input, "leaky_relu")
    return _apply(ops.leaky_relu, input, inplace, negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    """leaky_relu in place."""
    return leaky_relu(input, negative_slope, inplace=True)


def elu(input, alpha=1.0, inplace=False):
    """x where x > 0, else alpha (e^x - 1).

    >>> import chainrule
    >>> elu(chainrule.tensor([0.0, 1.0])).tolist()
    [0.0, 1.0]
    """
    _floating(input, "elu")
    return _apply(ops.elu, input, inplace, alpha)


def elu_(input, alpha=1.0):
    """elu in place."""
    return elu(input, alpha, inplace=True)


def _selu(x):
    return ops.elu(x, _SELU_ALPHA) * _SELU_SCALE


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants (scale 1.0507, alpha 1.6733).

    >>> import chainrule
    >>> round(selu(chainrule.tensor([1.0])).item(), 4)
    1.0507
    """
    _floating(input, "selu")
    return _apply(_selu, input, inplace, composed=True)


def selu_(input):
    """selu in place."""
    return selu(input, inplace=True)


def _celu(x, alpha):
    return ops.elu(x * (1.0 / alpha), 1.0) * alpha


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha (e^(x / alpha) - 1)).

    >>> import chainrule
    >>> celu(chainrule.tensor([2.0])).tolist()
    [2.0]
    """
    _floating(input, "celu")
    if alpha == 0:
        raise ArgumentError("celu: alpha cannot be 0 (ZeroDivisionError in e^(x / alpha))")
    return _apply(_celu, input, inplace, alpha, composed=True)


def celu_(input, alpha=1.0):
    """celu in place."""
    return celu(input, alpha, inplace=True)


def threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else ``value``.

    >>> import chainrule
    >>> threshold(chainrule.tensor([0.5, 2.0]), 1.0, -1.0).tolist()
    [-1.0, 2.0]
    """
    require_tensor(input, "threshold")
    return _apply(_gate(piecewise.Threshold, threshold, value), input, inplace)


def threshold_(input, threshold_value, value):
    """threshold in place."""
    return threshold(input, threshold_value, value, inplace=True)


def _rrelu_noise(input, lower, upper, generator):
    rng = (generator or default_generator).numpy
    slopes = rng.uniform(lower, upper, size=input.shape)
    data = input._data
    return input._make((data > 0) + (data <= 0) * slopes.astype(data.dtype), None)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, *,
          generator=None):
    """Leaky ReLU with a random slope: drawn from U(lower, upper) for each non-positive element
    while training (from chainrule's generator), the mean slope (lower + upper) / 2 otherwise.

    >>> import chainrule
    >>> rrelu(chainrule.tensor([-2.0, 1.0]), 0.2, 0.3).tolist()
    [-0.5, 1.0]
    """
    _floating(input, "rrelu")
    if not 0 <= lower <= upper:
        raise ArgumentError(f"rrelu: needs 0 <= lower <= upper, got lower={lower}, "
                            f"upper={upper}")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    noise = _rrelu_noise(input, lower, upper, generator)

    def randomized_relu(x):
        return x * noise
    return _apply(randomized_relu, input, inplace, composed=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, *, generator=None):
    """rrelu in place."""
    return rrelu(input, lower, upper, training, inplace=True, generator=generator)


def prelu(input, weight):
    """x where x > 0, else weight * x, with one learned slope per channel (dimension 1) or
    one for all.

    >>> import chainrule
    >>> prelu(chainrule.tensor([[-2.0, 3.0]]), chainrule.tensor([0.5])).tolist()
    [[-1.0, 3.0]]
    """
    _floating(input, "prelu")
    count = weight.numel()
    if count != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.ndim != 1 or count != channels:
            raise ShapeError(f"prelu: weight has {count} values (shape {weight.shape}) but the "
                             f"input of shape {input.shape} has {channels} channels (dimension 1)"
                             "; use one slope or one per channel")
        weight = weight.reshape((channels,) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    return piecewise.PReLU()(input, weight)


# ---------------------------------------------------------------- smooth ones

def silu(input, inplace=False):
    """x * sigmoid(x) (swish).

    >>> import chainrule
    >>> silu(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    _floating(input, "silu")
    return _apply(ops.silu, input, inplace, composed=True)


def _mish(x):
    return _MishGate()(x)


def mish(input, inplace=False):
    """x * tanh(softplus(x)).

    >>> import chainrule
    >>> round(mish(chainrule.tensor([1.0])).item(), 4)
    0.8651
    """
    _floating(input, "mish")
    return _apply(_mish, input, inplace, composed=True)


def hardsigmoid(input, inplace=False):
    """clip(x / 6 + 1/2, 0, 1).

    >>> import chainrule
    >>> hardsigmoid(chainrule.tensor([-4.0, 0.0, 4.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    _floating(input, "hardsigmoid")
    return _apply(_gate(piecewise.Hardsigmoid), input, inplace)


def hardswish(input, inplace=False):
    """x * hardsigmoid(x).

    >>> import chainrule
    >>> hardswish(chainrule.tensor([-4.0, 4.0])).tolist()
    [-0.0, 4.0]
    """
    _floating(input, "hardswish")
    return _apply(_gate(piecewise.Hardswish), input, inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + e^(beta x)) / beta, linear above ``threshold``.

    >>> import chainrule
    >>> round(softplus(chainrule.tensor([0.0])).item(), 4)
    0.6931
    """
    return ops.softplus(input, beta, threshold)


def logsigmoid(input):
    """log(sigmoid(x)), finite for any x (= -softplus(-x)).

    >>> import chainrule
    >>> logsigmoid(chainrule.tensor([-1000.0])).tolist()
    [-1000.0]
    """
    _floating(input, "logsigmoid")
    return -_SoftplusGate(1.0, math.inf)(-input)


def softsign(input):
    """x / (1 + |x|).

    >>> import chainrule
    >>> softsign(chainrule.tensor([1.0])).tolist()
    [0.5]
    """
    input = as_floating(require_tensor(input, "softsign"))
    return input / (input.abs() + 1)


def tanhshrink(input):
    """x - tanh(x).

    >>> import chainrule
    >>> tanhshrink(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    input = as_floating(require_tensor(input, "tanhshrink"))
    return input - ops.tanh(input)


def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0.

    >>> import chainrule
    >>> hardshrink(chainrule.tensor([-1.0, 0.2, 1.0])).tolist()
    [-1.0, 0.0, 1.0]
    """
    _floating(input, "hardshrink")
    return piecewise.Hardshrink(lambd)(input)


def softshrink(input, lambd=0.5):
    """x - lambd above lambd, x + lambd below -lambd, 0 between.

    >>> import chainrule
    >>> softshrink(chainrule.tensor([-1.0, 0.2, 1.0])).tolist()
    [-0.5, 0.0, 0.5]
    """
    _floating(input, "softshrink")
    if lambd < 0:
        raise ArgumentError(f"softshrink: lambd must be >= 0, got {lambd}")
    return piecewise.Softshrink(lambd)(input)


def sigmoid(input):
    """The logistic function."""
    return ops.sigmoid(input)


def tanh(input):
    """The hyperbolic tangent."""
    return ops.tanh(input)


def gelu(input, approximate="none"):
    """x * Phi(x) (the normal CDF, exact or with ``approximate="tanh"``).

    >>> import chainrule
    >>> gelu(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    return ops.gelu(input, approximate)


# ---------------------------------------------------------------- along a dimension

def _softmax_dim(input, dim, op):
    """PyTorch's implicit choice when ``dim`` is None (deprecated there too, with a warning)."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


def _with_dtype(input, dtype):
    return input if dtype is None else input.to(dtype)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """e^x / sum e^x along ``dim`` (computed in ``dtype`` when given).

    >>> import chainrule
    >>> softmax(chainrule.tensor([1.0, 1.0]), dim=0).tolist()
    [0.5, 0.5]
    """
    require_tensor(input, "softmax")
    return ops.softmax(_with_dtype(input, dtype), _softmax_dim(input, dim, "softmax"))


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``.

    >>> import chainrule
    >>> [round(v, 4) for v in softmin(chainrule.tensor([0.0, 1.0]), dim=0).tolist()]
    [0.7311, 0.2689]
    """
    require_tensor(input, "softmin")
    return ops.softmax(-_with_dtype(input, dtype), _softmax_dim(input, dim, "softmin"))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - logsumexp(x) along ``dim``.

    >>> import chainrule
    >>> round(log_softmax(chainrule.tensor([0.0, 0.0]), dim=0)[0].item(), 4)
    -0.6931
    """
    require_tensor(input, "log_softmax")
    return ops.log_softmax(_with_dtype(input, dtype), _softmax_dim(input, dim, "log_softmax"))


def glu(input, dim=-1):
    """The gated linear unit: a * sigmoid(b), a and b the two halves of ``input`` along ``dim``.

    >>> import chainrule
    >>> glu(chainrule.tensor([2.0, 0.0])).tolist()
    [1.0]
    """
    _floating(input, "glu")
    if input.ndim == 0:
        raise ShapeError("glu: does not support 0-d (scalar) tensors")
    size = input.shape[dim]
    if size % 2:
        raise ShapeError(f"glu: halving dimension {dim} needs an even size, but input of shape "
                         f"{input.shape} has {size} there")
    return _GLUGate(dim % input.ndim)(input)


__all__ = ["relu", "relu_", "relu6", "hardtanh", "hardtanh_", "leaky_relu", "leaky_relu_", "elu",
           "elu_", "selu", "selu_", "celu", "celu_", "threshold", "threshold_", "rrelu", "rrelu_",
           "prelu", "silu", "mish", "hardsigmoid", "hardswish", "softplus", "logsigmoid",
           "softsign", "tanhshrink", "hardshrink", "softshrink", "sigmoid", "tanh", "gelu",
           "softmax", "softmin", "log_softmax", "glu"]
