"""The activation, normalisation, embedding, bilinear, shape and dropout layers against
PyTorch 2.13: forward values, input and parameter gradients in float64 with weights copied
from the torch module, over constructor arguments and (un)batched shapes; PyTorch's in-place
semantics, reprs and state_dict names; gradcheck of the functional forms; and the answers
that once differed from PyTorch (padding rows, BatchNorm(momentum=None), NaN in max pooling).
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule
import chainrule.nn as nn
from chainrule.errors import ArgumentError, DeviceError, DTypeError, GraphError, ShapeError
from chainrule.nn import functional as F
from tests.helpers import check

torch = pytest.importorskip("torch")
tF = torch.nn.functional
pytestmark = pytest.mark.torch

RTOL, ATOL = 1e-6, 1e-10
RNG = np.random.default_rng(21)


def normal(*shape):
    return RNG.standard_normal(shape)


def copy_weights(ours, theirs):
    """Load the torch module's parameters and buffers into ours (names must match)."""
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def compare_modules(ours, theirs, *arrays, train=True, seed=0, copy=True):
    """Same weights, same inputs: the outputs, input gradients, parameter gradients and
    buffers after the call agree (``ours``/``theirs`` float64 modules)."""
    theirs = theirs.double()
    ours = ours.double()
    if copy:
        copy_weights(ours, theirs)
    ours.train(train)
    theirs.train(train)
    mine = [chainrule.tensor(a, requires_grad=np.asarray(a).dtype.kind == "f") for a in arrays]
    reference = [torch.tensor(a, requires_grad=np.asarray(a).dtype.kind == "f") for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, expected = ours(*mine), theirs(*reference)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=RTOL, atol=ATOL)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(chainrule.tensor(upstream))
    expected.backward(torch.tensor(upstream))
    for i, (a, b) in enumerate(zip(mine, reference)):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=RTOL, atol=ATOL,
                                       err_msg=f"input {i}")
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        q = their_params[name]
        if q.grad is None:
            assert p.grad is None or not p.grad.numpy().any(), name
            continue
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=name)
    their_state = theirs.state_dict()
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(value.numpy(), their_state[name].numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=name)


def same_layout(ours, theirs):
    """PyTorch's repr, and state_dict names and shapes."""
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]


# ---------------------------------------------------------------- activations

ACTIVATIONS = [
    ("ReLU", ()), ("ReLU", (True,)), ("ReLU6", ()), ("ReLU6", (True,)), ("SELU", ()),
    ("SELU", (True,)), ("CELU", ()), ("CELU", (0.7,)), ("CELU", (1.5, True)), ("ELU", (0.5,)),
    ("ELU", (2.0, True)), ("LeakyReLU", (0.2,)), ("LeakyReLU", (0.1, True)),
    ("Hardtanh", ()), ("Hardtanh", (-0.5, 2.0)), ("Hardtanh", (-2.0, 0.5, True)),
    ("Hardswish", ()), ("Hardswish", (True,)), ("Hardsigmoid", ()), ("Hardsigmoid", (True,)),
    ("Mish", ()), ("Mish", (True,)), ("SiLU", ()), ("SiLU", (True,)), ("Softsign", ()),
    ("LogSigmoid", ()), ("Tanhshrink", ()), ("Hardshrink", ()), ("Hardshrink", (0.2,)),
    ("Softshrink", ()), ("Softshrink", (1.0,)), ("Threshold", (0.1, 20.0)),
    ("Threshold", (-0.5, -2.0, True)), ("Softmin", (1,)), ("Softmin", (0,)), ("Softmax", (1,)),
    ("LogSoftmax", (0,)), ("GLU", ()), ("GLU", (0,)), ("GELU", ("tanh",)),
    ("Softplus", (2.0, 1.0)), ("Sigmoid", ()), ("Tanh", ()), ("RReLU", (0.1, 0.3)),
]


def _activation_id(case):
    return f"{case[0]}{case[1]}"


@pytest.mark.parametrize("name, args", ACTIVATIONS, ids=[_activation_id(c) for c in ACTIVATIONS])
@pytest.mark.parametrize("shape", [(4, 6), (6,), (2, 4, 6)])
def test_activation_modules_match_pytorch(name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    same_layout(ours, theirs)
    if isinstance(getattr(theirs, "dim", None), int) and theirs.dim >= len(shape):
        pytest.skip("dim out of range for this shape (an error in both)")
    x = normal(*shape) * 4
    x.flat[:3] = [0.0, 0.5, -3.0]                    # break points of several activations
    if "inplace" in repr(theirs) or args[-1:] == (True,):
        wrap = (lambda m: lambda t: m(t * 1))       # in place on a non-leaf, as one must
        compare_modules(_Call(wrap(ours)), _TorchCall(wrap(theirs)), x, train=False)
    else:
        compare_modules(ours, theirs, x, train=False)


class _Call(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class _TorchCall(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


@pytest.mark.parametrize("num_parameters, shape", [(1, (4, 3)), (3, (4, 3)), (3, (2, 3, 5)),
                                                   (1, (5,)), (1, ()), (2, (2, 2, 2, 2))])
def test_prelu_matches_pytorch_with_parameter_gradients(num_parameters, shape):
    ours, theirs = nn.PReLU(num_parameters, 0.1), torch.nn.PReLU(num_parameters, 0.1)
    same_layout(ours, theirs)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(RNG.uniform(0, 0.5, num_parameters)))
    compare_modules(ours, theirs, normal(*shape))


def test_prelu_passes_gradcheck_in_input_and_slopes():
    check(F.prelu, chainrule.tensor(normal(3, 2, 2), requires_grad=True),
          chainrule.tensor(np.array([0.3, 0.6]), requires_grad=True))


def test_prelu_refuses_a_channel_mismatch():
    with pytest.raises(ShapeError, match="3 channels"):
        nn.PReLU(2)(chainrule.zeros(4, 3))


INPLACE_FUNCTIONS = [
    ("relu", {}), ("relu6", {}), ("elu", {"alpha": 0.5}), ("selu", {}), ("celu", {"alpha": 2.0}),
    ("leaky_relu", {"negative_slope": 0.3}), ("hardtanh", {"min_val": -0.5, "max_val": 0.5}),
    ("hardsigmoid", {}), ("hardswish", {}), ("mish", {}), ("silu", {}),
    ("threshold", {"threshold": 0.2, "value": -1.0}),
    ("rrelu", {"lower": 0.2, "upper": 0.2}),
]


@pytest.mark.parametrize("name, kwargs", INPLACE_FUNCTIONS, ids=[c[0] for c in INPLACE_FUNCTIONS])
def test_inplace_semantics_match_pytorch(name, kwargs):
    x = normal(3, 4) * 3
    ours, theirs = getattr(F, name), getattr(tF, name)
    # on a plain tensor: the same object comes back, holding the result
    a, b = chainrule.tensor(x.copy()), torch.tensor(x.copy())
    assert ours(a, inplace=True, **kwargs) is a
    theirs(b, inplace=True, **kwargs)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=RTOL, atol=ATOL)
    # on a non-leaf: the gradient flows through the in-place op, and views see it
    leaf, their_leaf = chainrule.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hidden, their_hidden = leaf * 2, their_leaf * 2
    view, their_view = hidden[1], their_hidden[1]
    out, expected = ours(hidden, inplace=True, **kwargs), theirs(their_hidden, inplace=True,
                                                                 **kwargs)
    assert out is hidden
    np.testing.assert_allclose(view.numpy(), their_view.detach().numpy(), rtol=RTOL, atol=ATOL)
    (out * out).sum().backward()
    (expected * expected).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), their_leaf.grad.numpy(), rtol=RTOL, atol=ATOL)
    # on a leaf that requires grad: refused, as PyTorch refuses
    with pytest.raises(RuntimeError):
        theirs(torch.tensor(x, requires_grad=True), inplace=True, **kwargs)
    with pytest.raises(GraphError, match="leaf"):
        ours(chainrule.tensor(x, requires_grad=True), inplace=True, **kwargs)


