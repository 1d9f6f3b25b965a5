"""Dropout layers: random zeroing while training, the identity in eval mode.

PyTorch's classes and arguments (``p``, ``inplace``); the masks come from chainrule's
generator, or from the ``generator=`` given to the layer.
"""
from . import functional as F
from .module import Module
from ..errors import ArgumentError


class _DropoutNd(Module):
    function = None

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ArgumentError(f"{type(self).__name__}: dropout probability has to be between "
                                f"0 and 1, but got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, x):
        self.warn_if_eval_while_recording(x)
        return getattr(F, self.function)(x, self.p, self.training, self.inplace,
                                         generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability p while training (scaling the rest by 1/(1-p)).

    >>> import chainrule
    >>> layer = chainrule.nn.Dropout(0.5).eval()
    >>> layer(chainrule.ones(3)).tolist()
    [1.0, 1.0, 1.0]
    """
    function = "dropout"


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) input with probability p while training.

    >>> import chainrule
    >>> Dropout1d(0.5).eval()(chainrule.ones(1, 2, 3)).shape
    (1, 2, 3)
    """
    function = "dropout1d"


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) input with probability p while training (scaling
    the rest); 3-D input is taken as (N, C, L), as PyTorch does for now (with its warning).

    >>> import chainrule
    >>> Dropout2d(0.5).eval()(chainrule.ones(1, 2, 2, 2)).shape
    (1, 2, 2, 2)
    """
    function = "dropout2d"


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability p.

    >>> import chainrule
    >>> Dropout3d(0.5).eval()(chainrule.ones(1, 1, 2, 2, 2)).shape
    (1, 1, 2, 2, 2)
    """
    function = "dropout3d"


class AlphaDropout(_DropoutNd):
    """Dropout for self-normalising (SELU) networks: keeps zero mean and unit variance.

    >>> import chainrule
    >>> AlphaDropout(0.2).eval()(chainrule.ones(2)).tolist()
    [1.0, 1.0]
    """
    function = "alpha_dropout"


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels.

    >>> import chainrule
    >>> FeatureAlphaDropout(0.2).eval()(chainrule.ones(1, 2, 2)).shape
    (1, 2, 2)
    """
    function = "feature_alpha_dropout"
