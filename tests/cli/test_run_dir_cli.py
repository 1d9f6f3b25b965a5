"""Runs that cannot be mixed up: an --out directory that holds another run is refused unless
--resume or --overwrite; --resume reuses the saved run's options, and says so when there is
nothing to resume or the run is finished."""
import json
import shutil

import pytest

from tests.cli.helpers import assert_user_error, run, run_many

pytest.importorskip("safetensors")

FIRST = ["--dataset", "moons", "--hidden", "8", "--optimizer", "sgd", "--lr", "0.1",
         "--epochs", "2", "--no-progress"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A 2-epoch run, trained once for the module; tests copy it before changing it."""
    root = tmp_path_factory.mktemp("runs")
    config = root / "first.toml"
    config.write_text('dataset = "moons"\nhidden = [8]\noptimizer = "sgd"\nlr = 0.1\n'
                      'epochs = 2\n')
    result = run("train", "--config", config, "--out", "first", "--no-progress", cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "first"


@pytest.fixture
def copy_of_run(finished_run, tmp_path):
    shutil.copytree(finished_run, tmp_path / "first")
    return tmp_path


def _checkpoints(directory):
    return sorted(p.name for p in (directory / "checkpoints").iterdir())


def test_the_run_records_its_options(finished_run):
    record = json.loads((finished_run / "run.json").read_text())
    assert record["status"] == "finished" and record["epochs_done"] == 2
    assert record["options"]["optimizer"] == "sgd" and record["options"]["hidden"] == [8]


def test_mistakes_with_the_run_directory_are_named(copy_of_run):
    (copy_of_run / "empty").mkdir()
    (copy_of_run / "a_file").write_text("")
    (copy_of_run / "started").mkdir()
    (copy_of_run / "started" / "run.json").write_text(
        (copy_of_run / "first" / "run.json").read_text())
    (copy_of_run / "broken").mkdir()
    (copy_of_run / "broken" / "run.json").write_text("{not json")
    before = _checkpoints(copy_of_run / "first")
    cases = [
        (["train", "--dataset", "iris", "--out", "first"],
         ["--out first already holds a run of mlp on moons: 2 of 2 epochs", "--resume",
          "--overwrite"]),
        (["train", "--out", "first", "--resume"],
         ["--resume: first has already trained 2 epochs", "--epochs N with N above 2"]),
        (["train", "--out", "first", "--resume", "--epochs", "2"], ["already trained 2"]),
        (["train", "--out", "first", "--resume", "--epochs", "5", "--optimizer", "adam"],
         ["first was trained with --optimizer sgd, not --optimizer adam"]),
        (["train", "--out", "first", "--resume", "--epochs", "5", "--hidden", "16", "--lr",
          "0.1"], ["--hidden 8", "not --hidden 16"]),
        (["train", "--out", "empty", "--resume"], ["no checkpoint to resume from"]),
        (["train", "--out", "nowhere", "--resume"], ["no checkpoint to resume from"]),
        (["train", "--out", "started", "--resume", "--epochs", "3"],
         ["no checkpoint to resume from", "started/checkpoints"]),
        (["train", "--out", "broken", "--resume", "--epochs", "3"],
         ["broken/run.json is not a chainrule run file"]),
        (["train", "--out", "a_file", "--dataset", "moons"], ["--out a_file", "not a directory"]),
    ]
    for (argv, culprits), result in zip(cases, run_many([c for c, _ in cases],
                                                        cwd=copy_of_run)):
        assert_user_error(result, *culprits)
    assert _checkpoints(copy_of_run / "first") == before        # nothing was touched


def test_resume_reuses_the_saved_options_without_the_config(copy_of_run):
    stale = copy_of_run / "first" / "checkpoints" / ".tmp-killed.safetensors"
    stale.write_bytes(b"half a checkpoint")
    result = run("train", "--out", "first", "--resume", "--epochs", "4", "--no-progress",
                 cwd=copy_of_run)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("moons: 160 train / 40 test samples, 42 parameters, "
                                    "4 epochs")
    record = json.loads((copy_of_run / "first" / "run.json").read_text())
    assert record["options"]["optimizer"] == "sgd" and record["options"]["epochs"] == 4
    assert record["status"] == "finished" and record["epochs_done"] == 4
    assert not stale.exists()             # a killed write's temp file is cleaned up


def test_overwrite_replaces_only_the_run(copy_of_run):
    notes = copy_of_run / "first" / "notes.txt"
    notes.write_text("mine")
    result = run("train", "--dataset", "moons", "--hidden", "4", "--epochs", "1", "--out",
                 "first", "--overwrite", "--no-progress", cwd=copy_of_run)
    assert result.returncode == 0, result.stderr
    assert _checkpoints(copy_of_run / "first") == ["best.safetensors", "epoch-0001.safetensors"]
    assert notes.read_text() == "mine"
    assert json.loads((copy_of_run / "first" / "run.json").read_text())["options"][
        "hidden"] == [4]
    resumed = run("train", "--out", "first", "--resume", "--epochs", "2", "--no-progress",
                  cwd=copy_of_run)                      # no stale checkpoint of another model
    assert resumed.returncode == 0, resumed.stderr


def test_a_directory_with_other_files_only_is_a_fine_out(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "README").write_text("my notes")
    result = run(*["train", "--out", "out"] + FIRST[:-3] + ["--epochs", "1", "--no-progress"],
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