def test_inplace_activation_keeps_a_saved_input_intact():
    """A node that saved the tensor before the in-place activation notices the change."""
    leaf = chainrule.tensor(normal(4), requires_grad=True)
    hidden = leaf * 1
    squared = hidden * hidden                      # saves hidden
    nn.ReLU(True)(hidden)
    with pytest.raises(chainrule.InplaceError):
        squared.sum().backward()


INPLACE_CASES = ["view_of_a_non_leaf", "column_view", "view_taken_before", "second_order"]


def _inplace_run(lib, fn, x, kwargs, case):
    """``fn`` in place in one of PyTorch's view situations, then a backward pass: the values
    seen and the leaf's gradient (``lib`` is chainrule or torch)."""
    leaf = lib.tensor(x, requires_grad=True)
    hidden = leaf * 1.5
    if case == "view_of_a_non_leaf":
        fn(hidden[1], inplace=True, **kwargs)               # the base sees it, and backprops
        out = hidden
    elif case == "column_view":
        fn(hidden[:, 1:3], inplace=True, **kwargs)
        out = hidden
    elif case == "view_taken_before":
        out = hidden.t()
        fn(hidden, inplace=True, **kwargs)
    else:
        out = fn(hidden, inplace=True, **kwargs)
    if case == "second_order":
        (grad,) = lib.autograd.grad((out ** 3).sum(), [leaf], create_graph=True)
        (grad * grad).sum().backward()
    else:
        (out * out).sum().backward()
    return out.detach().numpy(), leaf.grad.numpy()


@pytest.mark.parametrize("case", INPLACE_CASES)
@pytest.mark.parametrize("name, kwargs", INPLACE_FUNCTIONS, ids=[c[0] for c in INPLACE_FUNCTIONS])
def test_inplace_through_views_and_second_derivatives_matches_pytorch(name, kwargs, case):
    x = normal(3, 4) * 3
    ours = _inplace_run(chainrule, getattr(F, name), x, kwargs, case)
    try:
        theirs = _inplace_run(torch, getattr(tF, name), x, kwargs, case)
    except RuntimeError as error:                 # hardsigmoid: no second derivative there
        assert "not implemented" in str(error) and case == "second_order"
        return
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name, kwargs", INPLACE_FUNCTIONS, ids=[c[0] for c in INPLACE_FUNCTIONS])
def test_inplace_on_a_leaf_under_no_grad_and_on_integers_as_pytorch(name, kwargs):
    x = normal(3, 4) * 3
    leaf, their_leaf = chainrule.tensor(x, requires_grad=True), torch.tensor(x,
                                                                            requires_grad=True)
    with chainrule.no_grad():
        assert getattr(F, name)(leaf, inplace=True, **kwargs) is leaf
    with torch.no_grad():
        getattr(tF, name)(their_leaf, inplace=True, **kwargs)
    np.testing.assert_allclose(leaf.detach().numpy(), their_leaf.detach().numpy(), rtol=RTOL)
    assert leaf.requires_grad and leaf.grad is None
    integers = np.array([-3, -1, 0, 2, 7])
    for inplace in (False, True):
        mine, reference = chainrule.tensor(integers), torch.tensor(integers)
        try:
            expected = getattr(tF, name)(reference, inplace=inplace, **kwargs)
        except (NotImplementedError, RuntimeError):        # no integer kernel in PyTorch
            with pytest.raises(DTypeError, match=name):
                getattr(F, name)(mine, inplace=inplace, **kwargs)
            continue
        out = getattr(F, name)(mine, inplace=inplace, **kwargs)
        assert out.dtype == chainrule.int64 and (out is mine) == inplace
        assert out.tolist() == expected.tolist() and mine.tolist() == reference.tolist()


@pytest.mark.parametrize("name, kwargs", [("leaky_relu", {"negative_slope": -0.3}),
                                          ("elu", {"alpha": -0.5})])
def test_inplace_with_a_negative_slope_gives_the_out_of_place_gradient(name, kwargs):
    """PyTorch refuses this backward (its in-place rule reads the output); chainrule keeps
    the input for it, so the gradient is the out-of-place one (docs/pytorch.md)."""
    x = normal(3, 4) * 3
    leaf, reference = chainrule.tensor(x, requires_grad=True), torch.tensor(x,
                                                                           requires_grad=True)
    hidden = leaf * 1
    getattr(F, name)(hidden, inplace=True, **kwargs)
    hidden.sum().backward()
    getattr(tF, name)(reference, **kwargs).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), reference.grad.numpy(), rtol=RTOL)
    with pytest.raises(RuntimeError, match="negative slope"):
        their_hidden = torch.tensor(x, requires_grad=True) * 1
        getattr(tF, name)(their_hidden, inplace=True, **kwargs)
        their_hidden.sum().backward()


