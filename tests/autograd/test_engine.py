"""The backward pass: accumulation, graph release, hooks, grad(), higher order, errors."""
import numpy as np
import pytest

import chainrule
from chainrule.errors import DTypeError, GraphError, InplaceError, ShapeError
from tests.helpers import make


def test_gradients_accumulate_across_backward_calls():
    w = chainrule.tensor(2.0, requires_grad=True)
    (w * 3).backward()
    (w * 3).backward()
    assert w.grad.item() == 6.0


def test_reused_node_accumulates():
    x = chainrule.tensor(1.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(10):
        y = y + y
    y.backward()
    assert x.grad.item() == 2.0 ** 10


def test_two_leaves_sharing_an_upstream_gradient_do_not_alias():
    a = chainrule.tensor([1.0, 2.0], requires_grad=True)
    b = chainrule.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.mul_(10)
    assert b.grad.tolist() == [1.0, 1.0] and a.grad.tolist() == [10.0, 10.0]


def test_graph_is_released_and_second_backward_says_retain_graph():
    x = chainrule.tensor(2.0, requires_grad=True)
    y = chainrule.exp(x) * x
    y.backward()
    with pytest.raises(GraphError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = chainrule.tensor(2.0, requires_grad=True)
    y = x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == 8.0


def test_non_scalar_backward_needs_a_gradient():
    x = chainrule.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(GraphError, match=r"shape \(3,\).*gradient="):
        y.backward()
    y.backward(chainrule.tensor([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(ShapeError, match=r"\(2,\).*\(3,\)"):
        (x * 2).backward(chainrule.ones(2))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(DTypeError, match="int64.*float32"):
        chainrule.tensor([1, 2], requires_grad=True)
    with pytest.raises(DTypeError, match="floating"):
        chainrule.arange(3).requires_grad_()


def test_unsupported_dtype_is_refused():
    with pytest.raises(DTypeError, match="complex128"):
        chainrule.tensor(np.array([1 + 2j]))


def test_backward_without_grad_says_why():
    x = chainrule.tensor(1.0)
    with pytest.raises(GraphError, match="requires_grad=True"):
        (x * 2).backward()


def test_in_place_change_of_a_saved_tensor_is_detected():
    a = chainrule.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b * b          # Mul saves b
    b.add_(1)          # ... which is then changed in place
    with pytest.raises(InplaceError, match=r"Mul: input 0 \(shape \(2,\)\)"):
        c.sum().backward()


def test_in_place_change_of_a_saved_output_is_detected():
    x = chainrule.tensor([1.0], requires_grad=True)
    y = chainrule.sigmoid(x)
    y.mul_(2)
    with pytest.raises(InplaceError, match="Sigmoid"):
        y.sum().backward()


SAVING_GATES = {        # gate: (forward, what it saves, local derivative at x = 0.5)
    "tanh": (chainrule.tanh, "output", 1 - np.tanh(0.5) ** 2),
    "sigmoid": (chainrule.sigmoid, "output", 0.25 - (1 / (1 + np.exp(-0.5)) - 0.5) ** 2),
    "relu": (chainrule.relu, "output", 1.0),
    "pow": (lambda t: t ** 3, "input", 3 * 0.25),
    "sin": (chainrule.sin, "input", np.cos(0.5)),
    "mul": (lambda t: t * t, "input", 1.0),
}


@pytest.mark.parametrize("unrelated_change", [False, True])
@pytest.mark.parametrize("name", sorted(SAVING_GATES))
def test_saved_values_are_read_back_checked_and_released(name, unrelated_change):
    """The backward of a gate reads what forward saved, checked for in-place changes (with
    no in-place change anywhere since forward, through the fast paths that read a saved
    output or saved inputs without making tensors; after an unrelated one, through the
    version checks), and a second backward without retain_graph is refused."""
    forward, saves, slope = SAVING_GATES[name]
    x = chainrule.tensor([0.5, 0.5], dtype="float64", requires_grad=True)
    y = forward(x)
    if unrelated_change:
        chainrule.tensor([1.0]).add_(1)      # ticks the in-place clock: no other effect
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [slope, slope], rtol=1e-12)
    with pytest.raises(GraphError, match="retain_graph=True"):
        y.sum().backward()
    base = x.detach().clone().requires_grad_()
    inner = base * 1.0                          # a non-leaf that can change in place
    y = forward(inner)
    (y if saves == "output" else inner).add_(1)
    with pytest.raises(InplaceError, match="modified in place"):
        y.sum().backward()


def test_a_root_that_is_also_an_input_of_another_root_gets_both_gradients():
    x = chainrule.tensor(3.0, requires_grad=True)
    a = x * x                       # a is a root and an input of b
    b = a * 2
    chainrule.autograd.backward([a, b], [chainrule.tensor(1.0), chainrule.tensor(1.0)])
    assert x.grad.item() == 18.0    # (1 + 2) * 2x
    leaf = chainrule.tensor(2.0, requires_grad=True)
    chainrule.autograd.backward([leaf * 3, leaf], [chainrule.tensor(1.0), chainrule.tensor(5.0)])
    assert leaf.grad.item() == 8.0  # a leaf among the roots


def test_in_place_on_unsaved_tensor_is_fine_and_correct():
    a = chainrule.tensor([1.0, 2.0], requires_grad=True)
    b = a + 0
    c = b + 1           # Add saves nothing
    b.mul_(3)           # b is now a node: 3 * old b
    (c.sum() + b.sum()).backward()
    assert a.grad.tolist() == [4.0, 4.0]


def test_in_place_on_leaf_requires_no_grad():
    w = chainrule.tensor([1.0], requires_grad=True)
    with pytest.raises(GraphError, match="no_grad"):
        w.sub_(1)
    with chainrule.no_grad():
        w -= 0.5
    assert w.tolist() == [0.5] and w.is_leaf and w.requires_grad


def test_no_grad_and_enable_grad_as_context_and_decorator():
    x = chainrule.tensor(1.0, requires_grad=True)
    with chainrule.no_grad():
        assert not (x * 2).requires_grad
        with chainrule.enable_grad():
            assert (x * 2).requires_grad

    @chainrule.no_grad()
    def f():
        return x * 2
    assert not f().requires_grad
    assert chainrule.is_grad_enabled()


def test_detach_and_requires_grad_():
    x = chainrule.tensor(1.0, requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    z = chainrule.tensor(1.0).requires_grad_()
    assert z.requires_grad


def test_hooks_on_leaf_and_non_leaf():
    x = chainrule.tensor(1.0, requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.item()))
    y = x * 3
    y.register_hook(lambda g: g * 10)      # replaces y's gradient
    y.backward()
    assert seen == [30.0] and x.grad.item() == 30.0
    handle.remove()
    (x * 1).backward()
    assert seen == [30.0]


def test_retain_grad_on_non_leaf():
    x = chainrule.tensor(2.0, requires_grad=True)
    y = (x * x).retain_grad()
    (y * 3).backward()
    assert y.grad.item() == 3.0
    z = x * x
    (z * 3).backward()
    assert z.grad is None


def test_grad_returns_gradients_without_touching_dot_grad():
    x = chainrule.tensor(3.0, requires_grad=True)
    y = chainrule.tensor(4.0, requires_grad=True)
    gx, gy = chainrule.autograd.grad(x * y, [x, y])
    assert (gx.item(), gy.item()) == (4.0, 3.0)
    assert x.grad is None and y.grad is None


def test_grad_allow_unused():
    x = chainrule.tensor(3.0, requires_grad=True)
    u = chainrule.tensor(1.0, requires_grad=True)
    with pytest.raises(GraphError, match="allow_unused"):
        chainrule.autograd.grad(x * 2, [x, u])
    assert chainrule.autograd.grad(x * 2, [x, u], allow_unused=True)[1] is None


def test_grad_of_non_leaf_input():
    x = chainrule.tensor(3.0, requires_grad=True)
    h = x * 2
    (gh,) = chainrule.autograd.grad(h * h, h)
    assert gh.item() == 12.0


def test_third_derivative_from_the_same_code():
    x = chainrule.tensor(0.5, dtype="float64", requires_grad=True)
    y = chainrule.sin(x) * x ** 3
    (d1,) = chainrule.autograd.grad(y, x, create_graph=True)
    (d2,) = chainrule.autograd.grad(d1, x, create_graph=True)
    (d3,) = chainrule.autograd.grad(d2, x)
    v = 0.5
    s, c = np.sin(v), np.cos(v)
    expected = -c * v ** 3 - 9 * s * v ** 2 + 18 * c * v + 6 * s
    assert d3.item() == pytest.approx(expected, rel=1e-12)


def test_backward_create_graph_gives_differentiable_dot_grad():
    x = chainrule.tensor(2.0, dtype="float64", requires_grad=True)
    (x ** 3).backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 12.0


def test_backward_only_to_requested_inputs():
    a = chainrule.tensor(1.0, requires_grad=True)
    b = chainrule.tensor(2.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0 and b.grad is None


def test_float32_grad_stays_float32_when_mixed_with_float64():
    w = chainrule.tensor([1.0], requires_grad=True)
    (w * make((1,), 0, requires_grad=False)).sum().backward()
    assert w.grad.dtype == np.float32
