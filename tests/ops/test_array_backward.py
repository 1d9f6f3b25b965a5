"""Gates whose backward works on arrays when it is not recorded (mul, sub, neg, div, x ** 2,
tanh, sigmoid, relu, and the reductions' broadcast back: sum, mean, amax, prod, ...): the
gradients must be the ones their formula in chainrule ops gives under create_graph, bit for
bit, broadcasting included. (GELU and layer_norm, whose array forms are arranged
differently, are checked to 1e-12 in their own tests.)"""
import numpy as np
import pytest

import chainrule

OPS = {
    "mul": lambda a, b: a * b,
    "mul_scalar": lambda a, b: a * 1.5 + b,
    "sub": lambda a, b: a - b,
    "neg": lambda a, b: -a + b,
    "div": lambda a, b: a / (b * b + 1.0),
    "square": lambda a, b: a ** 2 + b ** 0,
    "tanh": lambda a, b: chainrule.tanh(a * b),
    "sigmoid": lambda a, b: chainrule.sigmoid(a - b),
    "relu": lambda a, b: chainrule.relu(a) * b,
    "sum_all": lambda a, b: a.sum() + a * b,
    "sum_dim": lambda a, b: a.sum(dim=0) * a + b,
    "sum_keepdim": lambda a, b: a.sum(dim=1, keepdim=True) * b,
    "sum_dims": lambda a, b: a.sum(dim=(0, 1)) * a + b,
    "mean": lambda a, b: a.mean(dim=0) * a * b,
    "amax": lambda a, b: a.amax(dim=0) * a + b,
    "prod": lambda a, b: a.prod(dim=1, keepdim=True) * b,
    "logsumexp": lambda a, b: a.logsumexp(dim=0) * a + b,
    "norm": lambda a, b: a.norm(dim=1, keepdim=True) * b,
    "var": lambda a, b: a.var(dim=0) * a + b,
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_the_array_backward_is_the_recorded_formula_bit_for_bit(name, dtype):
    rng = np.random.default_rng(0)
    a_data = rng.standard_normal((2, 3)).astype(dtype)
    b_data = rng.standard_normal((3,)).astype(dtype)           # broadcast against a
    upstream = chainrule.tensor(rng.standard_normal((2, 3)).astype(dtype))
    a, b = (chainrule.tensor(v, requires_grad=True) for v in (a_data, b_data))
    OPS[name](a, b).backward(upstream)                          # not recorded: arrays
    a2, b2 = (chainrule.tensor(v, requires_grad=True) for v in (a_data, b_data))
    recorded = chainrule.autograd.grad(OPS[name](a2, b2), (a2, b2), upstream,
                                       create_graph=True, allow_unused=True)
    for fast, slow in zip((a.grad, b.grad), recorded):
        if slow is None:
            assert fast is None or not np.any(fast.numpy())
            continue
        assert fast.dtype == slow.dtype
        np.testing.assert_array_equal(fast.numpy(), slow.detach().numpy())
