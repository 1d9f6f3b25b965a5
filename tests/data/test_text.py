"""Character-level text data: windows and their next characters, the held-out tail, the
vocabulary and its encoding, the unigram baseline, the default corpus (the standard library's
sources, read in a fixed order, never stored in the repository) and errors."""
import math
import os

import numpy as np
import pytest

from chainrule import errors
from chainrule.data import datasets
from chainrule.data import text as T


def _write(path, content, encoding="utf-8"):
    path.write_bytes(content.encode(encoding))
    return str(path)


def test_windows_are_followed_by_their_next_characters(tmp_path):
    content = "".join(chr(97 + i % 26) for i in range(1000))
    split = datasets.text(_write(tmp_path / "a.txt", content), block_size=10, seed=0)
    x, y = split.train.tensors[0].numpy(), split.train.tensors[1].numpy()
    assert x.shape[1] == 10 and x.dtype == np.int64
    assert (y[:, :-1] == x[:, 1:]).all()
    text_of = T.decode
    assert content.find(text_of(x[3], split.vocab) + text_of(y[3, -1:], split.vocab)) >= 0
    assert split.vocab == "abcdefghijklmnopqrstuvwxyz" and split.class_names == list(split.vocab)
    assert split.name == "text:a.txt" and split.task == "language_model"
    assert split.num_classes == 26 and split.block_size == 10


def test_the_validation_text_is_the_held_out_tail(tmp_path):
    content = "a" * 900 + "b" * 100                   # 10% held out: only b's
    split = datasets.text(_write(tmp_path / "t.txt", content), block_size=8,
                          val_fraction=0.1)
    val = split.test.tensors[0].numpy()
    assert (val == split.vocab.index("b")).all()
    train = split.train.tensors[1].numpy()
    assert (train == split.vocab.index("a")).all()     # no validation character is trained on
    # the unigram baseline: b's under add-one smoothed training frequencies
    assert math.isclose(split.unigram_loss, -math.log(1 / (900 + 2)), rel_tol=1e-9)


def test_stride_and_seed_choose_the_training_windows(tmp_path):
    path = _write(tmp_path / "t.txt", "".join(chr(65 + i % 50) for i in range(2000)))
    a = datasets.text(path, block_size=16, seed=0).train.tensors[0].numpy()
    b = datasets.text(path, block_size=16, seed=1).train.tensors[0].numpy()
    c = datasets.text(path, block_size=16, stride=4).train.tensors[0].numpy()
    assert not np.array_equal(a[:3], b[:3])
    assert abs(len(c) - 4 * len(a)) <= 4


def test_encode_decode_round_trip_and_unknown_characters():
    vocab = T.vocabulary("héllo wörld\n")
    assert T.decode(T.encode("wörld\nhéllo", vocab), vocab) == "wörld\nhéllo"
    with pytest.raises(errors.ArgumentError, match="not in the vocabulary"):
        T.encode("xyz", vocab)
    with pytest.raises(errors.ArgumentError, match="token ids"):
        T.decode([99], vocab)


def test_the_default_corpus_is_the_standard_library_in_sorted_order():
    files = T.standard_library_files()
    assert files == sorted(files) and files[0].startswith(os.path.dirname(os.__file__))
    corpus = T.default_corpus(5000)
    with open(files[0], encoding="utf-8", errors="replace") as f:
        first = f.read()
    assert corpus.startswith(first[:5000]) and len(corpus) == 5000
    assert corpus == T.default_corpus(5000)
    split = datasets.text(block_size=32, max_chars=50_000)
    assert split.name == "python-stdlib" and 2.5 < split.unigram_loss < 4.5
    assert "def " in T.default_corpus(100_000)


def test_the_default_corpus_is_not_in_the_repository():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sample = T.default_corpus(300)[100:200]
    for folder in ("src", "tests", "docs", "examples", "benchmarks"):
        for base, _, names in os.walk(os.path.join(root, folder)):
            for name in names:
                if name.endswith((".txt", ".py", ".md")) and name != "test_text.py":
                    with open(os.path.join(base, name), encoding="utf-8",
                              errors="replace") as f:
                        assert sample not in f.read(), name


@pytest.mark.parametrize("make, options, match", [
    (lambda p: _write(p / "short.txt", "abc"), {"block_size": 8}, "too few"),
    (lambda p: str(p / "missing.txt"), {}, "no such file"),
    (lambda p: str(p), {}, "is a directory"),
    (lambda p: _write(p / "latin.txt", "caf\u00e9 " * 50, "latin-1"), {}, "not UTF-8"),
    (lambda p: _write(p / "ok.txt", "ab" * 200), {"block_size": 0}, "block_size"),
    (lambda p: _write(p / "ok.txt", "ab" * 200), {"val_fraction": 1.0}, "val_fraction"),
])
def test_bad_text_files_and_options_are_named(tmp_path, make, options, match):
    with pytest.raises(errors.ConfigError, match=match):
        datasets.text(make(tmp_path), **options)


def test_load_by_name():
    split = datasets.load("text", block_size=16, max_chars=4000, seed=2)
    assert split.sample_shape == (16,)
