"""Devices on a machine without a GPU: chainrule.device parsed as torch.device, tensors and
modules moved with .to/.cpu/.cuda, device= on factories, the errors that say what is missing
(no CuPy; CuPy but no GPU), ops on two devices, seeding, load(map_location=), fit(device=)
and ``chainrule train --device``.

The GPU is simulated where a test needs one: a fake ``cupy`` module (two "GPUs" whose arrays
wrap NumPy arrays) stands in for CuPy, so the moves, device bookkeeping and errors run here;
what CuPy itself computes is left to tests/gpu/test_cuda.py.
"""
import pickle
import sys
import types

import numpy
import pytest

import chainrule
from chainrule import backend, nn
from chainrule.errors import (ArgumentError, ArgumentTypeError, CupyMissingError,
                              DeviceError)
from tests.cli.helpers import run_many

GPU_EXTRA = "pip install 'chainrule[gpu]'"


# ---------------------------------------------------------------- a fake CuPy

class FakeDevice:
    """``cupy.cuda.Device``: a context that makes its GPU the current one."""
    current = 0

    def __init__(self, index=None):
        self.id = FakeDevice.current if index is None else int(index)

    def __enter__(self):
        self.previous, FakeDevice.current = FakeDevice.current, self.id
        return self

    def __exit__(self, *exc):
        FakeDevice.current = self.previous

    def use(self):
        FakeDevice.current = self.id


class FakeGpuArray:
    """A "GPU" array: NumPy values, a ``.device`` and ``.get()``, and a module name that
    starts with ``cupy`` (what chainrule reads a device from)."""
    __module__ = "cupy._fake"

    def __init__(self, values, index):
        self.values, self.device = numpy.array(values), FakeDevice(index)

    shape = property(lambda self: self.values.shape)
    dtype = property(lambda self: self.values.dtype)
    ndim = property(lambda self: self.values.ndim)
    size = property(lambda self: self.values.size)

    def get(self):
        return self.values.copy()

    def copy(self):
        return FakeGpuArray(self.values, FakeDevice.current)


def fake_cupy(gpus):
    seeds = []
    cupy = types.ModuleType("cupy")
    cupy.asarray = lambda a: a if isinstance(a, FakeGpuArray) else FakeGpuArray(
        numpy.asarray(a), FakeDevice.current)
    for name in ("zeros", "ones", "full", "empty"):      # factories make "GPU" arrays
        setattr(cupy, name, lambda *a, _make=getattr(numpy, name), **k: FakeGpuArray(
            _make(*a, **k), FakeDevice.current))
    properties = {"name": b"Fake GPU", "major": 9, "minor": 0}
    cupy.cuda = types.SimpleNamespace(
        Device=FakeDevice,
        runtime=types.SimpleNamespace(getDeviceCount=lambda: gpus,
                                      getDeviceProperties=lambda index: properties,
                                      deviceSynchronize=lambda: None))
    cupy.random = types.SimpleNamespace(seed=lambda s: seeds.append((FakeDevice.current, s)))
    cupy.seeds = seeds
    return cupy


@pytest.fixture
def no_cupy(monkeypatch):
    """CuPy not installed (``import cupy`` fails), whatever this machine has."""
    monkeypatch.setitem(sys.modules, "cupy", None)


@pytest.fixture
def restore_backend(monkeypatch):
    """The first tensor moved to a (fake) GPU switches backend.xp to CuPy: undo it after."""
    monkeypatch.setattr(backend, "xp", backend.xp)
    monkeypatch.setattr(backend, "name", backend.name)
    FakeDevice.current = 0


@pytest.fixture
def two_gpus(monkeypatch, restore_backend):
    cupy = fake_cupy(2)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    return cupy


@pytest.fixture
def cupy_without_gpu(monkeypatch, restore_backend):
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(0))


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# ---------------------------------------------------------------- chainrule.device

GOOD_SPECS = [("cpu",), ("cuda",), ("cuda:0",), ("cuda:1",), ("cuda", 0), ("cuda", 3),
              ("cpu", 0), ("cpu:0",), ("mps",), ("meta",), ("cuda:12",)]
