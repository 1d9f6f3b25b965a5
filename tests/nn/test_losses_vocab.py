"""Every loss against PyTorch 2.13 (values and input gradients in float64, over a grid of
arguments and shapes, batched and unbatched), gradcheck of the functional forms, and the
edge cases where chainrule once answered differently from PyTorch."""
import warnings

import numpy as np
import pytest

import chainrule
import chainrule.nn as nn
from chainrule.errors import ArgumentError, DTypeError, GraphError, ShapeError
from chainrule.nn import functional as F
from tests.helpers import check

torch = pytest.importorskip("torch")
tF = torch.nn.functional
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-6, 1e-10


def _pair(array, grad):
    """The same values as a chainrule and a torch tensor (float arrays may require grad)."""
    array = np.asarray(array)
    wants = grad and array.dtype.kind == "f"
    return (chainrule.tensor(array.copy(), requires_grad=wants),
            torch.tensor(array.copy(), requires_grad=wants))


def compare(ours, theirs, *arrays, grad=(0,), seed=0, **kwargs):
    """ours(*chainrule tensors, **kwargs) and theirs(*torch tensors, **kwargs) agree in value,
    shape and in the gradients of every input listed in ``grad`` (for a random upstream)."""
    pairs = [_pair(a, i in grad) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ours(*[p[0] for p in pairs], **kwargs)
        expected = theirs(*[p[1] for p in pairs], **kwargs)
    assert out.shape == tuple(expected.shape), (out.shape, expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=RTOL, atol=ATOL)
    if not expected.requires_grad:
        return
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(chainrule.tensor(upstream))
    expected.backward(torch.tensor(upstream))
    for i, (mine, reference) in enumerate(pairs):
        if reference.requires_grad:
            assert mine.grad is not None, f"input {i} got no gradient"
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=RTOL,
                                       atol=ATOL, err_msg=f"gradient of input {i}")


RNG = np.random.default_rng(20)
REDUCTIONS = ["mean", "sum", "none"]


def normal(*shape):
    return RNG.standard_normal(shape)


def uniform(low, high, *shape):
    return RNG.uniform(low, high, shape)


def signs(*shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0)


def labels(high, *shape):
    return RNG.integers(0, high, shape)


# ---------------------------------------------------------------- elementwise losses

ELEMENTWISE_SHAPES = [(4, 3), (5,), ()]


@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, kwargs", [
    ("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {"delta": 0.7}),
    ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
    ("soft_margin_loss", {}),
])
def test_regression_losses_match_pytorch(name, kwargs, reduction, shape):
    target = signs(*shape) if name == "soft_margin_loss" else normal(*shape)
    grad = (0,) if name == "soft_margin_loss" else (0, 1)     # PyTorch's has no target grad
    compare(getattr(F, name), getattr(tF, name), normal(*shape), target, grad=grad,
            reduction=reduction, **kwargs)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_losses_match_pytorch(name, reduction):
    weight = uniform(0.1, 2, 3, 4)

    def ours(x, t, w):
        return getattr(F, name)(x, t, reduction=reduction, weight=w)

    def theirs(x, t, w):
        return getattr(tF, name)(x, t, reduction=reduction, weight=w)
    compare(ours, theirs, normal(3, 4), normal(3, 4), weight, grad=(0, 1, 2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(4, 3), (6,)])
def test_binary_cross_entropy_matches_pytorch(reduction, weighted, shape):
    arrays = [uniform(0.05, 0.95, *shape), uniform(0, 1, *shape)]
    if weighted:
        arrays.append(uniform(0.5, 2, *shape[-1:]))
    compare(F.binary_cross_entropy, tF.binary_cross_entropy, *arrays, grad=(0, 1),
            reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [None, (1.5, 0.5, 2.0)])
