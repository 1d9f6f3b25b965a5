"""train --out, then evaluate / predict / export from the command line: raw inputs get the
training-time preprocessing, and every bad input file or checkpoint is a one-line error."""
import json
import os
import re
import shutil
import time

import numpy as np
import pytest

import chainrule
from tests.cli.helpers import assert_user_error, run, run_many

pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A small MLP trained on digits for 3 epochs, once for the module."""
    pytest.importorskip("sklearn")
    root = tmp_path_factory.mktemp("digits")
    result = run("train", "--hidden", "32", "--epochs", "3", "--out", "run", "--no-progress",
                 cwd=root)
    assert result.returncode == 0, result.stderr
    return root


def _accuracy(predictions_csv, targets):
    rows = predictions_csv.strip().splitlines()
    assert rows[0] == "prediction,class,probability"
    return np.mean([int(r.split(",")[0]) == t for r, t in zip(rows[1:], targets)])


def test_saved_run_round_trip(digits_run):
    root = digits_run
    assert {p.name for p in (root / "run").iterdir()} >= {
        "run.json", "history.csv", "metrics.json", "report.html", "model.safetensors",
        "checkpoints"}
    exported, evaluated = run_many([
        ["export", "--checkpoint", "run/model.safetensors", "--onnx", "m.onnx"],
        ["evaluate", "--checkpoint", "run/checkpoints/epoch-0002.safetensors"]], cwd=root)
    assert exported.returncode == 0 and (root / "m.onnx").stat().st_size > 0
    assert evaluated.returncode == 0 and "digits test (359 samples)" in evaluated.stdout


def test_predict_on_raw_digits_gives_the_accuracy_evaluate_reports(digits_run):
    from sklearn.datasets import load_digits
    root = digits_run
    split = chainrule.data.datasets.digits(seed=0)
    raw, targets = split.raw_test, split.test.tensors[1].numpy()
    assert raw.max() == 16 and set(map(tuple, raw[:5])) <= set(map(tuple, load_digits().data))
    np.save(root / "raw.npy", raw)
    np.savetxt(root / "raw.csv", raw, delimiter=",", fmt="%g")
    predict = ["predict", "--checkpoint", "run/model.safetensors", "--input"]
    evaluated, from_npy, from_csv, written = run_many([
        ["evaluate", "--checkpoint", "run/model.safetensors"], predict + ["raw.npy"],
        predict + ["raw.csv"], predict + ["raw.npy", "--output", "p.csv"]], cwd=root)
    assert evaluated.returncode == 0, evaluated.stderr
    reported = float(evaluated.stdout.split("accuracy")[1].split()[0])
    for predicted in (from_npy, from_csv):
        assert predicted.returncode == 0, predicted.stderr
        assert _accuracy(predicted.stdout, targets) == pytest.approx(reported, abs=1e-4)
    assert written.returncode == 0 and "wrote 359 predictions to p.csv" in written.stdout
    assert _accuracy((root / "p.csv").read_text(), targets) == pytest.approx(reported, abs=1e-4)


def _bad_inputs(root):
    """File name -> what the error must name; each written into ``root``."""
    x = np.arange(4 * 64, dtype=np.float64).reshape(4, 64) % 17
    cases = {}
    for name, value, culprit in (("nan.npy", np.nan, "index 2 holds NaN"),
                                 ("inf.npy", np.inf, "index 2 holds an infinite value"),
                                 ("big.npy", 1e300, "1e+300, beyond float32")):
        y = x.copy()
        y[2, 5] = value
        np.save(root / name, y)
        cases[name] = [name, culprit]
    np.save(root / "complex.npy", x.astype(complex))
    cases["complex.npy"] = ["complex.npy", "complex numbers"]
    np.save(root / "empty.npy", np.zeros((0, 64)))
    cases["empty.npy"] = ["empty.npy", "is empty"]
    np.save(root / "zero_d.npy", np.float64(3.0))
    cases["zero_d.npy"] = ["zero_d.npy", "0-d array"]
    np.save(root / "objects.npy", np.array([{"code": 1}], dtype=object), allow_pickle=True)
    cases["objects.npy"] = ["objects.npy", "Python objects"]
    np.save(root / "text.npy", np.array(["a", "b"]))
    cases["text.npy"] = ["text.npy", "real numbers"]
    np.save(root / "narrow.npy", x[:, :10])
    cases["narrow.npy"] = ["narrow.npy", "(64,)", "(4, 10)"]
    (root / "truncated.npy").write_bytes((root / "nan.npy").read_bytes()[:-10])
    cases["truncated.npy"] = ["truncated.npy", "truncated"]
    (root / "garbage.npy").write_bytes(b"not numpy at all")
    cases["garbage.npy"] = ["garbage.npy", "not a .npy file"]
    row = ",".join(["1"] * 64)
    (root / "e400.csv").write_text(f"{row}\n1e400,{row[2:]}\n")
    cases["e400.csv"] = ["e400.csv", "line 2", "1e400"]
    (root / "nan.csv").write_text(f"{row}\n{row}\nnan,{row[2:]}\n")
    cases["nan.csv"] = ["nan.csv", "line 3 holds NaN"]
    (root / "complex.csv").write_text(f"{row}\n1+2j,{row[2:]}\n")
    cases["complex.csv"] = ["complex.csv", "line 2, column 1", "complex"]
    (root / "words.csv").write_text(f"{row}\nabc,{row[2:]}\n")
    cases["words.csv"] = ["words.csv", "line 2, column 1", "'abc' is not a number"]
    (root / "ragged.csv").write_text(f"{row}\n1,2\n")
    cases["ragged.csv"] = ["ragged.csv", "line 2 has 2 values"]
    (root / "empty.csv").write_text("")
    cases["empty.csv"] = ["empty.csv", "no rows"]
    (root / "binary.csv").write_bytes(b"\xff\xfe\x00\x01")
    cases["binary.csv"] = ["binary.csv", "UTF-8"]
    os.mkfifo(root / "fifo.npy")
    cases["fifo.npy"] = ["fifo.npy", "FIFO"]
    os.symlink("/dev/zero", root / "zero.npy")
    cases["zero.npy"] = ["zero.npy", "character device"]
    cases["/dev/zero"] = ["/dev/zero", ".npy or .csv"]
    cases["missing.npy"] = ["missing.npy", "does not exist"]
    cases["data.txt"] = ["data.txt", ".npy or .csv"]
    cases["."] = ["--input .", "directory"]
    return cases


def test_predict_refuses_every_bad_input_file_naming_it(digits_run):
    cases = _bad_inputs(digits_run)
    commands = [["predict", "--checkpoint", "run/model.safetensors", "--input", name]
                for name in cases]
    commands += [["predict", "--checkpoint", "run/model.safetensors", "--input", "nan.npy",
                  "--output", "no/such/dir/p.csv"],
                 ["predict", "--checkpoint", "run/model.safetensors", "--input", "nan.npy",
                  "--output", "p.txt"]]
    culprits = list(cases.values()) + [["--output", "does not exist"], ["--output", ".csv"]]
    for result, names in zip(run_many(commands, cwd=digits_run), culprits):
        assert_user_error(result, *names)
    header_line = ",".join(f"x{i}" for i in range(64)) + "\n" + ",".join(["3"] * 64) + "\n"
    (digits_run / "header.csv").write_text(header_line)       # a header line is skipped
    result = run("predict", "--checkpoint", "run/model.safetensors", "--input", "header.csv",
                 cwd=digits_run)
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 2


def test_fifo_and_dev_zero_fail_fast_as_input_and_as_checkpoint(digits_run):
    os.mkfifo(digits_run / "pipe.csv")
    os.symlink("/dev/zero", digits_run / "zero.safetensors")
    for option, name in (("--input", "pipe.csv"), ("--checkpoint", "zero.safetensors"),
                         ("--checkpoint", "/dev/zero")):
        args = {"--checkpoint": "run/model.safetensors", "--input": "raw.npy", option: name}
        started = time.monotonic()
        result = run("predict", *[x for pair in args.items() for x in pair], cwd=digits_run,
                     timeout=60)
        assert time.monotonic() - started < 30
        assert_user_error(result, name, "not a regular file")


def _forged_checkpoint(path, **description):
    """A checkpoint holding a tiny MLP's weights but the given run description."""
    model = chainrule.models.MLP(4, [3], 2)
    info = {"model": {"type": "mlp", **model.config}, "dataset": "iris", "seed": 0,
            "task": "classification", "input_shape": [1, 4]}
    info.update(description)
    chainrule.save_checkpoint(str(path), model=model, extra=info)