BAD_SPECS = [("gpu",), ("CUDA",), ("cuda:-1",), ("cuda:x",), ("cuda: 1",), (" cuda",),
             ("cuda:1:2",), ("cuda:01",), ("cuda", -1), ("cuda", "1"), ("cpu", True),
             (1.0,), (True,), (-1,), ("cuda:1", 2), ("",)]


@pytest.mark.parametrize("spec", GOOD_SPECS)
def test_device_parses_as_torch(torch, spec):
    mine, theirs = chainrule.device(*spec), torch.device(*spec)
    assert (mine.type, mine.index, str(mine), repr(mine)) == \
        (theirs.type, theirs.index, str(theirs), repr(theirs))


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_device_refuses_what_torch_refuses(torch, spec):
    with pytest.raises((RuntimeError, TypeError)):
        torch.device(*spec)
    with pytest.raises((ArgumentError, ArgumentTypeError)) as error:
        chainrule.device(*spec)
    assert "device" in str(error.value)


def test_device_objects():
    d = chainrule.device("cuda:1")
    assert chainrule.device(d) == d and chainrule.device(0) == chainrule.device("cuda", 0)
    assert d != chainrule.device("cuda") and d != "cuda:1"      # as torch: no str equality
    assert {chainrule.device("cpu"): 1}[chainrule.device("cpu")] == 1
    assert pickle.loads(pickle.dumps(d)) == d
    with pytest.raises(ArgumentTypeError, match="index"):
        chainrule.device(d, 2)
    with pytest.raises(ArgumentError, match="cpu and cuda|'cpu' and 'cuda'"):
        chainrule.device("gpu")


# ---------------------------------------------------------------- tensors on the CPU

def test_tensor_device_attributes(torch):
    x, t = chainrule.ones(2), torch.ones(2)
    assert x.device == chainrule.device("cpu") and str(x.device) == str(t.device)
    assert (x.is_cuda, x.is_cpu, x.get_device(), x.is_pinned(), x.is_meta) == \
        (t.is_cuda, t.is_cpu, t.get_device(), t.is_pinned(), t.is_meta)


def test_to_forms():
    x = chainrule.ones(2, 3)
    assert x.to("cpu") is x and x.cpu() is x and x.to(chainrule.device("cpu")) is x
    assert x.to("cpu", non_blocking=True) is x and x.to(x) is x
    copy = x.to("cpu", copy=True)
    assert copy is not x and copy.tolist() == x.tolist()
    assert x.to(chainrule.float64).dtype == chainrule.float64
    assert x.to("cpu", chainrule.float16).dtype == chainrule.float16
    assert x.to(device="cpu", dtype=chainrule.bfloat16).dtype == chainrule.bfloat16
    assert x.to(chainrule.zeros(1, dtype=chainrule.int64)).dtype == chainrule.int64
    assert x.to("cpu", chainrule.float64, True).dtype == chainrule.float64  # non_blocking
    assert x.to("float64").dtype == chainrule.float64       # chainrule's own: a dtype name
    with pytest.raises(ArgumentTypeError, match="unexpected keyword argument 'foo'"):
        x.to(foo=1)
    with pytest.raises(ArgumentTypeError, match="memory_format"):
        x.to(memory_format="channels_last")


def test_to_is_differentiable_and_keeps_the_graph():
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cpu", chainrule.float64)
    (y * y).sum().backward()
    assert x.grad.dtype == chainrule.float32 and x.grad.tolist() == [2.0, 4.0]