def test_bce_with_logits_matches_pytorch(reduction, pos_weight):
    def ours(x, t, w):
        return F.binary_cross_entropy_with_logits(
            x, t, w, reduction=reduction, pos_weight=None if pos_weight is None else
            chainrule.tensor(np.array(pos_weight)))

    def theirs(x, t, w):
        return tF.binary_cross_entropy_with_logits(
            x, t, w, reduction=reduction, pos_weight=None if pos_weight is None else
            torch.tensor(pos_weight, dtype=torch.float64))
    compare(ours, theirs, normal(4, 3) * 3, uniform(0, 1, 4, 3), uniform(0.5, 2, 3), grad=(0,))


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(3, 4), (5,)])
def test_kl_div_matches_pytorch(reduction, log_target, shape):
    log_p = np.log(uniform(0.05, 1, *shape))
    target = np.log(uniform(0.05, 1, *shape)) if log_target else uniform(0.05, 1, *shape)
    compare(F.kl_div, tF.kl_div, log_p, target, grad=(0, 1), reduction=reduction,
            log_target=log_target)


def test_kl_div_module_and_zero_targets():
    target = np.array([[0.0, 0.5, 0.5]])
    compare(nn.KLDivLoss(reduction="batchmean"), torch.nn.KLDivLoss(reduction="batchmean"),
            np.log(np.array([[0.2, 0.3, 0.5]])), target)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")   # nan target gradients
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll_loss_matches_pytorch(log_input, full, reduction):
    x = normal(4, 3) if log_input else uniform(0.1, 3, 4, 3)
    target = np.round(uniform(0, 4, 4, 3))
    target[0, 0] = 1.0
    compare(F.poisson_nll_loss, tF.poisson_nll_loss, x, target, grad=(0, 1),
            log_input=log_input, full=full, reduction=reduction)


@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), (1, 3)])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_matches_pytorch(var_shape, full, reduction):
    var = uniform(0.1, 2, *var_shape)
    var.flat[0] = 1e-9                                  # below eps: clamped, gradient passes
    compare(F.gaussian_nll_loss, tF.gaussian_nll_loss, normal(4, 3), normal(4, 3), var,
            grad=(0, 1, 2), full=full, reduction=reduction, eps=1e-6)


def test_gaussian_nll_loss_scalar_variance_and_module():
    compare(lambda x, t: F.gaussian_nll_loss(x, t, 0.5), lambda x, t: tF.gaussian_nll_loss(
        x, t, 0.5), normal(5), normal(5), grad=(0, 1))
    compare(nn.GaussianNLLLoss(full=True), torch.nn.GaussianNLLLoss(full=True), normal(3, 2),
            normal(3, 2), uniform(0.5, 1, 3, 2), grad=(0, 2))
    with pytest.raises(ShapeError, match="var of shape"):
        F.gaussian_nll_loss(chainrule.zeros(4, 3), chainrule.zeros(4, 3), chainrule.ones(2, 2))
    with pytest.raises(ArgumentError, match="negative"):
        F.gaussian_nll_loss(chainrule.zeros(2), chainrule.zeros(2), -1.0)


# ---------------------------------------------------------------- pairs and triplets

@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("margin", [0.0, 0.4])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss_matches_pytorch(batched, margin, reduction):
    shape = (6, 4) if batched else (4,)
    target = signs(6) if batched else np.array(-1.0)
    compare(F.cosine_embedding_loss, tF.cosine_embedding_loss, normal(*shape), normal(*shape),
            target, grad=(0, 1), margin=margin, reduction=reduction)