INPLACE_MODULES = [("ReLU", (True,)), ("ReLU6", (True,)), ("SELU", (True,)),
                   ("CELU", (1.0, True)), ("ELU", (1.0, True)), ("LeakyReLU", (0.01, True)),
                   ("Hardtanh", (-1.0, 1.0, True)), ("Hardswish", (True,)),
                   ("Hardsigmoid", (True,)), ("Mish", (True,)), ("SiLU", (True,)),
                   ("RReLU", (0.1, 0.3, True)), ("Threshold", (0.1, 2.0, True))]


@pytest.mark.parametrize("name, args", INPLACE_MODULES, ids=[c[0] for c in INPLACE_MODULES])
def test_every_inplace_module_writes_into_its_input_as_pytorchs(name, args):
    ours, theirs = getattr(nn, name)(*args).eval(), getattr(torch.nn, name)(*args).eval()
    same_layout(ours, theirs)
    x = normal(3, 4) * 3
    mine, reference = chainrule.tensor(x.copy()), torch.tensor(x.copy())
    assert ours(mine) is mine
    theirs(reference)
    np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=RTOL, atol=ATOL)


def test_rrelu_trains_with_random_slopes_from_chainrules_generator():
    x = chainrule.tensor(-np.ones((200, 50)))
    chainrule.manual_seed(3)
    first = nn.RReLU(0.1, 0.3)(x).numpy()
    chainrule.manual_seed(3)
    again = nn.RReLU(0.1, 0.3)(x).numpy()
    np.testing.assert_array_equal(first, again)
    slopes = -first
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.005 and len(np.unique(slopes)) > 1000
    positive = chainrule.tensor(np.ones(5))
    np.testing.assert_array_equal(nn.RReLU()(positive).numpy(), np.ones(5))


def test_softmax2d_matches_pytorch_batched_and_unbatched():
    for shape in [(2, 3, 4, 5), (3, 4, 5)]:
        compare_modules(nn.Softmax2d(), torch.nn.Softmax2d(), normal(*shape))
    with pytest.raises(ArgumentError, match="Softmax2d"):
        nn.Softmax2d()(chainrule.zeros(3, 4))


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_softmax_implicit_dim_is_pytorchs(dim):
    x = normal(2, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = F.softmax(chainrule.tensor(x), dim)
        expected = tF.softmax(torch.tensor(x), dim)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=RTOL)


PIECEWISE = {
    "hardtanh": lambda x: F.hardtanh(x, -0.7, 0.9), "relu6": F.relu6, "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish, "threshold": lambda x: F.threshold(x, 0.3, -1.0),
    "hardshrink": lambda x: F.hardshrink(x, 0.4), "softshrink": lambda x: F.softshrink(x, 0.4),
    "selu": F.selu, "celu": lambda x: F.celu(x, 0.6), "mish": F.mish, "softsign": F.softsign,
    "logsigmoid": F.logsigmoid, "tanhshrink": F.tanhshrink, "glu": F.glu, "softmin": lambda x:
    F.softmin(x, -1), "rrelu": lambda x: F.rrelu(x, 0.1, 0.3),
}


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(sorted(PIECEWISE)),
       shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
       seed=st.integers(0, 100))
def test_activation_functions_pass_gradcheck(name, shape, seed):
    if name == "glu":
        shape = shape[:-1] + (2 * shape[-1],)
    data = np.random.default_rng(seed).uniform(-4, 4, shape)
    data = np.where(np.abs(np.abs(data) - 0.4) < 0.05, data + 0.2, data)   # away from kinks
    check(PIECEWISE[name], chainrule.tensor(data, requires_grad=True))


