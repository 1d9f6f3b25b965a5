"""On an NVIDIA GPU (CuPy): every op family gives the CPU's values and gradients within
float32 tolerance, each model in chainrule.models trains a few steps as on the CPU, and a
checkpoint goes GPU -> CPU -> GPU. Skipped where ``chainrule.cuda.is_available()`` is False
(CI, machines without CuPy or a GPU); run on a GPU machine with
``pip install 'chainrule[gpu]' && python -m pytest -m gpu tests/gpu``.

chainrule computes with one array module at a time (``backend.xp``), so each CPU reference
is computed under the NumPy backend and the same code then runs under CuPy's.
"""
import contextlib

import numpy
import pytest

import chainrule
from chainrule import backend, nn
from chainrule.errors import DeviceError
from chainrule.models import GPT, MLP, LeNet5, ResNet
import chainrule.nn.functional as F

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not chainrule.cuda.is_available(),
                                 reason="needs CuPy and an NVIDIA GPU "
                                        "(pip install 'chainrule[gpu]')")]


@pytest.fixture(autouse=True, scope="module")
def numpy_after():
    yield
    backend.use("numpy")


@contextlib.contextmanager
def on(name):
    previous = backend.name
    backend.use(name)
    try:
        yield
    finally:
        backend.use(previous)


def host(t):
    return backend.to_numpy(t._data)


def _run(fn, arrays, device):
    """fn on tensors made from ``arrays`` on ``device``: (output, input gradients)."""
    inputs = [chainrule.tensor(a, device=device, requires_grad=a.dtype.kind == "f")
              for a in arrays]
    out = fn(*inputs)
    weights = chainrule.tensor(numpy.random.default_rng(9).standard_normal(out.shape)
                               .astype(out.dtype), device=device)
    if out.requires_grad:
        (out * weights).sum().backward()
    return out, [x.grad for x in inputs]


def parity(fn, *arrays, rtol=1e-4, atol=1e-5):
    with on("numpy"):
        expected, expected_grads = _run(fn, arrays, "cpu")
    with on("cupy"):
        got, grads = _run(fn, arrays, "cuda")
        assert got.is_cuda and got.device == chainrule.device("cuda", 0)
        numpy.testing.assert_allclose(host(got), host(expected), rtol=rtol, atol=atol)
        for g, e in zip(grads, expected_grads):
            assert (g is None) == (e is None)
            if g is not None:
                assert g.is_cuda
                numpy.testing.assert_allclose(host(g), host(e), rtol=rtol, atol=atol)


def _normal(*shape, seed=0):
    return numpy.random.default_rng(seed).standard_normal(shape).astype(numpy.float32)


