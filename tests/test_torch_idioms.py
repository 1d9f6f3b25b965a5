"""Short PyTorch-style programs — the device, dtype and module-level idioms scripts paste —
run unedited with ``torch`` bound to chainrule and to PyTorch, their numbers compared.

Each program is source text that only knows the name ``torch`` (and ``np``, ``weights`` and
``path`` where given): ``nn = torch.nn``, ``torch.device(...)``, ``model.to(device)``,
``torch.backends.cudnn.benchmark = True``, ``p.data.add_``, ``.type(torch.FloatTensor)``...
Initial weights come from one NumPy seed through ``load_state_dict`` so that both libraries
start alike.
"""
import textwrap

import numpy
import pytest

import chainrule


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def run(program, library, **names):
    """Run ``program`` with ``torch`` bound to ``library``; returns its globals."""
    scope = {"torch": library, "np": numpy, **names}
    exec(compile(textwrap.dedent(program), "<program>", "exec"), scope)
    return scope


def both(torch, program, **names):
    return run(program, chainrule, **names), run(program, torch, **names)


def _weights(shapes, seed=0):
    rng = numpy.random.default_rng(seed)
    return {name: (rng.standard_normal(shape) * 0.3).astype(numpy.float32)
            for name, shape in shapes.items()}


MLP = """
nn = torch.nn
F = torch.nn.functional

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))

def fresh_model(device):
    model = Net()
    model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
    return model.to(device)
"""
MLP_SHAPES = {"fc1.weight": (8, 4), "fc1.bias": (8,), "fc2.weight": (3, 8), "fc2.bias": (3,)}


def _data(seed=1):
    rng = numpy.random.default_rng(seed)
    return rng.standard_normal((16, 4)).astype(numpy.float32), rng.integers(0, 3, 16)


TRAINING_LOOP = MLP + """
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.deterministic = True
torch.manual_seed(0)
torch.cuda.manual_seed_all(0)
model = fresh_model(device)
x = torch.from_numpy(X).to(device, non_blocking=True)
y = torch.LongTensor(Y).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
losses = []
model.train()
for step in range(5):
    optimizer.zero_grad()
    output = model(x)
    loss = F.cross_entropy(output, y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
model.eval()
with torch.no_grad():
    pred = model(x).argmax(dim=1, keepdim=True)
    correct = pred.eq(y.view_as(pred)).sum().item()
on_device = next(model.parameters()).device.type
final = model.fc2.weight.detach().cpu().numpy()
"""


def test_training_loop_with_a_device_variable(torch):
    x, y = _data()
    mine, theirs = both(torch, TRAINING_LOOP, weights=_weights(MLP_SHAPES), X=x, Y=y)
    numpy.testing.assert_allclose(mine["losses"], theirs["losses"], rtol=1e-5)
    numpy.testing.assert_allclose(mine["final"], theirs["final"], rtol=1e-5, atol=1e-6)
    assert mine["correct"] == theirs["correct"] and mine["on_device"] == "cpu"
    assert isinstance(mine["correct"], int)


OLD_STYLE_LOOP = MLP + """
model = fresh_model("cpu")
x, y = torch.FloatTensor(X.tolist()), torch.LongTensor(Y.tolist())
lr = 0.05
for step in range(4):
    loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)
    for p in model.parameters():
        if p.grad is not None:
            p.grad.data.zero_()
    loss.backward()
    for p in model.parameters():
        p.data.add_(-lr * p.grad.data)
    last = loss.item()
weight = model.fc1.weight.data.numpy().copy()
is_leaf = model.fc1.weight.is_leaf and model.fc1.weight.requires_grad
"""


def test_old_style_parameter_updates_through_data(torch):
    x, y = _data(2)
    mine, theirs = both(torch, OLD_STYLE_LOOP, weights=_weights(MLP_SHAPES, 3), X=x, Y=y)
    assert mine["last"] == pytest.approx(theirs["last"], rel=1e-5)
    numpy.testing.assert_allclose(mine["weight"], theirs["weight"], rtol=1e-5, atol=1e-6)
    assert mine["is_leaf"] and theirs["is_leaf"]