def test_the_glu_gate_agrees_with_its_composition_to_second_order():
    x = normal(3, 4, 2)
    gate, composed = (chainrule.tensor(x, requires_grad=True) for _ in range(2))
    first, second = chainrule.chunk(composed, 2, 1)
    outputs = [F.glu(gate, 1), first * chainrule.sigmoid(second)]
    grads = []
    for leaf, out in zip((gate, composed), outputs):
        (g,) = chainrule.autograd.grad((out * out * out).sum(), [leaf], create_graph=True)
        (g * g).sum().backward()
        grads.append((out.detach().numpy(), g.detach().numpy(), leaf.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_nan_and_infinity_pass_through_the_piecewise_gates_as_in_pytorch():
    """As PyTorch's vectorised kernels (32 float64 values leave no scalar tail)."""
    x = np.resize([np.nan, np.inf, -np.inf, 0.5, -0.5, 3.0, -3.0, 6.0, 0.0, 1.0, -1.0], 32)
    for name in ["hardtanh", "relu6", "hardsigmoid", "hardswish", "hardshrink", "softshrink"]:
        compare_modules(_Call(getattr(F, name)), _TorchCall(getattr(tF, name)), x)
    compare_modules(_Call(lambda t: F.threshold(t, 0.5, 9.0)),
                    _TorchCall(lambda t: tF.threshold(t, 0.5, 9.0)), x)


MASKED_GRADIENT_GATES = {
    "relu": (), "relu6": (), "hardtanh": (), "hardsigmoid": (), "hardshrink": (),
    "softshrink": (), "threshold": (0.5, 9.0), "hardswish": (), "silu": (), "mish": ()}


@pytest.mark.parametrize("name", sorted(MASKED_GRADIENT_GATES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_infinite_or_negative_gradient_goes_back_as_in_pytorch(name, dtype):
    """PyTorch's kernels answer ``cond ? grad : 0`` where a piecewise gradient is blocked:
    +0.0, even for an infinite upstream gradient (``inf * 0`` would be nan) or a negative one
    (``-2 * 0`` would be -0.0); silu's and mish's are one product (gy times the local slope),
    so an infinite gy gives an infinity, not the nan of a sum of two infinite terms. The
    same infinities, nans and signs of zero as PyTorch, on 64 values (no scalar tail)."""
    args = MASKED_GRADIENT_GATES[name]
    x = np.resize([-2.0, -1.0, -0.25, 0.0, 0.25, 0.75, 1.0, 3.0, 7.0, -7.0, -3.0], 64).astype(dtype)
    gy = np.resize([np.inf, -np.inf, -2.0, -0.0, 3.0], 64).astype(dtype)
    ours = chainrule.tensor(x, requires_grad=True)
    getattr(F, name)(ours, *args).backward(chainrule.tensor(gy))
    theirs = torch.tensor(x, requires_grad=True)
    getattr(tF, name)(theirs, *args).backward(torch.tensor(gy))
    mine, expected = ours.grad.numpy(), theirs.grad.numpy()
    np.testing.assert_allclose(mine, expected, rtol=1e-6, atol=0)     # inf and nan: the same
    np.testing.assert_array_equal(np.signbit(mine), np.signbit(expected))


@pytest.mark.parametrize("name", sorted(set(MASKED_GRADIENT_GATES) - {"hardswish", "silu", "mish"}))
def test_a_masked_bfloat16_gradient_is_plus_zero_bit_for_bit_as_in_pytorch(name):
    """bfloat16 has no NumPy integer view of its own kind: the mask still gives +0.0 (the
    three gates with a computed slope round in bfloat16 here, in float32 in PyTorch)."""
    args = MASKED_GRADIENT_GATES[name]
    x = np.resize([-2.0, -1.0, -0.25, 0.0, 0.25, 0.75, 1.0, 3.0, 7.0, -7.0, -3.0], 64)
    gy = np.resize([np.inf, -np.inf, -2.0, -0.0, 3.0], 64)
    ours = chainrule.tensor(x).to(chainrule.bfloat16).requires_grad_()
    getattr(F, name)(ours, *args).backward(chainrule.tensor(gy).to(chainrule.bfloat16))
    theirs = torch.tensor(x).to(torch.bfloat16).requires_grad_()
    getattr(tF, name)(theirs, *args).backward(torch.tensor(gy).to(torch.bfloat16))
    mine, expected = ours.grad.float().numpy(), theirs.grad.float().numpy()
    np.testing.assert_array_equal(mine, expected)
    np.testing.assert_array_equal(np.signbit(mine), np.signbit(expected))


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2), (3, 3)])
def test_max_pooling_blocks_an_infinite_gradient_to_plus_zero_as_in_pytorch(kernel, stride):
    x = RNG.standard_normal((2, 3, 9, 9))
    gy_shape = tF.max_pool2d(torch.tensor(x), kernel, stride).shape
    gy = np.resize([np.inf, -np.inf, -2.0, 3.0, -1.0], gy_shape)
    ours = chainrule.tensor(x, requires_grad=True)
    F.max_pool2d(ours, kernel, stride).backward(chainrule.tensor(gy))
    theirs = torch.tensor(x, requires_grad=True)
    tF.max_pool2d(theirs, kernel, stride).backward(torch.tensor(gy))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    np.testing.assert_array_equal(np.signbit(ours.grad.numpy()), np.signbit(theirs.grad.numpy()))


# ---------------------------------------------------------------- normalisation

@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_without_bias_matches_pytorch(bias, affine):
    ours, theirs = nn.LayerNorm((3, 4), elementwise_affine=affine, bias=bias), \
        torch.nn.LayerNorm((3, 4), elementwise_affine=affine, bias=bias)
    same_layout(ours, theirs)
    if affine:
        with torch.no_grad():
            theirs.weight.normal_()
    compare_modules(ours, theirs, normal(2, 3, 4))


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (3, 4, 5)), ("InstanceNorm1d", (4, 5)),
                                        ("InstanceNorm2d", (2, 4, 3, 3)),
                                        ("InstanceNorm2d", (4, 3, 3)),
                                        ("InstanceNorm3d", (2, 4, 2, 2, 3))])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("track", [False, True])
def test_instance_norm_matches_pytorch(cls, shape, affine, track):
    ours = getattr(nn, cls)(4, affine=affine, track_running_stats=track, momentum=0.3)
    theirs = getattr(torch.nn, cls)(4, affine=affine, track_running_stats=track, momentum=0.3)
    same_layout(ours, theirs)
    if affine:
        with torch.no_grad():
            theirs.weight.normal_()
            theirs.bias.normal_()
    compare_modules(ours, theirs, normal(*shape))
    compare_modules(ours, theirs, normal(*shape), copy=False)           # running stats move
    compare_modules(ours, theirs, normal(*shape), train=False, copy=False)


def test_norm_and_shape_functions_pass_gradcheck():
    x = chainrule.tensor(normal(2, 3, 4), requires_grad=True)
    w, bias = (chainrule.tensor(normal(3), requires_grad=True) for _ in range(2))
    check(lambda a, g, h: F.instance_norm(a, weight=g, bias=h), x, w, bias)
    check(lambda a: F.local_response_norm(a, 2, alpha=0.5, beta=0.75, k=1.5), x)
    check(lambda a: F.channel_shuffle(a.reshape(2, 6, 2), 3), x)
    check(lambda a, g: F.layer_norm(a, (4,), g), x, chainrule.tensor(normal(4),
                                                                   requires_grad=True))


def test_instance_norm_bias_false_and_channel_check():
    same_layout(nn.InstanceNorm2d(3, affine=True, bias=False),
                torch.nn.InstanceNorm2d(3, affine=True, bias=False))
    with pytest.raises(ArgumentError, match="3 channels"):
        nn.InstanceNorm1d(3, affine=True)(chainrule.zeros(2, 4, 5))


@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(2, 6, 4), (2, 4, 3, 3), (1, 3, 2, 2, 2)])
def test_local_response_norm_matches_pytorch(size, shape):
    ours, theirs = nn.LocalResponseNorm(size, 0.3, 0.6, 2.0), \
        torch.nn.LocalResponseNorm(size, 0.3, 0.6, 2.0)
    same_layout(ours, theirs)
    compare_modules(ours, theirs, normal(*shape))


@pytest.mark.parametrize("kwargs", [dict(momentum=None), dict(track_running_stats=False),
                                    dict(bias=False), dict(momentum=None, affine=False),
                                    dict(momentum=0.3, bias=False)])
@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                        ("BatchNorm2d", (4, 3, 2, 2)),
                                        ("BatchNorm3d", (3, 3, 2, 2, 2))])
