"""Character-level text for language models: ``text(path, block_size)``.

Each character is a token; the vocabulary is the sorted set of characters in the text. A
sample is a window of ``block_size`` token ids and the same window shifted by one (the next
character at every position). The last ``val_fraction`` of the text is held out, so no
validation character is ever trained on.

Without a path, the corpus is the Python standard library's own source files — its
top-level modules in sorted order, read up to ``max_chars`` characters — so it needs no
download, is never copied into this repository, and a model trained on it learns to write
Python. (It is the same text on every machine with the same Python version.)

>>> split = text(block_size=32, max_chars=20_000)
>>> split.train.tensors[0].shape[1], split.num_classes == len(split.vocab)
(32, True)
>>> decode(encode("def f():", split.vocab), split.vocab)
'def f():'
"""
import glob
import math
import os

import numpy

from ..errors import ArgumentError, ConfigError
from ..generator import Generator
from .split import DataSplit

#: characters read from the default corpus (keeps the default training run to minutes)
DEFAULT_MAX_CHARS = 300_000
#: the window length (the model's context) when none is given
DEFAULT_BLOCK_SIZE = 64
#: the most characters read from a user's file (a larger file is cut, with a note)
MAX_FILE_CHARS = 50_000_000


def standard_library_files():
    """The top-level modules of the running Python's standard library, in sorted order."""
    return sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))


def default_corpus(max_chars=DEFAULT_MAX_CHARS):
    """The text of the standard library's modules, joined in sorted order, up to
    ``max_chars`` characters.

    >>> corpus = default_corpus(1000)
    >>> len(corpus)
    1000
    """
    files = standard_library_files()
    if not files:
        raise ConfigError(f"the default text corpus is the standard library's source files, "
                          f"but none were found next to {os.__file__}; give a text file: "
                          "--dataset text:PATH")
    parts, size = [], 0
    for name in files:
        with open(name, encoding="utf-8", errors="replace") as f:
            part = f.read()
        parts.append(part)
        size += len(part)
        if size >= max_chars:
            break
    return "".join(parts)[:max_chars]


def read_text(path, max_chars=None):
    """A UTF-8 text file's characters (at most ``max_chars``), or a clear error."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ConfigError(f"text: expected the path of a text file, got {path!r}")
    if os.path.isdir(path):
        raise ConfigError(f"text: {path} is a directory; give a text file")
    if not os.path.isfile(path):
        raise ConfigError(f"text: {path}: no such file")
    limit = MAX_FILE_CHARS if max_chars is None else max_chars
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(limit)
    except UnicodeDecodeError as error:
        raise ConfigError(f"text: {path} is not UTF-8 text (byte {error.start}: "
                          f"{error.reason})") from None


def vocabulary(chars):
    """The sorted distinct characters of ``chars``, as one string."""
    return "".join(sorted(set(chars)))


def encode(chars, vocab):
    """Token ids (int64) of the characters, by their position in ``vocab``.

    >>> encode("aba", "ab").tolist(), encode("aba", "ba").tolist()
    ([0, 1, 0], [1, 0, 1])
    """
    codes = numpy.frombuffer(chars.encode("utf-32-le"), dtype=numpy.uint32)
    table = numpy.frombuffer(vocab.encode("utf-32-le"), dtype=numpy.uint32)
    order = numpy.argsort(table, kind="stable")          # any vocabulary order will do
    found = numpy.minimum(numpy.searchsorted(table[order], codes), len(table) - 1)
    ids = order[found] if len(table) else found
    unknown = table[ids] != codes if len(table) else numpy.ones(len(codes), bool)
    if unknown.any():
        missing = vocabulary(chr(c) for c in codes[unknown])
        raise ArgumentError(f"encode: {len(missing)} character(s) are not in the vocabulary: "
                            f"{missing[:20]!r}")
    return ids.astype(numpy.int64)


def decode(ids, vocab):
    """The characters of token ids.

    >>> decode([0, 1, 0], "ab")
    'aba'
    """
    ids = numpy.asarray(ids, dtype=numpy.int64).reshape(-1)
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
        raise ArgumentError(f"decode: token ids must lie in [0, {len(vocab)}), got range "
                            f"[{int(ids.min())}, {int(ids.max())}]")
    return "".join(vocab[i] for i in ids.tolist())


def windows(ids, block_size, stride, offset=0):
    """(inputs, targets): windows of ``block_size`` ids starting every ``stride`` ids from
    ``offset``, and the same windows one id later."""
    starts = numpy.arange(offset, len(ids) - block_size, stride)
    index = starts[:, None] + numpy.arange(block_size)[None, :]
    return ids[index], ids[index + 1]


def unigram_loss(train_ids, val_ids, vocab_size):
    """Cross-entropy (nats per character) of the validation text under the training text's
    character frequencies (add-one smoothed): the loss of a model that ignores context."""
    counts = numpy.bincount(train_ids, minlength=vocab_size) + 1.0
    log_p = numpy.log(counts / counts.sum())
    return float(-log_p[val_ids].mean())


def text(path=None, block_size=DEFAULT_BLOCK_SIZE, val_fraction=0.1, max_chars=None, stride=None,
         seed=0):
    """A character-level language-modelling split of a text file (or, with ``path=None``,
    of the standard library's source files: see the module's docstring).

    Samples are ``(ids, next_ids)`` windows of ``block_size``; training windows start every
    ``stride`` characters (``block_size`` by default: each character once per epoch) from an
    offset drawn with ``seed``; validation windows tile the held-out last ``val_fraction``.
    The split also carries ``vocab`` (its characters, also ``class_names``), ``block_size``
    and ``unigram_loss`` (the baseline a context-free model reaches, in nats/char).

    >>> split = text(block_size=16, max_chars=5000)
    >>> split.task, split.sample_shape
    ('language_model', (16,))
    >>> split.unigram_loss > 2
    True
    """
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ConfigError(f"text: block_size must be a positive integer, got {block_size!r}")
    if not 0 < val_fraction < 1:
        raise ConfigError(f"text: val_fraction must be in (0, 1), got {val_fraction}")
    stride = block_size if stride is None else stride
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ConfigError(f"text: stride must be a positive integer, got {stride!r}")
    if path is None:
        chars = default_corpus(DEFAULT_MAX_CHARS if max_chars is None else max_chars)
        name, where = "python-stdlib", "the standard library's source files"
    else:
        chars = read_text(path, max_chars)
        name, where = f"text:{os.path.basename(os.fspath(path))}", os.fspath(path)
    vocab = vocabulary(chars)
    ids = encode(chars, vocab)
    n_val = int(math.ceil(len(ids) * val_fraction))
    train_ids, val_ids = ids[:len(ids) - n_val], ids[len(ids) - n_val:]
    needed = block_size + 1
    if len(train_ids) <= needed or len(val_ids) <= needed:
        raise ConfigError(f"text: {where} has {len(ids)} characters, too few for windows of "
                          f"block_size={block_size}: both the training part and the last "
                          f"{val_fraction:g} held out need more than {needed}; use a longer "
                          "text or a smaller block size")
    offset = int(Generator(seed).numpy.integers(0, min(stride, len(train_ids) - needed)))
    x_train, y_train = windows(train_ids, block_size, stride, offset)
    x_val, y_val = windows(val_ids, block_size, block_size)
    split = DataSplit(name, x_train, y_train, x_val, y_val, "language_model",
                      num_classes=len(vocab), class_names=list(vocab))
    split.vocab, split.block_size = vocab, block_size
    split.unigram_loss = unigram_loss(train_ids, val_ids, len(vocab))
    return split
