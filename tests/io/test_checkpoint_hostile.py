"""The checkpoint reader trusts nothing: hostile safetensors headers, special files, lying
training states and model descriptions each give a CheckpointError naming the file and the
field, fast and within bounded memory, and a failed load changes nothing."""
import contextlib
import copy
import inspect
import json
import os
import signal
import struct
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import nn, optim
from chainrule.errors import CheckpointError
from chainrule.io import checkpoint, model_description, safetensors_format

pytest.importorskip("safetensors")


# ---------------------------------------------------------------- building files by hand

def _valid_bytes(tmp_path):
    path = chainrule.save({"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                           "b": np.ones(2, dtype=np.int64)}, str(tmp_path / "ok.safetensors"))
    return open(path, "rb").read()


def _split(raw):
    (size,) = struct.unpack("<Q", raw[:8])
    return raw[8:8 + size].decode(), raw[8 + size:]


def _file(header_text, data):
    text = header_text.encode() if isinstance(header_text, str) else header_text
    return struct.pack("<Q", len(text)) + text + data


def _entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    as_list = lambda v: list(v) if isinstance(v, (list, tuple)) else v  # noqa: E731
    return {"dtype": dtype, "shape": as_list(shape), "data_offsets": as_list(offsets)}


DATA = np.arange(2, dtype=np.float32).tobytes()          # 8 bytes


def _header_cases():
    """name -> (file bytes, a word the error must contain)."""
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    cases = {
        "deep_nesting": (_file(deep, b""), "nested"),
        "dtype_list": (_file(json.dumps({"t": _entry(dtype=["F32"])}), DATA), "'t'.*dtype"),
        "dtype_object": (_file(json.dumps({"t": _entry(dtype={"F": 32})}), DATA),
                         "'t'.*dtype"),
        "dtype_unknown": (_file(json.dumps({"t": _entry(dtype="F8_E9")}), DATA), "dtype"),
        "rank_65": (_file(json.dumps({"t": _entry(shape=[1] * 65)}), b"\0" * 4), "'t'.*shape"),
        "negative_dim": (_file(json.dumps({"t": _entry(shape=[-2])}), DATA), "'t'.*shape"),
        "float_dim": (_file(json.dumps({"t": _entry(shape=[2.0])}), DATA), "'t'.*shape"),
        "bool_dim": (_file(json.dumps({"t": _entry(shape=[True, 2])}), DATA), "'t'.*shape"),
        "huge_int_dim": (_file('{"t": {"dtype": "F32", "shape": [' + "9" * 5000 +
                               '], "data_offsets": [0, 8]}}', DATA), "JSON"),
        "shape_not_list": (_file(json.dumps({"t": _entry(shape=2)}), DATA), "'t'.*shape"),
        "offsets_outside": (_file(json.dumps({"t": _entry(offsets=(0, 800))}), DATA),
                            "'t'.*data_offsets"),
        "offsets_reversed": (_file(json.dumps({"t": _entry(offsets=(8, 0))}), DATA),
                             "'t'.*data_offsets"),
        "offsets_three": (_file(json.dumps({"t": _entry(offsets=(0, 4, 8))}), DATA),
                          "'t'.*data_offsets"),
        "offsets_nan": (_file('{"t": {"dtype": "F32", "shape": [2], "data_offsets": '
                              '[NaN, 8]}}', DATA), "'t'.*data_offsets"),
        "span_vs_shape": (_file(json.dumps({"t": _entry(shape=(3,))}), DATA), "'t'.*needs 12"),
        "overlap": (_file(json.dumps({"t": _entry(), "u": _entry()}), DATA + DATA), "overlaps"),
        "gap": (_file(json.dumps({"t": _entry(offsets=(8, 16))}), DATA + DATA), "gap"),
        "padded": (_file(json.dumps({"t": _entry()}), DATA + b"\0"), "padded"),
        "duplicate_tensor": (_file('{"t": %s, "t": %s}' % (json.dumps(_entry()),
                                                          json.dumps(_entry())), DATA),
                             "'t' appears twice"),
        "duplicate_field": (_file('{"t": {"dtype": "F32", "dtype": "F32", "shape": [2], '
                                  '"data_offsets": [0, 8]}}', DATA), "'dtype' appears twice"),
        "missing_offsets": (_file(json.dumps({"t": {"dtype": "F32", "shape": [2]}}), DATA),
                            "'t'.*needs exactly dtype, shape and data_offsets"),
        "extra_field": (_file(json.dumps({"t": dict(_entry(), x=1)}), DATA), "'t'"),
        "entry_not_object": (_file(json.dumps({"t": [1, 2]}), DATA), "'t'"),
        "header_list": (_file("[1, 2]", b""), "JSON object"),
        "header_not_utf8": (_file(b"{\xff\xfe}", b""), "UTF-8"),
        "metadata_not_strings": (_file(json.dumps({"__metadata__": {"k": 1}}), b""),
                                 "__metadata__"),
        "length_over_cap": (struct.pack("<Q", 200_000_000) + b"{}", "claims"),
        "length_beyond_file": (struct.pack("<Q", 50) + b"{}", "claims"),
        "empty": (b"", "truncated"),
        "short": (b"\x02\0\0", "truncated"),
        "shape_unaddressable": (_file(json.dumps({"t": _entry(shape=(0, 2**62, 4),
                                                              offsets=(0, 0))}), b""),
                                "too large"),
    }
    return cases


@pytest.mark.parametrize("case", sorted(_header_cases()))
def test_hostile_headers_are_checkpoint_errors_naming_file_and_field(tmp_path, case):
    content, expected = _header_cases()[case]
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=f"{case}.safetensors: .*{expected}"):
        chainrule.load(str(path))


def test_empty_header_and_zero_size_tensors_load(tmp_path):
    path = tmp_path / "e.safetensors"
    path.write_bytes(_file("{}", b""))
    assert chainrule.load(str(path)) == {}
    path.write_bytes(_file(json.dumps({"z": _entry(shape=(0, 3), offsets=(0, 0)),
                                       "s": _entry(shape=(), offsets=(0, 4))}), DATA[:4]))
    loaded = chainrule.load(str(path))
    assert loaded["z"].shape == (0, 3) and loaded["s"].shape == ()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int8", "int16", "int32",
                                   "int64", "uint8", "bool"])