@pytest.mark.parametrize("shape", [(6,), ()])
@pytest.mark.parametrize("margin", [0.0, 0.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_loss_matches_pytorch(shape, margin, reduction):
    compare(F.margin_ranking_loss, tF.margin_ranking_loss, normal(*shape), normal(*shape),
            signs(*shape), grad=(0, 1), margin=margin, reduction=reduction)


@pytest.mark.parametrize("margin", [1.0, 0.3])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding_loss_matches_pytorch(margin, reduction):
    compare(F.hinge_embedding_loss, tF.hinge_embedding_loss, normal(4, 5), signs(4, 5),
            margin=margin, reduction=reduction)


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("shape", [(5, 4), (4,)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_loss_matches_pytorch(p, swap, shape, reduction):
    compare(F.triplet_margin_loss, tF.triplet_margin_loss, normal(*shape), normal(*shape),
            normal(*shape), grad=(0, 1, 2), margin=1.5, p=p, swap=swap, reduction=reduction)


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("custom", [False, True])
def test_triplet_margin_with_distance_loss_matches_pytorch(swap, custom):
    def ours(a, p, n):
        distance = (lambda x, y: F.pairwise_distance(x, y, p=1)) if custom else None
        return nn.TripletMarginWithDistanceLoss(distance_function=distance, swap=swap)(a, p, n)

    def theirs(a, p, n):
        distance = (lambda x, y: tF.pairwise_distance(x, y, p=1)) if custom else None
        return torch.nn.TripletMarginWithDistanceLoss(distance_function=distance,
                                                       swap=swap)(a, p, n)
    compare(ours, theirs, normal(5, 3), normal(5, 3), normal(5, 3), grad=(0, 1, 2))


@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_pytorch(keepdim):
    compare(F.pairwise_distance, tF.pairwise_distance, normal(4, 3), normal(1, 3), grad=(0, 1),
            keepdim=keepdim)


# ---------------------------------------------------------------- classes

@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("margin", [1.0, 0.5])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_matches_pytorch(p, margin, weighted, batched, reduction):
    x, target = (normal(5, 4), labels(4, 5)) if batched else (normal(4), np.array(2))
    weight = uniform(0.5, 2, 4) if weighted else None

    def ours(x, t):
        return F.multi_margin_loss(x, t, p, margin, None if weight is None else
                                   chainrule.tensor(weight), reduction=reduction)

    def theirs(x, t):
        return tF.multi_margin_loss(x, t, p, margin, None if weight is None else
                                    torch.tensor(weight), reduction=reduction)
    compare(ours, theirs, x, target)


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_pytorch(batched, reduction):
    target = np.array([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0], [-1, 2, 2, 2, 2], [0, 1, 2, 3, 4]])
    x = normal(4, 5)
    if not batched:
        x, target = x[0], target[0]
    compare(F.multilabel_margin_loss, tF.multilabel_margin_loss, x, target, reduction=reduction)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(4, 3), (3,)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_loss_matches_pytorch(weighted, shape, reduction):
    arrays = [normal(*shape), (RNG.random(shape) < 0.5).astype(float)]
    if weighted:
        arrays.append(uniform(0.5, 2, 3))
    compare(F.multilabel_soft_margin_loss, tF.multilabel_soft_margin_loss, *arrays,
            reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", ["plain", "weight", "ignore", "smoothing", "spatial",
                                  "unbatched", "probabilities"])
def test_cross_entropy_and_nll_match_pytorch(reduction, case):
    x, target = normal(5, 4), labels(4, 5)
    kwargs = {}
    if case == "weight":
        kwargs["weight"] = uniform(0.5, 2, 4)
    if case == "ignore":
        target[1] = 2
        kwargs["ignore_index"] = 2
    if case == "smoothing":
        kwargs["label_smoothing"] = 0.2
    if case == "spatial":
        x, target = normal(2, 4, 3), labels(4, 2, 3)
    if case == "unbatched":
        x, target = normal(4), np.array(1)
    if case == "probabilities":
        target = np.exp(normal(5, 4))
        target /= target.sum(1, keepdims=True)
    weight = kwargs.pop("weight", None)

    def ours(x, t):
        return F.cross_entropy(x, t, None if weight is None else chainrule.tensor(weight),
                               reduction=reduction, **kwargs)

    def theirs(x, t):
        return tF.cross_entropy(x, t, None if weight is None else torch.tensor(weight),
                                reduction=reduction, **kwargs)
    compare(ours, theirs, x, target)
    if case != "probabilities" and not kwargs.get("label_smoothing"):
        def our_nll(x, t):
            return F.nll_loss(x, t, None if weight is None else chainrule.tensor(weight),
                              reduction=reduction, **kwargs)

        def their_nll(x, t):
            return tF.nll_loss(x, t, None if weight is None else torch.tensor(weight),
                               reduction=reduction, **kwargs)
        compare(our_nll, their_nll, x, target)


# ---------------------------------------------------------------- CTC

def _ctc_case(steps, batch, classes, max_label, seed, blank=0):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((steps, batch, classes))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    target_lengths = rng.integers(0, max_label + 1, batch)
    input_lengths = rng.integers(np.maximum(2 * target_lengths, 1), steps + 1)
    choices = [c for c in range(classes) if c != blank]
    targets = rng.choice(choices, (batch, max_label))
    targets[:, 1] = targets[:, 0]                     # repeated labels need a blank between
    return log_probs, targets, input_lengths, target_lengths


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["padded", "concatenated", "tuples"])
@pytest.mark.parametrize("blank", [0, 3])
def test_ctc_loss_matches_pytorch(reduction, layout, blank):
    log_probs, targets, input_lengths, target_lengths = _ctc_case(12, 4, 5, 4, 1, blank)
    if layout == "concatenated":
        targets = np.concatenate([row[:n] for row, n in zip(targets, target_lengths)])

    def lengths(values, like):
        return tuple(int(v) for v in values) if layout == "tuples" else like(values)

    def ours(lp, t):
        return F.ctc_loss(lp, t, lengths(input_lengths, chainrule.tensor),
                          lengths(target_lengths, chainrule.tensor), blank, reduction)

    def theirs(lp, t):
        return tF.ctc_loss(lp, t, lengths(input_lengths, torch.tensor),
                           lengths(target_lengths, torch.tensor), blank, reduction)
    compare(ours, theirs, log_probs, targets)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_impossible_alignments_match_pytorch(zero_infinity):
    log_probs, targets, _, _ = _ctc_case(6, 3, 4, 3, 2)
    input_lengths, target_lengths = np.array([6, 2, 0]), np.array([3, 3, 0])  # 2 < 3 + repeat

    def ours(lp, t):
        return F.ctc_loss(lp, t, input_lengths, target_lengths, reduction="none",
                          zero_infinity=zero_infinity)

    def theirs(lp, t):
        return tF.ctc_loss(lp, t, torch.tensor(input_lengths), torch.tensor(target_lengths),
                           reduction="none", zero_infinity=zero_infinity)
    if zero_infinity:
        compare(ours, theirs, log_probs, targets)
    else:
        out = ours(chainrule.tensor(log_probs), chainrule.tensor(targets))
        expected = theirs(torch.tensor(log_probs), torch.tensor(targets))
        np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=RTOL)
        assert np.isinf(out.numpy()[1])


