"""load_torch: files written by torch 2.13 read without PyTorch, and hostile files refused.

Hostile files are real pickles that would run code (os.system, eval, exec, subprocess, a
``__reduce__`` reaching a builtin) wrapped as torch.save would wrap them; each test checks
the side effect did not happen. Crafted tensor records (lying sizes, offsets, strides) are
pickled against a stand-in ``faketorch`` module and renamed to ``torch`` in the bytes, so
they need no PyTorch.
"""
import io
import os
import pickle
import subprocess
import sys
import types
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import chainrule
from chainrule.cli.main import main as cli
from chainrule.errors import CheckpointError
from chainrule.io import load_torch
from tests.models.test_gpt import torch_twin as gpt_twin


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return torch


def _plain(value):
    """Nested containers of numpy arrays, from either library's tensors."""
    if isinstance(value, chainrule.Tensor):         # (before torch's: it has .detach too)
        return (value.float() if value.dtype == chainrule.bfloat16 else value).numpy()
    if hasattr(value, "detach"):                    # a torch tensor
        value = value.detach()
        return (value.float() if str(value.dtype) == "torch.bfloat16" else value).numpy()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _assert_same(a, b, where="root"):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape, (where, a.dtype, b.dtype)
        assert np.array_equal(a, b, equal_nan=True), where
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def _round_trip(torch, obj, path, legacy=False):
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    mine = load_torch(path)
    _assert_same(_plain(torch.load(path, weights_only=True)), _plain(mine))
    return mine


# ---------------------------------------------------------------- torch's own files

def _torch_mlp(torch, in_features, hidden, out, batch_norm):
    layers = [torch.nn.Flatten()]
    for size in hidden:
        layers.append(torch.nn.Linear(in_features, size))
        if batch_norm:
            layers.append(torch.nn.BatchNorm1d(size))
        layers += [torch.nn.ReLU(), torch.nn.Dropout(0.1)]
        in_features = size
    return torch.nn.Sequential(*layers, torch.nn.Linear(in_features, out))


def _torch_lenet(torch, in_channels, num_classes, image_size):
    nn = torch.nn
    pad1 = 2 if image_size < 32 else 0
    features = [nn.Conv2d(in_channels, 6, 5, padding=pad1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    flat = nn.Sequential(*features)(torch.zeros(1, in_channels, image_size, image_size)).shape[1]
    return nn.Sequential(*features, nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84),
                         nn.ReLU(), nn.Linear(84, num_classes))


def _torch_resnet(torch, in_channels, num_classes, blocks, width):
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = None
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                              nn.BatchNorm2d(cout))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return torch.relu(out + (x if self.shortcut is None else self.shortcut(x)))

    layers = [nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
              nn.ReLU()]
    channels = width
    for stage, count in enumerate(blocks):
        for i in range(count):
            layers.append(BasicBlock(channels, width * 2 ** stage, 2 if stage and i == 0 else 1))
            channels = width * 2 ** stage
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(channels, num_classes))


GPT_CONFIG = dict(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8)

