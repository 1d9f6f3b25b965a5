"""``chainrule train`` from a subprocess: the main job, outputs, config files, every bad
option (one line, exit code 2), divergence (exit code 3), Ctrl-C (exit code 130) and
internal bugs (a traceback, exit code 1)."""
import json
import os
import signal
import subprocess
import sys
import time
import types

import pytest

from chainrule.cli import train
from tests.cli.helpers import assert_user_error, run, run_many


def test_default_train_reaches_95_percent_and_writes_outputs(tmp_path):
    pytest.importorskip("sklearn")
    result = run("train", "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "test" in result.stdout and "accuracy" in result.stdout
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.95
    assert metrics["seconds"] > 0        # recorded; speed itself is benchmarks/' business
    header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,loss,accuracy")
    assert "\r" not in result.stdout and "\x1b" not in result.stdout   # not a terminal


def test_options_and_config_file(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('dataset = "moons"\nhidden = "16,16"\nepochs = 3\nbatch-size = 16\n')
    result = run("train", "--config", config, "--optimizer", "sgd", "--lr", "0.1",
                 "--no-progress")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("moons: 160 train / 40 test samples")


def _write(path, text):
    path.write_text(text)
    return path


# command line -> what stderr must name; all fail before any training
BAD_OPTIONS = [
    (["--bogus"], ["unrecognized arguments: --bogus"]),
    (["--hidden", "abc"], ["--hidden", "'abc'"]),
    (["--hidden", "0"], ["--hidden", "positive"]),
    (["--hidden", "12x3"], ["--hidden", "'12x3'"]),
    (["--hidden", "100000000"], ["--hidden", "100,000,000"]),
    (["--hidden", "64,-3"], ["--hidden", "'-3'"]),
    (["--hidden", ""], ["--hidden"]),
    (["--dataset", "moons", "--hidden", "200000,200000"],
     ["--hidden 200000,200000", "parameters", "GiB"]),
    (["--model", "lenet", "--hidden", "32"], ["--hidden", "mlp"]),
    (["--lr", "nan"], ["--lr", "finite", "'nan'"]),
    (["--lr", "inf"], ["--lr", "finite"]),
    (["--lr", "1e400"], ["--lr", "finite"]),
    (["--lr", "-1"], ["--lr", "greater than 0"]),
    (["--lr", "0"], ["--lr", "greater than 0"]),
    (["--lr", "fast"], ["--lr", "'fast'"]),
    (["--epochs", "many"], ["--epochs", "whole number", "'many'"]),
    (["--epochs", "0"], ["--epochs", "at least 1"]),
    (["--epochs", "2.5"], ["--epochs", "'2.5'"]),
    (["--batch-size", "0"], ["--batch-size", "at least 1"]),
    (["--seed", "-1"], ["--seed", "at least 0"]),
    (["--dropout", "1"], ["--dropout", "less than 1"]),
    (["--momentum", "-0.5"], ["--momentum", "at least 0"]),
    (["--weight-decay", "nan"], ["--weight-decay", "finite"]),
    (["--checkpoint-every", "0"], ["--checkpoint-every", "at least 1"]),
    (["--dataset", "cifar"], ["--dataset", "'cifar'", "images:PATH"]),
    (["--dataset", "images:"], ["--dataset", "'images:'"]),
    (["--model", "vgg"], ["--model", "'vgg'"]),
    (["--activation", "swish"], ["--activation", "'swish'"]),
    (["--optimizer", "magic"], ["--optimizer", "'magic'"]),
    (["--dataset", "moons", "--model", "lenet"], ["--model lenet", "image dataset"]),
    (["--resume"], ["--resume", "--out"]),
    (["--overwrite"], ["--overwrite", "--out"]),
    (["--out", "r", "--resume", "--overwrite"], ["--resume", "--overwrite"]),
    (["--config", "/no/such/file.toml"], ["/no/such/file.toml", "does not exist"]),
    (["--config", "/dev/zero"], ["/dev/zero", "character device"]),
    (["--config", "{dir}"], ["config file", "directory"]),
    (["--config", "{bad_toml}"], ["bad.toml", "not valid TOML"]),
    (["--config", "{unknown_keys}"], ["unknown keys learning_rate", "allowed:"]),
    (["--config", "{bad_value}"], ["keys.toml", "lr", "finite"]),
    (["--config", "{bad_hidden}"], ["hidden.toml", "hidden", "'12x3'"]),
    (["--config", "{bool_epochs}"], ["bool.toml", "epochs", "whole number"]),
    (["--config", "{deep}"], ["deep.toml"]),
    (["--dataset", "images:{dir}/none"], ["none", "does not exist"]),
    (["--dataset", "moons", "--out", "{bad_toml}"], ["--out", "not a directory"]),
    (["--dataset", "moons", "--tensorboard", "{bad_toml}"], ["--tensorboard", "not a directory"]),
    (["--dataset", "moons", "--tensorboard", "/proc/no/logs"],
     ["--tensorboard /proc/no/logs: cannot write there"]),
    (["--dataset", "moons", "--out", "/proc/no/run"], ["--out /proc/no/run: cannot write there"]),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("options")
    return {"dir": root,
            "bad_toml": _write(root / "bad.toml", "epochs = = 3\n"),
            "unknown_keys": _write(root / "unknown.toml", "epochs = 2\nlearning_rate = 0.1\n"),
            "bad_value": _write(root / "keys.toml", "lr = nan\n"),
            "bad_hidden": _write(root / "hidden.toml", 'hidden = "12x3"\n'),
            "bool_epochs": _write(root / "bool.toml", "epochs = true\n"),
            "deep": _write(root / "deep.toml", "x = " + "[" * 5000 + "]" * 5000 + "\n")}


def test_every_bad_option_is_one_line_naming_it_with_exit_code_2(files):
    commands = [["train", *[a.format(**files) for a in argv]] for argv, _ in BAD_OPTIONS]
    for (argv, culprits), result in zip(BAD_OPTIONS, run_many(commands, cwd=files["dir"])):
        assert_user_error(result, *[c.format(**files) for c in culprits])


def test_a_bad_option_from_a_real_process_has_no_traceback():
    for argv, culprit in ((["--hidden", "12x3"], "--hidden"), (["--lr", "nan"], "--lr")):
        assert_user_error(run("train", *argv), culprit)


def test_help_explains_every_option():
    text = run("train", "--help").stdout
    for option in ("--dataset", "--hidden", "--activation", "--optimizer", "--lr", "--epochs",
                   "--batch-size", "--seed", "--out", "--config", "--resume", "--overwrite",
                   "--no-divergence-guard", "--skip-bad-images"):
        assert option in text
    assert run("--help").returncode == 0


def test_an_internal_bug_prints_its_traceback_with_exit_code_1(tmp_path):
    code = ("import sys; from chainrule.cli import train, main\n"
            "def broken(args): raise RuntimeError('a bug in chainrule')\n"
            "train.run = broken\n"
            "sys.exit(main.main(['train']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: a bug in chainrule" in result.stderr
    assert "internal error" in result.stderr


# ---------------------------------------------------------------- divergence

def test_a_huge_learning_rate_stops_with_the_reason_and_exit_code_3(tmp_path):
    result = run("train", "--dataset", "moons", "--hidden", "16", "--lr", "1e6",
                 "--epochs", "3", "--out", "run", "--no-progress", cwd=tmp_path)
    assert_user_error(result, "diverged", "learning rate", "lr=1e+06", code=3)
    assert "stopped: DivergenceGuard" in result.stdout
    assert not (tmp_path / "run" / "model.safetensors").exists()   # nothing good to keep
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "diverged"


def test_divergence_keeps_the_last_good_checkpoint_and_it_loads(tmp_path):
    result = run("train", "--dataset", "toy_linear", "--hidden", "16", "--optimizer", "sgd",
                 "--lr", "1.5", "--epochs", "10", "--out", "run", "--no-progress", cwd=tmp_path)
    assert_user_error(result, "diverged", "kept the last good checkpoint (epoch", code=3)
    kept = json.loads((tmp_path / "run" / "run.json").read_text())["epochs_done"]
    assert kept >= 1 and f"(epoch {kept})" in result.stderr
    left = sorted((tmp_path / "run" / "checkpoints").glob("epoch-*"))
    assert left[-1].name == f"epoch-{kept:04d}.safetensors"    # none of the diverged epoch
    evaluated = run("evaluate", "--checkpoint", "run/model.safetensors", cwd=tmp_path)
    assert evaluated.returncode == 0 and "toy_linear test (40 samples)" in evaluated.stdout


def test_lbfgs_with_its_default_learning_rate_trains():
    result = run("train", "--dataset", "moons", "--hidden", "16", "--optimizer", "lbfgs",
                 "--epochs", "2", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "nan" not in result.stdout


@pytest.mark.parametrize("history,diverged", [
    (types.SimpleNamespace(diverged=True, stop_reason="the loss became nan", steps=[]), True),
    (types.SimpleNamespace(stop_reason="DivergenceGuard: the loss exploded",
                           steps=[{"loss": 1e9}]), True),
    (types.SimpleNamespace(stop_reason=None, steps=[{"loss": float("nan")}]), True),
    (types.SimpleNamespace(diverged=False, stop_reason="EarlyStopping: no improvement",
                           steps=[{"loss": 0.1}]), False),
    (types.SimpleNamespace(stop_reason=None, steps=[{"loss": 0.1}]), False),
])
def test_training_diverged_reads_history_diverged_when_fit_sets_it(history, diverged):
    assert train.training_diverged(history) is diverged


# ---------------------------------------------------------------- Ctrl-C

def _interrupt_after(args, cwd, ready=None):
    """Ctrl-C once ``ready()`` holds, or (no ``ready``) once the first epoch's progress line
    is printed: training has started, whatever the machine's load."""
    process = subprocess.Popen([sys.executable, "-m", "chainrule.cli.main", *args], cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline() if ready is None else ""
    deadline = time.time() + 120
    while ready is not None and not ready() and time.time() < deadline and \
            process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return types.SimpleNamespace(returncode=process.returncode, stdout=first + out, stderr=err)


def test_ctrl_c_says_what_was_saved_and_how_to_resume(tmp_path):
    checkpoints = tmp_path / "run" / "checkpoints"
    result = _interrupt_after(["train", "--dataset", "moons", "--hidden", "8", "--epochs",
                               "100000", "--out", "run", "--no-progress"], tmp_path,
                              lambda: len(list(checkpoints.glob("epoch-*"))) >= 2)
    assert result.returncode == 130, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("chainrule train: interrupted: the newest checkpoint is ")
    assert "Traceback" not in result.stderr and len(lines) == 2
    assert lines[1].strip() == "continue with: chainrule train --out run --resume"
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "interrupted"


def test_ctrl_c_without_out_says_nothing_was_saved(tmp_path):
    result = _interrupt_after(["train", "--dataset", "moons", "--epochs", "100000"], tmp_path)
    assert result.stdout.startswith("epoch 1/100000")
    assert result.returncode == 130 and "Traceback" not in result.stderr
    assert "nothing was saved (no --out given)" in result.stderr
    assert not os.listdir(tmp_path)
