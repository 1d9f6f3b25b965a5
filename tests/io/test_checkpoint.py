"""Checkpoints: round trips, PyTorch interop, corrupted files, exact resume after SIGKILL."""
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import nn, optim
from chainrule.errors import CheckpointError

pytest.importorskip("safetensors")


def test_state_dict_round_trip(tmp_path):
    model = chainrule.models.MLP(6, (5, 4), 3, batch_norm=True)
    path = chainrule.save(model.state_dict(), str(tmp_path / "m.safetensors"))
    loaded = chainrule.load(path)
    assert set(loaded) == set(model.state_dict())
    fresh = chainrule.models.MLP(6, (5, 4), 3, batch_norm=True)
    fresh.load_state_dict(loaded)
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), name
        assert a.dtype == b.dtype


def test_full_checkpoint_round_trip_restores_optimizer_scheduler_history_and_rng(tmp_path):
    chainrule.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    x, y = chainrule.randn(8, 3), chainrule.randn(8, 2)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
    history = chainrule.History()
    history.log_epoch({"epoch": 1, "loss": 0.5})
    path = chainrule.save_checkpoint(str(tmp_path / "c.safetensors"), model=model, optimizer=opt,
                                     scheduler=sched, epoch=3, step=3, history=history,
                                     extra={"note": "hi", "array": np.arange(3)})
    expected_random = chainrule.rand(3).numpy()
    model2 = nn.Linear(3, 2)
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    sched2 = optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=5)
    info = chainrule.load_checkpoint(path, model2, opt2, sched2, history=chainrule.History())
    assert info["epoch"] == 3 and info["step"] == 3
    assert info["history"].epochs == [{"epoch": 1, "loss": 0.5}]
    assert info["extra"]["note"] == "hi" and info["extra"]["array"].tolist() == [0, 1, 2]
    assert np.array_equal(chainrule.rand(3).numpy(), expected_random)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert sched2.last_epoch == sched.last_epoch
    for p, q in zip(model.parameters(), model2.parameters()):
        s1, s2 = opt.state[p], opt2.state[q]
        assert s1["step"] == s2["step"]
        assert np.array_equal(s1["max_exp_avg_sq"], s2["max_exp_avg_sq"])


def test_loading_into_a_different_model_lists_the_mismatched_keys(tmp_path):
    path = chainrule.save_checkpoint(str(tmp_path / "c.safetensors"),
                                     model=chainrule.models.MLP(4, (8,), 2))
    with pytest.raises(CheckpointError, match=r"c.safetensors: does not fit the model .*"
                                              r"1.weight: checkpoint \(8, 4\) vs model "
                                              r"\(16, 4\)"):
        chainrule.load_checkpoint(path, chainrule.models.MLP(4, (16,), 2))


@pytest.mark.torch
def test_weights_move_to_and_from_pytorch_through_safetensors(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file, save_file
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    save_file(tmodel.state_dict(), str(tmp_path / "torch.safetensors"))
    ours = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    ours.load_state_dict(chainrule.load(str(tmp_path / "torch.safetensors")))
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(x).numpy(), tmodel(torch.tensor(x)).detach().numpy(),
                               atol=1e-6)
    ours[0].weight._data[...] = 0.5
    chainrule.save(ours.state_dict(), str(tmp_path / "ours.safetensors"))
    tmodel.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))
    np.testing.assert_allclose(ours(x).numpy(), tmodel(torch.tensor(x)).detach().numpy(),
                               atol=1e-6)


# ---------------------------------------------------------------- corrupted files