def test_batch_norm_options_match_pytorch(kwargs, cls, shape):
    ours, theirs = getattr(nn, cls)(3, **kwargs), getattr(torch.nn, cls)(3, **kwargs)
    same_layout(ours, theirs)
    for step in range(3):
        compare_modules(ours, theirs, normal(*shape), copy=step == 0)
    compare_modules(ours, theirs, normal(*shape), train=False, copy=False)


# ---------------------------------------------------------------- embeddings

@pytest.mark.parametrize("kwargs", [dict(), dict(padding_idx=2), dict(padding_idx=-1),
                                    dict(scale_grad_by_freq=True),
                                    dict(padding_idx=0, scale_grad_by_freq=True),
                                    dict(max_norm=1.0), dict(max_norm=0.5, norm_type=1.0)])
@pytest.mark.parametrize("shape", [(3, 4), (5,), ()])
def test_embedding_matches_pytorch(kwargs, shape):
    ours, theirs = nn.Embedding(6, 3, **kwargs), torch.nn.Embedding(6, 3, **kwargs)
    same_layout(ours, theirs)
    with torch.no_grad():
        theirs.weight.normal_(0, 2)                    # rows above max_norm, a padding row != 0
    ids = RNG.integers(0, 6, shape)
    if ids.ndim:
        ids.flat[:3] = [5, 5, 0][:ids.size]
    compare_modules(ours, theirs, ids)


def test_embedding_from_pretrained_matches_pytorch():
    table = normal(4, 3)
    ours = nn.Embedding.from_pretrained(chainrule.tensor(table), freeze=False, padding_idx=1)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=False, padding_idx=1)
    same_layout(ours, theirs)
    compare_modules(ours, theirs, np.array([[1, 2], [1, 3]]), copy=False)
    frozen = nn.Embedding.from_pretrained(chainrule.tensor(table))
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen.weight.numpy(), table)   # the padding row is kept


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["2d", "offsets", "last_offset"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_matches_pytorch(mode, layout, padding_idx):
    kwargs = dict(mode=mode, padding_idx=padding_idx,
                  include_last_offset=layout == "last_offset")
    ours, theirs = nn.EmbeddingBag(7, 3, **kwargs), torch.nn.EmbeddingBag(7, 3, **kwargs)
    same_layout(ours, theirs)
    if layout == "2d":
        arrays = [RNG.integers(0, 7, (4, 3))]
        arrays[0][1] = 2                                   # a bag of nothing but padding
    else:
        ids = RNG.integers(0, 7, 9)
        ids[:2] = 2
        offsets = np.array([0, 2, 2, 5] + ([9] if layout == "last_offset" else []))
        arrays = [ids, offsets]                           # bag 1 is empty
    compare_modules(ours, theirs, *arrays)


def test_embedding_bag_per_sample_weights_and_max_norm_match_pytorch():
    ids, offsets, weights = np.array([1, 2, 4, 5, 4, 3]), np.array([0, 3]), normal(6)
    ours = nn.EmbeddingBag(6, 3, mode="sum", max_norm=1.0)
    theirs = torch.nn.EmbeddingBag(6, 3, mode="sum", max_norm=1.0)
    theirs = theirs.double()
    ours = ours.double()
    copy_weights(ours, theirs)
    w, tw = chainrule.tensor(weights, requires_grad=True), torch.tensor(weights,
                                                                        requires_grad=True)
    out = ours(chainrule.tensor(ids), chainrule.tensor(offsets), w)
    expected = theirs(torch.tensor(ids), torch.tensor(offsets), tw)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=RTOL)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=RTOL)
    with pytest.raises(ArgumentError, match="mode='sum'"):
        nn.EmbeddingBag(6, 3)(chainrule.tensor(ids), chainrule.tensor(offsets), w)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scales_gradients_by_frequency_as_embedding_does(mode):
    """Each row's gradient divided by its count in the batch (PyTorch 2.13's EmbeddingBag
    divides by the count of another index, see docs/pytorch.md): checked against
    nn.Embedding, whose scale_grad_by_freq PyTorch gets right."""
    ids = np.array([[0, 0, 1, 5], [3, 5, 5, 5]])
    weight = normal(6, 3)
    bag = nn.EmbeddingBag.from_pretrained(chainrule.tensor(weight), freeze=False, mode=mode,
                                          scale_grad_by_freq=True)
    bag(chainrule.tensor(ids)).sum().backward()
    table = torch.nn.Embedding.from_pretrained(torch.tensor(weight), freeze=False,
                                               scale_grad_by_freq=True)
    (table(torch.tensor(ids)).sum(1) / (4 if mode == "mean" else 1)).sum().backward()
    np.testing.assert_allclose(bag.weight.grad.numpy(), table.weight.grad.numpy(), rtol=RTOL)
    unique = np.array([[0, 2], [3, 5]])           # no repeats: PyTorch agrees
    compare_modules(nn.EmbeddingBag(6, 3, mode=mode, scale_grad_by_freq=True),
                    torch.nn.EmbeddingBag(6, 3, mode=mode, scale_grad_by_freq=True), unique)


def test_embedding_functional_forms_pass_gradcheck():
    weight = chainrule.tensor(normal(5, 2), requires_grad=True)
    ids = chainrule.tensor([[0, 3, 3], [4, 1, 0]])
    check(lambda w: F.embedding(ids, w) ** 2, weight)
    for mode in ("sum", "mean", "max"):
        check(lambda w: F.embedding_bag(ids, w, mode=mode, padding_idx=1), weight,
              second=mode != "max")


# ---------------------------------------------------------------- bilinear, shapes, dropout

@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5,), (2, 3), ()])
def test_bilinear_matches_pytorch(bias, shape):
    ours, theirs = nn.Bilinear(3, 4, 2, bias), torch.nn.Bilinear(3, 4, 2, bias)
    same_layout(ours, theirs)
    compare_modules(ours, theirs, normal(*shape, 3), normal(*shape, 4))


def test_bilinear_initialisation_bounds_are_pytorchs():
    layer = nn.Bilinear(16, 3, 200)
    bound = 1 / np.sqrt(16)
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.9 * bound
    check(lambda a, b, w: F.bilinear(a, b, w), chainrule.tensor(normal(2, 2), requires_grad=True),
          chainrule.tensor(normal(2, 3), requires_grad=True),
          chainrule.tensor(normal(2, 2, 3), requires_grad=True))