def test_every_dtype_reads_like_the_safetensors_package(tmp_path, dtype):
    from safetensors.numpy import save_file
    values = (np.arange(-5, 7).reshape(3, 4) % (2 if dtype == "bool" else 100)).astype(dtype)
    tensors = {"x": values, "empty": np.zeros((0, 2), dtype), "scalar": np.asarray(values[0, 0])}
    save_file(tensors, str(tmp_path / "t.safetensors"))
    arrays, _ = safetensors_format.read(str(tmp_path / "t.safetensors"))
    for name, expected in tensors.items():
        assert arrays[name].dtype == expected.dtype and np.array_equal(arrays[name], expected)


def test_bf16_reads_as_bfloat16_or_widened_without_ml_dtypes(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file
    values = torch.tensor([1.5, -2.25, 3.0e20, 0.0078125], dtype=torch.bfloat16)
    save_file({"w": values}, str(tmp_path / "bf16.safetensors"))
    loaded = chainrule.load(str(tmp_path / "bf16.safetensors"))["w"]
    assert loaded.dtype == chainrule.bfloat16
    assert np.array_equal(loaded.float().numpy(), values.float().numpy())
    monkeypatch.setattr(chainrule.backend, "bfloat16", None)      # no ml_dtypes: widened
    loaded = chainrule.load(str(tmp_path / "bf16.safetensors"))["w"]
    assert loaded.dtype == chainrule.float32
    assert np.array_equal(loaded.numpy(), values.float().numpy())


# ---------------------------------------------------------------- special files fail fast

@contextlib.contextmanager
def _deadline(seconds):
    def expired(signum, frame):
        raise AssertionError(f"still reading after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _readers():
    return {"load": chainrule.load,
            "load_checkpoint": lambda p: chainrule.load_checkpoint(p, nn.Linear(2, 1)),
            "model_from_description": checkpoint.model_from_description}


@pytest.mark.parametrize("reader", sorted(_readers()))
def test_fifo_device_and_directory_fail_fast_without_reading(tmp_path, reader):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    special = {str(fifo): "FIFO", str(tmp_path): "directory"}
    if os.path.exists("/dev/zero"):
        special["/dev/zero"] = "device"
    for path, kind in special.items():
        with _deadline(10), pytest.raises(CheckpointError, match=f"{path}: is .*{kind}"):
            _readers()[reader](path)


def test_a_symlink_to_a_regular_file_is_fine_and_to_a_fifo_is_not(tmp_path):
    good = tmp_path / "ok.safetensors"
    good.write_bytes(_valid_bytes(tmp_path))
    (tmp_path / "link.safetensors").symlink_to(good)
    assert set(chainrule.load(str(tmp_path / "link.safetensors"))) == {"a", "b"}
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "bad.safetensors").symlink_to(tmp_path / "pipe")
    with _deadline(10), pytest.raises(CheckpointError, match="FIFO"):
        chainrule.load(str(tmp_path / "bad.safetensors"))
    (tmp_path / "loop.safetensors").symlink_to(tmp_path / "loop.safetensors")
    with pytest.raises(CheckpointError, match="loop.safetensors: cannot be read"):
        chainrule.load(str(tmp_path / "loop.safetensors"))


# ---------------------------------------------------------------- lying training states

def _training_objects(seed=0):
    chainrule.manual_seed(seed)
    model = chainrule.models.MLP(3, (4,), 2)
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    loader = chainrule.data.DataLoader(chainrule.data.TensorDataset(
        chainrule.randn(6, 3), chainrule.randn(6, 2)), batch_size=2, shuffle=True)
    history = chainrule.History()
    return model, opt, sched, loader, history


def _trained_checkpoint(path):
    model, opt, sched, loader, history = _training_objects(1)
    for x, y in loader:
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    sched.step()
    history.log_epoch({"epoch": 1, "loss": 0.5})
    return chainrule.save_checkpoint(str(path), model=model, optimizer=opt, scheduler=sched,
                                     epoch=1, step=3, history=history, loader=loader,
                                     extra={"note": "hi", "array": np.arange(3)})


def _rewrite_state(path, change):
    """Apply ``change`` to the JSON training state of the checkpoint at ``path``."""
    arrays, metadata = safetensors_format.read(str(path))
    state = json.loads(metadata["chainrule"])
    change(state)
    safetensors_format.write(str(path), arrays, {"chainrule": json.dumps(state)})


def _pairs(encoded):
    return encoded["__dict__"]


def _value(encoded, key):
    """The encoded value stored under ``key`` in an encoded dict (a [key, value] pair list)."""
    for k, v in _pairs(encoded):
        if k == key:
            return v
    raise KeyError(key)


def _set(encoded, key, value):
    for pair in _pairs(encoded):
        if pair[0] == key:
            pair[1] = value
            return
    _pairs(encoded).append([key, value])


def _first_param_state(state):
    return _value(_value(state["optimizer"], "state"), 0)


def _first_group(state):
    return _value(state["optimizer"], "param_groups")[0]


def _snapshot(model, opt, sched, loader, history):
    return {"params": {k: v.numpy().copy() for k, v in model.state_dict().items()},
            "opt": copy.deepcopy(opt.state_dict()),
            "sched": copy.deepcopy(sched.state_dict()),
            "loader": copy.deepcopy(loader.state_dict()),
            "history": copy.deepcopy(history.to_dict()),
            "rng": copy.deepcopy(chainrule.default_generator.get_state())}


def _assert_same(before, after):
    assert before["params"].keys() == after["params"].keys()
    for name in before["params"]:
        assert np.array_equal(before["params"][name], after["params"][name]), name
    for key in ("sched", "loader", "history", "rng"):
        assert before[key] == after[key], key
    assert before["opt"]["param_groups"] == after["opt"]["param_groups"]
    assert before["opt"]["state"].keys() == after["opt"]["state"].keys()
    for index, values in before["opt"]["state"].items():
        other = after["opt"]["state"][index]
        assert values.keys() == other.keys()
        for name, value in values.items():
            assert np.array_equal(value, other[name]), (index, name)


STATE_CASES = {
    # name: (change to the JSON state, pattern the error must match)
    "state_key_minus_one": (lambda s: _pairs(_value(s["optimizer"], "state")).__setitem__(
        0, ["-1", _first_param_state(s)]), "optimizer state key '-1' names no parameter"),
    "state_key_int_minus_one": (lambda s: _pairs(_value(s["optimizer"], "state")).__setitem__(
        0, [-1, _first_param_state(s)]), "optimizer state key -1 names no parameter"),
    "state_key_out_of_range": (lambda s: _pairs(_value(s["optimizer"], "state")).__setitem__(
        0, [9, _first_param_state(s)]), "key 9 names no parameter"),
    "state_key_twice": (lambda s: _pairs(_value(s["optimizer"], "state")).append(
        ["0", _first_param_state(s)]), "names parameter 0 a second time"),
    "missing_step": (lambda s: _pairs(_first_param_state(s)).pop(0),
                     r"optimizer state\[0\]: Adam state needs .*missing step"),
    "step_is_a_string": (lambda s: _set(_first_param_state(s), "step", "3"),
                         r"state\[0\]\['step'\]"),
    "lr_is_a_string": (lambda s: _set(_first_group(s), "lr", "fast"),
                       r"param_groups\[0\]\['lr'\]: expected a number"),
    "lr_is_nan": (lambda s: _set(_first_group(s), "lr", {"__float__": "nan"}),
                  r"\['lr'\]: expected a finite number"),
    "lr_negative": (lambda s: _set(_first_group(s), "lr", -1.0), r"\['lr'\]: expected a rate"),
    "betas_of_three": (lambda s: _set(_first_group(s), "betas",
                                      {"__tuple__": [0.9, 0.99, 0.5]}), r"\['betas'\]"),
    "betas_above_one": (lambda s: _set(_first_group(s), "betas", {"__tuple__": [0.9, 1.5]}),
                        r"param_groups\[0\]: the saved options do not make a valid Adam .*betas"),
    "eps_negative": (lambda s: _set(_first_group(s), "eps", -1.0), "not make a valid Adam"),
    "amsgrad_is_a_number": (lambda s: _set(_first_group(s), "amsgrad", 1), r"\['amsgrad'\]"),
    "unknown_group_option": (lambda s: _set(_first_group(s), "momentum", 0.9),
                             r"param_groups\[0\]: keys do not fit .*unknown 'momentum'"),
    "group_params_renumbered": (lambda s: _set(_first_group(s), "params", [3, 2, 1, 0]),
                                r"param_groups\[0\]\['params'\]"),
    "two_param_groups": (lambda s: _pairs(s["optimizer"])[1][1].append(_first_group(s)),
                         "2 param groups saved, 1 in this Adam"),
    "optimizer_class_other": (lambda s: s.update(optimizer_class="RMSprop"),
                              "holds the state of a RMSprop optimizer, but the optimizer here "
                              "is a Adam"),
    "optimizer_class_not_a_name": (lambda s: s.update(optimizer_class=[1]), "optimizer_class"),
    "moment_refers_to_missing_tensor": (lambda s: _set(_first_param_state(s), "exp_avg",
                                                       {"__tensor__": "nowhere"}),
                                        "refers to tensor 'nowhere'"),
    "moment_is_a_number": (lambda s: _set(_first_param_state(s), "exp_avg", 0.5),
                           r"\['exp_avg'\]: expected a floating-point array"),
    "tuple_of_a_number": (lambda s: _set(_first_group(s), "betas", {"__tuple__": 5}),
                          "__tuple__ must hold a list"),
    "marker_with_company": (lambda s: _set(_first_group(s), "betas",
                                           {"__tuple__": [0.9, 0.9], "x": 1}),
                            "other keys beside it"),
    "dict_pair_broken": (lambda s: _pairs(s["optimizer"]).append([1]),
                         r"expected a \[key, value\] pair"),
    "float_marker_bad": (lambda s: _set(_first_group(s), "eps", {"__float__": "tiny"}),
                         "'tiny' is not a number"),
    "scheduler_injects_optimizer": (lambda s: _set(s["scheduler"], "optimizer", 1),
                                    r"scheduler state: keys do not fit .*unknown 'optimizer'"),
    "scheduler_base_lrs_long": (lambda s: _set(s["scheduler"], "base_lrs", [0.1, 0.2]),
                                r"scheduler state\['base_lrs'\]: expected a list of 1"),
    "scheduler_last_epoch_text": (lambda s: _set(s["scheduler"], "last_epoch", "2"),
                                  r"\['last_epoch'\]"),
    "scheduler_class_other": (lambda s: s.update(scheduler_class="OneCycleLR"),
                              "state of a OneCycleLR scheduler"),
    "scheduler_not_a_dict": (lambda s: s.update(scheduler=[1, 2]), "scheduler state"),
    "loader_epoch_negative": (lambda s: s["loader"].update(epoch=-3),
                              r"loader state\['epoch'\]: expected an integer >= 0"),
    "loader_unknown_key": (lambda s: s["loader"].update(sampler=1), "loader state: keys"),
    "loader_generator_bad": (lambda s: s["loader"]["generator"]["bit_generator"].update(
        bit_generator="MT19937"), "not a valid generator state"),
    "rng_missing_seed": (lambda s: s["rng"].pop("seed"), "rng state: keys do not fit"),
    "rng_state_text": (lambda s: s["rng"]["bit_generator"]["state"].update(state="x"),
                       r"rng state\['bit_generator'\]\['state'\]\['state'\]"),
    "history_list": (lambda s: s.update(history=[1, 2]), "history: expected a mapping"),
    "history_row_text": (lambda s: s["history"].update(epochs=["row"]),
                         r"history\['epochs'\]\[0\]"),
    "history_stop_reason": (lambda s: s["history"].update(stop_reason=3), "stop_reason"),
    "epoch_text": (lambda s: s.update(epoch="3"), "epoch: expected an integer"),
    "step_negative": (lambda s: s.update(step=-1), "step: expected an integer"),
    "extra_dict_key_list_of_dicts": (lambda s: _pairs(s["extra"]).append([[{}], 1]),
                                     "cannot be a key"),
    "extra_duplicate_key": (lambda s: _pairs(s["extra"]).append(["note", "again"]),
                            "'note' appears twice"),
    "not_a_checkpoint": (lambda s: s.update(format="something-else"),
                         "not a chainrule training checkpoint"),
}


@pytest.mark.parametrize("case", sorted(STATE_CASES))
def test_lying_training_states_fail_and_change_nothing(tmp_path, case):
    change, pattern = STATE_CASES[case]
    path = _trained_checkpoint(tmp_path / "c.safetensors")
    _rewrite_state(path, change)
    objects = _training_objects(7)
    model, opt, sched, loader, history = objects
    for x, y in loader:                     # an optimizer with state of its own
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    before = _snapshot(*objects)
    with pytest.raises(CheckpointError, match="c.safetensors: .*" + pattern):
        chainrule.load_checkpoint(path, model, opt, sched, loader, history=history)
    _assert_same(before, _snapshot(*objects))


def test_optimizer_moments_of_the_wrong_shape_fail_and_change_nothing(tmp_path):
    model, opt, sched, loader, history = _training_objects(1)
    for x, y in loader:
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    first = next(iter(opt.state))
    opt.state[first]["exp_avg"] = np.zeros((7, 7), np.float32)   # broadcasting would fail
    path = chainrule.save_checkpoint(str(tmp_path / "c.safetensors"), model, opt, sched)
    objects = _training_objects(2)
    before = _snapshot(*objects)
    with pytest.raises(CheckpointError, match=r"c.safetensors: optimizer state\[0\]\['exp_avg'\]"
                                              r": expected a floating-point array of the "
                                              r"parameter's shape \(4, 3\)"):
        chainrule.load_checkpoint(path, *objects[:3])
    _assert_same(before, _snapshot(*objects))


@pytest.mark.parametrize("key, value, pattern", [
    ("exp_avg", np.nan, "holds NaN or inf"), ("exp_avg_sq", -1.0, "holds negative values")])
def test_optimizer_moments_with_impossible_values_are_refused(tmp_path, key, value, pattern):
    model, opt, sched, loader, history = _training_objects(1)
    for x, y in loader:
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    next(iter(opt.state.values()))[key][...] = value
    path = chainrule.save_checkpoint(str(tmp_path / "c.safetensors"), model, opt)
    objects = _training_objects(2)
    before = _snapshot(*objects)
    with pytest.raises(CheckpointError, match=rf"optimizer state\[0\]\['{key}'\]: {pattern}"):
        chainrule.load_checkpoint(path, *objects[:2])
    _assert_same(before, _snapshot(*objects))


def test_a_model_that_does_not_fit_changes_nothing_else(tmp_path):
    path = _trained_checkpoint(tmp_path / "c.safetensors")
    chainrule.manual_seed(3)
    model = chainrule.models.MLP(3, (5,), 2)
    opt = optim.Adam(model.parameters())
    rng = chainrule.default_generator.get_state()
    with pytest.raises(CheckpointError, match=r"does not fit the model .*1.weight: "
                                              r"checkpoint \(4, 3\) vs model \(5, 3\)"):
        chainrule.load_checkpoint(path, model, opt)
    assert opt.state == {} and chainrule.default_generator.get_state() == rng


def test_adam_state_into_sgd_names_both(tmp_path):
    path = _trained_checkpoint(tmp_path / "c.safetensors")
    model = chainrule.models.MLP(3, (4,), 2)
    with pytest.raises(CheckpointError, match="state of a Adam optimizer, but the optimizer "
                                              "here is a SGD"):
        chainrule.load_checkpoint(path, model, optim.SGD(model.parameters(), lr=0.1))


def test_old_checkpoints_without_a_class_name_still_refuse_another_optimizer(tmp_path):
    path = _trained_checkpoint(tmp_path / "c.safetensors")
    _rewrite_state(path, lambda s: s.pop("optimizer_class"))
    model = chainrule.models.MLP(3, (4,), 2)
    with pytest.raises(CheckpointError, match="saved by another kind of optimizer .*amsgrad.*"
                                              "this SGD has .*momentum"):
        chainrule.load_checkpoint(path, model, optim.SGD(model.parameters(), lr=0.1))
    adam = optim.Adam(model.parameters(), amsgrad=True)
    chainrule.load_checkpoint(path, model, adam)          # the right one still loads
    assert len(adam.state) == 4


def test_deeply_nested_training_state_is_refused(tmp_path):
    path = _trained_checkpoint(tmp_path / "c.safetensors")
    arrays, metadata = safetensors_format.read(str(path))
    state = metadata["chainrule"][:-1] + ', "extra": ' + "[" * 5000 + "]" * 5000 + "}"
    safetensors_format.write(str(path), arrays, {"chainrule": state})
    with pytest.raises(CheckpointError, match="training state: JSON nested 5001 levels"):
        chainrule.load_checkpoint(path)


def test_duplicate_keys_in_the_training_state_are_refused(tmp_path):
    path = _trained_checkpoint(tmp_path / "c.safetensors")
    arrays, metadata = safetensors_format.read(str(path))
    state = metadata["chainrule"][:-1] + ', "epoch": 99}'
    safetensors_format.write(str(path), arrays, {"chainrule": state})
    with pytest.raises(CheckpointError, match="training state: the key 'epoch' appears twice"):
        chainrule.load_checkpoint(path)


def test_a_full_round_trip_still_restores_everything(tmp_path):
    path = _trained_checkpoint(tmp_path / "c.safetensors")
    model, opt, sched, loader, history = _training_objects(9)
    info = chainrule.load_checkpoint(path, model, opt, sched, loader, history=history)
    assert info["epoch"] == 1 and info["step"] == 3 and info["extra"]["note"] == "hi"
    assert history.epochs == [{"epoch": 1, "loss": 0.5}]
    assert sched.last_epoch == 1 and loader.epoch == 1
    assert opt.param_groups[0]["betas"] == (0.9, 0.999)
    assert all(s["step"] == 3 for s in opt.state.values())
    assert set(opt.state[model[1].weight]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.RMSprop(ps, centered=True,
                                                                           momentum=0.5),
    lambda ps: optim.Adagrad(ps), lambda ps: optim.Adamax(ps), lambda ps: optim.AdamW(ps),
    lambda ps: optim.LBFGS(ps, history_size=3), lambda ps: optim.Newton(ps)])
