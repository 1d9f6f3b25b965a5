"""Losses as modules: ``criterion = nn.CrossEntropyLoss(); loss = criterion(logits, y)``."""
from . import functional as F
from .module import Module
from ..errors import ArgumentError


class _Loss(Module):
    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ArgumentError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or "
                                f"'none', got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error.

    >>> import chainrule
    >>> MSELoss()(chainrule.tensor([0.0, 2.0]), chainrule.tensor([1.0, 2.0])).item()
    0.5
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error.

    >>> import chainrule
    >>> L1Loss()(chainrule.tensor([0.0, 2.0]), chainrule.tensor([1.0, 2.0])).item()
    0.5
    """
    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Squared error near 0, absolute error beyond ``delta``.

    >>> import chainrule
    >>> HuberLoss()(chainrule.tensor([0.0]), chainrule.tensor([3.0])).item()
    2.5
    """
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """Huber loss divided by ``beta`` (PyTorch's smooth L1).

    >>> import chainrule
    >>> SmoothL1Loss()(chainrule.tensor([0.0]), chainrule.tensor([0.5])).item()
    0.125
    """
    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities in [0, 1].

    >>> import chainrule
    >>> round(BCELoss()(chainrule.tensor([0.5]), chainrule.tensor([1.0])).item(), 4)
    0.6931
    """
    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on raw scores (stable for any logit), with ``pos_weight``.

    >>> import chainrule
    >>> round(BCEWithLogitsLoss()(chainrule.tensor([0.0]), chainrule.tensor([1.0])).item(), 4)
    0.6931
    """
    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits, with class indices or probabilities as targets.

    >>> import chainrule
    >>> round(CrossEntropyLoss()(chainrule.zeros(2, 4), chainrule.tensor([0, 3])).item(), 4)
    1.3863
    """
    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities at the target classes.

    >>> import chainrule
    >>> NLLLoss()(chainrule.tensor([[-1.0, -2.0]]), chainrule.tensor([1])).item()
    2.0
    """
    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.weight, self.ignore_index = weight, ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


#: names accepted by fit/CLI where a loss is chosen by name
LOSSES = {"mse": MSELoss, "l1": L1Loss, "huber": HuberLoss, "smooth_l1": SmoothL1Loss,
          "bce": BCELoss, "bce_with_logits": BCEWithLogitsLoss, "cross_entropy": CrossEntropyLoss,
          "nll": NLLLoss}
