"""Dropout: inverted dropout in training, the identity in eval mode."""
from . import functional as F
from .module import Module
from ..errors import ArgumentError


class Dropout(Module):
    """Zero each element with probability p while training (scaling the rest by 1/(1-p)).

    >>> import chainrule
    >>> layer = chainrule.nn.Dropout(0.5).eval()
    >>> layer(chainrule.ones(3)).tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, p=0.5, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ArgumentError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def forward(self, x):
        self.warn_if_eval_while_recording(x)
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self):
        return f"p={self.p}"