OPS = {
    # elementwise
    "add/mul/div": (lambda a, b: (a + b) * a / (b.abs() + 1), [(4, 5), (5,)]),
    "exp/log/tanh": (lambda a: a.exp() + (a.abs() + 1).log() + a.tanh(), [(3, 7)]),
    "pow/sqrt/sigmoid": (lambda a: (a.abs() + 0.5) ** 1.5 + a.sigmoid(), [(6,)]),
    "where/clamp": (lambda a, b: chainrule.where(a > 0, a, b).clamp(-0.5, 0.5), [(4,), (4,)]),
    # reductions
    "sum/mean/var": (lambda a: a.sum(1) + a.mean(0).sum() + a.var(1), [(5, 6)]),
    "max/logsumexp": (lambda a: a.amax(1) + chainrule.logsumexp(a, dim=1), [(5, 6)]),
    "softmax": (lambda a: F.softmax(a, dim=-1) * F.log_softmax(a, dim=-1), [(3, 8)]),
    "cumsum": (lambda a: a.cumsum(1), [(3, 8)]),
    # matmul
    "matmul": (lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(6, 4), (3, 4), (3,)]),
    # conv, pooling
    "conv2d": (lambda x, w: F.conv2d(x, w, stride=2, padding=1), [(2, 3, 9, 9), (4, 3, 3, 3)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [(2, 3, 8, 8)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, stride=2), [(2, 3, 9, 9)]),
    # norms
    "layer_norm": (lambda x: F.layer_norm(x, (6,)), [(4, 6)]),
    "batch_norm": (lambda x: F.batch_norm(x, None, None, training=True), [(5, 3, 4, 4)]),
    # losses
    "mse_loss": (lambda a, b: F.mse_loss(a, b), [(4, 3), (4, 3)]),
    "bce_with_logits": (lambda a, b: F.binary_cross_entropy_with_logits(a, b.sigmoid()),
                        [(4, 3), (4, 3)]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_parity(name):
    fn, shapes = OPS[name]
    parity(fn, *[_normal(*shape, seed=i) for i, shape in enumerate(shapes)])


def test_cross_entropy_parity():
    targets = numpy.array([0, 2, 1, 2])
    parity(lambda logits, t: F.cross_entropy(logits, t), _normal(4, 3), targets)
    parity(lambda logits, t: F.nll_loss(F.log_softmax(logits, dim=1), t), _normal(4, 3),
           targets)


@pytest.mark.parametrize("make", [lambda p: chainrule.optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: chainrule.optim.Adam(p, lr=0.01),
                                  lambda p: chainrule.optim.AdamW(p, lr=0.01)])
def test_optimizer_step_parity(make):
    def steps(device):
        chainrule.manual_seed(0)
        model = nn.Linear(4, 3).to(device)
        optimizer = make(model.parameters())
        x = chainrule.tensor(_normal(8, 4), device=device)
        for _ in range(3):
            optimizer.zero_grad()
            (model(x) ** 2).mean().backward()
            optimizer.step()
        assert all(p.device.type == chainrule.device(device).type for p in model.parameters())
        return [host(p) for p in model.parameters()]
    with on("numpy"):
        expected = steps("cpu")
    with on("cupy"):
        got = steps("cuda")
    for g, e in zip(got, expected):
        numpy.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- the models

def _image_batch(channels, size, classes, n=8):
    return _normal(n, channels, size, size), numpy.arange(n) % classes


MODEL_CASES = {
    "mlp": (lambda: MLP(8, hidden=(16, 16), out_features=3), (_normal(16, 8),
                                                               numpy.arange(16) % 3)),
    "lenet": (lambda: LeNet5(1, 4, image_size=28), _image_batch(1, 28, 4)),
    "resnet": (lambda: ResNet(3, 4, blocks=(1, 1), width=8), _image_batch(3, 16, 4, n=4)),
    "gpt": (lambda: GPT(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16),
            (numpy.arange(32).reshape(4, 8) % 11, (numpy.arange(32).reshape(4, 8) + 1) % 11)),
}


def _train(name, device, steps=3):
    build, (x, y) = MODEL_CASES[name]
    chainrule.manual_seed(0)
    model = build().to(device)
    optimizer = chainrule.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = chainrule.tensor(x, device=device), chainrule.tensor(y, device=device)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, losses


@pytest.mark.parametrize("name", sorted(MODEL_CASES))
def test_model_trains_on_the_gpu_as_on_the_cpu(name):
    with on("numpy"):
        _, expected = _train(name, "cpu")
    with on("cupy"):
        model, losses = _train(name, "cuda")
        assert all(p.is_cuda for p in model.parameters())
    assert all(numpy.isfinite(losses)) and losses[-1] < losses[0]
    numpy.testing.assert_allclose(losses, expected, rtol=2e-3)


def test_fit_on_the_gpu():
    with on("cupy"):
        chainrule.manual_seed(0)
        model = MLP(8, hidden=(16,), out_features=3)
        history = chainrule.fit(model, nn.CrossEntropyLoss(),
                                chainrule.optim.Adam(model.parameters(), lr=0.01),
                                (_normal(64, 8), numpy.arange(64) % 3), epochs=2,
                                device="cuda")
        assert all(p.is_cuda for p in model.parameters())
        assert not history.diverged


# ---------------------------------------------------------------- checkpoints, devices

def test_checkpoint_gpu_to_cpu_and_back(tmp_path):
    path = str(tmp_path / "model.safetensors")
    x = _normal(5, 8)
    with on("cupy"):
        chainrule.manual_seed(0)
        model = MLP(8, hidden=(16,), out_features=3).to("cuda")
        expected = host(model(chainrule.tensor(x, device="cuda")))
        chainrule.save(model.state_dict(), path)
        on_cpu = chainrule.load(path, map_location="cpu")
        assert all(not t.is_cuda for t in on_cpu.values())
        for name, p in model.state_dict().items():
            numpy.testing.assert_array_equal(host(on_cpu[name]), host(p))
        fresh = MLP(8, hidden=(16,), out_features=3).to("cuda")
        fresh.load_state_dict(chainrule.load(path, map_location="cuda"))
        assert all(p.is_cuda for p in fresh.parameters())
        numpy.testing.assert_allclose(host(fresh(chainrule.tensor(x, device="cuda"))),
                                      expected, rtol=1e-6)
    with on("numpy"):
        cpu_model = MLP(8, hidden=(16,), out_features=3)
        cpu_model.load_state_dict(chainrule.load(path, map_location="cpu"))
        numpy.testing.assert_allclose(host(cpu_model(chainrule.tensor(x))), expected,
                                      rtol=1e-4, atol=1e-6)


def test_devices_on_a_real_gpu():
    import cupy
    with on("numpy"):
        c = chainrule.ones(3)                            # a CPU tensor among GPU ones
    with on("cupy"):
        g = chainrule.ones(3, device="cuda")
        assert g.device == chainrule.device("cuda", 0) and g.is_cuda
        assert isinstance(g._data, cupy.ndarray) and g.type() == "torch.cuda.FloatTensor"
        assert g.cpu().tolist() == [1.0, 1.0, 1.0] and g.to("cuda") is g
        with pytest.raises(DeviceError, match="cpu.*cuda:0|cuda:0.*cpu"):
            g + c
        chainrule.manual_seed(5)
        first = cupy.random.rand(3).get()
        chainrule.manual_seed(5)
        numpy.testing.assert_array_equal(cupy.random.rand(3).get(), first)
        assert chainrule.cuda.get_device_name() and chainrule.cuda.memory_allocated() >= 0
        chainrule.cuda.synchronize()