def _valid_bytes(tmp_path):
    path = chainrule.save({"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                           "b": np.ones(2, dtype=np.int64)}, str(tmp_path / "ok.safetensors"))
    return open(path, "rb").read()


def _header(raw):
    (size,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + size]), raw[8 + size:]


def _with_header(header, data):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def test_corrupted_files_raise_checkpoint_error_naming_the_file(tmp_path):
    raw = _valid_bytes(tmp_path)
    header, data = _header(raw)
    lying = dict(header, a=dict(header["a"], data_offsets=[0, 9999]))
    wrong_shape = dict(header, a=dict(header["a"], shape=[5, 5]))
    cases = {
        "truncated": raw[:len(raw) - 7],
        "tiny": raw[:5],
        "flipped": raw[:10] + bytes([raw[10] ^ 0xFF]) + raw[11:],
        "lying_offsets": _with_header(lying, data),
        "wrong_shape": _with_header(wrong_shape, data),
        "huge_size": struct.pack("<Q", 2**62) + raw[8:],
        "pickle": pickle.dumps({"a": np.zeros(3)}),
        "empty": b"",
        "bad_dtype": _with_header(dict(header, a=dict(header["a"], dtype="X9")), data),
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(content)
        with pytest.raises(CheckpointError, match=f"{name}.safetensors"):
            chainrule.load(str(path))
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        chainrule.load(str(tmp_path / "missing.safetensors"))
    with pytest.raises(CheckpointError, match="not a chainrule training checkpoint"):
        chainrule.load_checkpoint(str(tmp_path / "ok.safetensors"))


@settings(max_examples=100, deadline=None)     # (test_checkpoint_hostile.py fuzzes much more)
@given(data=st.data())
def test_fuzzed_files_give_checkpoint_error_or_a_valid_load(tmp_path_factory, data):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    raw = bytearray(_valid_bytes(tmp_path))
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        position = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[position] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            del raw[position:position + data.draw(st.integers(1, 16))]
        else:
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=8))
    path = tmp_path / "f.safetensors"
    path.write_bytes(bytes(raw))
    try:
        loaded = chainrule.load(str(path))
    except CheckpointError:
        return
    assert all(isinstance(v, chainrule.Tensor) for v in loaded.values())


# ---------------------------------------------------------------- killed runs resume exactly

TRAIN = """
import os, sys, time, chainrule
from chainrule import nn, optim
from chainrule.data import datasets
out, epochs, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "slow_write":            # a delay inside every checkpoint write, before the rename
    import chainrule.io.safetensors_format as fmt
    real_replace = os.replace
    def slow_replace(a, b):
        print("WRITING", flush=True); time.sleep(3); real_replace(a, b)
    fmt.os.replace = slow_replace
if mode == "slow_epoch":            # slow batches, so a kill lands mid-epoch
    real_step = optim.Adam.step
    def slow_step(self, closure=None):
        time.sleep(0.01); return real_step(self, closure)
    optim.Adam.step = slow_step
chainrule.manual_seed(5)
split = datasets.digits()
model = chainrule.models.MLP(64, (32, 32), 10, dropout=0.2)
opt = optim.Adam(model.parameters(), lr=1e-3)
sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)
callback = chainrule.train.LambdaCallback(
    on_epoch_end=lambda t, e, logs: print("EPOCH", e, flush=True))
chainrule.fit(model, nn.CrossEntropyLoss(), opt, split.train, val_data=split.test, epochs=epochs,
              scheduler=sched, checkpoint_dir=os.path.join(out, "ckpt"), resume=True,
              callbacks=[callback])
chainrule.save(model.state_dict(), os.path.join(out, "final.safetensors"))
print("DONE", flush=True)
"""


def _start(script, out, epochs, mode):
    return subprocess.Popen([sys.executable, str(script), str(out), str(epochs), mode],
                            stdout=subprocess.PIPE, text=True)


def _wait_for(process, marker, count=1, timeout=120):
    seen, deadline = 0, time.time() + timeout
    for line in process.stdout:
        if line.startswith(marker):
            seen += 1
            if seen >= count:
                return
        if time.time() > deadline:
            break
    raise AssertionError(f"never saw {marker!r}")


def _final(out):
    return {k: v.numpy() for k, v in chainrule.load(os.path.join(out, "final.safetensors")).items()}


@pytest.mark.slow
def test_sigkill_mid_epoch_and_mid_write_then_resume_is_bit_identical(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    reference = tmp_path / "reference"
    subprocess.run([sys.executable, str(script), str(reference), "4", "normal"], check=True,
                   capture_output=True, timeout=300)

    run = tmp_path / "run"
    process = _start(script, run, 4, "slow_epoch")      # killed in the middle of epoch 2
    _wait_for(process, "EPOCH", 1)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert [p.name for p in (run / "ckpt").glob("epoch-*")] == ["epoch-0001.safetensors"]

    process = _start(script, run, 4, "slow_write")      # killed while writing a checkpoint
    _wait_for(process, "WRITING", 1)
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    newest = sorted((run / "ckpt").glob("epoch-*"))[-1]
    info = chainrule.load_checkpoint(str(newest), restore_rng=False)   # still whole
    assert info["epoch"] >= 1

    subprocess.run([sys.executable, str(script), str(run), "4", "normal"], check=True,
                   capture_output=True, timeout=300)
    expected, got = _final(reference), _final(run)
    assert expected.keys() == got.keys()
    for name in expected:
        assert np.array_equal(expected[name], got[name]), name