def test_every_optimizer_round_trips_through_the_checks(tmp_path, make):
    chainrule.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = make(model.parameters())
    x, y = chainrule.randn(8, 3), chainrule.randn(8, 2)

    def closure():
        loss = nn.functional.mse_loss(model(x), y)
        if not opt.closure_needs_graph:
            opt.zero_grad()
            loss.backward()
        return loss
    for _ in range(3):
        if isinstance(opt, (optim.LBFGS, optim.Newton)):
            opt.step(closure)
        else:
            closure()
            opt.step()
    path = chainrule.save_checkpoint(str(tmp_path / "c.safetensors"), model, opt)
    model2 = nn.Linear(3, 2)
    opt2 = make(model2.parameters())
    chainrule.load_checkpoint(path, model2, opt2)
    saved, loaded = opt.state_dict(), opt2.state_dict()
    assert saved["param_groups"] == loaded["param_groups"]
    assert saved["state"].keys() == loaded["state"].keys()
    for index, values in saved["state"].items():
        for name, value in values.items():
            other = loaded["state"][index][name]
            if isinstance(value, list):
                assert len(value) == len(other) and all(np.array_equal(a, b)
                                                        for a, b in zip(value, other))
            else:
                assert np.array_equal(value, other), name


@pytest.mark.parametrize("make", [
    lambda o: optim.lr_scheduler.MultiStepLR(o, milestones=[1, 3]),
    lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=4),
    lambda o: optim.lr_scheduler.ReduceLROnPlateau(o),
    lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10),
    lambda o: optim.lr_scheduler.LambdaLR(o, lambda e: 0.5 ** e)])
