"""Newton-CG: one step on a convex quadratic, logistic regression in <= 10 steps, O(n) memory."""
import tracemalloc

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.data import datasets


def _quadratic(n, seed=0):
    rng = np.random.default_rng(seed)
    diag = rng.uniform(1.0, 10.0, n)         # a well-conditioned SPD matrix, given implicitly
    b = rng.standard_normal(n)
    d = chainrule.tensor(diag)
    bt = chainrule.tensor(b)

    def loss(w):
        # 0.5 w^T A w - b^T w with A = diag + a rank-one coupling
        return 0.5 * (d * w * w).sum() + 0.05 * w.sum() ** 2 - (bt * w).sum()
    A = np.diag(diag) + 0.1 * np.ones((n, n))
    return loss, np.linalg.solve(A, b)


def test_newton_solves_a_1000_parameter_quadratic_in_one_step_without_an_n_by_n_matrix():
    n = 1000
    loss, solution = _quadratic(n)
    w = chainrule.zeros(n, dtype="float64", requires_grad=True)
    opt = optim.Newton([w], damping=0.0, adaptive_damping=False, cg_max_iter=200)
    tracemalloc.start()
    opt.step(lambda: loss(w))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.abs(w.numpy() - solution).max() < 1e-6
    assert peak < n * n * 8 / 10, f"peak {peak} bytes suggests an n x n matrix"


def test_newton_trains_logistic_regression_in_ten_steps():
    chainrule.manual_seed(0)
    split = datasets.breast_cancer()
    x, y = split.train.tensors
    model = nn.Linear(split.num_features, 1).double()
    xd, yd = x.double(), y.double().reshape(-1, 1)
    loss_fn = lambda: nn.functional.binary_cross_entropy_with_logits(model(xd), yd) \
        + 1e-3 * (model.weight ** 2).sum()  # noqa: E731
    opt = optim.Newton(model.parameters())
    losses = [float(opt.step(loss_fn)._data) for _ in range(10)]
    assert losses[-1] < 0.08
    xt, yt = split.test.tensors
    accuracy = ((model(xt.double()).numpy().reshape(-1) > 0) == yt.numpy()).mean()
    assert accuracy >= 0.95


def test_exact_newton_matches_cg_on_a_small_problem():
    loss, solution = _quadratic(10, seed=3)
    for mode in ("exact", "cg"):
        w = chainrule.zeros(10, dtype="float64", requires_grad=True)
        optim.Newton([w], damping=0.0, hessian=mode).step(lambda: loss(w))
        np.testing.assert_allclose(w.numpy(), solution, atol=1e-8)


def test_newton_is_safe_on_a_non_convex_function():
    # Rosenbrock from the usual start: damping + line search never increase the loss
    w = chainrule.tensor([-1.2, 1.0], dtype="float64", requires_grad=True)
    f = lambda: (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2  # noqa: E731
    opt = optim.Newton([w])
    previous = float(f()._data)
    for _ in range(40):
        opt.step(f)
        current = float(f()._data)
        assert current <= previous + 1e-12
        previous = current
    np.testing.assert_allclose(w.numpy(), [1.0, 1.0], atol=1e-5)


def test_newton_needs_a_closure():
    w = chainrule.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="closure"):
        optim.Newton([w]).step()
