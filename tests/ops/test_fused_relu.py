"""A Linear, Conv1d or Conv2d followed by a ReLU as one node (LinearReLU, ConvReLU: what
nn.Sequential runs): relu of the layer's values and gradients, gradcheck and
gradgradcheck over drawn shapes and geometries, PyTorch's Sequential at edge inputs, ONNX
export, and the cases that must not be fused (hooks, subclasses, circular padding)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.ops import linalg
from tests.helpers import check, make


#: the two paths run the same computations, but OpenBLAS may round a float32 product's last
#: bits differently with the operands' place in memory (seen in long runs: a weight gradient
#: of -0.19 summed from terms of about 4 differed by 5e-7): float32 to the summands' ulps
SAME = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-5)}


@st.composite
def cases(draw):
    batch = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))   # 1-D to 3-D
    n_in, n_out = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return batch, n_in, n_out, draw(st.booleans()), draw(st.integers(0, 1000))


def inputs(batch, n_in, n_out, with_bias, seed, dtype="float64"):
    x = make(batch + (n_in,), seed).to(getattr(chainrule, dtype)).detach().requires_grad_()
    w = make((n_out, n_in), seed + 1).to(x.dtype).detach().requires_grad_()
    b = make((n_out,), seed + 2).to(x.dtype).detach().requires_grad_() if with_bias else None
    return x, w, b


@settings(max_examples=30, deadline=None)
@given(case=cases(), dtype=st.sampled_from(["float32", "float64"]))
def test_the_node_gives_relu_of_linears_values(case, dtype):
    x, w, b = inputs(*case, dtype=dtype)
    params = [t for t in (x, w, b) if t is not None]
    fused = linalg.linear_relu(x, w, b)
    assert isinstance(fused.grad_fn, linalg.LinearReLU)
    plain = F.relu(F.linear(x, w, b))
    close = SAME[dtype]
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), **close)
    upstream = chainrule.tensor(np.random.default_rng(case[-1]).standard_normal(fused.shape)
                                .astype(dtype))
    for create_graph in (False, True):          # on arrays, and recorded in chainrule ops
        ours = chainrule.autograd.grad(linalg.linear_relu(x, w, b), params, upstream,
                                       create_graph=create_graph)
        theirs = chainrule.autograd.grad(F.relu(F.linear(x, w, b)), params, upstream)
        for a, c in zip(ours, theirs):
            np.testing.assert_allclose(a.detach().numpy(), c.numpy(), **close)


@settings(max_examples=10, deadline=None)
@given(case=cases())
def test_gradcheck_and_gradgradcheck(case):
    x, w, b = inputs(*case)
    if b is None:
        check(lambda x, w: linalg.linear_relu(x, w), x, w)
    else:
        check(lambda x, w, b: linalg.linear_relu(x, w, b), x, w, b)


def test_second_derivatives_equal_the_unfused_graphs():
    x, w, b = inputs((3,), 4, 2, True, 7)

    def hessian_vector(fn):
        (gw,) = chainrule.autograd.grad((fn(x, w, b) ** 2).sum(), [w], create_graph=True)
        return chainrule.autograd.grad((gw * gw).sum(), [x, w, b])
    for a, c in zip(hessian_vector(linalg.linear_relu),
                    hessian_vector(lambda x, w, b: F.relu(F.linear(x, w, b)))):
        np.testing.assert_allclose(a.numpy(), c.numpy(), **SAME["float64"])


def mlp(dtype=chainrule.float64):
    chainrule.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(inplace=True),
                         nn.Linear(4, 2)).to(dtype)


def test_sequential_runs_linear_then_relu_as_one_node():
    model = mlp()
    y = model(chainrule.randn(5, 3, dtype=chainrule.float64))
    first = y.grad_fn.edges[0]
    assert isinstance(first, linalg.LinearReLU) and isinstance(first.edges[0], linalg.LinearReLU)
    with chainrule.no_grad():                   # inference takes the same path
        assert model(chainrule.ones(1, 3, dtype=chainrule.float64)).grad_fn is None


def test_sequential_fused_and_unfused_give_the_same_values():
    model = mlp(chainrule.float32)
    x = chainrule.randn(6, 3)
    y = model(x)
    y.sum().backward()
    fused = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    h = x
    for layer in model:                         # each module on its own: no fusion
        h = layer(h)
    np.testing.assert_allclose(h.numpy(), y.numpy(), **SAME["float32"])
    h.sum().backward()
    for a, p in zip(fused, model.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), **SAME["float32"])


@pytest.mark.parametrize("hooked", [0, 1])
def test_a_forward_hook_on_either_module_sees_the_intermediate(hooked):
    model = mlp()
    seen = []
    model[hooked].register_forward_hook(lambda module, args, out: seen.append(out))
    model(chainrule.randn(2, 3, dtype=chainrule.float64))
    assert len(seen) == 1 and seen[0].shape == (2, 4)
    first = model[0](chainrule.ones(1, 3, dtype=chainrule.float64))
    assert isinstance(first.grad_fn, linalg.Linear) and \
        not isinstance(first.grad_fn, linalg.LinearReLU)


def test_subclasses_are_not_fused():
    class Shifted(nn.Linear):
        def forward(self, x):
            return super().forward(x) + 1.0

    class Leaky(nn.ReLU):
        def forward(self, x):
            return F.leaky_relu(x, 0.5)
    chainrule.manual_seed(0)
    for first, second in ((Shifted(3, 2), nn.ReLU()), (nn.Linear(3, 2), Leaky())):
        x = chainrule.randn(4, 3)
        expected = second(first(x))
        np.testing.assert_array_equal(nn.Sequential(first, second)(x).numpy(),
                                      expected.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("values", [
    [[0.0, 0.0, 0.0]],                          # pre-activations exactly 0 (bias 0): grad 0
    [[1.0, -2.0, 3.0], [-1.0, 2.0, -3.0]],
    [[np.nan, 1.0, 2.0]],
    [[np.inf, -1.0, 0.5]],
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_pytorchs_sequential_at_edge_inputs(values, dtype):
    torch = pytest.importorskip("torch")
    model = mlp(getattr(chainrule, dtype))
    for layer in model:
        if isinstance(layer, nn.Linear):
            layer.bias.data.zero_()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4),
                                 torch.nn.ReLU(), torch.nn.Linear(4, 2)).to(getattr(torch, dtype))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    x = chainrule.tensor(np.array(values, dtype=dtype), requires_grad=True)
    tx = torch.tensor(np.array(values, dtype=dtype), requires_grad=True)
    y, ty = model(x), theirs(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6, equal_nan=True)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, equal_nan=True)
    for p, (name, q) in zip(model.parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-7,
                                   equal_nan=True, err_msg=name)


def test_onnx_export_of_a_fused_sequential(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    model = mlp(chainrule.float32)
    x = chainrule.randn(2, 3)
    path = chainrule.onnx.export(model, x, str(tmp_path / "mlp.onnx"))
    assert [n.op_type for n in onnx.load(path).graph.node].count("Relu") == 2
    session = ort.InferenceSession(path)
    (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    np.testing.assert_allclose(out, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- Conv1d/Conv2d then ReLU

@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    stride, dilation = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    padding = draw(st.integers(0, 2))
    size = draw(st.integers(dilation * (k - 1) + 1, 7))
    spatial = draw(st.sampled_from([1, 2]))
    return (spatial, c_in, c_out, k, stride, padding, dilation, groups, size, draw(st.booleans()),
            draw(st.integers(0, 1000)))


def conv_inputs(case, dtype="float64"):
    spatial, c_in, c_out, k, stride, padding, dilation, groups, size, with_bias, seed = case
    x = make((2, c_in) + (size,) * spatial, seed).to(getattr(chainrule, dtype)).detach()
    w = make((c_out, c_in // groups) + (k,) * spatial, seed + 1).to(x.dtype).detach()
    b = make((c_out,), seed + 2).to(x.dtype).detach() if with_bias else None
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return spatial, x.requires_grad_(), w.requires_grad_(), \
        (b.requires_grad_() if b is not None else None), options


def plain_conv(spatial, x, w, b, options):
    return (F.conv1d if spatial == 1 else F.conv2d)(x, w, b, **options)


@settings(max_examples=30, deadline=None)
@given(case=conv_cases(), dtype=st.sampled_from(["float32", "float64"]))
def test_conv_relu_gives_relu_of_convs_values(case, dtype):
    from chainrule.ops import conv, conv_nd
    spatial, x, w, b, options = conv_inputs(case, dtype)
    params = [t for t in (x, w, b) if t is not None]
    fused = conv_nd.conv_relu(spatial, x, w, b, **options)
    node = fused.grad_fn if spatial == 2 else fused.grad_fn.edges[0]     # 1-D: squeezed
    assert isinstance(node, conv.ConvReLU)
    plain = F.relu(plain_conv(spatial, x, w, b, options))
    close = SAME[dtype]
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), **close)
    upstream = chainrule.tensor(np.random.default_rng(case[-1]).standard_normal(fused.shape)
                                .astype(dtype))
    for create_graph in (False, True):
        ours = chainrule.autograd.grad(conv_nd.conv_relu(spatial, x, w, b, **options), params,
                                       upstream, create_graph=create_graph)
        theirs = chainrule.autograd.grad(F.relu(plain_conv(spatial, x, w, b, options)), params,
                                         upstream)
        for a, c in zip(ours, theirs):
            np.testing.assert_allclose(a.detach().numpy(), c.numpy(), **close)


@settings(max_examples=8, deadline=None)
@given(case=conv_cases())
def test_conv_relu_gradcheck_and_gradgradcheck(case):
    from chainrule.ops import conv_nd
    spatial, x, w, b, options = conv_inputs(case)
    if b is None:
        check(lambda x, w: conv_nd.conv_relu(spatial, x, w, **options), x, w)
    else:
        check(lambda x, w, b: conv_nd.conv_relu(spatial, x, w, b, **options), x, w, b)


def test_lenet_runs_its_conv_and_linear_pairs_as_fused_nodes_with_the_same_values():
    from chainrule.ops import conv
    chainrule.manual_seed(0)
    net = chainrule.models.LeNet5(1, 10, 28)
    x = chainrule.randn(3, 1, 28, 28)
    y = net(x)
    kinds, stack = [], [y.grad_fn]
    while stack:
        node = stack.pop()
        kinds.append(type(node))
        stack += [e for e in node.edges if e is not None and hasattr(e, "edges")]
    assert kinds.count(conv.ConvReLU) == 2 and kinds.count(linalg.LinearReLU) == 2
    y.sum().backward()
    fused = [p.grad.numpy().copy() for p in net.parameters()]
    net.zero_grad()
    h = x
    for layer in net:
        h = layer(h)
    np.testing.assert_allclose(h.numpy(), y.numpy(), **SAME["float32"])
    h.sum().backward()
    for a, p in zip(fused, net.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), **SAME["float32"])


def test_a_circular_padded_conv_then_relu_is_its_two_ops():
    chainrule.manual_seed(0)
    layer = nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular")
    x = chainrule.randn(1, 2, 5, 5)
    np.testing.assert_array_equal(nn.Sequential(layer, nn.ReLU())(x).numpy(),
                                  F.relu(layer(x)).numpy())


def test_onnx_export_of_lenet_with_fused_convs(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    chainrule.manual_seed(0)
    net = chainrule.models.LeNet5(1, 10, 28).eval()
    x = chainrule.randn(2, 1, 28, 28)
    path = chainrule.onnx.export(net, x, str(tmp_path / "lenet.onnx"))
    assert [n.op_type for n in onnx.load(path).graph.node].count("Relu") == 4
    session = ort.InferenceSession(path)
    (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    np.testing.assert_allclose(out, net(x).detach().numpy(), rtol=1e-4, atol=1e-5)
