"""docs/errors.md, entries 47-66 (checkpoint files, fit and DivergenceGuard, distributed
options, the lessons): each entry's message, produced the way a user meets it. Entries 59-61
(a rank that fails, leaves or freezes) need mpiexec: tests/distributed/test_ending.py."""
import json
import os
import pathlib
import re
import struct
import warnings

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.errors import (ArgumentError, ArgumentTypeError, CheckpointError, ConfigError,
                              DTypeError)

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "errors.md"
pytest.importorskip("safetensors")


def _documented(entry):
    """The 'what you get' cell of an entry, as the page shows it."""
    for row in DOCS.read_text(encoding="utf-8").splitlines():
        if row.startswith(f"| {entry} |"):
            return row
    raise AssertionError(f"docs/errors.md has no entry {entry}")


def _raises(error, call, entry):
    """Run ``call``; its message must be one the entry documents (quoted up to '...')."""
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    quoted = re.findall(r"`([^`]+)`", _documented(entry))
    assert any(_matches(message, q) for q in quoted), (message, quoted)
    return message


def _matches(message, quoted):
    quoted = re.sub(r"^\w+Error: ", "", quoted)
    parts = [p.strip() for p in re.split(r"\.\.\.|…", quoted) if p.strip()]
    return bool(parts) and all(p in message for p in parts)


def _header_file(path, header, data=b""):
    text = header if isinstance(header, bytes) else header.encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return str(path)


def _entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


DATA = np.arange(2, dtype=np.float32).tobytes()


# ---------------------------------------------------------------- checkpoint files (47-53)

def test_47_a_fifo_device_directory_or_missing_path(tmp_path, monkeypatch):
    os.mkfifo(tmp_path / "pipe.safetensors")
    (tmp_path / "folder.safetensors").mkdir()
    monkeypatch.chdir(tmp_path)
    for path in ("pipe.safetensors", "/dev/zero", "folder.safetensors", "missing.safetensors"):
        _raises(CheckpointError, lambda: chainrule.load(path), 47)


def test_48_not_safetensors_or_truncated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "claims.safetensors").write_bytes(struct.pack("<Q", 50) + b"{}")
    _raises(CheckpointError, lambda: chainrule.load("claims.safetensors"), 48)
    _header_file(tmp_path / "padded.safetensors", json.dumps({"t": _entry()}), DATA + b"\0")
    _raises(CheckpointError, lambda: chainrule.load("padded.safetensors"), 48)


