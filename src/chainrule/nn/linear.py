"""Dense layers: Linear, plus the shape helpers Identity and Flatten, and Embedding."""
import math
import warnings


from ..creation import empty_like_shape
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

_warned_dtype = set()


def match_dtype(x, reference, layer):
    """Convert input data to the layer's dtype (float64 data into a float32 model), warning once."""
    if not isinstance(x, Tensor):
        x = Tensor(x)
    want = reference._data.dtype
    have = x._data.dtype
    if have != want:
        key = (layer, str(have), str(want))
        if key not in _warned_dtype:
            _warned_dtype.add(key)
            warnings.warn(f"{layer}: input is {have} but the layer's weights are {want}; "
                          f"converting the input to {want} (convert your data once, e.g. "
                          f"x.to(chainrule.{want}), to avoid the copy)", stacklevel=3)
        x = x.to(want)
    return x


class Linear(Module):
    """y = x W^T + b, with PyTorch's default initialisation (U(-1/sqrt(in), 1/sqrt(in))).

    >>> import chainrule
    >>> layer = chainrule.nn.Linear(3, 2)
    >>> layer(chainrule.ones(5, 3)).shape
    (5, 2)
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(empty_like_shape((out_features, in_features), dtype))
        self.bias = Parameter(empty_like_shape((out_features,), dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return F.linear(match_dtype(x, self.weight, "Linear"), self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (a placeholder layer).

    >>> import chainrule
    >>> Identity()(chainrule.ones(2)).tolist()
    [1.0, 1.0]
    """

    def forward(self, x):
        return x


class Flatten(Module):
    """Flatten dimensions start_dim..end_dim (by default all but the batch dimension).

    >>> import chainrule
    >>> Flatten()(chainrule.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Embedding(Module):
    """A lookup table: integer ids -> rows of a (num_embeddings, embedding_dim) weight.

    >>> import chainrule
    >>> Embedding(10, 3)(chainrule.tensor([[1, 2], [3, 4]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(empty_like_shape((num_embeddings, embedding_dim), dtype))
        init.normal_(self.weight)
        if padding_idx is not None:
            self.weight._data[padding_idx] = 0

    def forward(self, indices):
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