MODELS = [  # (chainrule model, torch twin, input: a shape of floats, or token ids)
    (lambda: chainrule.models.MLP(12, (16, 8), 3, batch_norm=True, dropout=0.1),
     lambda t: _torch_mlp(t, 12, (16, 8), 3, batch_norm=True), (4, 12)),
    (lambda: chainrule.models.LeNet5(1, 10, image_size=28),
     lambda t: _torch_lenet(t, 1, 10, 28), (2, 1, 28, 28)),
    (lambda: chainrule.models.ResNet(3, 4, blocks=(1, 1), width=8),
     lambda t: _torch_resnet(t, 3, 4, (1, 1), 8), (2, 3, 16, 16)),
    # weight tying: wte.weight and lm_head.weight are one storage in the file
    (lambda: chainrule.models.GPT(**GPT_CONFIG), lambda t: gpt_twin(t, **GPT_CONFIG),
     lambda t: t.randint(0, GPT_CONFIG["vocab_size"], (2, 6))),
]


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("make, make_twin, shape", MODELS, ids=["mlp", "lenet", "resnet", "gpt"])
def test_state_dict_of_every_model_loads_with_pytorch_names(torch, tmp_path, make, make_twin,
                                                            shape, legacy):
    twin = make_twin(torch)
    x = shape(torch) if callable(shape) else torch.randn(*shape)
    twin.train()
    twin(x)                                   # running statistics worth checking
    twin.eval()
    path = tmp_path / "model.pt"
    torch.save(twin.state_dict(), path, _use_new_zipfile_serialization=not legacy)
    model = make()
    model.load_state_dict(load_torch(path))
    model.eval()
    with torch.no_grad():
        expected = twin(x).numpy()
    with chainrule.no_grad():
        got = model(chainrule.tensor(x.numpy())).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_adam_state_dict_reads_back_and_training_continues_in_chainrule(torch, tmp_path):
    twin = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(twin.parameters(), lr=0.01, betas=(0.8, 0.9))
    x, y = torch.randn(5, 3), torch.randn(5, 2)
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.mse_loss(twin(x), y).backward()
        opt.step()
    path = tmp_path / "checkpoint.pt"
    saved = _round_trip(torch, {"model": twin.state_dict(), "optimizer": opt.state_dict(),
                                "epoch": 2}, path)
    assert saved["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.9)
    assert saved["optimizer"]["state"][0]["exp_avg"].shape == (2, 3)

    model = chainrule.nn.Linear(3, 2)
    model.load_state_dict(saved["model"])
    mine = chainrule.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.9))
    mine.load_state_dict(saved["optimizer"])
    for optimizer, loss in ((opt, lambda: torch.nn.functional.mse_loss(twin(x), y)),
                            (mine, lambda: chainrule.nn.functional.mse_loss(
                                model(chainrule.tensor(x.numpy())),
                                chainrule.tensor(y.numpy())))):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    np.testing.assert_allclose(model.weight.numpy(), twin.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_views_of_one_storage_offsets_strides_and_dtypes(torch, tmp_path, legacy):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = {"base": base, "rows": base[1:3], "column": base[:, 2], "transposed": base.t(),
             "strided": base[::2, 1::3], "expanded": base[0:1].expand(3, 6),
             "scalar": base[2, 3], "empty": base[4:]}
    kinds = [torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32,
             torch.int16, torch.int8, torch.uint8, torch.bool]
    if not legacy:          # (torch 2.13 itself cannot read uint16 back from a legacy file)
        kinds.append(torch.uint16)
    dtypes = {str(d): (torch.arange(-3, 5) * 1.75).to(d) for d in kinds}
    loaded = _round_trip(torch, {"views": views, "dtypes": dtypes,
                                 "nested": [(1, 2.5, None, "text", True)], "ints": {3, 4}},
                         tmp_path / "views.pt", legacy)
    assert loaded["dtypes"]["torch.bfloat16"].dtype == chainrule.bfloat16
    assert loaded["dtypes"]["torch.bfloat16"].tolist() == [-5.25, -3.5, -1.75, 0.0, 1.75,
                                                           3.5, 5.25, 7.0]
    assert loaded["dtypes"]["torch.float16"].dtype == np.float16
    loaded["views"]["rows"]._data[0, 0] = -1        # each tensor owns its values
    assert loaded["views"]["base"][1, 0].item() == 6


def test_parameters_keep_requires_grad(torch, tmp_path):
    path = tmp_path / "p.pt"
    torch.save({"w": torch.nn.Parameter(torch.ones(2))}, path)
    w = load_torch(path)["w"]
    assert w.requires_grad and w.is_leaf


# ---------------------------------------------------------------- hostile pickles

def _zip_file(path, data_pkl, storages=(), prefix="archive", compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compress) as archive:
        archive.writestr(f"{prefix}/data.pkl", data_pkl)
        archive.writestr(f"{prefix}/byteorder", "little")
        for key, raw in dict(storages).items():
            archive.writestr(f"{prefix}/data/{key}", raw)
        archive.writestr(f"{prefix}/version", "3\n")
    return path


class _Reduce:
    """Pickles as ``reduced`` (a callable and its arguments), as an attacker's object would."""

    def __init__(self, *reduced):
        self.reduced = reduced

    def __reduce__(self):
        return self.reduced

    def __call__(self):     # pickle insists that the callable of a reduction be callable
        raise AssertionError


def _hostile_payloads(marker):
    touch = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": _Reduce(os.system, (f"touch {marker}",)),
        "eval": _Reduce(eval, (touch,)),
        "exec": _Reduce(exec, (touch,)),
        "subprocess": _Reduce(subprocess.call, (["touch", str(marker)],)),
        "getattr trick": _Reduce(_Reduce(getattr, (_Reduce(__import__, ("os",)), "system")),
                                 (f"touch {marker}",)),
        "builtins.__import__": _Reduce(__import__, ("os",)),
        "inside a state_dict": OrderedDict(weight=[1.0], evil=_Reduce(os.system,
                                                                      (f"touch {marker}",))),
    }


@pytest.mark.parametrize("protocol", [0, 2, 4])
@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_code_execution_attempts_are_refused_and_never_run(tmp_path, protocol, container):
    marker = tmp_path / "pwned"
    for name, payload in _hostile_payloads(marker).items():
        data = pickle.dumps(payload, protocol=protocol)
        path = tmp_path / "evil.pt"
        if container == "zip":
            _zip_file(path, data)
        else:
            path.write_bytes(data)
        with pytest.raises(CheckpointError, match="refusing to load global") as error:
            load_torch(path)
        assert "evil.pt" in str(error.value), name
        assert not marker.exists(), f"{name} ran"
    # the payloads do run under plain pickle: the test would have seen it
    pickle.loads(pickle.dumps(_hostile_payloads(marker)["eval"]))
    assert marker.exists()