def test_schedulers_round_trip_through_the_checks(tmp_path, make):
    model = nn.Linear(2, 1)
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = make(opt)
    for _ in range(2):
        sched.step(1.0) if isinstance(sched, optim.lr_scheduler.ReduceLROnPlateau) else \
            sched.step()
    path = chainrule.save_checkpoint(str(tmp_path / "c.safetensors"), model, opt, sched)
    opt2 = optim.Adam(nn.Linear(2, 1).parameters(), lr=0.01)
    sched2 = make(opt2)
    chainrule.load_checkpoint(path, optimizer=opt2, scheduler=sched2)
    assert sched2.last_epoch == sched.last_epoch
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


# ---------------------------------------------------------------- model descriptions

def _described(tmp_path, model, kind, **changes):
    description = {"model": dict({"type": kind, **model.config}, **changes),
                   "input_shape": [1, model.config.get("in_features", 4)], "task": "x"}
    return chainrule.save_checkpoint(str(tmp_path / "m.safetensors"), model=model,
                                     extra=description)


@pytest.mark.parametrize("make, kind, shape", [
    (lambda: chainrule.models.MLP(5, (7, 6), 3, batch_norm=True, dropout=0.1), "mlp", (2, 5)),
    (lambda: chainrule.models.LeNet5(1, 4, image_size=12), "lenet", (2, 1, 12, 12)),
    (lambda: chainrule.models.ResNet(2, 3, blocks=(1, 2), width=4), "resnet", (2, 2, 9, 9))])
