"""jacobian, hessian, vjp, jvp, hvp."""
import numpy as np
import pytest

import chainrule
from chainrule.autograd.functional import hessian, hvp, jacobian, jvp, vjp
from tests.helpers import make


def _quadratic_form(n, seed=0):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, n))
    return chainrule.tensor(m + m.T, dtype="float64")


def test_hessian_of_half_xAx_is_A():
    A = _quadratic_form(5)
    x = make((5,), 1)
    H = hessian(lambda x: 0.5 * (x @ A @ x), x)
    np.testing.assert_allclose(H.numpy(), A.numpy(), atol=1e-12)


def test_hvp_equals_hessian_times_v():
    def f(x):
        return (chainrule.tanh(x) ** 2).sum() + (x[:-1] * x[1:]).sum()
    x, v = make((6,), 2), make((6,), 3, requires_grad=False)
    H = hessian(f, x)
    _, Hv = hvp(f, x, v)
    np.testing.assert_allclose(Hv.numpy(), H.numpy() @ v.numpy(), atol=1e-12)


def test_jacobian_vjp_jvp_agree():
    W = make((3, 4), 4, requires_grad=False)

    def f(x):
        return chainrule.sigmoid(W @ x)
    x = make((4,), 5)
    J = jacobian(f, x).numpy()
    u, v = make((3,), 6, requires_grad=False), make((4,), 7, requires_grad=False)
    _, uJ = vjp(f, x, u)
    _, Jv = jvp(f, x, v)
    np.testing.assert_allclose(uJ.numpy(), u.numpy() @ J, atol=1e-12)
    np.testing.assert_allclose(Jv.numpy(), J @ v.numpy(), atol=1e-12)
    # finite differences agree with the Jacobian
    eps = 1e-6
    col = (f(chainrule.tensor(x.numpy() + eps * np.eye(4)[1])).numpy()
           - f(chainrule.tensor(x.numpy() - eps * np.eye(4)[1])).numpy()) / (2 * eps)
    np.testing.assert_allclose(J[:, 1], col, atol=1e-8)


def test_jacobian_with_several_inputs():
    a, b = make((2,), 1), make((2,), 2)
    Ja, Jb = jacobian(lambda a, b: a * b, (a, b))
    np.testing.assert_allclose(Ja.numpy(), np.diag(b.numpy()))
    np.testing.assert_allclose(Jb.numpy(), np.diag(a.numpy()))


def test_hessian_needs_a_scalar():
    with pytest.raises(ValueError, match="scalar"):
        hessian(lambda x: x * 2, make((3,), 0))
