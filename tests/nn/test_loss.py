"""Losses: values and gradients against PyTorch, stability, and errors that say what to fix."""
import numpy as np
import pytest

import chainrule
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn import functional as F
from tests.helpers import check, make


def test_loss_gradients():
    x, t = make((4, 3), 0), make((4, 3), 1, requires_grad=False)
    check(lambda x: F.mse_loss(x, t), x)
    check(lambda x: F.huber_loss(x, t, delta=0.5), x)
    check(lambda x: F.binary_cross_entropy_with_logits(x, (t._data > 0).astype(float)), x)
    labels = chainrule.tensor([0, 2, 1, 2])
    check(lambda x: F.cross_entropy(x, labels), x)
    check(lambda x: F.cross_entropy(x, labels, label_smoothing=0.1), x)
    probs = chainrule.softmax(make((4, 3), 5, requires_grad=False), dim=1)
    check(lambda x: F.cross_entropy(x, probs), x)
    p = make((4, 3), 2, low=0.1, high=0.9)
    check(lambda p: F.binary_cross_entropy(p, (t._data > 0).astype(float)), p)


def test_bce_with_logits_is_finite_at_plus_minus_1000():
    x = chainrule.tensor([1000.0, -1000.0, 1000.0, -1000.0], requires_grad=True)
    t = chainrule.tensor([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, t)
    loss.backward()
    assert loss.item() == pytest.approx(500.0)
    assert np.isfinite(x.grad.numpy()).all()


def test_cross_entropy_errors_teach():
    logits = chainrule.zeros(64, 10)
    with pytest.raises(ShapeError, match=r"targets have shape \(64, 1\) but cross_entropy "
                                         r"expects \(64,\) class indices .* use y.squeeze\(1\)"):
        F.cross_entropy(logits, chainrule.zeros(64, 1, dtype="int64"))
    with pytest.raises(DTypeError, match="use y.long()"):
        F.cross_entropy(logits, chainrule.zeros(64))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        F.cross_entropy(logits, chainrule.full((64,), 12))


def test_bce_rejects_values_outside_unit_interval():
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits"):
        F.binary_cross_entropy(chainrule.tensor([1.5, 0.2]), chainrule.tensor([1.0, 0.0]))


def test_mse_shape_mismatch_names_both_shapes():
    with pytest.raises(ShapeError, match=r"\(8, 1\).*\(8,\)"):
        F.mse_loss(chainrule.zeros(8, 1), chainrule.zeros(8))


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_pytorch(reduction):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4))
    t = rng.standard_normal((6, 4))
    labels = np.array([0, 3, 1, 1, 2, 3])
    labels_ignored = np.array([0, -100, 1, 1, 2, 3])
    bin_t = (rng.random((6, 4)) > 0.5).astype(float)
    probs = rng.uniform(0.05, 0.95, (6, 4))
    weight = np.array([1.0, 2.0, 0.5, 3.0])
    soft = np.exp(t) / np.exp(t).sum(1, keepdims=True)
    cases = [
        ("mse", lambda m, F_: F_.mse_loss(m.tensor(x, requires_grad=True), m.tensor(t),
                                          reduction=reduction)),
        ("l1", lambda m, F_: F_.l1_loss(m.tensor(x, requires_grad=True), m.tensor(t),
                                        reduction=reduction)),
        ("huber", lambda m, F_: F_.huber_loss(m.tensor(x, requires_grad=True), m.tensor(t),
                                              reduction=reduction, delta=0.7)),
        ("smooth_l1", lambda m, F_: F_.smooth_l1_loss(m.tensor(x, requires_grad=True),
                                                      m.tensor(t), reduction=reduction,
                                                      beta=0.5)),
        ("bce", lambda m, F_: F_.binary_cross_entropy(m.tensor(probs, requires_grad=True),
                                                      m.tensor(bin_t), reduction=reduction)),
        ("bce_logits_pos_weight", lambda m, F_: F_.binary_cross_entropy_with_logits(
            m.tensor(x, requires_grad=True), m.tensor(bin_t), reduction=reduction,
            pos_weight=m.tensor(weight))),
        ("ce", lambda m, F_: F_.cross_entropy(m.tensor(x, requires_grad=True),
                                              m.tensor(labels), reduction=reduction)),
        ("ce_weight_ignore_smooth", lambda m, F_: F_.cross_entropy(
            m.tensor(x, requires_grad=True), m.tensor(labels_ignored), weight=m.tensor(weight),
            reduction=reduction, label_smoothing=0.2)),
        ("ce_probs_smooth", lambda m, F_: F_.cross_entropy(
            m.tensor(x, requires_grad=True), m.tensor(soft), weight=m.tensor(weight),
            reduction=reduction, label_smoothing=0.1)),
        ("nll", lambda m, F_: F_.nll_loss(m.tensor(x, requires_grad=True), m.tensor(labels),
                                          weight=m.tensor(weight), reduction=reduction)),
    ]
    for name, make_loss in cases:
        ours = make_loss(chainrule, F)
        theirs = make_loss(torch, tF)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
        leaf_ours = _leaf(ours)
        (gx,) = chainrule.autograd.grad(ours.sum(), leaf_ours)
        (tgx,) = torch.autograd.grad(theirs.sum(), _torch_leaf(theirs))
        np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name + " gradient")


def _leaf(t):
    """The (only) leaf requiring grad behind a chainrule result."""
    stack, seen = [t.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        if isinstance(fn, chainrule.Tensor):      # a leaf is a node of the graph too
            return fn
        stack.extend(fn.edges)
    raise AssertionError("no leaf")


def _torch_leaf(t):
    stack = [t.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None:
            continue
        if hasattr(fn, "variable"):
            return fn.variable
        stack.extend(f for f, _ in fn.next_functions)
    raise AssertionError("no leaf")
