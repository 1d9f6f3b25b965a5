"""Activation layers: thin Modules over the activation functions."""
from .. import ops
from .module import Module


class ReLU(Module):
    """The ReLU activation as a layer.

    >>> import chainrule
    >>> ReLU()(chainrule.tensor([-1.0, 1.0])).tolist()
    [0.0, 1.0]
    """
    def forward(self, x):
        return ops.relu(x)


class LeakyReLU(Module):
    """The LeakyReLU activation as a layer.

    >>> import chainrule
    >>> LeakyReLU(0.5)(chainrule.tensor([-2.0])).tolist()
    [-1.0]
    """
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return ops.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """The ELU activation as a layer.

    >>> import chainrule
    >>> ELU()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return ops.elu(x, self.alpha)


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
        return ops.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """The Sigmoid activation as a layer.

    >>> import chainrule
    >>> Sigmoid()(chainrule.tensor([0.0])).tolist()
    [0.5]
    """
    def forward(self, x):
        return ops.sigmoid(x)


class Tanh(Module):
    """The Tanh activation as a layer.

    >>> import chainrule
    >>> Tanh()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    def forward(self, x):
        return ops.tanh(x)


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
        return ops.softplus(x, self.beta, self.threshold)


class SiLU(Module):
    """The SiLU activation as a layer.

    >>> import chainrule
    >>> SiLU()(chainrule.tensor([0.0])).tolist()
    [0.0]
    """
    def forward(self, x):
        return ops.silu(x)


class Softmax(Module):
    """The Softmax activation as a layer.

    >>> import chainrule
    >>> Softmax(dim=1)(chainrule.zeros(1, 2)).tolist()
    [[0.5, 0.5]]
    """
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return ops.softmax(x, self.dim)


class LogSoftmax(Module):
    """The LogSoftmax activation as a layer.

    >>> import chainrule
    >>> LogSoftmax(dim=1)(chainrule.zeros(1, 2)).shape
    (1, 2)
    """
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return ops.log_softmax(x, self.dim)


#: names accepted by ``--activation`` and ``MLP(activation=...)``
ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "elu": ELU, "gelu": GELU,
               "sigmoid": Sigmoid, "tanh": Tanh, "softplus": Softplus, "silu": SiLU}
