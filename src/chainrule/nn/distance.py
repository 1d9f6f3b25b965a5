"""Distance layers: PairwiseDistance and CosineSimilarity, PyTorch's modules over
``F.pairwise_distance`` and ``F.cosine_similarity``."""
from . import functional as F
from .module import Module


class PairwiseDistance(Module):
    """The p-norm of x1 - x2 + eps along the last dimension.

    >>> import chainrule
    >>> round(PairwiseDistance()(chainrule.tensor([[3.0, 4.0]]), chainrule.zeros(1, 2)).item(), 4)
    5.0
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """The cosine of the angle between x1 and x2 along ``dim``.

    >>> import chainrule
    >>> CosineSimilarity()(chainrule.tensor([[1.0, 0.0]]), chainrule.tensor([[2.0, 0.0]])).tolist()
    [1.0]
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