def test_ctc_loss_unbatched_and_module_match_pytorch():
    log_probs, targets, input_lengths, target_lengths = _ctc_case(7, 1, 4, 3, 3)
    compare(lambda lp, t: nn.CTCLoss(reduction="none")(lp, t, input_lengths[0],
                                                       target_lengths[0]),
            lambda lp, t: torch.nn.CTCLoss(reduction="none")(
                lp, t, torch.tensor(input_lengths[0]), torch.tensor(target_lengths[0])),
            log_probs[:, 0], targets[0, :target_lengths[0]])


def test_ctc_loss_gradcheck_through_log_softmax():
    """PyTorch's CTC gradient is the true one once composed with log_softmax."""
    _, targets, input_lengths, target_lengths = _ctc_case(5, 2, 3, 2, 4)
    logits = chainrule.tensor(np.random.default_rng(5).standard_normal((5, 2, 3)),
                              requires_grad=True)
    check(lambda z: F.ctc_loss(z.log_softmax(2), chainrule.tensor(targets), input_lengths,
                               target_lengths), logits, second=False)


def test_ctc_loss_refuses_a_second_derivative_and_bad_arguments():
    log_probs, targets, input_lengths, target_lengths = _ctc_case(5, 2, 3, 2, 6)
    lp = chainrule.tensor(log_probs, requires_grad=True)
    loss = F.ctc_loss(lp, chainrule.tensor(targets), input_lengths, target_lengths)
    (grad,) = chainrule.autograd.grad(loss, [lp], create_graph=True)
    with pytest.raises(GraphError, match="second derivative"):
        grad.sum().backward()
    with pytest.raises(ArgumentError, match="at most T = 5"):
        F.ctc_loss(lp, chainrule.tensor(targets), [6, 1], target_lengths)
    with pytest.raises(ArgumentError, match=r"labels must lie in \[0, 3\)"):
        F.ctc_loss(lp, chainrule.tensor(targets * 0 + 7), input_lengths, target_lengths)
    with pytest.raises(ShapeError, match="one length per sample"):
        F.ctc_loss(lp, chainrule.tensor(targets), [5], target_lengths)


# ---------------------------------------------------------------- combinations