def test_refusal_names_the_global(tmp_path):
    path = _zip_file(tmp_path / "evil.pt", pickle.dumps(_Reduce(os.system, ("true",)), 2))
    with pytest.raises(CheckpointError, match=r"refusing to load global (posix|os)\.system"):
        load_torch(path)


def test_a_whole_pickled_model_is_refused_with_a_hint(torch, tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match=r"torch\.nn\.modules\.linear\.Linear.*"
                                              r"save model\.state_dict\(\) instead"):
        load_torch(tmp_path / "model.pt")


@pytest.mark.parametrize("data, problem", [
    # BUILD with slot state on an allowed object
    (b"\x80\x02ccollections\nOrderedDict\n)RN}\x86b.", "refusing to set the state"),
    # BUILD on a set
    (b"\x80\x02c__builtin__\nset\n)R}b.", "refusing to set the state"),
    # _rebuild_from_type_v2 calling an allowed builtin instead of a rebuild function
    (b"\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n(c__builtin__\nset\nctorch\nTensor\n"
     b")NtR.", "malformed tensor record"),
    # an extension code (copyreg's registry), a protocol-5 out-of-band buffer
    (b"\x80\x02\x82\x01.", "not a readable PyTorch pickle"),
    (b"\x80\x05\x97.", "not a readable PyTorch pickle"),
    (b"\x80\x02(" * 100000, "not a readable PyTorch pickle"),
])
def test_pickle_tricks_are_refused(tmp_path, data, problem):
    with pytest.raises(CheckpointError, match=problem):
        load_torch(_zip_file(tmp_path / "trick.pt", data))


# ---------------------------------------------------------------- lying tensor records

def _faketorch():
    """Stand-ins for torch's globals, pickled under the name ``faketorch``."""
    if "faketorch" in sys.modules:
        return sys.modules["faketorch"]
    root, utils = types.ModuleType("faketorch"), types.ModuleType("faketorch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called")
    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "faketorch._utils", \
        "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in ("FloatStorage", "LongStorage"):
        setattr(root, name, type(name, (), {"__module__": "faketorch"}))
    root._utils = utils
    sys.modules.update({"faketorch": root, "faketorch._utils": utils})
    return root


class _StorageRef:
    def __init__(self, key, numel, kind="FloatStorage"):
        self.pid = ("storage", getattr(_faketorch(), kind), key, "cpu", numel)


class _TensorRecord:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, OrderedDict())

    def __reduce__(self):
        return _faketorch()._utils._rebuild_tensor_v2, self.args


class _TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _StorageRef) else None


def _crafted(obj):
    stream = io.BytesIO()
    _TorchPickler(stream, protocol=2).dump(obj)
    return stream.getvalue().replace(b"cfaketorch", b"ctorch")


FOUR_FLOATS = np.arange(4, dtype="<f4").tobytes()


def test_crafted_record_reads_like_torch(tmp_path):
    record = _TensorRecord(_StorageRef("0", 4), 1, (2,), (2,))
    path = _zip_file(tmp_path / "ok.pt", _crafted({"x": record}), {"0": FOUR_FLOATS})
    assert load_torch(path)["x"].tolist() == [1.0, 3.0]


@pytest.mark.parametrize("record, storages, problem", [
    ((0, (2**40,), (1,)), {"0": FOUR_FLOATS}, "reads element"),
    ((0, (2**40, 2**40), (0, 0)), {"0": FOUR_FLOATS}, "refused as too large"),
    ((5, (1,), (1,)), {"0": FOUR_FLOATS}, "reads element 5"),
    ((-1, (1,), (1,)), {"0": FOUR_FLOATS}, "invalid tensor layout"),
    ((0, (2,), (-1,)), {"0": FOUR_FLOATS}, "invalid tensor layout"),
    ((0, (2, 2), (1,)), {"0": FOUR_FLOATS}, "invalid tensor layout"),
    ((0, ("2",), (1,)), {"0": FOUR_FLOATS}, "not a tuple of integers"),
    ((0, (2,), (1,)), {"0": FOUR_FLOATS[:12]}, "holds 12 bytes, the pickle says 16"),
    ((0, (2,), (1,)), {}, "missing record archive/data/0"),
])
def test_lying_sizes_offsets_and_strides_are_refused(tmp_path, record, storages, problem):
    data = _crafted([_TensorRecord(_StorageRef("0", 4), *record)])
    with pytest.raises(CheckpointError, match=problem):
        load_torch(_zip_file(tmp_path / "lie.pt", data, storages))


