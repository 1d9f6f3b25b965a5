"""Activation layers: thin Modules over the functions of ``chainrule.nn.functional``, with
PyTorch's constructor arguments (``inplace`` too, positionally as in ``nn.ReLU(True)``),
parameters and ``extra_repr``."""
from ..creation import empty_like_shape
from ..errors import ArgumentError
from . import functional as F
from . import init
from .module import Module, on_device
from .parameter import Parameter


class _Inplace(Module):
    """An activation with only PyTorch's ``inplace`` argument; ``function`` names it in F."""

    function = None
    show_inplace = True

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return getattr(F, self.function)(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace and self.show_inplace else ""


class ReLU(_Inplace):
    """The ReLU activation as a layer.

    >>> import chainrule
    >>> ReLU()(chainrule.tensor([-1.0, 1.0])).tolist()
    [0.0, 1.0]
    """
    function = "relu"


class ReLU6(_Inplace):
    """min(max(x, 0), 6).

    >>> import chainrule
    >>> ReLU6()(chainrule.tensor([-1.0, 8.0])).tolist()
    [0.0, 6.0]
    """
    function = "relu6"


class SELU(_Inplace):
    """The self-normalising ELU.

    >>> import chainrule
    >>> SELU()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    function = "selu"


class SiLU(_Inplace):
    """The SiLU activation as a layer.

    >>> import chainrule
    >>> SiLU()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    function = "silu"


class Mish(_Inplace):
    """x * tanh(softplus(x)).

    >>> import chainrule
    >>> Mish()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    function = "mish"


class Hardswish(_Inplace):
    """x * relu6(x + 3) / 6.

    >>> import chainrule
    >>> Hardswish()(chainrule.tensor([4.0])).tolist()
    [4.0]
    """
    function = "hardswish"
    show_inplace = False            # PyTorch's repr leaves it out


class Hardsigmoid(_Inplace):
    """relu6(x + 3) / 6.

    >>> import chainrule
    >>> Hardsigmoid()(chainrule.tensor([0.0])).tolist()
    [0.5]
    """
    function = "hardsigmoid"
    show_inplace = False


class LeakyReLU(Module):
    """The LeakyReLU activation as a layer.

    >>> import chainrule
    >>> LeakyReLU(0.5)(chainrule.tensor([-2.0])).tolist()
    [-1.0]
    """
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """The ELU activation as a layer.

    >>> import chainrule
    >>> ELU()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return F.elu(x, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """max(0, x) + min(0, alpha (e^(x/alpha) - 1)).

    >>> import chainrule
    >>> CELU(2.0)(chainrule.tensor([1.0])).tolist()
    [1.0]
    """
    def forward(self, x):
        return F.celu(x, self.alpha, self.inplace)


class Hardtanh(Module):
    """x clipped to [min_val, max_val].

    >>> import chainrule
    >>> Hardtanh(-2.0, 2.0)(chainrule.tensor([-3.0, 3.0])).tolist()
    [-2.0, 2.0]
    """
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None,
                 max_value=None):
        super().__init__()
        min_val = min_val if min_value is None else min_value      # PyTorch's old names
        max_val = max_val if max_value is None else max_value
        if max_val <= min_val:
            raise ArgumentError(f"Hardtanh: max_val ({max_val}) must be greater than min_val "
                                f"({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else "")


class Threshold(Module):
    """x where x > threshold, else value.

    >>> import chainrule
    >>> Threshold(0.5, 0.0)(chainrule.tensor([0.2, 0.8])).tolist()
    [0.0, 0.800000011920929]
    """
    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x):
        return F.threshold(x, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else "")


class RReLU(Module):
    """Leaky ReLU with a random slope in [lower, upper] while training, the mean in eval.

    >>> import chainrule
    >>> RReLU(0.1, 0.3).eval()(chainrule.tensor([-1.0])).tolist()
    [-0.20000000298023224]
    """
    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False, generator=None):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace
        self.generator = generator

    def forward(self, x):
        return F.rrelu(x, self.lower, self.upper, self.training, self.inplace,
                       generator=self.generator)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (
            ", inplace=True" if self.inplace else "")