def _probs(*shape):
    return uniform(0.05, 0.95, *shape)


# (name, loss of (F, *tensors), arrays, the arrays differentiated): options together,
# targets and variances differentiated, spatial and unbatched layouts
COMBINATIONS = [
    ("bce_logits_target", lambda f, x, t: f.binary_cross_entropy_with_logits(x, t),
     lambda: (normal(4, 3), _probs(4, 3)), (0, 1)),
    ("bce_logits_pos_weight_target",
     lambda f, x, t, p: f.binary_cross_entropy_with_logits(x, t, pos_weight=p),
     lambda: (normal(4, 3), _probs(4, 3), uniform(0.5, 2, 3)), (0, 1)),
    ("ce_soft_target", lambda f, x, t: f.cross_entropy(x, t), lambda: (normal(4, 3),
                                                                       _probs(4, 3)), (0, 1)),
    ("ce_soft_smoothing_weight", lambda f, x, t, w: f.cross_entropy(x, t, w,
                                                                    label_smoothing=0.2),
     lambda: (normal(4, 3), _probs(4, 3), uniform(0.5, 2, 3)), (0, 1)),
    ("ce_smoothing_weight_ignore",
     lambda f, x, t, w: f.cross_entropy(x, t, w, ignore_index=1, label_smoothing=0.2),
     lambda: (normal(5, 3), np.array([0, 1, 2, 1, 0]), uniform(0.5, 2, 3)), (0,)),
    ("ce_spatial_weight_ignore", lambda f, x, t, w: f.cross_entropy(x, t, w, ignore_index=1),
     lambda: (normal(2, 3, 4, 2), labels(3, 2, 4, 2), uniform(0.5, 2, 3)), (0,)),
    ("ce_spatial_smoothing", lambda f, x, t: f.cross_entropy(x, t, label_smoothing=0.3),
     lambda: (normal(2, 3, 4), labels(3, 2, 4)), (0,)),
    ("ce_spatial_soft_smoothing", lambda f, x, t: f.cross_entropy(x, t, label_smoothing=0.3),
     lambda: (normal(2, 3, 4), _probs(2, 3, 4)), (0, 1)),
    ("ce_unbatched_soft", lambda f, x, t: f.cross_entropy(x, t), lambda: (normal(3),
                                                                          _probs(3)), (0, 1)),
    ("nll_unbatched_weight", lambda f, x, t, w: f.nll_loss(x, t, w),
     lambda: (normal(3), np.array(2), uniform(0.5, 2, 3)), (0,)),
    ("nll_spatial_weight_ignore", lambda f, x, t, w: f.nll_loss(x, t, w, ignore_index=0),
     lambda: (normal(2, 3, 4), labels(3, 2, 4), uniform(0.5, 2, 3)), (0,)),
    ("hinge_0d", lambda f, x, t: f.hinge_embedding_loss(x, t), lambda: (normal(),
                                                                        signs()), (0,)),
    ("multilabel_soft_margin_target", lambda f, x, t: f.multilabel_soft_margin_loss(x, t),
     lambda: (normal(4, 3), _probs(4, 3)), (0, 1)),
    ("kl_div_3d", lambda f, x, t: f.kl_div(x, t),
     lambda: (np.log(_probs(2, 3, 4)), _probs(2, 3, 4)), (0, 1)),
    ("cosine_embedding_negative_margin",
     lambda f, a, b, t: f.cosine_embedding_loss(a, b, t, margin=-0.5),
     lambda: (normal(5, 3), normal(5, 3), signs(5)), (0, 1)),
    ("triplet_broadcast_eps", lambda f, a, p, n: f.triplet_margin_loss(a, p, n, eps=1e-3),
     lambda: (normal(5, 3), normal(1, 3), normal(5, 3)), (0, 1, 2)),
    ("poisson_eps", lambda f, x, t: f.poisson_nll_loss(x, t, log_input=False, eps=1e-3),
     lambda: (_probs(4, 3), np.round(_probs(4, 3) * 3)), (0, 1)),
    ("gaussian_1d", lambda f, x, t, v: f.gaussian_nll_loss(x, t, v),
     lambda: (normal(4), normal(4), _probs(4)), (0, 1, 2)),
    ("gaussian_unbatched_shared_var", lambda f, x, t, v: f.gaussian_nll_loss(x, t, v),
     lambda: (normal(3), normal(3), _probs(1)), (0, 1, 2)),
    ("bce_weight_broadcast", lambda f, x, t, w: f.binary_cross_entropy(x, t, w),
     lambda: (_probs(4, 3), _probs(4, 3), _probs(4, 1)), (0, 1)),
    ("multi_margin_one_row", lambda f, x, t: f.multi_margin_loss(x, t),
     lambda: (normal(1, 4), np.array([3])), (0,)),
]
REDUCED_COMBINATIONS = [case + (reduction,) for case in COMBINATIONS for reduction in
                        REDUCTIONS + (["batchmean"] if case[0].startswith("kl_div") else [])]