DTYPE_IDIOMS = """
x = torch.tensor([[1.5, -2.25], [0.5, 4.0]])
as_double = x.type(torch.DoubleTensor)
back = as_double.type(torch.FloatTensor)
labels = torch.LongTensor([2, 0, 1])
names = [x.type(), as_double.type(), labels.type(), x.half().type(), x.bfloat16().type()]
zeros = torch.FloatTensor(2, 3).zero_()
like = x.new_zeros(3).tolist() + x.new_ones(2).tolist() + x.new_full((2,), 7.0).tolist()
flags = [x.is_cuda, x.is_floating_point(), labels.is_floating_point(), x.dim(), x.numel(),
         x.element_size(), x.nelement(), x.ndimension(), x.is_contiguous(), x.t().is_contiguous()]
values = [x.sum().item(), x.max().item(), labels.sum().item(), float(x[0, 1]), int(labels[0])]
half_sum = x.half().sum().item()
as_int = x.to(torch.int64).tolist()
to_other = labels.to(x).dtype == x.dtype
strides = [x.stride(), x.t().stride(), x.stride(0)]
torch.set_default_dtype(torch.float64)
default_dtype = str(torch.get_default_dtype()).replace("torch.", "")
made64 = [str(torch.tensor([1.0]).dtype).replace("torch.", ""),
          str(torch.zeros(2).dtype).replace("torch.", ""),
          str(torch.arange(0, 1, 0.5).dtype).replace("torch.", "")]
torch.set_default_dtype(torch.float32)
eps = torch.finfo(torch.float32).eps
int_max = torch.iinfo(torch.int32).max
promoted = str(torch.promote_types(torch.int32, torch.float16)).replace("torch.", "")
"""


def test_dtype_idioms(torch):
    mine, theirs = both(torch, DTYPE_IDIOMS)
    for name in ("names", "like", "flags", "values", "half_sum", "as_int", "to_other",
                 "strides", "default_dtype", "made64", "eps", "int_max", "promoted"):
        assert mine[name] == theirs[name], name
    assert mine["zeros"].tolist() == theirs["zeros"].tolist()
    assert mine["back"].tolist() == theirs["back"].tolist()
    assert chainrule.get_default_dtype() == chainrule.float32


MODULE_LEVEL = """
available = torch.cuda.is_available()
count = torch.cuda.device_count()
device = torch.device("cuda:0" if available else "cpu")
names = [str(device), device.type, repr(torch.device("cuda", 1))]
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.enabled = True
torch.backends.cuda.matmul.allow_tf32 = False
mps = torch.backends.mps.is_available()
accelerator = torch.accelerator.is_available()
bf16 = torch.cuda.is_bf16_supported()
torch.cuda.empty_cache()
memory = torch.cuda.memory_allocated()
x = torch.ones(2, 3, device=device)
moved = x.to(device).cpu()
same = moved is x
where = [x.device.type, x.get_device(), x.is_cuda]

@torch.no_grad()
def evaluate(model, batch):
    return model(batch).requires_grad

with torch.inference_mode():
    inference = (torch.ones(2, requires_grad=True) * 2).requires_grad
no_grad_decorated = evaluate(torch.nn.Linear(3, 1), x)
torch.backends.cudnn.benchmark = False
"""


def test_module_level_names_on_a_cpu_machine(torch):
    mine, theirs = both(torch, MODULE_LEVEL)
    if torch.cuda.is_available() or chainrule.cuda.is_available():
        pytest.skip("the answers below are those of a machine without a GPU")
    for name in ("available", "count", "names", "mps", "accelerator", "bf16", "memory",
                 "same", "where", "inference", "no_grad_decorated"):
        assert mine[name] == theirs[name], name
    assert chainrule.backends.cudnn.benchmark is False


CHECKPOINT = MLP + """
device = torch.device("cpu")
model = fresh_model(device)
torch.save(model.state_dict(), path)
restored = Net()
restored.load_state_dict(torch.load(path, map_location=device))
other = Net()
other.load_state_dict(torch.load(path, map_location=lambda storage, location: storage))
x = torch.from_numpy(X)
outputs = [m(x).detach().numpy() for m in (model, restored, other)]
"""


def test_checkpoint_with_map_location(torch, tmp_path):
    x, _ = _data(4)
    mine = run(CHECKPOINT, chainrule, weights=_weights(MLP_SHAPES), X=x,
               path=str(tmp_path / "chainrule.safetensors"))
    theirs = run(CHECKPOINT, torch, weights=_weights(MLP_SHAPES), X=x,
                 path=str(tmp_path / "torch.pt"))
    for a, b in zip(mine["outputs"], theirs["outputs"]):
        numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_array_equal(mine["outputs"][0], mine["outputs"][1])


REDUCED_PRECISION = MLP + """
model = fresh_model("cpu").to(torch.bfloat16)
x = torch.from_numpy(X).to("cpu", torch.bfloat16)
out = model(x)
dtype = str(out.dtype).replace("torch.", "")
values = out.float().detach().numpy()
half = fresh_model("cpu").half()
half_dtype = str(half.fc1.weight.dtype).replace("torch.", "")
"""


def test_bfloat16_model_forward_is_bit_exact(torch):
    x, _ = _data(5)
    mine, theirs = both(torch, REDUCED_PRECISION, weights=_weights(MLP_SHAPES, 6), X=x)
    assert mine["dtype"] == theirs["dtype"] == "bfloat16"
    numpy.testing.assert_array_equal(mine["values"], theirs["values"])
    assert mine["half_dtype"] == theirs["half_dtype"] == "float16"