@pytest.mark.parametrize("dim, size, shape", [(1, (2, 3), (4, 6)), (-1, (2, -1), (3, 4, 8)),
                                              (0, (2, 2), (4,))])
def test_unflatten_matches_pytorch(dim, size, shape):
    same_layout(nn.Unflatten(dim, size), torch.nn.Unflatten(dim, size))
    compare_modules(nn.Unflatten(dim, size), torch.nn.Unflatten(dim, size), normal(*shape))


@pytest.mark.parametrize("groups, shape", [(2, (2, 6, 3)), (3, (1, 6, 2, 2)), (1, (2, 4, 3))])
def test_channel_shuffle_matches_pytorch(groups, shape):
    same_layout(nn.ChannelShuffle(groups), torch.nn.ChannelShuffle(groups))
    compare_modules(nn.ChannelShuffle(groups), torch.nn.ChannelShuffle(groups), normal(*shape))


DROPOUTS = [("Dropout", (8, 50, 50), (8, 50, 50)), ("Dropout1d", (8, 50, 50), (8, 50, 1)),
            ("Dropout1d", (400, 50), (400, 1)), ("Dropout2d", (4, 100, 5, 5), (4, 100, 1, 1)),
            ("Dropout2d", (400, 5, 5), (400, 5, 1)),                # PyTorch: (N, C, L)
            ("Dropout3d", (4, 100, 2, 2, 2), (4, 100, 1, 1, 1)),
            ("AlphaDropout", (8, 50, 50), (8, 50, 50)),
            ("FeatureAlphaDropout", (8, 50, 10), (8, 50, 1))]


@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input")
@pytest.mark.parametrize("name, shape, noise", DROPOUTS,
                         ids=[f"{n}{len(s)}" for n, s, _ in DROPOUTS])
def test_dropout_layers_behave_as_pytorchs(name, shape, noise):
    same_layout(getattr(nn, name)(0.3, True), getattr(torch.nn, name)(0.3, True))
    layer = getattr(nn, name)(0.3)
    x = chainrule.tensor(np.abs(normal(*shape)) + 1)
    if name == "Dropout2d" and len(shape) == 3:
        with pytest.warns(UserWarning, match="3D input"):
            layer(x)
    assert layer.eval()(x) is x
    chainrule.manual_seed(0)
    out = layer.train()(x).numpy()
    chainrule.manual_seed(0)
    np.testing.assert_array_equal(layer(x).numpy(), out)
    dropped = out == (out.min() if name.endswith("AlphaDropout") else 0)
    grouped = dropped.reshape(noise + (-1,)) if noise != shape else dropped[..., None]
    assert (grouped == grouped[..., :1]).all()             # whole channels at a time
    assert abs(dropped.mean() - 0.3) < 0.05
    if name.endswith("AlphaDropout"):
        standard = chainrule.tensor(normal(*shape))
        noisy = layer.train()(standard).numpy()
        assert abs(noisy.mean()) < 0.05 and abs(noisy.std() - 1) < 0.05
    else:
        kept = ~dropped
        np.testing.assert_allclose(out[kept], (x.numpy() / 0.7)[kept])


def test_alpha_dropout_formula_matches_pytorchs_for_the_same_mask():
    """With p = 1 everything is dropped, and the values are PyTorch's."""
    x = normal(3, 4)
    out = F.alpha_dropout(chainrule.tensor(x), 1.0, training=True)
    expected = tF.alpha_dropout(torch.tensor(x), 1.0, training=True)
    np.testing.assert_allclose(out.numpy(), expected.numpy())


def test_dropout_inplace_and_errors():
    x = chainrule.ones(4, 5)
    assert F.dropout(x, 0.5, True, True) is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}
    with pytest.raises(ArgumentError, match="between 0 and 1"):
        nn.Dropout1d(1.5)
    with pytest.raises(ShapeError, match="2-D .* or 3-D"):
        F.dropout1d(chainrule.ones(2, 3, 4, 5))


# ---------------------------------------------------------------- the fixed differences

def test_a_padding_row_set_non_zero_keeps_its_values_and_gets_no_gradient():
    ours, theirs = nn.Embedding(5, 3, padding_idx=-1), torch.nn.Embedding(5, 3, padding_idx=-1)
    assert ours.padding_idx == theirs.padding_idx == 4
    assert not ours.weight.numpy()[4].any()
    with torch.no_grad():
        theirs.weight[4] = torch.tensor([1.0, 2.0, 3.0])
    ids = np.array([[4, 1, 4], [0, 4, 2]])
    compare_modules(ours, theirs, ids)


def test_batch_norm_refuses_input_of_the_wrong_rank_or_width():
    for layer, shape in [(nn.BatchNorm3d(3), (2, 3, 4, 4)), (nn.BatchNorm2d(3), (2, 3, 4)),
                         (nn.BatchNorm1d(3), (2, 4))]:
        with pytest.raises(ArgumentError, match=type(layer).__name__):
            layer(chainrule.zeros(*shape))


@pytest.mark.parametrize("groups, channels, shape", [(2, 4, (3, 4, 5)), (1, 4, (3, 4)),
                                                     (4, 4, (2, 4, 3, 3)),
                                                     (3, 6, (2, 6, 2, 2, 2))])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, True)])
def test_group_norm_matches_pytorch(groups, channels, shape, affine, bias):
    ours = nn.GroupNorm(groups, channels, eps=1e-4, affine=affine, bias=bias)
    theirs = torch.nn.GroupNorm(groups, channels, eps=1e-4, affine=affine, bias=bias)
    same_layout(ours, theirs)
    if affine:
        with torch.no_grad():
            for p in theirs.parameters():
                p.normal_()
    compare_modules(ours, theirs, normal(*shape))


def test_group_norm_refuses_a_channel_mismatch():
    with pytest.raises(ArgumentError, match=r"GroupNorm\(2, 4\).*\(N, 4, \.\.\.\)"):
        nn.GroupNorm(2, 4)(chainrule.zeros(4, 5))
    with pytest.raises(ArgumentError, match="not divisible"):
        nn.GroupNorm(3, 4)


def test_batch_norm_momentum_none_is_the_cumulative_average():
    ours, theirs = nn.BatchNorm1d(2, momentum=None), torch.nn.BatchNorm1d(2, momentum=None)
    batches = [normal(5, 2) + i for i in range(4)]
    for step, batch in enumerate(batches):
        compare_modules(ours, theirs, batch, copy=step == 0)
    np.testing.assert_allclose(ours.running_mean.numpy(),
                               np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-12)