def _reduced(loss, f, tensors, reduction):
    """``loss`` computed with f's loss functions, ``reduction`` passed to each."""
    class Reduced:
        def __getattr__(self, attr):
            function = getattr(f, attr)
            return lambda *args, **kwargs: function(*args, reduction=reduction, **kwargs)
    return loss(Reduced(), *tensors)


@pytest.mark.parametrize("name, loss, make, grad, reduction", REDUCED_COMBINATIONS,
                         ids=[f"{c[0]}-{c[-1]}" for c in REDUCED_COMBINATIONS])
def test_option_combinations_and_target_gradients_match_pytorch(name, loss, make, grad,
                                                                reduction):
    compare(lambda *t: _reduced(loss, F, t, reduction),
            lambda *t: _reduced(loss, tF, t, reduction), *make(), grad=grad)


def test_elementwise_losses_refuse_a_target_that_would_broadcast():
    """PyTorch broadcasts (warning that the result is likely wrong); chainrule refuses."""
    for name in ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"):
        with pytest.raises(ShapeError, match=r"\(4, 3\).*\(1, 3\)"):
            getattr(F, name)(chainrule.zeros(4, 3), chainrule.zeros(1, 3))


# ---------------------------------------------------------------- modules, gradcheck

MODULES = [
    ("MSELoss", dict(reduction="sum"), lambda: (normal(3), normal(3))),
    ("PoissonNLLLoss", dict(log_input=False, full=True), lambda: (uniform(0.5, 2, 3),
                                                                  np.array([0.0, 2.0, 5.0]))),
    ("CosineEmbeddingLoss", dict(margin=0.2), lambda: (normal(3, 2), normal(3, 2), signs(3))),
    ("MarginRankingLoss", dict(margin=0.1), lambda: (normal(3), normal(3), signs(3))),
    ("HingeEmbeddingLoss", dict(margin=0.5), lambda: (normal(3), signs(3))),
    ("MultiMarginLoss", dict(p=2), lambda: (normal(3, 4), labels(4, 3))),
    ("MultiLabelMarginLoss", {}, lambda: (normal(2, 3), np.array([[2, -1, 0], [0, 1, 2]]))),
    ("MultiLabelSoftMarginLoss", {}, lambda: (normal(2, 3), np.ones((2, 3)))),
    ("SoftMarginLoss", {}, lambda: (normal(3), signs(3))),
    ("TripletMarginLoss", dict(margin=2.0, p=1.0, swap=True),
     lambda: (normal(3, 2), normal(3, 2), normal(3, 2))),
    ("SmoothL1Loss", dict(beta=0.3), lambda: (normal(4), normal(4))),
    ("NLLLoss", dict(ignore_index=1), lambda: (normal(4, 3), labels(3, 4))),
]


@pytest.mark.parametrize("name, kwargs, make", MODULES, ids=[m[0] for m in MODULES])
def test_loss_modules_match_pytorch(name, kwargs, make):
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    compare(ours, theirs, *make())