def test_49_a_forged_header(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = {
        "deep": ('{"a": ' + "[" * 100 + "]" * 100 + "}", b""),
        "dup": ('{"t": %s, "t": %s}' % (json.dumps(_entry()), json.dumps(_entry())), DATA),
        "dtype": (json.dumps({"t": _entry(dtype="F8_E9")}), DATA),
        "shape": (json.dumps({"t": _entry(shape=[-2])}), DATA),
        "outside": (json.dumps({"t": _entry(offsets=(0, 800))}), DATA),
        "span": (json.dumps({"t": _entry(shape=(3,))}), DATA),
        "overlap": (json.dumps({"t": _entry(), "u": _entry()}), DATA + DATA),
        "gap": (json.dumps({"t": _entry(offsets=(8, 16))}), DATA + DATA),
    }
    for name, (header, data) in cases.items():
        path = _header_file(tmp_path / f"{name}.safetensors", header, data)
        _raises(CheckpointError, lambda: chainrule.load(os.path.basename(path)), 49)


def test_50_a_model_description_that_lies(tmp_path, monkeypatch):
    from chainrule.io.checkpoint import model_from_description
    monkeypatch.chdir(tmp_path)
    model = chainrule.models.MLP(4, [3], 2)
    for name, config in (("wide", {"in_features": 64, "hidden": [200000], "out_features": 10}),
                         ("zero", {"in_features": 4, "hidden": [0], "out_features": 2})):
        chainrule.save_checkpoint(f"{name}.safetensors", model=model,
                                  extra={"model": {"type": "mlp", **config}})
        _raises(CheckpointError, lambda: model_from_description(f"{name}.safetensors"), 50)
    _raises(CheckpointError, lambda: model_from_description("wide.safetensors", max_bytes=1000),
            50)


def test_51_a_plain_state_dict_is_not_a_training_checkpoint(tmp_path, monkeypatch):
    from chainrule.io.checkpoint import model_from_description
    monkeypatch.chdir(tmp_path)
    chainrule.save({"w": chainrule.zeros(2)}, "weights.safetensors")
    _raises(CheckpointError, lambda: model_from_description("weights.safetensors"), 51)


def _adam_checkpoint():
    model = nn.Linear(3, 4)
    adam = optim.Adam(model.parameters())
    model(chainrule.ones(2, 3)).sum().backward()
    adam.step()
    chainrule.save_checkpoint("adam.safetensors", model=model, optimizer=adam)
    return model, adam


def test_52_a_checkpoint_of_another_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _adam_checkpoint()
    _raises(CheckpointError, lambda: chainrule.load_checkpoint("adam.safetensors",
                                                               nn.Linear(4, 16)), 52)


def test_53_another_optimizer_or_a_forged_optimizer_state(tmp_path, monkeypatch):
    from chainrule.io.checkpoint_state import check_optimizer
    monkeypatch.chdir(tmp_path)
    model, adam = _adam_checkpoint()
    sgd = optim.SGD(model.parameters(), lr=0.1)
    _raises(CheckpointError, lambda: chainrule.load_checkpoint("adam.safetensors", model, sgd),
            53)
    small = optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
    saved = small.state_dict()
    saved["state"] = {-1: {"momentum_buffer": None}}
    _raises(CheckpointError, lambda: check_optimizer("c.safetensors", small, saved, "SGD"), 53)
    adam.state[next(iter(adam.state))]["exp_avg"] = np.zeros((7, 7), np.float32)
    chainrule.save_checkpoint("c.safetensors", model=model, optimizer=adam)
    fresh = nn.Linear(3, 4)
    _raises(CheckpointError, lambda: chainrule.load_checkpoint(
        "c.safetensors", fresh, optim.Adam(fresh.parameters())), 53)


# ---------------------------------------------------------------- fit (54-58)

def _fit(model=None, data=None, opt=None, **options):
    model = model or nn.Linear(2, 1)
    opt = opt or optim.SGD(model.parameters(), lr=0.1)
    if data is None:
        data = (np.ones((5, 2), np.float32), np.ones((5, 1), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return chainrule.fit(model, nn.MSELoss(), opt, data, metrics=(), **options)


def test_54_no_full_batch_in_an_epoch():
    loader = chainrule.data.DataLoader(chainrule.data.TensorDataset(
        np.ones((5, 2), np.float32), np.ones((5, 1), np.float32)), batch_size=8, drop_last=True)
    _raises(ArgumentError, lambda: _fit(data=loader), 54)


def test_55_float16_parameters():
    model = nn.Linear(2, 1).to(chainrule.float16)
    _raises(DTypeError, lambda: _fit(model=model, opt=optim.Adam(model.parameters())), 55)


def test_56_a_checkpoint_directory_or_csv_log_that_cannot_be_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _raises(ConfigError, lambda: _fit(checkpoint_dir="/proc/nope"), 56)
    _raises(ConfigError, lambda: _fit(callbacks=[chainrule.train.CSVLogger(
        "/proc/nope/log.csv")]), 56)
    _raises(ConfigError, lambda: _fit(callbacks=[chainrule.train.CSVLogger(".")]), 56)


def test_57_wrong_arguments_to_fits_callbacks():
    _raises(ArgumentTypeError, lambda: _fit(checkpoint="x"), 57)
    _raises(ArgumentError, lambda: chainrule.train.DivergenceGuard(patience=0), 57)


def test_58_the_reasons_training_stops():
    documented = _documented(58)
    x = np.ones((8, 2), np.float32)
    x[3, 1] = np.nan
    nan_data = _fit(data=(x, np.ones((8, 1), np.float32)), batch_size=4)
    model = nn.Linear(2, 1)
    nan_lr = _fit(model=model, opt=optim.SGD(model.parameters(), lr=float("nan")), epochs=3)
    rng = np.random.default_rng(0)
    model = nn.Linear(2, 1)
    huge_lr = _fit(model=model, opt=optim.SGD(model.parameters(), lr=1e6), epochs=5,
                   batch_size=8, data=(rng.normal(size=(64, 2)).astype(np.float32),
                                       rng.normal(size=(64, 1)).astype(np.float32)))
    model = nn.Linear(2, 1)
    with chainrule.no_grad():
        model.weight.fill_(float("nan"))
    nan_weights = _fit(model=model)
    for history, phrases in (
            (nan_data, ["because the inputs of that batch hold NaN/inf", "(dataset index 3)",
                        "it is not the learning rate"]),
            (nan_lr, ["the learning rate is lr=nan", "use a finite learning rate"]),
            (huge_lr, ["the loss exploded to", "the learning rate (lr=1e+06) is probably too "
                                               "large — try lr=100000"]),
            (nan_weights, ["the model's weights hold NaN/inf before training started"])):
        assert history.diverged, history.stop_reason
        for phrase in phrases:
            assert phrase in history.stop_reason and phrase in documented, phrase


# ---------------------------------------------------------------- distributed options (62)

def test_62_a_bad_timeout_or_bucket_size():
    from chainrule import distributed
    from chainrule.distributed.liveness import timeout_seconds
    _raises(ArgumentError, lambda: timeout_seconds(-1), 62)
    _raises(ArgumentError, lambda: distributed.DistributedDataParallel(
        nn.Linear(3, 2), bucket_cap_mb=0), 62)


# ---------------------------------------------------------------- the lessons (63-66)

def test_63_to_66_lesson_commands(tmp_path):
    from tests.cli.helpers import assert_user_error, run_many
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n2,abc\n")
    (tmp_path / "wide.csv").write_text("x,y\n1,2,3\n")
    cases = [
        (63, ["explain", "--set", "x=1", "--", "+".join(["x"] * 5001)]),
        (63, ["explain", "--set", "x=1", "--", "-" * 200 + "x"]),
        (63, ["explain", "1" * 41]),
        (65, ["sheet", "--data", "bad.csv"]),
        (65, ["sheet", "--data", "wide.csv"]),
        (65, ["sheet", "--data", "nope.csv"]),
        (66, ["graph", "--out", "x.bmp"]),
    ]
    for (entry, _), result in zip(cases, run_many([argv for _, argv in cases], cwd=tmp_path)):
        assert_user_error(result)
        message = result.stderr.splitlines()[0].split(": error: ", 1)[1]
        quoted = re.findall(r"`([^`]+)`", _documented(entry))
        assert any(_matches(message, re.sub(r"^chainrule \w+: error: ", "", q))
                   for q in quoted), (message, quoted)


def test_64_exact_newton_on_a_model_too_big_for_its_hessian():
    model = chainrule.models.MLP(64, (128, 128, 128), 10)
    _raises(ArgumentError, lambda: optim.Newton(model.parameters(), hessian="exact"), 64)
