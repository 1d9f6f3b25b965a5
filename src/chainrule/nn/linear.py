"""Dense layers: Linear and Bilinear, the shape helpers Identity and Flatten, and the lookup
tables Embedding and EmbeddingBag."""
import math
import warnings

from ..autograd.grad_mode import no_grad
from ..creation import empty_like_shape
from ..errors import ArgumentError, ShapeError
from ..ops.linalg import linear_relu
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, on_device
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

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(empty_like_shape((out_features, in_features), dtype))
        self.bias = Parameter(empty_like_shape((out_features,), dtype)) if bias else None
        self.reset_parameters()
        on_device(self, device)

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        weight = self.weight            # read once: a parametrized weight is computed per read
        if not isinstance(x, Tensor) or x._data.dtype != weight._data.dtype:
            x = match_dtype(x, weight, "Linear")
        return F.linear(x, weight, self.bias)

    def forward_relu(self, x):
        """``relu(self(x))`` as one node (``linear_relu``): what nn.Sequential runs for this
        layer followed by a ReLU, when neither has forward hooks."""
        weight = self.weight
        if not isinstance(x, Tensor) or x._data.dtype != weight._data.dtype:
            x = match_dtype(x, weight, "Linear")
        return linear_relu(x, weight, self.bias)

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

    ``padding_idx`` (negative counts from the end) names a row that starts at zero, keeps
    whatever values it is given, and gets no gradient; ``max_norm`` rescales the rows looked up
    (in place) to at most that norm; ``scale_grad_by_freq`` divides each row's gradient by the
    number of times its id occurs in the batch.

    >>> import chainrule
    >>> Embedding(10, 3)(chainrule.tensor([[1, 2], [3, 4]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(empty_like_shape((num_embeddings, embedding_dim), dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(f"Embedding: _weight has shape {tuple(_weight.shape)}, not "
                                 f"(num_embeddings, embedding_dim) = "
                                 f"({num_embeddings}, {embedding_dim})")
            data = _weight._data if isinstance(_weight, Tensor) else _weight
            self.weight = Parameter(Tensor._make(data, None), requires_grad=not _freeze)
        on_device(self, device)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose weight is ``embeddings`` (2-D; shared, not copied), frozen
        unless ``freeze=False``.

        >>> import chainrule
        >>> layer = Embedding.from_pretrained(chainrule.eye(3))
        >>> layer(chainrule.tensor([2])).tolist(), layer.weight.requires_grad
        ([[0.0, 0.0, 1.0]], False)
        """
        if embeddings.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse:
            s += ", sparse=True"
        return s


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings, without building the (bag, length, dim)
    tensor: bags are the rows of 2-D input, or slices of 1-D input at ``offsets``.

    >>> import chainrule
    >>> bag = EmbeddingBag(10, 3, mode="sum")
    >>> bag(chainrule.tensor([1, 2, 4, 5]), chainrule.tensor([0, 2])).shape
    (2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = _padding_index(padding_idx, num_embeddings, "EmbeddingBag")
        if _weight is None:
            self.weight = Parameter(empty_like_shape((num_embeddings, embedding_dim), dtype))
            self.reset_parameters()
        else:
            data = _weight._data if isinstance(_weight, Tensor) else _weight
            self.weight = Parameter(Tensor._make(data, None))
        on_device(self, device)

    reset_parameters = Embedding.reset_parameters

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag over ``embeddings`` (2-D), frozen unless ``freeze=False``.

        >>> import chainrule
        >>> EmbeddingBag.from_pretrained(chainrule.eye(2))(chainrule.tensor([[0, 1]])).tolist()
        [[0.5, 0.5]]
        """
        rows, cols = embeddings.shape
        bag = cls(rows, cols, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  embeddings, include_last_offset, padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s


def _padding_index(padding_idx, count, layer):
    if padding_idx is None:
        return None
    if not -count <= padding_idx < count:
        raise ArgumentError(f"{layer}: padding_idx must be within num_embeddings "
                            f"[-{count}, {count}), got {padding_idx}")
    return padding_idx + count if padding_idx < 0 else padding_idx


class Bilinear(Module):
    """y = x1^T A x2 + b with A (out_features, in1_features, in2_features), PyTorch's
    initialisation U(-1/sqrt(in1), 1/sqrt(in1)).

    >>> import chainrule
    >>> Bilinear(2, 3, 4)(chainrule.ones(5, 2), chainrule.ones(5, 3)).shape
    (5, 4)
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(empty_like_shape((out_features, in1_features, in2_features),
                                                 dtype))
        self.bias = Parameter(empty_like_shape((out_features,), dtype)) if bias else None
        self.reset_parameters()
        on_device(self, device)

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
