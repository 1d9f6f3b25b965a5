"""``chainrule train --model linear`` (the seeds' line, printed beside least squares) and
``--optimizer gd`` (full-batch gradient descent: one step per epoch), from a subprocess."""
import json
import re

import numpy as np
import pytest

import chainrule
from tests.cli.helpers import assert_user_error, run, run_many

pytest.importorskip("safetensors")

NUMBER = r"[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?"


def _line(text, label):
    """(w0, w1) of the printed 'label  f(x) = w0 + w1·x' line."""
    match = re.search(rf"^{label}\s+f\(x\) = ({NUMBER}) ([-+]) ({NUMBER})·x$", text, re.M)
    assert match, text
    w0, sign, w1 = match.groups()
    return float(w0), float(w1) * (-1 if sign == "-" else 1)


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("linear")
    result = run("train", "--dataset", "toy_linear", "--model", "linear", "--out", "run",
                 "--no-progress", cwd=root)
    assert result.returncode == 0, result.stderr
    return root, result


def test_the_learned_line_is_printed_beside_least_squares_within_1e_3(linear_run):
    _, result = linear_run
    assert "2 parameters, 500 epochs (500 steps)" in result.stdout   # gd, 500 epochs
    learned, best = _line(result.stdout, "learned"), _line(result.stdout, "least squares")
    x, y = (t.numpy().astype(np.float64) for t in
            chainrule.data.datasets.toy_linear(seed=0).train.tensors)
    slope, intercept = np.polyfit(x[:, 0], y[:, 0], 1)                # computed independently
    assert best == pytest.approx((intercept, slope), abs=1e-5)
    assert learned == pytest.approx(best, abs=1e-3)
    assert learned[1] == pytest.approx(2.0, abs=0.05)               # the data's w = 2, b = 1
    assert learned[0] == pytest.approx(1.0, abs=0.05)


def test_a_linear_run_records_gd_and_its_model_is_evaluated_predicted_and_exported(linear_run):
    root, trained = linear_run
    record = json.loads((root / "run" / "run.json").read_text())
    assert record["options"]["model"] == "linear" and record["options"]["optimizer"] == "gd"
    np.save(root / "x.npy", np.array([[0.0], [1.0]]))
    evaluated, predicted, exported = run_many([
        ["evaluate", "--checkpoint", "run/model.safetensors"],
        ["predict", "--checkpoint", "run/model.safetensors", "--input", "x.npy"],
        ["export", "--checkpoint", "run/model.safetensors", "--onnx", "line.onnx"]], cwd=root)
    assert evaluated.returncode == 0 and "toy_linear test (40 samples)" in evaluated.stdout
    assert predicted.returncode == 0, predicted.stderr
    rows = predicted.stdout.splitlines()
    assert rows[0] == "prediction"
    w0, w1 = _line(trained.stdout, "learned")
    assert [float(r) for r in rows[1:]] == pytest.approx([w0, w0 + w1], abs=1e-4)
    assert exported.returncode == 0 and (root / "line.onnx").stat().st_size > 0


def test_gd_takes_one_step_per_epoch_on_the_whole_training_set(tmp_path):
    first, resumed, sgd = run_many([
        ["train", "--dataset", "moons", "--hidden", "8", "--optimizer", "gd", "--epochs", "3",
         "--out", "run", "--no-progress"],
        ["train", "--out", "run", "--resume", "--epochs", "5", "--no-progress"],
        ["train", "--dataset", "moons", "--hidden", "8", "--optimizer", "sgd", "--epochs",
         "1", "--batch-size", "16", "--no-progress"]], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("moons: 160 train / 40 test samples, 42 parameters, "
                                   "3 epochs (3 steps)")
    assert resumed.returncode == 0, resumed.stderr
    assert "5 epochs (5 steps)" in resumed.stdout               # still the whole set per step
    assert sgd.returncode == 0 and "1 epochs (10 steps)" in sgd.stdout   # 160 / 16


def test_mistakes_with_linear_and_gd_are_one_line_naming_them(tmp_path):
    config = tmp_path / "gd.toml"
    config.write_text('optimizer = "gd"\nbatch_size = 8\n')
    cases = [
        (["--optimizer", "gd", "--batch-size", "8"],
         ["--batch-size 8", "--optimizer gd", "whole training set", "--optimizer sgd"]),
        (["--config", str(config)], ["--batch-size 8", "--optimizer gd"]),
        (["--model", "linear", "--hidden", "8"], ["--hidden", "--model mlp", "linear"]),
        (["--model", "linear", "--activation", "tanh"], ["--activation", "--model linear"]),
        (["--model", "linear", "--dropout", "0.5"], ["--dropout", "--model linear"]),
    ]
    classifier = ["train", "--dataset", "iris", "--model", "linear", "--epochs", "20",
                  "--no-progress"]
    *results, linear_classifier = run_many([["train", *argv] for argv, _ in cases] +
                                           [classifier], cwd=tmp_path)
    for (_, culprits), result in zip(cases, results):
        assert_user_error(result, *culprits)
    assert linear_classifier.returncode == 0, linear_classifier.stderr   # no line to print
    assert "15 parameters, 20 epochs (20 steps)" in linear_classifier.stdout
    assert "least squares" not in linear_classifier.stdout
