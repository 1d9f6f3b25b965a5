"""numerical_grad, gradcheck, gradgradcheck — and that they catch wrong gradients."""
import numpy as np
import pytest

import chainrule
from chainrule.autograd import gradcheck, gradgradcheck, numerical_grad
from chainrule.autograd.function import Function
from chainrule.errors import GradcheckError
from tests.helpers import make


class WrongSquare(Function):
    def forward(self, x):
        return x * x

    def backward(self, gy):
        return gy * 3 * self.inputs[0]     # should be 2x


class WrongSecondDerivative(Function):
    def forward(self, x):
        return x ** 3

    def backward(self, gy):
        x = self.inputs[0]
        return gy * 3 * x.detach() ** 2    # right value, but cut from the graph


def test_numerical_grad_forward_and_central():
    x = make((3,), 0)
    fwd = numerical_grad(lambda t: (t ** 2).sum(), x, eps=1e-4)
    central = numerical_grad(lambda t: (t ** 2).sum(), x, eps=1e-4, scheme="central")
    np.testing.assert_allclose(fwd, 2 * x.numpy(), atol=2e-4)
    np.testing.assert_allclose(central, 2 * x.numpy(), atol=1e-8)
    assert x.numpy().tolist() == make((3,), 0).numpy().tolist()  # inputs restored


def test_gradcheck_names_input_element_and_values():
    x = make((2, 2), 1)
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(2, 2\)\), element \(0, 0\): "
                                             r"analytic .* vs numerical"):
        gradcheck(lambda t: WrongSquare()(t), x)
    assert gradcheck(lambda t: WrongSquare()(t), x, raise_exception=False) is False


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = make((3,), 2)
    assert gradcheck(lambda t: WrongSecondDerivative()(t), x)
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda t: WrongSecondDerivative()(t), x)


def test_gradcheck_with_several_inputs_and_outputs():
    a, b = make((2,), 1), make((2,), 2)
    assert gradcheck(lambda a, b: (a * b, a + b), (a, b))
    assert gradgradcheck(lambda a, b: (a * b, a + b), (a, b))


def test_gradcheck_warns_for_float32():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="float64"):
        gradcheck(lambda t: t * 2, x, eps=1e-2, atol=1e-2)