def test_model_from_description_rebuilds_the_model(tmp_path, make, kind, shape):
    chainrule.manual_seed(0)
    model = make().eval()
    path = chainrule.save_checkpoint(str(tmp_path / "m.safetensors"), model=model,
                                     extra={"model": {"type": kind, **model.config},
                                            "input_shape": [1, *shape[1:]]})
    rebuilt, description = checkpoint.model_from_description(path)
    x = chainrule.randn(*shape)
    with chainrule.no_grad():
        assert np.array_equal(rebuilt.eval()(x).numpy(), model(x).numpy())
    assert description["input_shape"] == [1, *shape[1:]]


DESCRIPTION_CASES = {
    "hidden_text": ({"hidden": "abc"}, "option 'hidden': expected a list"),
    "hidden_zero": ({"hidden": [0]}, r"option 'hidden'\[0\]: expected an integer >= 1"),
    "hidden_bool": ({"hidden": [True]}, r"option 'hidden'\[0\]"),
    "in_features_negative": ({"in_features": -4}, "option 'in_features'"),
    "in_features_float": ({"in_features": 4.0}, "option 'in_features'"),
    "activation_unknown": ({"activation": "sparkle"}, "unknown activation 'sparkle'"),
    "dropout_two": ({"dropout": 2}, "option 'dropout'"),
    "batch_norm_text": ({"batch_norm": "yes"}, "option 'batch_norm'"),
    "unknown_option": ({"kernel": 3}, "unknown option.*'kernel'"),
    "unknown_type": ({"type": "transformer"}, "unknown model type 'transformer'"),
    "type_list": ({"type": ["mlp"]}, "unknown model type"),
    "width_200000": ({"hidden": [200_000, 200_000]}, r"asks for 149 GiB of parameters"),
    "big_but_wrong": ({"hidden": [20_000]}, r"does not fit the tensors stored .*"
                                             r"model.1.weight: described \(20000, 4\), "
                                             r"stored \(8, 4\)"),
    "too_many_layers": ({"hidden": [8] * 20_000}, "implies more than 1004 tensors; the file "
                                                  "stores 4"),
    "batch_norm_not_stored": ({"batch_norm": True}, "does not fit the tensors"),
}