def test_a_huge_declared_storage_is_refused_before_reading(tmp_path):
    data = _crafted([_TensorRecord(_StorageRef("0", 2**50), 0, (1,), (1,))])
    with pytest.raises(CheckpointError, match="the pickle says"):
        load_torch(_zip_file(tmp_path / "huge.pt", data, {"0": FOUR_FLOATS}))


def _declare_size(path, name, size):
    """Rewrite the uncompressed size a zip declares for entry ``name`` (a bomb's lie)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(name).header_offset
        central = archive.start_dir
    data[local + 22:local + 26] = size.to_bytes(4, "little")
    while data[central:central + 4] == b"PK\x01\x02":
        name_length, extra, comment = (int.from_bytes(data[central + i:central + i + 2],
                                                      "little") for i in (28, 30, 32))
        if data[central + 46:central + 46 + name_length] == name.encode():
            data[central + 24:central + 28] = size.to_bytes(4, "little")
        central += 46 + name_length + extra + comment
    path.write_bytes(bytes(data))


def test_a_zip_bomb_is_refused_before_inflating(tmp_path):
    data = _crafted([_TensorRecord(_StorageRef("0", 2**28), 0, (1,), (1,))])
    path = _zip_file(tmp_path / "bomb.pt", data, {"0": bytes(2**16)}, compress=zipfile.ZIP_DEFLATED)
    _declare_size(path, "archive/data/0", 2**30)
    with pytest.raises(CheckpointError, match="would inflate"):
        load_torch(path)


# ---------------------------------------------------------------- damaged files

@pytest.fixture
def saved_file(torch, tmp_path):
    def write(legacy):
        path = tmp_path / ("legacy.pt" if legacy else "zip.pt")
        torch.save({"w": torch.randn(64, 32), "b": torch.randn(64)}, path,
                   _use_new_zipfile_serialization=not legacy)
        return path.read_bytes()
    return write


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("damage", ["half", "tail", "header", "empty"])
def test_truncated_files_are_refused(saved_file, tmp_path, legacy, damage):
    data = saved_file(legacy)
    cut = {"half": data[:len(data) // 2], "tail": data[:-30], "header": data[:40],
           "empty": b""}[damage]
    path = tmp_path / "cut.pt"
    path.write_bytes(cut)
    with pytest.raises(CheckpointError, match="cut.pt"):
        load_torch(path)


def test_corrupted_storage_bytes_fail_the_zip_checksum(saved_file, tmp_path):
    path = tmp_path / "flipped.pt"
    path.write_bytes(saved_file(False))
    with zipfile.ZipFile(path) as archive:
        start = archive.getinfo("zip/data/0").header_offset + 200   # inside the storage
    data = bytearray(path.read_bytes())
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_torch(path)


@pytest.mark.parametrize("content, problem", [
    (b"not a checkpoint at all", "not a PyTorch checkpoint"),
    (b"PK\x03\x04garbage", "not a readable zip file"),
])
def test_foreign_files_are_refused(tmp_path, content, problem):
    path = tmp_path / "foreign.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=problem):
        load_torch(path)


def test_missing_file_and_foreign_zip(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_torch(tmp_path / "absent.pt")
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(CheckpointError, match="not one written by torch.save"):
        load_torch(path)


# ---------------------------------------------------------------- chainrule convert

def test_convert_writes_safetensors_with_pytorch_names(torch, tmp_path, capsys):
    pytest.importorskip("safetensors")
    twin = _torch_mlp(torch, 4, (5,), 2, batch_norm=True)   # with dropout, as the model
    source, target = tmp_path / "model.pt", tmp_path / "model.safetensors"
    torch.save(twin.state_dict(), source)
    assert cli(["convert", str(source), str(target)]) == 0
    assert "9 tensors" in capsys.readouterr().out
    model = chainrule.models.MLP(4, (5,), 2, batch_norm=True, dropout=0.1)
    model.load_state_dict(chainrule.load(str(target)))
    assert np.array_equal(model.state_dict()["1.weight"].numpy(), twin[1].weight.detach().numpy())

    torch.save({"model": twin.state_dict(), "epoch": 3}, source)
    assert cli(["convert", str(source), str(target)]) == 0
    assert "1 non-tensor values left out" in capsys.readouterr().out
    assert "model.1.weight" in chainrule.load(str(target))


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes(pickle.dumps(_Reduce(os.system, ("true",)), 2)),
     "refusing to load global"),
    (lambda p: p.write_bytes(pickle.dumps({"epoch": 3}, 2)), "not a file written by torch"),
])
def test_convert_errors_are_one_line_with_exit_code_2(tmp_path, capsys, setup, message):
    source = tmp_path / "bad.pt"
    setup(source)
    assert cli(["convert", str(source), str(tmp_path / "out.safetensors")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("chainrule convert:")
    assert not (tmp_path / "out.safetensors").exists()