def test_max_pooling_over_nan_routes_the_gradient_as_pytorch():
    x = normal(2, 2, 5, 6)
    x[RNG.random(x.shape) < 0.3] = np.nan
    x[0, 0, :2, :2] = np.nan                                   # a window of nothing but NaN
    x[0, 1, :, :] = np.round(x[0, 1])                         # ties
    for kernel, stride in [(2, 2), (3, 1), (2, 1)]:
        mine = chainrule.tensor(x, requires_grad=True)
        reference = torch.tensor(x, requires_grad=True)
        out, expected = F.max_pool2d(mine, kernel, stride), tF.max_pool2d(reference, kernel,
                                                                          stride)
        np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
        out.sum().backward()
        expected.sum().backward()
        np.testing.assert_array_equal(mine.grad.numpy(), reference.grad.numpy())


# ---------------------------------------------------------------- ONNX

def test_new_gates_export_to_onnx_and_run_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = nn.Sequential(nn.Linear(4, 6), nn.Hardtanh(-0.5, 0.8), nn.Linear(6, 6),
                          nn.Hardswish(), nn.Linear(6, 6), nn.Hardsigmoid(), nn.ReLU6(),
                          nn.Hardshrink(0.1), nn.Softshrink(0.05), nn.Threshold(0.2, -1.0),
                          nn.SELU(), nn.Softsign(), nn.Mish(), nn.PReLU(6), nn.Linear(6, 8),
                          nn.GLU())
    path = chainrule.onnx.export(model, chainrule.randn(3, 4), str(tmp_path / "gates.onnx"))
    session = ort.InferenceSession(path)
    x = chainrule.randn(5, 4) * 3                     # not the traced input: nothing folded
    (out,) = session.run(None, {"input": x.numpy()})
    with chainrule.no_grad():
        np.testing.assert_allclose(out, model.eval()(x).numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- nn.utils, parallel

from chainrule.nn.utils import parametrizations, parametrize  # noqa: E402

PARAMETRIZED = [("Linear", (4, 3)), ("Conv2d", (2, 3, 3))]


def _parametrized_pair(layer, args, how, **kwargs):
    ours, theirs = getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args).double()
    getattr(parametrizations, how)(ours, **kwargs)
    getattr(torch.nn.utils.parametrizations, how)(theirs, **kwargs)
    assert type(ours).__name__ == type(theirs).__name__ == f"Parametrized{layer}"
    same_keys = [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == same_keys
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    return ours, theirs


def _layer_input(layer):
    return normal(5, 4) if layer == "Linear" else normal(2, 2, 5, 5)


@pytest.mark.parametrize("layer, args", PARAMETRIZED)
@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_weight_norm_parametrization_matches_pytorch(layer, args, dim):
    ours, theirs = _parametrized_pair(layer, args, "weight_norm", dim=dim)
    compare_modules(ours, theirs, _layer_input(layer))
    new_weight = normal(*theirs.weight.shape)
    ours.weight = chainrule.tensor(new_weight)               # through right_inverse
    with torch.no_grad():
        theirs.weight = torch.tensor(new_weight)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[name].numpy(), value.numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours.weight.numpy(), new_weight, rtol=RTOL)


@pytest.mark.parametrize("layer, args", PARAMETRIZED)
def test_spectral_norm_parametrization_matches_pytorch(layer, args):
    ours, theirs = _parametrized_pair(layer, args, "spectral_norm")
    x = _layer_input(layer)
    compare_modules(ours, theirs, x)                          # one power step, in training
    compare_modules(ours, theirs, x, copy=False)              # the vectors moved alike
    compare_modules(ours, theirs, x, train=False, copy=False)
    sigma = np.linalg.svd(ours.weight.numpy().reshape(args[1] if layer == "Linear" else 3, -1),
                          compute_uv=False)[0]
    assert abs(sigma - 1) < 0.1


@pytest.mark.filterwarnings("ignore:.*weight_norm. is deprecated")
@pytest.mark.parametrize("layer, args", PARAMETRIZED)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_deprecated_weight_norm_matches_pytorch(layer, args, dim):
    ours = nn.utils.weight_norm(getattr(nn, layer)(*args), dim=dim)
    theirs = torch.nn.utils.weight_norm(getattr(torch.nn, layer)(*args).double(), dim=dim)
    same_layout(ours, theirs)
    compare_modules(ours, theirs, _layer_input(layer))
    nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(theirs)
    same_layout(ours, theirs)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=RTOL)
    with pytest.raises(ArgumentError, match="not found"):
        nn.utils.remove_weight_norm(ours)


def test_remove_parametrizations_keeps_the_value_as_pytorch():
    ours, theirs = _parametrized_pair("Linear", (3, 2), "weight_norm")
    copy_weights(ours, theirs)
    parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert type(ours) is nn.Linear and not parametrize.is_parametrized(ours)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=RTOL)
    other = nn.Linear(3, 2)
    parametrizations.weight_norm(other, "bias")
    assert parametrize.is_parametrized(other, "bias") and not parametrize.is_parametrized(
        ours)                                                # one class per module
    with pytest.raises(ArgumentError, match="no parametrization"):
        parametrize.remove_parametrizations(other, "weight")


def test_gradient_and_vector_utilities_match_pytorch():
    ours, theirs = nn.Linear(3, 2).double(), torch.nn.Linear(3, 2).double()
    copy_weights(ours, theirs)
    x = normal(4, 3)
    (ours(chainrule.tensor(x)) ** 3).sum().backward()
    (theirs(torch.tensor(x)) ** 3).sum().backward()
    assert nn.utils.clip_grad_value_(ours.parameters(), 0.5) is None
    torch.nn.utils.clip_grad_value_(theirs.parameters(), 0.5)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy())
    vector = nn.utils.parameters_to_vector(ours.parameters())
    np.testing.assert_allclose(vector.numpy(), torch.nn.utils.parameters_to_vector(
        theirs.parameters()).detach().numpy())
    assert vector.requires_grad
    nn.utils.vector_to_parameters(chainrule.tensor(np.arange(8.0)), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.arange(8.0, dtype=torch.float64),
                                        theirs.parameters())
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.detach().numpy())
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.utils.vector_to_parameters(np.arange(8.0), ours.parameters())