@pytest.mark.parametrize("case", sorted(DESCRIPTION_CASES))
def test_lying_model_descriptions_fail_before_allocating(tmp_path, case):
    changes, pattern = DESCRIPTION_CASES[case]
    path = _described(tmp_path, chainrule.models.MLP(4, (8,), 2), "mlp", **changes)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="m.safetensors: .*" + pattern):
            checkpoint.model_from_description(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20, f"{peak / 2**20:.0f} MiB allocated before the error"


@pytest.mark.parametrize("extra, pattern", [
    ({"input_shape": [1, 10**6, 10**6]}, "'input_shape'"),
    ({"input_shape": [1, 5]}, r"'input_shape': \[1, 5\] does not fit the mlp model"),
    ({"input_shape": "big"}, "'input_shape': expected a list"),
    ({"feature_mean": ["a", "b"]}, "'feature_mean': expected finite real numbers"),
    ({"feature_std": np.zeros(4)}, "'feature_std': a standard deviation of 0"),
    ({"feature_mean": np.full(4, np.nan)}, "'feature_mean': expected finite"),
    ({"feature_mean": np.zeros(3)}, r"'feature_mean': shape \(3,\) does not fit"),
    ({"model": "mlp"}, "no model description inside")])
def test_lying_inputs_in_a_description_fail(tmp_path, extra, pattern):
    model = chainrule.models.MLP(4, (8,), 2)
    description = dict({"model": {"type": "mlp", **model.config}, "input_shape": [1, 4]},
                       **extra)
    path = chainrule.save_checkpoint(str(tmp_path / "m.safetensors"), model=model,
                                     extra=description)
    with pytest.raises(CheckpointError, match="m.safetensors: .*" + pattern):
        checkpoint.model_from_description(path)


def test_a_file_larger_than_the_budget_is_refused_before_reading(tmp_path):
    model = chainrule.models.MLP(4, (64,), 2)
    path = _described(tmp_path, model, "mlp")
    with pytest.raises(CheckpointError, match="more than the 1000 allowed"):
        checkpoint.model_from_description(path, max_bytes=1000)


def test_every_registered_model_type_can_be_checked():
    for kind, cls in chainrule.models.MODELS.items():
        parameters = set(inspect.signature(cls).parameters)
        assert set(model_description.FIELDS[kind]) == parameters, kind


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["mlp", "lenet", "resnet"]), data=st.data())
def test_described_tensors_are_those_the_model_has(kind, data):
    if kind == "mlp":
        config = dict(in_features=data.draw(st.integers(1, 6)),
                      hidden=data.draw(st.lists(st.integers(1, 5), max_size=3)),
                      out_features=data.draw(st.integers(1, 4)),
                      activation=data.draw(st.sampled_from(["relu", "tanh"])),
                      dropout=data.draw(st.sampled_from([0.0, 0.3])),
                      batch_norm=data.draw(st.booleans()))
    elif kind == "lenet":
        config = dict(in_channels=data.draw(st.integers(1, 3)),
                      num_classes=data.draw(st.integers(1, 5)),
                      image_size=data.draw(st.integers(3, 40)))
    else:
        config = dict(in_channels=data.draw(st.integers(1, 3)),
                      num_classes=data.draw(st.integers(1, 4)),
                      blocks=data.draw(st.lists(st.integers(0, 2), max_size=3)),
                      width=data.draw(st.integers(1, 4)))
    flat_ok = kind != "lenet" or model_description.lenet_flat_features(
        config["image_size"]) is not None
    try:
        model = chainrule.models.MODELS[kind](**config)
    except Exception:
        assert not flat_ok, config        # the formula says "too small" exactly when it is
        return
    assert flat_ok, config
    expected = {k: (tuple(v.shape), v.numpy().itemsize) for k, v in model.state_dict().items()}
    assert dict(model_description.described_tensors(kind, config)) == expected


