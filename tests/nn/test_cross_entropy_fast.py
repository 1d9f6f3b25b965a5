"""The fused softmax cross-entropy node: its fast paths (every label a class; backward in one
fresh array) give the values and gradients of the general path and of PyTorch."""
import numpy as np
import pytest

import chainrule
import chainrule.nn.functional as F
from tests.helpers import check, make

#: (labels, ignore_index): all classes kept; ignore_index inside the labels' range; some ignored
TARGETS = [([0, 3, 1, 2, 3], -100), ([0, 3, 1, 2, 3], 3), ([0, -100, 1, 2, -100], -100),
           ([2, 2, 2, 2, 2], 2)]


def composed(logits, target, weight=None, ignore_index=-100, reduction="mean"):
    """The general path: log_softmax then nll_loss."""
    return F.nll_loss(F.log_softmax(logits, dim=1), target, weight, ignore_index=ignore_index,
                      reduction=reduction)


@pytest.mark.parametrize("labels,ignore_index", TARGETS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_equals_composition_and_pytorch(labels, ignore_index, reduction, weighted):
    torch = pytest.importorskip("torch")
    x = make((5, 4), 1)
    target = chainrule.tensor(labels)
    weight = chainrule.tensor([0.5, 1.0, 2.0, 0.25], dtype=chainrule.float64) if weighted \
        else None
    tx = torch.tensor(x.numpy(), requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(
        tx, torch.tensor(labels), None if weight is None else torch.tensor(weight.numpy()),
        ignore_index=ignore_index, reduction=reduction)
    upstream = np.arange(1.0, 6.0) if reduction == "none" else np.array(1.5)
    theirs.backward(torch.tensor(upstream))
    for fn in (F.cross_entropy, composed):
        x.grad = None
        loss = fn(x, target, weight, ignore_index=ignore_index, reduction=reduction)
        if loss.ndim == 0 and np.isnan(loss.item()):
            assert np.isnan(theirs.item())
            continue
        loss.backward(chainrule.tensor(upstream))
        np.testing.assert_allclose(loss.numpy(), theirs.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("labels,ignore_index", TARGETS[:3])
def test_fused_cross_entropy_gradgradcheck(labels, ignore_index):
    target = chainrule.tensor(labels)
    check(lambda x: F.cross_entropy(x, target, ignore_index=ignore_index), make((5, 4), 2))


def test_backward_twice_with_retain_graph_gives_the_same_gradient():
    x = make((3, 4), 3)
    loss = F.cross_entropy(x, chainrule.tensor([1, 0, 3]))
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)


def test_target_changed_after_forward_does_not_change_the_gradient():
    x = make((3, 4), 4)
    target = chainrule.tensor([1, 0, 3])
    loss = F.cross_entropy(x, target)
    expected = chainrule.autograd.grad(F.cross_entropy(x, chainrule.tensor([1, 0, 3])), [x])[0]
    target._data[...] = 2
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected.numpy())


def test_out_of_range_labels_still_raise():
    with pytest.raises(ValueError, match=r"class targets must lie in \[0, 4\)"):
        F.cross_entropy(make((2, 4), 5), chainrule.tensor([0, 4]))
    with pytest.raises(ValueError, match=r"class targets must lie in \[0, 4\)"):
        F.cross_entropy(make((2, 4), 5), chainrule.tensor([-1, 2]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unweighted_path_has_the_bits_of_the_textbook_formula(dtype, reduction):
    """Without class weights and ignored labels the gate skips its weights of 1 (the
    per-sample losses are summed in float64 all the same): its loss and gradient are, bit
    for bit, the formula's written out in NumPy with those weights."""
    rng = np.random.default_rng(5)
    logits = (rng.standard_normal((128, 10)) * 3).astype(dtype)
    labels = rng.integers(0, 10, 128)
    x = chainrule.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, chainrule.tensor(labels), reduction=reduction)
    upstream = np.linspace(0.5, 2.0, 128).astype(dtype) if reduction == "none" else \
        np.asarray(1.0, dtype)
    loss.backward(chainrule.tensor(upstream))

    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(128)
    losses = (np.log(total[:, 0]) - shifted[rows, labels]) * np.ones(128)
    scale = 1.0 / 128 if reduction == "mean" else 1.0
    expected = losses.astype(dtype) if reduction == "none" else \
        np.asarray(losses.sum() * scale, dtype)
    gradient = exp / total
    gradient[rows, labels] -= 1
    gradient *= (np.ones(128) * scale).astype(dtype)[:, None]
    gradient *= upstream[:, None] if reduction == "none" else upstream
    assert loss.numpy().tobytes() == expected.tobytes()
    assert x.grad.numpy().tobytes() == gradient.tobytes()