class PReLU(Module):
    """Leaky ReLU with learned slopes: one (``num_parameters=1``) or one per channel,
    initialised to ``init``.

    >>> import chainrule
    >>> PReLU()(chainrule.tensor([-4.0])).tolist()
    [-1.0]
    """
    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(empty_like_shape((num_parameters,), dtype))
        self.reset_parameters()
        on_device(self, device)

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class GELU(Module):
    """The GELU activation as a layer.

    >>> import chainrule
    >>> GELU()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """The Softplus activation as a layer.

    >>> import chainrule
    >>> round(Softplus()(chainrule.tensor([0.0])).item(), 4)
    0.6931
    """
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class _Shrink(Module):
    function = None

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return getattr(F, self.function)(x, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """x where |x| > lambd, else 0.

    >>> import chainrule
    >>> Hardshrink()(chainrule.tensor([0.2, 1.0])).tolist()
    [0.0, 1.0]
    """
    function = "hardshrink"


class Softshrink(_Shrink):
    """x shrunk towards 0 by lambd (0 inside [-lambd, lambd]).

    >>> import chainrule
    >>> Softshrink()(chainrule.tensor([0.2, 1.0])).tolist()
    [0.0, 0.5]
    """
    function = "softshrink"


class _Plain(Module):
    """An activation without arguments."""

    function = None

    def forward(self, x):
        return getattr(F, self.function)(x)


class Sigmoid(_Plain):
    """The Sigmoid activation as a layer.

    >>> import chainrule
    >>> Sigmoid()(chainrule.tensor([0.0])).tolist()
    [0.5]
    """
    function = "sigmoid"


class Tanh(_Plain):
    """The Tanh activation as a layer.

    >>> import chainrule
    >>> Tanh()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    function = "tanh"


class LogSigmoid(_Plain):
    """log(sigmoid(x)).

    >>> import chainrule
    >>> round(LogSigmoid()(chainrule.tensor([0.0])).item(), 4)
    -0.6931
    """
    function = "logsigmoid"


class Softsign(_Plain):
    """x / (1 + |x|).

    >>> import chainrule
    >>> Softsign()(chainrule.tensor([3.0])).tolist()
    [0.75]
    """
    function = "softsign"


class Tanhshrink(_Plain):
    """x - tanh(x).

    >>> import chainrule
    >>> Tanhshrink()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    function = "tanhshrink"


class _AlongDim(Module):
    function = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return getattr(F, self.function)(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """The Softmax activation as a layer.

    >>> import chainrule
    >>> Softmax(dim=1)(chainrule.zeros(1, 2)).tolist()
    [[0.5, 0.5]]
    """
    function = "softmax"


class LogSoftmax(_AlongDim):
    """The LogSoftmax activation as a layer.

    >>> import chainrule
    >>> LogSoftmax(dim=1)(chainrule.zeros(1, 2)).shape
    (1, 2)
    """
    function = "log_softmax"


class Softmin(_AlongDim):
    """softmax(-x) along ``dim``.

    >>> import chainrule
    >>> Softmin(dim=0)(chainrule.zeros(2)).tolist()
    [0.5, 0.5]
    """
    function = "softmin"


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W) input.

    >>> import chainrule
    >>> Softmax2d()(chainrule.zeros(2, 1, 1)).flatten().tolist()
    [0.5, 0.5]
    """

    def forward(self, x):
        if x.ndim not in (3, 4):
            raise ArgumentError(f"Softmax2d: expected (C, H, W) or (N, C, H, W) input, got "
                                f"shape {x.shape}")
        return F.softmax(x, -3)


class GLU(Module):
    """The gated linear unit: a * sigmoid(b) for the halves a, b of ``dim``.

    >>> import chainrule
    >>> GLU()(chainrule.zeros(1, 4)).shape
    (1, 2)
    """
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


#: names accepted by ``--activation`` and ``MLP(activation=...)``
ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU,
               "sigmoid": Sigmoid, "tanh": Tanh, "softplus": Softplus, "silu": SiLU}