def test_loss_weights_are_buffers_and_legacy_arguments_set_reduction():
    loss = nn.CrossEntropyLoss(weight=chainrule.ones(3))
    assert list(loss.state_dict()) == list(torch.nn.CrossEntropyLoss(
        weight=torch.ones(3)).state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=chainrule.ones(2)).state_dict()) == \
        ["pos_weight"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for size_average, reduce in [(False, None), (None, False), (True, True)]:
            assert nn.MSELoss(size_average, reduce).reduction == \
                torch.nn.MSELoss(size_average, reduce).reduction
        compare(lambda x, t: F.l1_loss(x, t, False), lambda x, t: tF.l1_loss(x, t, False),
                normal(3), normal(3))


def _probabilities(shape, seed):
    return chainrule.tensor(np.random.default_rng(seed).uniform(0.1, 0.9, shape),
                            requires_grad=True)


def test_functional_losses_pass_gradcheck():
    x, y, z = (chainrule.tensor(normal(3, 2), requires_grad=True) for _ in range(3))
    t = chainrule.tensor(normal(3, 2))
    s = chainrule.tensor(signs(3))
    s2 = chainrule.tensor(signs(3, 2))
    check(lambda a: F.kl_div(a, _probabilities((3, 2), 1).detach(), reduction="batchmean"), x)
    check(lambda a: F.kl_div(a, t, log_target=True, reduction="sum"), x)
    check(lambda a: F.poisson_nll_loss(a, t.abs(), full=True), x)
    check(lambda a, v: F.gaussian_nll_loss(a, t, v), x, _probabilities((3, 2), 2))
    check(lambda a, b: F.cosine_embedding_loss(a, b, s, margin=-1.0), x, y)
    check(lambda a, b: F.margin_ranking_loss(a, b, s2, margin=5.0), x, y)
    check(lambda a: F.hinge_embedding_loss(a, s2, margin=5.0), x)
    check(lambda a: F.soft_margin_loss(a, s2), x)
    check(lambda a: F.multilabel_soft_margin_loss(a, (t > 0).float()), x)
    check(lambda a, b, c: F.triplet_margin_loss(a, b, c, margin=10.0), x, y, z)
    check(lambda a: F.multi_margin_loss(a, chainrule.tensor([0, 1, 1]), p=2, margin=9.0), x)
    check(lambda a: F.multilabel_margin_loss(a, chainrule.tensor([[1, -1], [1, 0], [0, -1]])), x)
    q = _probabilities((3, 2), 3).detach()
    check(lambda p: F.binary_cross_entropy(p, q), _probabilities((3, 2), 4))


def test_class_and_regression_losses_pass_gradcheck():
    x = chainrule.tensor(normal(2, 3), requires_grad=True)
    t = chainrule.tensor(normal(2, 3), requires_grad=True)
    classes = chainrule.tensor([0, 2])
    weight = chainrule.tensor(uniform(0.5, 2, 3))
    soft = chainrule.tensor(_probs(2, 3))
    check(lambda a: F.cross_entropy(a, classes, weight, ignore_index=2, label_smoothing=0.2), x)
    check(lambda a: F.cross_entropy(a, soft, weight, label_smoothing=0.1), x)
    check(lambda a: F.cross_entropy(a.reshape(1, 3, 2), classes.reshape(1, 2)), x)
    check(lambda a: F.nll_loss(a, classes, weight, reduction="sum"), x)
    check(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b.sigmoid(), pos_weight=chainrule.tensor([0.5, 1.0, 2.0])), x, t)
    check(lambda a, b: F.huber_loss(a, b, delta=0.6), x, t)
    check(lambda a, b: F.smooth_l1_loss(a, b, beta=0.6), x, t)
    check(lambda a, b: F.mse_loss(a, b, reduction="sum") + F.l1_loss(a, b), x, t)
    check(lambda a, b: F.triplet_margin_with_distance_loss(
        a, b, b.flip(0), distance_function=lambda u, v: F.pairwise_distance(u, v, p=1),
        margin=5.0), x, t)


# ---------------------------------------------------------------- the fixed differences

def test_bce_at_probabilities_exactly_0_and_1_matches_pytorch():
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    for reduction in REDUCTIONS:
        compare(F.binary_cross_entropy, tF.binary_cross_entropy, p, t, reduction=reduction)
    loss = F.binary_cross_entropy(chainrule.tensor(p), chainrule.tensor(t))
    assert np.isfinite(loss.item())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_on_an_unbatched_input_is_0_d(reduction, smoothing):
    compare(lambda x, t: F.cross_entropy(x, t, reduction=reduction, label_smoothing=smoothing),
            lambda x, t: tF.cross_entropy(x, t, reduction=reduction, label_smoothing=smoothing),
            normal(5), np.array(3))
    assert F.cross_entropy(chainrule.zeros(5), chainrule.tensor(3), reduction=reduction).ndim \
        == 0


