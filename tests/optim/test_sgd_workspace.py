"""SGD's step without temporaries (Optimizer.workspace): the same values, to the last bit, as
the update written with fresh temporaries; the gradient is left alone; the workspace is
one buffer per dtype, reused across steps and parameters."""
import numpy as np
import pytest

import chainrule
from chainrule import optim

SHAPES = [(7, 5), (5,), (3, 7, 2), ()]
OPTIONS = [dict(), dict(momentum=0.9), dict(momentum=0.9, dampening=0.3),
           dict(momentum=0.9, nesterov=True), dict(weight_decay=0.01),
           dict(maximize=True), dict(momentum=0.5, weight_decay=0.1, maximize=True)]


def reference_sgd(params, grads, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, maximize=False):
    """PyTorch's SGD rule with a fresh temporary for every product (the former code)."""
    params = [p.copy() for p in params]
    buffers = [None] * len(params)
    for _ in range(steps):
        for i, (p, grad) in enumerate(zip(params, grads)):
            g = -grad if maximize else grad
            if weight_decay:
                g = g + weight_decay * p
            if momentum:
                if buffers[i] is None:
                    buffers[i] = g.copy()
                else:
                    buffers[i] *= momentum
                    buffers[i] += (1 - dampening) * g
                g = g + momentum * buffers[i] if nesterov else buffers[i]
            p -= lr * g
    return params


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_equals_the_update_with_temporaries(options, dtype):
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    params = [chainrule.tensor(p.copy(), requires_grad=True) for p in start]
    opt = optim.SGD(params, lr=0.1, **options)
    for _ in range(4):
        for p, g in zip(params, grads):
            p.grad = chainrule.tensor(g)
        opt.step()
    expected = reference_sgd(start, grads, 4, 0.1, **options)
    for p, e in zip(params, expected):
        np.testing.assert_array_equal(p.numpy(), e)
    for p, g in zip(params, grads):                     # the gradient is untouched
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_workspace_is_one_buffer_per_dtype_reused_across_steps():
    params = [chainrule.zeros(*s, requires_grad=True) for s in SHAPES]
    params.append(chainrule.zeros(4, dtype=chainrule.float64, requires_grad=True))
    opt = optim.SGD(params, lr=0.1)
    for p in params:
        p.grad = chainrule.ones_like(p)
    opt.step()
    buffers = dict(opt._workspaces)
    assert len(buffers) == 2                             # float32 and float64
    assert buffers[(np.dtype("float32"), np.ndarray)].size == max(
        int(np.prod(s)) for s in SHAPES)
    opt.step()
    assert all(opt._workspaces[k] is v for k, v in buffers.items())
    np.testing.assert_allclose(params[0].numpy(), -0.2, rtol=1e-6)


def test_workspace_grows_for_a_larger_parameter():
    small = chainrule.zeros(2, requires_grad=True)
    opt = optim.SGD([small], lr=1.0)
    small.grad = chainrule.ones(2)
    opt.step()
    big = chainrule.zeros(3, 4, requires_grad=True)
    opt.add_param_group({"params": [big]})
    big.grad = chainrule.ones(3, 4)
    small.grad = chainrule.ones(2)
    opt.step()
    assert small.tolist() == [-2.0, -2.0]
    assert big.numpy().tolist() == [[-1.0] * 4] * 3
    assert opt.workspace(np.zeros((3, 4), np.float32)).shape == (3, 4)


def test_step_bumps_the_version_and_keeps_pytorch_state_entries():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    unused = chainrule.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w, unused], lr=0.5)
    before = w._counter().value
    (w * w).sum().backward()
    opt.step()
    assert w._counter().value == before + 1
    assert w.tolist() == [0.0, 0.0]
    assert opt.state_dict()["state"] == {0: {}}          # as PyTorch: an entry per stepped param


def test_sgd_matches_pytorch_over_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    start = [rng.standard_normal(s) for s in SHAPES[:3]]
    ours = [chainrule.tensor(p, requires_grad=True) for p in start]
    theirs = [torch.tensor(p, requires_grad=True) for p in start]
    opt, topt = optim.SGD(ours, lr=0.05), torch.optim.SGD(theirs, lr=0.05)
    for _ in range(3):
        opt.zero_grad(), topt.zero_grad()
        sum((p * p * p).sum() for p in ours).backward()
        sum((p * p * p).sum() for p in theirs).backward()
        opt.step(), topt.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_zero_grad_without_set_to_none_zeroes_in_place_as_pytorch():
    torch = pytest.importorskip("torch")
    ours = chainrule.tensor([1.0, 2.0], requires_grad=True)
    theirs = torch.tensor([1.0, 2.0], requires_grad=True)
    opt, topt = optim.SGD([ours], lr=0.1), torch.optim.SGD([theirs], lr=0.1)
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    held, their_held = ours.grad, theirs.grad
    opt.zero_grad(set_to_none=False)
    topt.zero_grad(set_to_none=False)
    assert ours.grad is held and theirs.grad is their_held
    assert held.tolist() == their_held.tolist() == [0.0, 0.0]
    (ours * 3).sum().backward()                     # accumulates into the zeroed gradient
    (theirs * 3).sum().backward()
    assert held.tolist() == their_held.tolist() == [3.0, 3.0]
    opt.zero_grad()
    assert ours.grad is None


def test_zero_grad_replaces_a_recorded_gradient():
    w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward(create_graph=True)
    recorded = w.grad
    assert recorded.grad_fn is not None
    optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    assert w.grad is not recorded and w.grad.tolist() == [0.0, 0.0]
    assert recorded.tolist() == [2.0, 4.0]
