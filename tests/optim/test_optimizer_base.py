"""Optimizer base: param groups, state_dict round trip, errors, GD convergence."""
import numpy as np
import pytest

import chainrule
from chainrule import nn, optim


def test_param_groups_and_add_param_group():
    a, b = nn.Linear(2, 2), nn.Linear(2, 1)
    opt = optim.SGD([{"params": a.parameters()}, {"params": b.parameters(), "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    c = nn.Linear(1, 1)
    opt.add_param_group({"params": c.parameters(), "momentum": 0.9})
    assert opt.param_groups[2]["momentum"] == 0.9 and opt.param_groups[2]["lr"] == 0.1
    with pytest.raises(ValueError, match="more than one param group"):
        opt.add_param_group({"params": c.parameters()})


def test_state_dict_round_trip_continues_identically():
    chainrule.manual_seed(0)
    model = nn.Linear(3, 2)
    x, y = chainrule.randn(8, 3), chainrule.randn(8, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)

    def step(m, o):
        o.zero_grad()
        nn.functional.mse_loss(m(x), y).backward()
        o.step()
    for _ in range(3):
        step(model, opt)
    clone = nn.Linear(3, 2)
    clone.load_state_dict(model.state_dict())
    opt2 = optim.Adam(clone.parameters(), lr=0.01)
    opt2.load_state_dict(opt.state_dict())
    for _ in range(3):
        step(model, opt)
        step(clone, opt2)
    np.testing.assert_array_equal(model.weight.numpy(), clone.weight.numpy())


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="wrap it in a list"):
        optim.SGD(chainrule.zeros(2, requires_grad=True), lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1, nesterov=True)
    w = chainrule.zeros(2, requires_grad=True)
    with pytest.warns(UserWarning, match="no gradients: call loss.backward"):
        optim.SGD([w], lr=0.1).step()


def test_gradient_descent_on_the_seed_line_reaches_least_squares():
    from chainrule.data import datasets
    split = datasets.toy_linear(n=200, w=2.0, b=1.0, noise=0.1, seed=3)
    x, y = split.train.tensors
    x, y = x.double(), y.double()
    w0 = chainrule.zeros(1, dtype="float64", requires_grad=True)
    w1 = chainrule.zeros(1, dtype="float64", requires_grad=True)
    opt = optim.GD([w0, w1], lr=0.5)
    for _ in range(2000):
        opt.zero_grad()
        loss = ((w0 + w1 * x - y) ** 2).mean()
        loss.backward()
        opt.step()
    design = np.column_stack([np.ones(len(x)), x.numpy()[:, 0]])
    closed_form = np.linalg.lstsq(design, y.numpy()[:, 0], rcond=None)[0]
    assert abs(w0.item() - closed_form[0]) < 1e-4
    assert abs(w1.item() - closed_form[1]) < 1e-4
