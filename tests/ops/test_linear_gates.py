"""The Linear gate and its backward gates (TransposedMatMul, BatchSum): values, first and
second derivatives against gradcheck, the composition matmul + add, and PyTorch."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule
from chainrule.ops.linalg import BatchSum, TransposedMatMul
from tests.helpers import check, make

LEADING = [(), (4,), (3, 2), (0,)]      # input shapes (*leading, in_features)


def composition(x, weight, bias=None):
    """The reference: the same math as plain matmul, transpose and add nodes."""
    y = chainrule.matmul(x, weight.mT)
    return y if bias is None else y + bias


@settings(max_examples=15, deadline=None)
@given(lead=st.sampled_from(LEADING), n_in=st.integers(1, 4), n_out=st.integers(1, 4),
       bias=st.booleans())
def test_linear_passes_gradcheck_and_gradgradcheck(lead, n_in, n_out, bias):
    x, w = make(lead + (n_in,), 1), make((n_out, n_in), 2)
    args = (x, w, make((n_out,), 3)) if bias else (x, w)
    check(chainrule.nn.functional.linear, *args)


@pytest.mark.parametrize("lead", LEADING)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_equals_its_composition(lead, bias):
    """Values and gradients as the composition, to the last bit in float64 (the same BLAS
    calls), and gradients of gradients (create_graph) to 1e-12."""
    x, w, b = make(lead + (5,), 1), make((3, 5), 2), make((3,), 3)
    args = (x, w, b) if bias else (x, w)
    upstream = make(lead + (3,), 4, requires_grad=False)
    results = []
    for fn in (chainrule.nn.functional.linear, composition):
        y = fn(*args)
        grads = chainrule.autograd.grad((y * upstream).sum(), args, create_graph=True)
        second = chainrule.autograd.grad(sum((g * g).sum() for g in grads), args,
                                         allow_unused=True)     # none reaches the bias
        results.append([y] + list(grads) + list(second))
    for ours, reference in zip(*results):
        assert (ours is None) == (reference is None)
        if ours is not None:
            np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-12,
                                       atol=1e-12)


@pytest.mark.parametrize("wants", [(True, False, False), (False, True, False),
                                   (False, False, True), (True, True, False)])
def test_linear_computes_only_the_gradients_asked_for(wants):
    x, w, b = (make(shape, i, requires_grad=want)
               for i, (shape, want) in enumerate(zip([(4, 3), (2, 3), (2,)], wants)))
    chainrule.nn.functional.linear(x, w, b).sum().backward()
    for tensor, want in zip((x, w, b), wants):
        assert (tensor.grad is not None) == want


def test_weight_gradient_is_an_owned_contiguous_array():
    layer = chainrule.nn.Linear(3, 2)
    layer(chainrule.ones(4, 3)).sum().backward()
    for p in (layer.weight, layer.bias):
        assert p.grad._data.flags.c_contiguous and p.grad._data.flags.writeable
        assert p.grad._data.base is None


@pytest.mark.parametrize("sa,sb", [((4, 2), (4, 3)), ((1, 1), (1, 5)), ((0, 2), (0, 3))])
def test_transposed_matmul_gate(sa, sb):
    a, b = make(sa, 1), make(sb, 2)
    np.testing.assert_array_equal(TransposedMatMul()(a, b).numpy(), a.numpy().T @ b.numpy())
    check(lambda a, b: TransposedMatMul()(a, b), a, b)


@pytest.mark.parametrize("shape", [(4, 3), (1, 2), (5,)])
def test_batch_sum_gate(shape):
    x = make(shape, 1)
    np.testing.assert_array_equal(BatchSum()(x).numpy(), x.numpy().sum(axis=0))
    check(lambda x: BatchSum()(x), x)


@pytest.mark.parametrize("lead", [(), (4,), (3, 2)])
def test_linear_matches_pytorch_to_second_order(lead):
    torch = pytest.importorskip("torch")
    x, w, b = make(lead + (5,), 1), make((3, 5), 2), make((3,), 3)
    tx, tw, tb = (torch.tensor(t.numpy(), requires_grad=True) for t in (x, w, b))
    y = chainrule.nn.functional.linear(x, w, b)
    ty = torch.nn.functional.linear(tx, tw, tb)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    grads = chainrule.autograd.grad((y * y).sum(), (x, w, b), create_graph=True)
    tgrads = torch.autograd.grad((ty * ty).sum(), (tx, tw, tb), create_graph=True)
    second = chainrule.autograd.grad(sum(g.sum() for g in grads), (x, w, b))
    tsecond = torch.autograd.grad(sum(g.sum() for g in tgrads), (tx, tw, tb))
    for ours, theirs in zip(list(grads) + list(second), list(tgrads) + list(tsecond)):
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("wants", [(True, True, True), (False, True, True), (True, False, False)])
def test_plain_backward_equals_the_recorded_one(dtype, wants):
    """Without create_graph the gradients are computed on the arrays, not through gate
    nodes: the same values, to the last bit."""
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s).astype(dtype) for s in [(6, 4), (3, 4), (3,)]]
    upstream = chainrule.tensor(rng.standard_normal((6, 3)).astype(dtype))
    results = []
    for create_graph in (False, True):
        inputs = [chainrule.tensor(a, requires_grad=w) for a, w in zip(arrays, wants)]
        y = chainrule.nn.functional.linear(*inputs)
        wanted = [t for t in inputs if t.requires_grad]
        results.append(chainrule.autograd.grad(y, wanted, upstream, create_graph=create_graph))
    for plain, recorded in zip(*results):
        assert plain.dtype == recorded.dtype
        np.testing.assert_array_equal(plain.numpy(), recorded.numpy())
