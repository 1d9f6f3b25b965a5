"""train --out, then evaluate / predict / export / resume from the command line."""
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("safetensors")


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "chainrule.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


def test_saved_run_round_trip(tmp_path):
    assert run("train", "--dataset", "iris", "--epochs", "3", "--out", "run", "--no-progress",
               cwd=tmp_path).returncode == 0
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {
        "history.csv", "metrics.json", "report.html", "model.safetensors", "checkpoints"}
    result = run("evaluate", "--checkpoint", "run/model.safetensors", cwd=tmp_path)
    assert result.returncode == 0 and "iris test (30 samples)" in result.stdout
    from sklearn.datasets import load_iris
    np.savetxt(tmp_path / "x.csv", load_iris().data[:4], delimiter=",")
    result = run("predict", "--checkpoint", "run/model.safetensors", "--input", "x.csv",
                 "--output", "p.csv", cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "prediction,probability"
    result = run("export", "--checkpoint", "run/model.safetensors", "--onnx", "m.onnx",
                 cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "m.onnx").stat().st_size > 0
    result = run("train", "--dataset", "iris", "--epochs", "5", "--out", "run", "--resume",
                 "--no-progress", cwd=tmp_path)
    assert result.returncode == 0 and "5 epochs" in result.stdout


def test_bad_files_exit_2(tmp_path):
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint at all")
    result = run("evaluate", "--checkpoint", "junk.safetensors", cwd=tmp_path)
    assert result.returncode == 2 and "junk.safetensors" in result.stderr
    assert "Traceback" not in result.stderr
    result = run("predict", "--checkpoint", "junk.safetensors", "--input", "none.npy",
                 cwd=tmp_path)
    assert result.returncode == 2


def test_train_on_a_users_image_folder_with_resnet(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for label, channel in (("cats", 0), ("dogs", 2)):          # reddish vs bluish pictures
        folder = tmp_path / "photos" / label
        folder.mkdir(parents=True)
        for i in range(12):
            pixels = (rng.random((20, 20, 3)) * 80).astype(np.uint8)
            pixels[:, :, channel] += 150
            pil.fromarray(pixels).save(folder / f"{i}.png")
    result = run("train", "--dataset", "images:photos", "--model", "resnet", "--epochs", "3",
                 "--batch-size", "8", "--no-progress", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("images:photos: 19 train / 5 test samples")
    assert "accuracy" in result.stdout
