"""Gates kept as classes although they are compositions of other gates (for speed or
stability — each docstring's first line says why) equal that composition: value, gradient
and second derivative, away from the points where the composition itself is the problem."""
import numpy as np
import pytest

import chainrule
from chainrule.autograd import grad
from chainrule.nn import functional as F
from chainrule.ops import activation, arithmetic, linalg, loss, reduction

W = chainrule.tensor(np.linspace(-0.7, 0.9, 12).reshape(3, 4), dtype="float64")
B = chainrule.tensor(np.linspace(0.1, 0.4, 3), dtype="float64")
TARGETS = chainrule.tensor([1, 0, 3, 2, 1])

# name -> (the gate as the library computes it, the plain composition, input shape)
CASES = {
    "Sub": (lambda x: x - x.flip(0) * 0.5, lambda x: x + chainrule.neg(x.flip(0) * 0.5), (5, 4)),
    "Sigmoid": (chainrule.sigmoid, lambda x: 1 / (1 + chainrule.exp(-x)), (5, 4)),
    "LeakyReLU": (lambda x: F.leaky_relu(x, 0.1),
                  lambda x: chainrule.where(x > 0, x, x * 0.1), (5, 4)),
    "ELU": (F.elu, lambda x: chainrule.where(x > 0, x, chainrule.exp(x) - 1), (5, 4)),
    "GELU": (F.gelu, lambda x: x * 0.5 * (1 + chainrule.erf(x / np.sqrt(2.0))), (5, 4)),
    "Softplus": (F.softplus,
                 lambda x: F.relu(x) + chainrule.log1p(chainrule.exp(-chainrule.abs(x))), (5, 4)),
    "Softmax": (lambda x: x.softmax(dim=1),
                lambda x: chainrule.exp(x - x.amax(1, keepdim=True).detach()) /
                chainrule.exp(x - x.amax(1, keepdim=True).detach()).sum(1, keepdim=True),
                (5, 4)),
    "LogSoftmax": (lambda x: x.log_softmax(dim=1),
                   lambda x: x - chainrule.log(chainrule.exp(x).sum(1, keepdim=True)), (5, 4)),
    "LogSumExp": (lambda x: x.logsumexp(dim=1),
                  lambda x: chainrule.log(chainrule.exp(x).sum(1)), (5, 4)),
    "Norm2": (lambda x: x.norm(dim=1), lambda x: chainrule.sqrt((x * x).sum(1)), (5, 4)),
    "StdSqrt": (lambda x: x.std(dim=1), lambda x: chainrule.sqrt(x.var(dim=1)), (5, 4)),
    "Clamp": (lambda x: x.clamp(-0.5, 0.5),
              lambda x: chainrule.minimum(chainrule.maximum(x, chainrule.tensor(-0.5)),
                                          chainrule.tensor(0.5)), (5, 4)),
    "Linear": (lambda x: F.linear(x, W, B), lambda x: x @ W.T + B, (5, 4)),
    "SoftmaxCrossEntropy": (lambda x: F.cross_entropy(x, TARGETS),
                            lambda x: -(x.log_softmax(1)[np.arange(5), TARGETS.numpy()]).mean(),
                            (5, 4)),
}

KEPT = {"Sub": arithmetic.Sub, "Sigmoid": activation.Sigmoid, "LeakyReLU": activation.LeakyReLU,
        "ELU": activation.ELU, "GELU": activation.GELU, "Softplus": activation.Softplus,
        "Softmax": activation.Softmax, "LogSoftmax": activation.LogSoftmax,
        "LogSumExp": reduction.LogSumExp, "Norm2": reduction.Norm2, "StdSqrt": reduction.StdSqrt,
        "Clamp": arithmetic.Clamp, "Linear": linalg.Linear,
        "SoftmaxCrossEntropy": loss.SoftmaxCrossEntropy}


def _input(shape, seed):
    rng = np.random.default_rng(seed)
    data = rng.uniform(-2, 2, size=shape)
    data[np.abs(data) < 0.05] += 0.2              # away from kinks (0) ...
    data[np.abs(np.abs(data) - 0.5) < 0.05] += 0.2   # ... and the clamp's bounds
    return chainrule.tensor(data, requires_grad=True)


def _derivatives(fn, x, v):
    out = fn(x)
    (g,) = grad(out, x, chainrule.ones(*out.shape, dtype="float64"), create_graph=True)
    second = (g * v).sum()
    if not second.requires_grad:                  # the gate is linear in x
        return out.detach().numpy(), g.detach().numpy(), np.zeros(x.shape)
    (gg,) = grad(second, x, allow_unused=True)
    gg = np.zeros(x.shape) if gg is None else gg.numpy()
    return out.detach().numpy(), g.detach().numpy(), gg


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("seed", [0, 1])
def test_kept_gate_equals_its_composition(name, seed):
    gate, composition, shape = CASES[name]
    x = _input(shape, seed)
    v = chainrule.tensor(np.random.default_rng(seed + 9).standard_normal(shape))
    for ours, plain in zip(_derivatives(gate, x, v), _derivatives(composition, x, v)):
        np.testing.assert_allclose(ours, plain, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(KEPT))
def test_kept_gate_is_used_and_says_why(name):
    cls = KEPT[name]
    assert cls.__doc__.split("\n")[0].startswith("Kept as a gate"), name
    gate, _, shape = CASES[name]
    out = gate(_input(shape, 0))
    assert any(type(node) is cls for node in _nodes(out)), \
        f"{name} does not build a {cls.__name__}"


def _nodes(tensor):
    """Every node of the graph that computed ``tensor``."""
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if isinstance(node, chainrule.autograd.Function) and node not in seen:
            seen.add(node)
            stack.extend(e for e in node.edges if e is not None)
    return seen


# gates that a backward formula builds (PyTorch's tanh_backward, sigmoid_backward): the
# gradient of the op is one node; its own backward is the op's second derivative
BACKWARD_GATES = {
    "TanhBackward": (activation.TanhBackward, chainrule.tanh,
                     lambda x: (chainrule.exp(2 * x) - 1) / (chainrule.exp(2 * x) + 1)),
    "SigmoidBackward": (activation.SigmoidBackward, chainrule.sigmoid,
                        lambda x: 1 / (1 + chainrule.exp(-x))),
    "ReLUBackward": (activation.ReLUBackward, chainrule.relu,
                     lambda x: chainrule.where(x > 0, x, x * 0.0)),
}


@pytest.mark.parametrize("name", sorted(BACKWARD_GATES))
@pytest.mark.parametrize("seed", [0, 1])
def test_backward_gate_equals_the_composition(name, seed):
    cls, op, composition = BACKWARD_GATES[name]
    x = _input((5, 4), seed)
    v = chainrule.tensor(np.random.default_rng(seed + 9).standard_normal((5, 4)))
    for ours, plain in zip(_derivatives(op, x, v), _derivatives(composition, x, v)):
        np.testing.assert_allclose(ours, plain, rtol=1e-10, atol=1e-12)
    assert cls.__doc__.split("\n")[0].startswith("Kept as a gate"), name
    (g,) = grad(op(x), x, chainrule.ones(5, 4, dtype="float64"), create_graph=True)
    assert any(type(node) is cls for node in _nodes(g)), f"{name} is not what backward builds"
