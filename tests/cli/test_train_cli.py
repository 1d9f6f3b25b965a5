"""``chainrule train`` from a subprocess: the main job, outputs, config files, bad options."""
import json
import subprocess
import sys

import pytest


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "chainrule.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_default_train_reaches_95_percent_and_writes_outputs(tmp_path):
    result = run("train", "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stderr
    assert "test" in result.stdout and "accuracy" in result.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.95
    assert metrics["seconds"] < 60
    header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,loss,accuracy")
    assert "\r" not in result.stdout and "\x1b" not in result.stdout   # not a terminal


def test_options_and_config_file(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('dataset = "iris"\nhidden = "16,16"\nepochs = 3\nbatch-size = 16\n')
    result = run("train", "--config", str(config), "--optimizer", "sgd", "--lr", "0.1",
                 "--no-progress")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("iris: 120 train / 30 test samples")


@pytest.mark.parametrize("args,message", [
    (["train", "--bogus"], "unrecognized arguments: --bogus"),
    (["train", "--epochs", "many"], "invalid int value"),
    (["train", "--dataset", "cifar"], "unknown dataset 'cifar'"),
    (["train", "--optimizer", "magic"], "unknown optimizer 'magic'"),
    (["train", "--config", "/no/such/file.toml"], "does not exist"),
])
def test_bad_options_exit_2_with_one_line(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_config_keys_are_named(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("epochs = 2\nlearning_rate = 0.1\n")
    result = run("train", "--config", str(config))
    assert result.returncode == 2
    assert "unknown keys learning_rate" in result.stderr


def test_help_explains_every_option():
    text = run("train", "--help").stdout
    for option in ("--dataset", "--hidden", "--activation", "--optimizer", "--lr", "--epochs",
                   "--batch-size", "--seed", "--out", "--config"):
        assert option in text
    assert run("--help").returncode == 0