@pytest.mark.parametrize("case", ["fused", "weighted", "smoothing", "spatial", "nll"])
def test_all_targets_ignored_give_nan_and_a_zero_gradient(case):
    x, target = normal(3, 4), np.full(3, -100)
    kwargs = {}
    if case == "weighted":
        kwargs["weight"] = uniform(0.5, 1, 4)
    if case == "smoothing":
        kwargs["label_smoothing"] = 0.1
    if case == "spatial":
        x, target = normal(2, 4, 3), np.full((2, 3), -100)
    ours, theirs = (F.nll_loss, tF.nll_loss) if case == "nll" else (F.cross_entropy,
                                                                    tF.cross_entropy)
    weight = kwargs.pop("weight", None)
    mine = chainrule.tensor(x, requires_grad=True)
    reference = torch.tensor(x, requires_grad=True)
    out = ours(mine, chainrule.tensor(target), None if weight is None else
               chainrule.tensor(weight), **kwargs)
    expected = theirs(reference, torch.tensor(target), None if weight is None else
                      torch.tensor(weight), **kwargs)
    assert np.isnan(out.item()) and np.isnan(expected.item())
    out.backward()
    expected.backward()
    np.testing.assert_array_equal(mine.grad.numpy(), reference.grad.numpy())
    assert not mine.grad.numpy().any()


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss",
                                  "binary_cross_entropy", "soft_margin_loss", "kl_div",
                                  "poisson_nll_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_losses_of_empty_tensors_match_pytorch(name, reduction):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(F, name)(chainrule.zeros(0, 3), chainrule.zeros(0, 3), reduction=reduction)
        expected = getattr(tF, name)(torch.zeros(0, 3), torch.zeros(0, 3), reduction=reduction)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss",
                                  "soft_margin_loss", "binary_cross_entropy", "kl_div",
                                  "poisson_nll_loss", "binary_cross_entropy_with_logits"])
def test_losses_on_bool_and_integer_inputs_raise_a_dtype_error(name):
    for dtype in ("bool", "int64"):
        a = chainrule.tensor(np.ones(3, dtype=dtype))
        with pytest.raises(DTypeError, match=name), warnings.catch_warnings():
            warnings.simplefilter("ignore")                  # kl_div's 'mean' warning
            getattr(F, name)(a, a)


@pytest.mark.parametrize("input_dtype, target_dtype", [("float32", "int64"),
                                                       ("int64", "float64")])
def test_an_integer_operand_promotes_as_in_pytorch(input_dtype, target_dtype):
    a, b = np.arange(3).astype(input_dtype), (np.arange(3) * 2).astype(target_dtype)
    out = F.mse_loss(chainrule.tensor(a), chainrule.tensor(b))
    expected = tF.mse_loss(torch.tensor(a), torch.tensor(b))
    assert str(out.dtype) == str(expected.dtype).replace("torch.", "")
    assert out.item() == pytest.approx(expected.item())


def test_losses_explain_bad_shapes():
    with pytest.raises(ShapeError, match="same number of dimensions"):
        F.margin_ranking_loss(chainrule.zeros(3), chainrule.zeros(3), chainrule.zeros(1, 3))
    with pytest.raises(ShapeError, match=r"\(N, D\)"):
        F.cosine_embedding_loss(chainrule.zeros(3, 2), chainrule.zeros(3, 2), chainrule.ones(2, 3))
    with pytest.raises(ArgumentError, match="p == 1 and p == 2"):
        F.multi_margin_loss(chainrule.zeros(2, 3), chainrule.tensor([0, 1]), p=3)
    with pytest.raises(ArgumentError, match="margin must be greater than 0"):
        F.triplet_margin_loss(chainrule.zeros(2), chainrule.zeros(2), chainrule.zeros(2),
                              margin=0.0)
    with pytest.raises(ArgumentError, match="batchmean"):
        F.kl_div(chainrule.zeros(2), chainrule.zeros(2), reduction="avg")
