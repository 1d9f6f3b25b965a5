"""Losses as modules: ``criterion = nn.CrossEntropyLoss(); loss = criterion(logits, y)``.

Constructor arguments, defaults and buffers are PyTorch's: the deprecated ``size_average`` /
``reduce`` still set ``reduction``, and class weights (``weight``, ``pos_weight``) are buffers,
so they are saved in the state_dict.
"""
from ..tensor import Tensor
from . import functional as F
from .distance import PairwiseDistance
from .loss_functions import legacy_reduction
from .module import Module
from ..errors import ArgumentError

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    reductions = _REDUCTIONS

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = legacy_reduction(size_average, reduce, reduction)
        if reduction not in self.reductions:
            raise ArgumentError(f"{type(self).__name__}: reduction must be "
                                f"{', '.join(map(repr, self.reductions))}, got {reduction!r}")
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _buffer(weight))


def _buffer(value):
    return value if value is None or isinstance(value, Tensor) else Tensor(value)


class MSELoss(_Loss):
    """Mean squared error.

    >>> import chainrule
    >>> MSELoss()(chainrule.tensor([0.0, 2.0]), chainrule.tensor([1.0, 2.0])).item()
    0.5
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error.

    >>> import chainrule
    >>> L1Loss()(chainrule.tensor([0.0, 2.0]), chainrule.tensor([1.0, 2.0])).item()
    0.5
    """
    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Squared error near 0, absolute error beyond ``delta``.

    >>> import chainrule
    >>> HuberLoss()(chainrule.tensor([0.0]), chainrule.tensor([3.0])).item()
    2.5
    """
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """Huber loss divided by ``beta`` (PyTorch's smooth L1).

    >>> import chainrule
    >>> SmoothL1Loss()(chainrule.tensor([0.0]), chainrule.tensor([0.5])).item()
    0.125
    """
    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities in [0, 1].

    >>> import chainrule
    >>> round(BCELoss()(chainrule.tensor([0.5]), chainrule.tensor([1.0])).item(), 4)
    0.6931
    """
    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on raw scores (stable for any logit), with ``pos_weight``.

    >>> import chainrule
    >>> round(BCEWithLogitsLoss()(chainrule.tensor([0.0]), chainrule.tensor([1.0])).item(), 4)
    0.6931
    """
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _buffer(weight))
        self.register_buffer("pos_weight", _buffer(pos_weight))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy from logits, with class indices or probabilities as targets.

    >>> import chainrule
    >>> round(CrossEntropyLoss()(chainrule.zeros(2, 4), chainrule.tensor([0, 3])).item(), 4)
    1.3863
    """
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities at the target classes.

    >>> import chainrule
    >>> NLLLoss()(chainrule.tensor([[-1.0, -2.0]]), chainrule.tensor([1])).item()
    2.0
    """
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of ``target`` from log-probabilities ``input``
    (``log_target`` when the target is given as log-probabilities too).

    >>> import chainrule
    >>> KLDivLoss(reduction="batchmean")(chainrule.zeros(1, 2), chainrule.ones(1, 2)).item()
    0.0
    """
    reductions = _REDUCTIONS + ("batchmean",)

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood (of a log-rate with ``log_input``).

    >>> import chainrule
    >>> PoissonNLLLoss()(chainrule.zeros(2), chainrule.ones(2)).item()
    1.0
    """
    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood of ``target`` under N(input, var).

    >>> import chainrule
    >>> GaussianNLLLoss()(chainrule.zeros(2), chainrule.zeros(2), chainrule.ones(2)).item()
    0.0
    """
    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class _MarginLoss(_Loss):
    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin


class CosineEmbeddingLoss(_MarginLoss):
    """1 - cos(x1, x2) for similar pairs (target 1), max(0, cos - margin) for others (-1).

    >>> import chainrule
    >>> x = chainrule.tensor([[1.0, 0.0]])
    >>> CosineEmbeddingLoss()(x, x, chainrule.tensor([1.0])).item()
    0.0
    """
    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin,
                                       reduction=self.reduction)


class MarginRankingLoss(_MarginLoss):
    """max(0, -target (x1 - x2) + margin).

    >>> import chainrule
    >>> MarginRankingLoss()(chainrule.tensor([2.0]), chainrule.tensor([1.0]),
    ...                     chainrule.tensor([1.0])).item()
    0.0
    """
    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)


class HingeEmbeddingLoss(_MarginLoss):
    """x for target 1, max(0, margin - x) for target -1.

    >>> import chainrule
    >>> HingeEmbeddingLoss()(chainrule.tensor([0.5]), chainrule.tensor([-1.0])).item()
    0.5
    """
    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(margin, size_average, reduce, reduction)

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """log(1 + e^(-target x)) for targets +-1.

    >>> import chainrule
    >>> round(SoftMarginLoss()(chainrule.tensor([0.0]), chainrule.tensor([1.0])).item(), 4)
    0.6931
    """
    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """The multi-class hinge loss (p = 1 or 2) with an optional weight per class.

    >>> import chainrule
    >>> MultiMarginLoss()(chainrule.tensor([[0.0, 5.0]]), chainrule.tensor([1])).item()
    0.0
    """
    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ArgumentError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        self.p, self.margin = p, margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """The multi-label hinge loss over target class lists padded with -1.

    >>> import chainrule
    >>> MultiLabelMarginLoss()(chainrule.tensor([[0.0, 5.0]]), chainrule.tensor([[1, -1]])).item()
    0.0
    """
    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-class binary cross-entropy on logits, averaged over the classes.

    >>> import chainrule
    >>> round(MultiLabelSoftMarginLoss()(chainrule.zeros(1, 2), chainrule.ones(1, 2)).item(), 4)
    0.6931
    """
    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, self.weight,
                                             reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) with the p-distance.

    >>> import chainrule
    >>> a = chainrule.zeros(1, 2)
    >>> TripletMarginLoss()(a, a, chainrule.full((1, 2), 3.0)).item()
    0.0
    """
    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None,
                 reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ArgumentError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_Loss):
    """The triplet margin loss with any distance function (pairwise_distance by default).

    >>> import chainrule
    >>> a = chainrule.zeros(1, 2)
    >>> TripletMarginWithDistanceLoss()(a, a, chainrule.full((1, 2), 3.0)).item()
    0.0
    """
    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ArgumentError(f"TripletMarginWithDistanceLoss: margin must be greater than 0, "
                                f"got {margin}")
        self.distance_function = distance_function if distance_function is not None else \
            PairwiseDistance()
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)


class CTCLoss(_Loss):
    """Connectionist temporal classification: label sequences against per-frame
    log-probabilities (T, N, C), over every alignment.

    >>> import chainrule
    >>> log_probs = chainrule.zeros(3, 1, 2).log_softmax(2)
    >>> round(CTCLoss()(log_probs, chainrule.tensor([[1]]), [3], [1]).item(), 4)
    0.2877
    """
    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)


#: names accepted by fit/CLI where a loss is chosen by name
LOSSES = {"mse": MSELoss, "l1": L1Loss, "huber": HuberLoss, "smooth_l1": SmoothL1Loss,
          "bce": BCELoss, "bce_with_logits": BCEWithLogitsLoss, "cross_entropy": CrossEntropyLoss,
          "nll": NLLLoss}