def test_data_parallel_runs_the_module_as_pytorch_without_gpus():
    ours = nn.DataParallel(nn.Linear(3, 2), device_ids=[0, 1])
    theirs = torch.nn.DataParallel(torch.nn.Linear(3, 2), device_ids=None)
    same_layout(ours, theirs)
    assert isinstance(ours.module, nn.Linear)
    compare_modules(ours, theirs, normal(4, 3))
    out = nn.parallel.data_parallel(ours.module, chainrule.ones(2, 3, dtype=chainrule.float64))
    assert out.shape == (2, 2)


def test_distributed_pytorch_names_in_a_world_of_one():
    from chainrule import distributed
    assert distributed.is_available() and not distributed.is_initialized()
    with pytest.raises(ValueError, match="has not been initialized"):
        distributed.get_rank()
    distributed.init_process_group("gloo", init_method="env://", world_size=1, rank=0)
    try:
        assert (distributed.get_rank(), distributed.get_world_size()) == (0, 1)
        with pytest.raises(ValueError, match="twice"):
            distributed.init_process_group()
        model = nn.parallel.DistributedDataParallel(nn.BatchNorm1d(2), device_ids=None,
                                                    find_unused_parameters=True)
        assert isinstance(model, distributed.DistributedDataParallel)
        assert list(model.state_dict())[0] == "module.weight"
        assert model(chainrule.randn(4, 2)).shape == (4, 2)
        with pytest.raises(ArgumentError, match="device_ids"):
            nn.parallel.DistributedDataParallel(nn.Linear(2, 1), device_ids=[0])
    finally:
        distributed.destroy_process_group()
    assert not distributed.is_initialized()
    with pytest.raises(ArgumentError, match="nccl"):
        distributed.init_process_group("nccl")


# ---------------------------------------------------------------- constructors

import inspect  # noqa: E402

CONSTRUCTORS = """ReLU ReLU6 SELU CELU ELU LeakyReLU Hardtanh Hardswish Hardsigmoid Mish SiLU GELU
    Softplus Softsign LogSigmoid Softmin Softmax LogSoftmax GLU PReLU RReLU Threshold Tanhshrink
    Hardshrink Softshrink Softmax2d Sigmoid Tanh LayerNorm GroupNorm InstanceNorm1d
    InstanceNorm2d InstanceNorm3d LocalResponseNorm BatchNorm1d BatchNorm2d BatchNorm3d RMSNorm
    Embedding EmbeddingBag Bilinear Linear Flatten Unflatten ChannelShuffle Dropout Dropout1d
    Dropout2d Dropout3d AlphaDropout FeatureAlphaDropout L1Loss MSELoss CrossEntropyLoss NLLLoss
    BCELoss BCEWithLogitsLoss HuberLoss SmoothL1Loss KLDivLoss PoissonNLLLoss GaussianNLLLoss
    CosineEmbeddingLoss MarginRankingLoss HingeEmbeddingLoss MultiMarginLoss
    MultiLabelMarginLoss MultiLabelSoftMarginLoss SoftMarginLoss TripletMarginLoss
    TripletMarginWithDistanceLoss CTCLoss PairwiseDistance CosineSimilarity MultiheadAttention
    TransformerEncoderLayer
    TransformerEncoder TransformerDecoderLayer TransformerDecoder Transformer RNNCell LSTMCell
    GRUCell DataParallel""".split()


def _arguments(cls):
    """A constructor's named arguments, their defaults and kinds (PyTorch's ``*args,
    **kwargs`` and chainrule's ``generator=`` extension left out)."""
    def default(value):
        return value.__name__ if callable(value) else repr(value)
    return [(p.name, default(p.default), p.kind) for p in
            inspect.signature(cls.__init__).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "generator"]


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_constructor_arguments_and_defaults_are_pytorchs(name):
    assert _arguments(getattr(nn, name)) == _arguments(getattr(torch.nn, name))


PLACED = [("Linear", (3, 2), {}), ("Bilinear", (2, 3, 4), {}), ("Embedding", (5, 2), {}),
          ("EmbeddingBag", (5, 2), {}), ("PReLU", (), {}), ("LayerNorm", (4,), {}),
          ("GroupNorm", (2, 4), {}), ("BatchNorm3d", (3,), {}),
          ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True}),
          ("RMSNorm", (4,), {}), ("MultiheadAttention", (4, 2), {"kdim": 3}),
          ("TransformerEncoderLayer", (4, 2, 8), {}), ("TransformerDecoderLayer", (4, 2, 8), {}),
          ("Transformer", (4, 2, 1, 1, 8), {}), ("LSTM", (3, 4), {}), ("GRUCell", (3, 4), {})]


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
@pytest.mark.parametrize("name, args, kwargs", PLACED, ids=[c[0] for c in PLACED])
def test_layers_take_device_and_dtype_as_pytorchs(name, args, kwargs):
    ours = getattr(nn, name)(*args, device="cpu", dtype=chainrule.float64, **kwargs)
    theirs = getattr(torch.nn, name)(*args, device="cpu", dtype=torch.float64, **kwargs)
    assert [(k, str(v.dtype)) for k, v in ours.state_dict().items()] == \
        [(k, str(v.dtype).replace("torch.", "")) for k, v in theirs.state_dict().items()]
    assert {str(t.device) for t in ours.state_dict().values()} == {"cpu"}
    with pytest.raises((DeviceError, ArgumentError), match="meta"):
        getattr(nn, name)(*args, device="meta", **kwargs)


@pytest.mark.parametrize("p, keepdim", [(2.0, False), (1.0, True), (3.0, False)])
def test_distance_modules_match_pytorch(p, keepdim):
    compare_modules(nn.PairwiseDistance(p, 1e-6, keepdim), torch.nn.PairwiseDistance(
        p, 1e-6, keepdim), normal(4, 3), normal(4, 3))
    compare_modules(nn.CosineSimilarity(0), torch.nn.CosineSimilarity(0), normal(4, 3),
                    normal(4, 3))
    same_layout(nn.PairwiseDistance(), torch.nn.PairwiseDistance())
    same_layout(nn.TripletMarginWithDistanceLoss(), torch.nn.TripletMarginWithDistanceLoss())
