"""``chainrule train --dataset text:PATH --model gpt`` and ``chainrule generate`` from a
subprocess: a short run on a small generated text, sampling from its checkpoint, bad
checkpoints and options (one line, exit code 2), and (slow) the default corpus learning."""
import json
import random

import pytest

import chainrule
from chainrule.models.gpt import GPT
from tests.cli.helpers import assert_user_error, run, run_many

def _python_like_text(path, lines=300, seed=0):
    rng = random.Random(seed)
    body = [f"def add_{i}(x):\n    return x + {rng.randint(0, 99)}\n" for i in range(lines)]
    path.write_text("\n".join(body), encoding="utf-8")
    return path


def _checkpoint(path, vocab="\n ():+_abdefnrtux0123456789", config=None, names=None):
    """A checkpoint as chainrule train --out writes it for a GPT (weights + description)."""
    chainrule.manual_seed(0)
    config = config or dict(vocab_size=len(vocab), block_size=16, n_layer=1, n_head=2,
                            n_embd=8)
    model = GPT(**config)
    description = {"model": {"type": "gpt", **model.config}, "dataset": "text:t.txt",
                   "task": "language_model",
                   "class_names": list(vocab) if names is None else names}
    chainrule.save_checkpoint(str(path), model=model, extra=description)
    return path


def test_train_on_a_text_file_then_generate_from_its_checkpoint(tmp_path):
    text = _python_like_text(tmp_path / "code.txt")
    result = run("train", "--dataset", f"text:{text}", "--model", "gpt", "--epochs", "1",
                 "--out", tmp_path / "run", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "unigram baseline" in result.stdout and "nats/char" in result.stdout
    checkpoint = tmp_path / "run" / "model.safetensors"
    args = ("generate", "--checkpoint", checkpoint, "--prompt", "def add_", "--tokens", "40",
            "--temperature", "0.5", "--top-k", "5", "--seed", "3")
    first, again = run(*args), run(*args)
    assert first.returncode == 0, first.stderr
    sample = first.stdout.rstrip("\n")
    assert sample.startswith("def add_") and len(sample) == len("def add_") + 40
    assert first.stdout == again.stdout
    assert set(sample) <= set(text.read_text())


def test_generate_prints_the_prompt_and_its_continuation(tmp_path):
    checkpoint = _checkpoint(tmp_path / "model.safetensors")
    result = run("generate", "--checkpoint", checkpoint, "--prompt", "def f(x):",
                 "--tokens", "25", "--temperature", "0")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("def f(x):") and len(result.stdout.rstrip("\n")) == 34
    default = run("generate", "--checkpoint", checkpoint, "--tokens", "5")
    assert default.returncode == 0 and default.stdout.startswith("\n")


def test_bad_checkpoints_and_options_are_one_line_errors(tmp_path):
    good = _checkpoint(tmp_path / "good.safetensors")
    wrong_vocab = _checkpoint(tmp_path / "vocab.safetensors", names=["a", "b"])
    not_gpt = tmp_path / "mlp.safetensors"
    model = chainrule.models.MLP(4, (8,), 3)
    chainrule.save_checkpoint(str(not_gpt), model=model,
                              extra={"model": {"type": "mlp", **model.config}})
    lying = _checkpoint(tmp_path / "lying.safetensors")
    state = chainrule.load_checkpoint(str(lying), restore_rng=False)["extra"]
    state["model"]["n_layer"] = 3                      # more blocks than the file holds
    chainrule.save_checkpoint(str(lying), model=GPT(**{k: v for k, v in state["model"].items()
                                                       if k != "type" and k != "n_layer"},
                                                    n_layer=1), extra=state)
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint at all")
    cases = [
        (["--checkpoint", tmp_path / "missing.safetensors"], ["missing.safetensors"]),
        (["--checkpoint", tmp_path / "junk.safetensors"], ["junk.safetensors"]),
        (["--checkpoint", not_gpt], ["not a GPT checkpoint"]),
        (["--checkpoint", wrong_vocab], ["vocabulary"]),
        (["--checkpoint", lying], ["does not fit", "transformer.h.1"]),
        (["--checkpoint", good, "--prompt", "SELECT *"], ["--prompt", "never saw"]),
        (["--checkpoint", good, "--top-k", "1000"], ["--top-k", "vocabulary"]),
        (["--checkpoint", good, "--tokens", "0"], ["--tokens"]),
        (["--checkpoint", good, "--temperature", "-1"], ["--temperature"]),
    ]
    results = run_many([["generate", *args] for args, _ in cases])
    for (args, culprits), result in zip(cases, results):
        assert_user_error(result, *culprits)


def test_text_and_gpt_go_together(tmp_path):
    text = _python_like_text(tmp_path / "code.txt", lines=50)
    results = run_many([["train", "--dataset", f"text:{text}", "--model", "mlp"],
                        ["train", "--dataset", "digits", "--model", "gpt"],
                        ["train", "--dataset", f"text:{tmp_path / 'none.txt'}"]])
    assert_user_error(results[0], "--model mlp", "text")
    assert_user_error(results[1], "--model gpt", "text")
    assert_user_error(results[2], "none.txt")


@pytest.mark.slow
def test_the_default_run_learns_python_well_below_the_unigram_baseline(tmp_path):
    result = run("train", "--dataset", "text", "--out", tmp_path / "run", "--no-progress",
                 timeout=290)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    baseline = float(result.stdout.split("unigram baseline ")[1].split()[0])
    assert metrics["test"]["loss"] < baseline - 1.0, (metrics["test"], baseline)
    sample = run("generate", "--checkpoint", tmp_path / "run" / "model.safetensors",
                 "--prompt", "def ", "--tokens", "200")
    assert sample.returncode == 0 and sample.stdout.startswith("def ")