# ---------------------------------------------------------------- temp files of killed writes

def test_stale_temp_files_are_removed_and_live_ones_kept(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    stale = tmp_path / ".tmp-dead.safetensors"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / ".tmp-live.safetensors"
    live.write_bytes(b"being written")
    other = tmp_path / ".tmp-notes.txt"
    other.write_bytes(b"not ours")
    with open(live, "rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        removed = checkpoint.remove_stale_temp_files(str(tmp_path))
    assert removed == [str(stale)]
    assert live.exists() and other.exists() and not stale.exists()
    assert checkpoint.remove_stale_temp_files(str(tmp_path / "missing")) == []


KILLED_WRITE = """
import os, sys, time
import chainrule.io.safetensors_format as fmt
def stuck(a, b):
    print("WRITING", flush=True)
    time.sleep(60)
fmt.os.replace = stuck
import numpy
fmt.write(os.path.join(sys.argv[1], "epoch-0001.safetensors"), {"w": numpy.ones(3)})
"""


def test_a_temp_file_left_by_a_killed_write_is_removed_by_the_next_write(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", KILLED_WRITE, str(tmp_path)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "WRITING"
        assert len(list(tmp_path.glob(".tmp-*.safetensors"))) == 1
        # while the writer lives, its temp file is left alone
        checkpoint.remove_stale_temp_files(str(tmp_path))
        assert len(list(tmp_path.glob(".tmp-*.safetensors"))) == 1
    finally:
        process.kill()
        process.wait()
    model = nn.Linear(2, 1)
    chainrule.save_checkpoint(str(tmp_path / "epoch-0002.safetensors"), model=model)
    assert list(tmp_path.glob(".tmp-*")) == []
    assert [p.name for p in tmp_path.iterdir()] == ["epoch-0002.safetensors"]


# ---------------------------------------------------------------- fuzzing, memory and time capped

FUZZ = r'''
import resource, sys
limit = int(sys.argv[1]) * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import json, os, random, struct, tempfile
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st
import chainrule
from chainrule import nn, optim
from chainrule.errors import CheckpointError
import safetensors.numpy

folder = tempfile.mkdtemp()
BASE = open(chainrule.save({"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                            "b": np.ones(2, dtype=np.int64), "c": np.zeros((0, 4), np.float16),
                            "d": np.array(7, np.uint8)}, os.path.join(folder, "base.safetensors")),
            "rb").read()
(SIZE,) = struct.unpack("<Q", BASE[:8])
HEADER, DATA = json.loads(BASE[8:8 + SIZE]), BASE[8 + SIZE:]
DTYPES = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "F8",
          "", "f32", "X"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=3), max_leaves=8)
ints = st.integers(-3, 40) | st.integers(-2**64, 2**64)
SAME_SIZE = {"F32": ["F32", "I32", "U32"], "I64": ["I64", "F64", "U64"],
             "F16": ["F16", "BF16", "I16", "U16"], "U8": ["U8", "I8", "BOOL"]}

def header_mutation(data, header):
    name = data.draw(st.sampled_from(sorted(k for k in header if k != "__metadata__")))
    entry = header[name]
    kind = data.draw(st.sampled_from(["dtype", "shape", "offsets", "field", "drop", "add",
                                      "rename", "metadata", "value", "same_size_dtype",
                                      "reshape", "good_metadata"]))
    if not isinstance(entry, dict):
        entry = header[name] = {}
    dtype = entry.get("dtype")
    if kind == "same_size_dtype" and isinstance(dtype, str) and dtype in SAME_SIZE:
        entry["dtype"] = data.draw(st.sampled_from(SAME_SIZE[entry["dtype"]]))
    elif kind == "reshape" and isinstance(entry.get("shape"), list):
        count = 1
        for n in entry["shape"]:
            count *= n if isinstance(n, int) else 1
        entry["shape"] = data.draw(st.sampled_from([[count], [count, 1], [1, count, 1],
                                                    [count, 1, 1, 1], [0, count]]))
    elif kind == "good_metadata":
        header["__metadata__"] = data.draw(st.dictionaries(st.text(max_size=3),
                                                           st.text(max_size=5), max_size=2))
    elif kind == "dtype":
        entry["dtype"] = data.draw(st.sampled_from(DTYPES) | json_values)
    elif kind == "shape":
        entry["shape"] = data.draw(st.lists(ints, max_size=70) | json_values)
    elif kind == "offsets":
        entry["data_offsets"] = data.draw(st.lists(ints, max_size=3) | json_values)
    elif kind == "field":
        entry[data.draw(st.sampled_from(["dtype", "shape", "data_offsets"]))] = \
            data.draw(json_values)
    elif kind == "drop":
        del header[name]
    elif kind == "add":
        header[data.draw(st.text(max_size=3))] = data.draw(json_values)
    elif kind == "rename":
        header[data.draw(st.text(max_size=3))] = header.pop(name)
    elif kind == "metadata":
        header["__metadata__"] = data.draw(json_values)
    else:
        header[name] = data.draw(json_values)

def text_mutation(data, text):
    kind = data.draw(st.sampled_from(["duplicate", "nest", "none", "none"]))
    if kind == "duplicate":                       # a key of the header written twice
        key = data.draw(st.sampled_from(['"a"', '"dtype"', '"shape"', '"b"']))
        return text.replace(key, key + ': 1, ' + key, 1)
    if kind == "nest":
        depth = data.draw(st.integers(1, 3000))
        return text[:-1] + ', "n": ' + "[" * depth + "]" * depth + "}"
    return text

def byte_mutation(data, raw):
    raw = bytearray(raw)
    for _ in range(data.draw(st.integers(0, 3))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate", "length"]))
        position = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[position] ^= data.draw(st.integers(1, 255))
        elif kind == "cut":
            del raw[position:position + data.draw(st.integers(1, 16))]
        elif kind == "insert":
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        elif kind == "truncate":
            del raw[position:]
        else:
            raw[:8] = struct.pack("<Q", data.draw(st.integers(0, 2**64 - 1)))
    return bytes(raw)

def check_reader(raw):
    path = os.path.join(folder, "f.safetensors")
    with open(path, "wb") as f:
        f.write(raw)
    try:
        loaded = chainrule.load(path)
    except CheckpointError as error:
        assert "f.safetensors" in str(error), error
        return "refused"
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    assert set(loaded) == {k for k in header if k != "__metadata__"}
    if all(e["dtype"] != "BF16" for k, e in header.items() if k != "__metadata__"):
        reference = safetensors.numpy.load(raw)          # the package agrees with the load
        assert set(reference) == set(loaded)
        for k, v in reference.items():
            assert v.dtype == loaded[k].numpy().dtype and np.array_equal(v, loaded[k].numpy())
    return "loaded"

outcomes = {"loaded": 0, "refused": 0}

@settings(max_examples=int(sys.argv[2]), deadline=None, database=None,
          derandomize=bool(os.environ.get("CI")),
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def fuzz_reader(data):
    header = json.loads(json.dumps(HEADER))
    for _ in range(data.draw(st.sampled_from([0, 0, 1, 1, 2]))):
        if [k for k in header if k != "__metadata__"]:
            header_mutation(data, header)
    text = text_mutation(data, json.dumps(header))
    raw = struct.pack("<Q", len(text.encode())) + text.encode() + DATA
    if data.draw(st.sampled_from([False, False, True])):
        raw = byte_mutation(data, raw)
    outcomes[check_reader(raw)] += 1

fuzz_reader()

# the training state inside a valid checkpoint, mutated: a correct load or a CheckpointError
chainrule.manual_seed(0)
model = chainrule.models.MLP(3, (4,), 2)
opt = optim.Adam(model.parameters(), lr=0.01)
sched = optim.lr_scheduler.StepLR(opt, 2)
x, y = chainrule.randn(4, 3), chainrule.randn(4, 2)
nn.functional.mse_loss(model(x), y).backward()
opt.step()
sched.step()
history = chainrule.History()
history.log_epoch({"epoch": 1, "loss": 0.25})
path = chainrule.save_checkpoint(os.path.join(folder, "c.safetensors"), model, opt, sched,
                                 epoch=1, step=1, history=history)
ARRAYS, METADATA = chainrule.io.safetensors_format.read(path)
STATE = json.loads(METADATA["chainrule"])

def subtrees(value, trail=()):
    yield trail
    if isinstance(value, dict):
        for k, v in value.items():
            yield from subtrees(v, trail + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from subtrees(v, trail + (i,))

PLACES = list(subtrees(STATE))[1:]

@settings(max_examples=int(sys.argv[3]), deadline=None, database=None,
          derandomize=bool(os.environ.get("CI")), suppress_health_check=list(HealthCheck))
@given(data=st.data())
def fuzz_state(data):
    state = json.loads(json.dumps(STATE))
    for _ in range(data.draw(st.sampled_from([0, 1, 1, 2, 3]))):
        trail = data.draw(st.sampled_from(PLACES))
        parent = state
        try:
            for step in trail[:-1]:
                parent = parent[step]
            old = parent[trail[-1]]
            similar = st.sampled_from([old, -1, "-1", 0, 1, 0.5, 1e-3, True, [], {}, None,
                                       {"__tensor__": "model.1.weight"}, {"__float__": "x"},
                                       {"__float__": "inf"}])
            parent[trail[-1]] = data.draw(similar | json_values)
        except (KeyError, IndexError, TypeError):
            pass
    target = os.path.join(folder, "s.safetensors")
    chainrule.io.safetensors_format.write(target, ARRAYS, {"chainrule": json.dumps(state)})
    m = chainrule.models.MLP(3, (4,), 2)
    o = optim.Adam(m.parameters(), lr=0.01)
    s = optim.lr_scheduler.StepLR(o, 2)
    try:
        chainrule.load_checkpoint(target, m, o, s, history=chainrule.History())
    except CheckpointError as error:
        assert "s.safetensors" in str(error), error
        outcomes["state refused"] += 1
        return
    nn.functional.mse_loss(m(x), y).backward()        # what was loaded can be trained on
    o.step()
    s.step()
    outcomes["state loaded"] += 1

outcomes.update({"state loaded": 0, "state refused": 0})
fuzz_state()
print("FUZZ OK", outcomes, flush=True)
'''


def test_fuzzed_files_load_correctly_or_fail_cleanly_within_memory_and_time(tmp_path):
    script = tmp_path / "fuzz.py"
    script.write_text(FUZZ)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(script), "1536", "200", "100"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert "FUZZ OK" in result.stdout