FACTORIES = {
    "tensor": lambda d: chainrule.tensor([1.0, 2.0], device=d),
    "zeros": lambda d: chainrule.zeros(2, 3, device=d),
    "ones": lambda d: chainrule.ones((2,), device=d),
    "empty": lambda d: chainrule.empty(2, device=d),
    "full": lambda d: chainrule.full((2,), 1.5, device=d),
    "arange": lambda d: chainrule.arange(4, device=d),
    "linspace": lambda d: chainrule.linspace(0, 1, 5, device=d),
    "logspace": lambda d: chainrule.logspace(0, 1, 3, device=d),
    "eye": lambda d: chainrule.eye(3, device=d),
    "rand": lambda d: chainrule.rand(2, device=d),
    "randn": lambda d: chainrule.randn(2, device=d),
    "randint": lambda d: chainrule.randint(0, 5, (3,), device=d),
    "randperm": lambda d: chainrule.randperm(4, device=d),
    "normal": lambda d: chainrule.normal(0.0, 1.0, (2,), device=d),
    "zeros_like": lambda d: chainrule.zeros_like(chainrule.ones(2), device=d),
    "ones_like": lambda d: chainrule.ones_like(chainrule.ones(2), device=d),
    "full_like": lambda d: chainrule.full_like(chainrule.ones(2), 3.0, device=d),
    "rand_like": lambda d: chainrule.rand_like(chainrule.ones(2), device=d),
    "randn_like": lambda d: chainrule.randn_like(chainrule.ones(2), device=d),
    "randint_like": lambda d: chainrule.randint_like(chainrule.ones(2), 5, device=d),
    "as_tensor": lambda d: chainrule.as_tensor([1.0], device=d),
    "tril_indices": lambda d: chainrule.tril_indices(3, 3, device=d),
    "new_zeros": lambda d: chainrule.ones(2).new_zeros(3, device=d),
    "new_tensor": lambda d: chainrule.ones(2).new_tensor([1.0], device=d),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_take_device(name, no_cupy):
    make = FACTORIES[name]
    for spec in ("cpu", chainrule.device("cpu"), None):
        assert make(spec).device == chainrule.device("cpu")
    with pytest.raises(CupyMissingError, match=r"pip install 'chainrule\[gpu\]'"):
        make("cuda")
    with pytest.raises(DeviceError, match="not supported"):
        make("mps")


def test_like_factories_follow_the_input_device(two_gpus):
    g = chainrule.ones(2).to("cuda:1")
    for like in (chainrule.zeros_like, chainrule.ones_like, chainrule.empty_like):
        assert like(g).device == chainrule.device("cuda", 1)


# ---------------------------------------------------------------- no CuPy, no GPU

CUDA_ASKS = {
    "Tensor.to": lambda: chainrule.ones(2).to("cuda"),
    "Tensor.to(device=)": lambda: chainrule.ones(2).to(device=chainrule.device("cuda", 0)),
    "Tensor.cuda": lambda: chainrule.ones(2).cuda(),
    "Tensor.type": lambda: chainrule.ones(2).type("torch.cuda.FloatTensor"),
    "Module.to": lambda: nn.Linear(2, 1).to("cuda"),
    "Module.cuda": lambda: nn.Linear(2, 1).cuda(),
    "factory": lambda: chainrule.zeros(2, device="cuda:0"),
    "cuda.current_device": lambda: chainrule.cuda.current_device(),
}


@pytest.mark.parametrize("name", sorted(CUDA_ASKS))
def test_cuda_without_cupy_says_what_to_install(name, no_cupy):
    with pytest.raises(CupyMissingError) as error:
        CUDA_ASKS[name]()
    assert GPU_EXTRA in str(error.value)
    assert isinstance(error.value, ImportError) and isinstance(error.value, DeviceError)


@pytest.mark.parametrize("name", sorted(CUDA_ASKS))
def test_cuda_with_cupy_but_no_gpu_is_a_device_error(name, cupy_without_gpu):
    with pytest.raises(DeviceError) as error:
        CUDA_ASKS[name]()
    assert not isinstance(error.value, CupyMissingError)
    assert "GPU" in str(error.value)


def test_cuda_module_answers_as_torch_on_a_cpu_machine(torch, no_cupy):
    assert chainrule.cuda.is_available() is False is torch.cuda.is_available()
    assert chainrule.cuda.device_count() == 0 == torch.cuda.device_count()
    assert chainrule.cuda.is_initialized() is False
    assert chainrule.cuda.memory_allocated() == 0 == torch.cuda.memory_allocated()
    assert chainrule.cuda.is_bf16_supported() is False
    chainrule.cuda.manual_seed(0), chainrule.cuda.manual_seed_all(0), chainrule.cuda.empty_cache()
    assert chainrule.accelerator.is_available() is False is torch.accelerator.is_available()
    assert chainrule.accelerator.current_accelerator() is None
    with pytest.raises(DeviceError, match="accelerator"):
        chainrule.accelerator.current_device_index()
    with pytest.raises(DeviceError, match="pin"):
        chainrule.ones(2).pin_memory()


def test_backends_switches(torch):
    cudnn = chainrule.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == \
        (torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark,
         torch.backends.cudnn.deterministic)
    assert chainrule.backends.mps.is_available() is False is torch.backends.mps.is_available()
    assert chainrule.backends.cuda.matmul.allow_tf32 is torch.backends.cuda.matmul.allow_tf32
    assert cudnn.is_available() is False and cudnn.version() is None


# ---------------------------------------------------------------- a (fake) GPU

def test_tensor_to_gpu_and_back(two_gpus):
    x = chainrule.tensor([1.0, 2.0])
    g = x.to("cuda")
    assert g.device == chainrule.device("cuda", 0) and g.is_cuda and not g.is_cpu
    assert g.get_device() == 0 and g.type() == "torch.cuda.FloatTensor"
    assert backend.name == "cupy"                  # the first move switches the backend
    assert g.to("cuda") is g and g.to("cuda:0") is g and g.cuda() is g
    assert g.to("cuda:1").device == chainrule.device("cuda", 1)
    assert x.cuda(1).device.index == 1 and x.to(1).device.index == 1
    back = g.cpu()
    assert isinstance(back._data, numpy.ndarray) and back.tolist() == [1.0, 2.0]
    assert g.to("cpu").device == chainrule.device("cpu")
    with pytest.raises(DeviceError, match="CUDA device 2 does not exist.*2 GPUs"):
        x.to("cuda:2")
    with pytest.raises(ArgumentError, match="CUDA device"):
        x.cuda("cpu")


def test_gradient_comes_back_to_the_source_device(two_gpus, monkeypatch):
    x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.to("cuda").to("cpu")                   # CPU -> GPU -> CPU, recorded
    assert y.grad_fn is not None
    monkeypatch.setattr(backend, "xp", numpy)    # the fake GPU cannot compute: ops on the CPU
    (y * 2).sum().backward()
    assert isinstance(x.grad._data, numpy.ndarray) and x.grad.tolist() == [2.0, 2.0, 2.0]


def test_module_to_device_keeps_parameter_identity(two_gpus):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    before = dict(model.named_parameters())
    values = {name: p.tolist() for name, p in before.items()}
    optimizer = chainrule.optim.SGD(model.parameters(), lr=0.1)
    model[0].weight.grad = chainrule.ones(4, 3)
    assert model.to("cuda") is model
    for name, p in model.named_parameters():
        assert p is before[name] and p.device == chainrule.device("cuda", 0)
        assert isinstance(p, nn.Parameter) and p.requires_grad
    assert model[0].weight.grad.is_cuda             # gradients travel too
    assert all(b.is_cuda for b in model.buffers())  # running_mean, running_var, ...
    assert optimizer.param_groups[0]["params"][0] is model[0].weight
    model.cuda(1)
    assert model[2].bias.device == chainrule.device("cuda", 1)
    model.cpu()
    assert {name: p.tolist() for name, p in model.named_parameters()} == values
    assert all(p.device == chainrule.device("cpu") for p in model.parameters())
    model.to("cuda", chainrule.float64)
    assert model[0].weight.is_cuda and model[0].weight.dtype == chainrule.float64


def test_two_devices_in_one_op_name_both(two_gpus, monkeypatch):
    g = chainrule.ones(2).to("cuda:1")
    monkeypatch.setattr(backend, "xp", numpy)    # the error comes before any computation
    c = chainrule.ones(2)
    for op in (lambda: c + g, lambda: g * c, lambda: chainrule.maximum(c, g),
               lambda: chainrule.normal(c, g)):
        with pytest.raises(DeviceError) as error:
            op()
        message = str(error.value)
        assert "cpu" in message and "cuda:1" in message and "same device" in message


def test_manual_seed_seeds_every_gpu(two_gpus):
    chainrule.manual_seed(1234)
    assert sorted(two_gpus.seeds) == [(0, 1234), (1, 1234)]
    two_gpus.seeds.clear()
    chainrule.cuda.manual_seed(7)
    assert two_gpus.seeds == [(0, 7)]
    chainrule.manual_seed(2**40 + 5)                # CuPy takes 32-bit seeds
    assert two_gpus.seeds[-1][1] == (2**40 + 5) % 2**32


def test_cuda_module_with_a_gpu(two_gpus):
    assert chainrule.cuda.is_available() and chainrule.cuda.device_count() == 2
    assert chainrule.cuda.get_device_name() == "Fake GPU"
    assert chainrule.cuda.get_device_capability(1) == (9, 0)
    chainrule.cuda.set_device("cuda:1")
    assert chainrule.cuda.current_device() == 1
    chainrule.cuda.set_device(0)
    assert chainrule.accelerator.current_accelerator() == chainrule.device("cuda")
    chainrule.cuda.synchronize()


# ---------------------------------------------------------------- load(map_location=)

@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "w.safetensors"
    chainrule.save({"w": chainrule.arange(6.0).reshape(2, 3), "n": chainrule.tensor([3])},
                   str(path))
    return str(path)


@pytest.mark.parametrize("location", [None, "cpu", chainrule.device("cpu"), {"cpu": "cpu"},
                                      {"cuda:0": "cpu"}, lambda t, where: t,
                                      lambda t, where: None])
def test_load_map_location_forms(saved, location):
    state = chainrule.load(saved, map_location=location)
    assert state["w"].device == chainrule.device("cpu") and state["w"].shape == (2, 3)
    assert state["n"].dtype == chainrule.int64


def test_load_map_location_callable_sees_the_location(saved):
    seen = []
    state = chainrule.load(saved, map_location=lambda t, where: seen.append(where) or t * 2)
    assert seen == ["cpu", "cpu"] and state["w"].tolist()[1] == [6.0, 8.0, 10.0]


def test_load_map_location_cuda(saved, no_cupy):
    with pytest.raises(CupyMissingError, match=r"chainrule\[gpu\]"):
        chainrule.load(saved, map_location="cuda")
    with pytest.raises(ArgumentError, match="gpu"):
        chainrule.load(saved, map_location="gpu")


def test_load_map_location_on_a_gpu(saved, two_gpus):
    state = chainrule.load(saved, map_location="cuda:1")
    assert state["w"].device == chainrule.device("cuda", 1)
    assert state["w"].cpu().tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert chainrule.load(saved, map_location={"cpu": "cuda"})["n"].is_cuda


# ---------------------------------------------------------------- fit, evaluate, predict

def _regression():
    x = numpy.linspace(-1, 1, 32, dtype=numpy.float32).reshape(-1, 1)
    return x, 3 * x + 1


@pytest.mark.parametrize("device", ["cpu", "auto", chainrule.device("cpu"), None])
def test_fit_device(device):
    chainrule.manual_seed(0)
    model = nn.Linear(1, 1)
    weight = model.weight
    history = chainrule.fit(model, nn.MSELoss(), chainrule.optim.SGD(model.parameters(),
                            lr=0.2), _regression(), val_data=_regression(), epochs=30,
                            metrics=(), device=device)
    assert model.weight is weight and model.weight.device == chainrule.device("cpu")
    assert round(model.weight.item(), 1) == 3.0 and not history.diverged
    assert chainrule.evaluate(model, nn.MSELoss(), _regression(), metrics=(),
                              device=device)["loss"] < 1e-2
    assert chainrule.predict(model, _regression()[0], device=device).shape == (32, 1)


def test_fit_cuda_without_cupy_fails_before_training(no_cupy):
    model = nn.Linear(1, 1)
    with pytest.raises(CupyMissingError, match=r"chainrule\[gpu\]"):
        chainrule.fit(model, nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1),
                      _regression(), device="cuda")
    with pytest.raises(ArgumentError):
        chainrule.fit(model, nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1),
                      _regression(), device="gpu")


def test_train_command_device(tmp_path):
    base = ["train", "--dataset", "iris", "--epochs", "1", "--hidden", "8", "--no-progress"]
    auto, cuda, bad = run_many([base + ["--device", "auto"], base + ["--device", "cuda"],
                                base + ["--device", "gpu"]], cwd=tmp_path)
    assert auto.returncode == 0, auto.stderr       # the CPU here ("cpu" is fit's test above)
    if not chainrule.cuda.is_available():
        assert cuda.returncode == 2 and GPU_EXTRA in cuda.stderr and \
            "Traceback" not in cuda.stderr
    assert bad.returncode == 2 and "--device" in bad.stderr and "cuda:N" in bad.stderr