def test_a_lying_or_foreign_checkpoint_is_refused_before_building_a_model(tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint at all")
    chainrule.save({"w": chainrule.zeros(2)}, str(tmp_path / "weights.safetensors"))
    _forged_checkpoint(tmp_path / "wide.safetensors", model={
        "type": "mlp", "in_features": 64, "hidden": [200000], "out_features": 10})
    _forged_checkpoint(tmp_path / "typed.safetensors", model={
        "type": "mlp", "in_features": 4, "hidden": "abc", "out_features": 2})
    _forged_checkpoint(tmp_path / "partial.safetensors", model={"type": "mlp", "hidden": [3]})
    _forged_checkpoint(tmp_path / "kind.safetensors", model={"type": "transformer"})
    _forged_checkpoint(tmp_path / "scaled.safetensors", preprocessing={
        "raw_shape": [4], "mean": [0.0] * 4, "std": [0.0] * 4})
    _forged_checkpoint(tmp_path / "named.safetensors", class_names=["only one"])
    cases = [("junk.safetensors", ["junk.safetensors"]),
             ("weights.safetensors", ["weights.safetensors"]),
             ("wide.safetensors", ["wide.safetensors", "does not fit the tensors stored",
                                   "described (200000, 64), stored (3, 4)"]),
             ("typed.safetensors", ["typed.safetensors", "hidden", "list of integers",
                                    "'abc'"]),
             ("partial.safetensors", ["partial.safetensors", "missing", "in_features"]),
             ("kind.safetensors", ["kind.safetensors", "'transformer'"]),
             ("scaled.safetensors", ["scaled.safetensors", "std"]),
             ("named.safetensors", ["named.safetensors", "class_names"]),
             ("missing.safetensors", ["missing.safetensors", "does not exist"])]
    commands = [[command, "--checkpoint", name] + extra
                for name, _ in cases
                for command, extra in (("evaluate", []), ("export", ["--onnx", "m.onnx"]))]
    results = run_many(commands, cwd=tmp_path)
    for result, (_, culprits) in zip(results, [c for c in cases for _ in range(2)]):
        assert_user_error(result, *culprits)


def test_evaluate_on_another_dataset_names_the_mismatch(digits_run):
    checkpoint = ["evaluate", "--checkpoint", "run/model.safetensors", "--dataset"]
    iris, unknown, folder = run_many([checkpoint + ["iris"], checkpoint + ["cifar"],
                                      checkpoint + ["images:photos"]], cwd=digits_run)
    assert_user_error(iris, "--dataset iris", "(4,)", "(64,)")
    assert_user_error(unknown, "--dataset", "'cifar'")
    assert_user_error(folder, "not trained on an image folder")


# ---------------------------------------------------------------- a user's image folder

def _photos(root, n=12):
    pil = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for label, channel in (("cats", 0), ("dogs", 2)):          # reddish vs bluish pictures
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(n):
            pixels = (rng.random((20, 20, 3)) * 80).astype(np.uint8)
            pixels[:, :, channel] += 150
            pil.fromarray(pixels).save(folder / f"{i}.png")
    return root


def test_own_images_train_save_evaluate_predict_and_export(tmp_path):
    _photos(tmp_path / "photos")
    result = run("train", "--dataset", "images:photos", "--hidden", "16", "--epochs", "2",
                 "--batch-size", "8", "--out", "run", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("images:photos: 19 train / 5 test samples")
    assert (tmp_path / "run" / "model.safetensors").exists()
    predict = ["predict", "--checkpoint", "run/model.safetensors", "--input"]
    evaluated, one, folder, several, layout, written, exported = run_many([
        ["evaluate", "--checkpoint", "run/model.safetensors"], predict + ["photos/dogs/3.png"],
        predict + ["photos/cats"], predict + ["photos/dogs/1.png", "photos/cats"],
        predict + ["photos"],                                   # the training folder itself
        predict + ["photos/dogs", "--output", "p.csv"],
        ["export", "--checkpoint", "run/model.safetensors", "--onnx", "m.onnx"]], cwd=tmp_path)
    assert evaluated.returncode == 0 and "images:photos test (5 samples)" in evaluated.stdout
    assert one.returncode == 0, one.stderr             # "photos/dogs/3.png  dogs 0.93"
    assert re.fullmatch(r"photos/dogs/3\.png  (cats|dogs) [01]\.\d\d\n", one.stdout)
    assert folder.returncode == 0 and len(folder.stdout.splitlines()) == 12
    assert all(re.fullmatch(r"photos/cats/\d+\.png +(cats|dogs) [01]\.\d\d", line)
               for line in folder.stdout.splitlines())
    assert several.returncode == 0 and len(several.stdout.splitlines()) == 13
    assert several.stdout.startswith("photos/dogs/1.png ")
    lines = layout.stdout.splitlines()
    assert layout.returncode == 0 and len(lines) == 24 and lines[0].startswith("photos/cats/0")
    right = sum(line.split()[1] == line.split("/")[1] for line in lines)
    assert right >= 20                             # reddish cats, bluish dogs: easy
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert written.returncode == 0 and rows[0] == "file,prediction,class,probability"
    assert len(rows) == 13 and rows[1].split(",")[2] in ("cats", "dogs")
    assert exported.returncode == 0 and (tmp_path / "m.onnx").stat().st_size > 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["config"]["dataset"] == "images:photos"


def test_train_on_a_users_image_folder_with_resnet(tmp_path):
    _photos(tmp_path / "photos", n=6)
    result = run("train", "--dataset", "images:photos", "--model", "resnet", "--epochs", "1",
                 "--batch-size", "8", "--out", "run", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("images:photos: 10 train / 2 test samples")
    evaluated = run("evaluate", "--checkpoint", "run/model.safetensors", cwd=tmp_path)
    assert evaluated.returncode == 0 and "images:photos test (2 samples)" in evaluated.stdout


@pytest.mark.parametrize("model,input_shape", [
    (chainrule.models.MLP(64, [32, 16], 10, batch_norm=True), [1, 64]),
    (chainrule.models.MLP(3, [], 1), [1, 3]),                    # chainrule train --model linear
    (chainrule.models.LeNet5(1, 10, 8), [1, 1, 8, 8]),
    (chainrule.models.ResNet(3, 4, blocks=(1, 1), width=8), [1, 3, 16, 16])])
def test_a_saved_model_is_rebuilt_through_its_checked_description(model, input_shape,
                                                                  tmp_path):
    from chainrule.cli.saved import SavedRun
    kind = {"MLP": "mlp", "LeNet5": "lenet", "ResNet": "resnet"}[type(model).__name__]
    path = str(tmp_path / "model.safetensors")
    chainrule.save_checkpoint(path, model=model, extra={"model": {"type": kind, **model.config},
                                                         "task": "classification",
                                                         "input_shape": input_shape})
    saved = SavedRun(path)
    assert type(saved.model) is type(model) and saved.model.config == model.config
    assert saved.input_shape() == input_shape
    for (name, rebuilt), (_, original) in zip(saved.model.state_dict().items(),
                                              model.state_dict().items()):
        np.testing.assert_array_equal(rebuilt.numpy(), original.numpy(), err_msg=name)


def test_a_saved_model_beyond_the_memory_budget_is_refused_before_it_is_built(tmp_path,
                                                                               monkeypatch):
    from chainrule.cli import common, saved
    from chainrule.cli.common import CommandError
    model = chainrule.models.MLP(64, [32], 10)              # 2,410 parameters, ~9.6 kB
    path = str(tmp_path / "model.safetensors")
    chainrule.save_checkpoint(path, model=model, extra={"model": {"type": "mlp",
                                                                  **model.config}})
    built = []
    monkeypatch.setattr(chainrule.models.MLP, "__init__", lambda *a, **k: built.append(a))
    monkeypatch.setattr(common, "memory_budget", lambda: 3 * 4096)     # 4 kB for the model
    with pytest.raises(CommandError, match="model.safetensors: .*allowed"):
        saved.SavedRun(path)
    assert built == []


def test_a_gpt_checkpoint_points_to_generate(tmp_path):
    model = chainrule.models.GPT(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=8)
    chainrule.save_checkpoint(str(tmp_path / "gpt.safetensors"), model=model, extra={
        "model": {"type": "gpt", **model.config}, "task": "language_model"})
    commands = [["evaluate", "--checkpoint", "gpt.safetensors"],
                ["export", "--checkpoint", "gpt.safetensors", "--onnx", "g.onnx"]]
    for result in run_many(commands, cwd=tmp_path):
        assert_user_error(result, "gpt.safetensors holds a GPT",
                          "chainrule generate --checkpoint gpt.safetensors")


def test_broken_image_folders_are_named(tmp_path):
    good = _photos(tmp_path / "good", n=3)
    cases = {}
    for name, damage, culprits in (
            ("empty_class", lambda d: (d / "birds").mkdir(), ["birds", "no readable image"]),
            ("link_loop", lambda d: os.symlink("loop", d / "loop"), ["loop", "loops"]),
            ("link_up", lambda d: os.symlink("..", d / "up"), ["up", "loop"]),
            ("corrupt", lambda d: (d / "cats" / "x.png").write_bytes(b"\x89PNG no"),
             ["x.png", "not a readable image", "--skip-bad-images"]),
            ("fifo", lambda d: os.mkfifo(d / "dogs" / "f.png"), ["f.png", "regular file"]),
            ("dangling", lambda d: os.symlink("gone.png", d / "dogs" / "g.png"),
             ["g.png", "points to nothing"])):
        folder = tmp_path / name
        shutil.copytree(good, folder)
        damage(folder)
        cases[name] = culprits
    cases["one_image"] = ["one_image", "at least 2"]
    (tmp_path / "one_image" / "a").mkdir(parents=True)
    shutil.copy(good / "cats" / "0.png", tmp_path / "one_image" / "a")
    cases["absent"] = ["absent", "does not exist"]
    commands = [["train", "--dataset", f"images:{name}", "--epochs", "1", "--no-progress"]
                for name in cases]
    for result, culprits in zip(run_many(commands, cwd=tmp_path), cases.values()):
        assert_user_error(result, *culprits)
    skipped = run("train", "--dataset", "images:corrupt", "--epochs", "1", "--no-progress",
                  "--skip-bad-images", cwd=tmp_path)
    assert skipped.returncode == 0 and "x.png" in skipped.stderr and "skipped" in skipped.stderr
