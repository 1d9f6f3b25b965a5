"""Datasets that need no network: the seeds' toy data, spiral and moons, and the real data
sets bundled with scikit-learn (digits, breast_cancer, iris, wine, diabetes).

Every loader returns a :class:`DataSplit` with a fixed, seeded train/test split; features are
standardised with statistics of the training split only (never the test split).

>>> from chainrule.data import datasets
>>> split = datasets.load("moons", n=100, seed=0)
>>> len(split.train), len(split.test), split.num_classes
(80, 20, 2)
"""
import math
import os

import numpy

from ..errors import ConfigError
from ..generator import Generator
from . import images
from .text import DEFAULT_BLOCK_SIZE, text as _text
from .split import DataSplit, Preprocessing


def _split(name, x, y, task, seed, test_size, standardize, num_classes=None, scale=1.0,
           sample_shape=None, **extra):
    """Seeded train/test split of raw ``x``; ``x * scale`` standardised on train statistics.
    The split remembers that preprocessing (and the raw test inputs) for new data."""
    rng = Generator(seed).numpy
    order = rng.permutation(len(x))
    n_test = max(1, int(round(len(x) * test_size)))
    test, train = order[:n_test], order[n_test:]
    raw_test = numpy.array(x[test])
    x = (x * scale if scale != 1.0 else x).astype(numpy.float32)
    x_train, x_test = x[train], x[test]
    mean = std = None
    if standardize:
        mean = x_train.mean(axis=0)
        std = x_train.std(axis=0)
        std[std == 0] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    if task == "regression":
        y = y.astype(numpy.float32).reshape(-1, 1)
    else:
        y = y.astype(numpy.int64)
    shape = tuple(sample_shape or x.shape[1:])
    preprocessing = Preprocessing(x.shape[1:], shape, scale=scale, mean=mean, std=std)
    x_train, x_test = (a.astype(numpy.float32).reshape((-1,) + shape) for a in (x_train, x_test))
    return DataSplit(name, x_train, y[train], x_test, y[test], task, num_classes,
                     preprocessing=preprocessing, raw_test=raw_test, **extra)


# ---------------------------------------------------------------- synthetic

def toy_linear(n=200, w=2.0, b=1.0, noise=0.1, seed=0, test_size=0.2):
    """The seeds' line: y = w*x + b + noise, x uniform in [-1, 1] (regression, 1 feature).

    >>> toy_linear(n=50).train.tensors[0].shape
    (40, 1)
    """
    rng = Generator(seed).numpy
    x = rng.uniform(-1, 1, size=(n, 1))
    y = w * x[:, 0] + b + noise * rng.standard_normal(n)
    return _split("toy_linear", x, y, "regression", seed, test_size, standardize=False)


def spiral(n_per_class=100, classes=3, noise=0.2, seed=0, test_size=0.2):
    """Interleaved spiral arms, one per class (not linearly separable).

    >>> spiral(n_per_class=10).num_classes
    3
    """
    rng = Generator(seed).numpy
    xs, ys = [], []
    for c in range(classes):
        r = numpy.linspace(0.0, 1, n_per_class)
        t = numpy.linspace(c * 4, (c + 1) * 4, n_per_class) + \
            rng.standard_normal(n_per_class) * noise
        xs.append(numpy.stack([r * numpy.sin(t), r * numpy.cos(t)], axis=1))
        ys.append(numpy.full(n_per_class, c))
    return _split("spiral", numpy.concatenate(xs), numpy.concatenate(ys), "classification",
                  seed, test_size, standardize=False, num_classes=classes)


def moons(n=200, noise=0.1, seed=0, test_size=0.2):
    """Two interleaving half circles.

    >>> moons(n=20).task
    'classification'
    """
    rng = Generator(seed).numpy
    n_out = n // 2
    n_in = n - n_out
    outer = numpy.linspace(0, math.pi, n_out)
    inner = numpy.linspace(0, math.pi, n_in)
    x = numpy.concatenate([numpy.stack([numpy.cos(outer), numpy.sin(outer)], 1),
                           numpy.stack([1 - numpy.cos(inner), 1 - numpy.sin(inner) - 0.5], 1)])
    x += noise * rng.standard_normal(x.shape)
    y = numpy.concatenate([numpy.zeros(n_out), numpy.ones(n_in)])
    return _split("moons", x, y, "classification", seed, test_size, standardize=False,
                  num_classes=2)


# ---------------------------------------------------------------- scikit-learn's bundled data

def _sklearn(loader_name):
    try:
        from sklearn import datasets as sk
    except ImportError as error:
        raise ImportError(f"the {loader_name} data set comes with scikit-learn: "
                          "pip install 'chainrule[data]'") from error
    return getattr(sk, f"load_{loader_name}")()


def digits(seed=0, test_size=0.2, standardize=True, flat=True):
    """8x8 images of handwritten digits, 10 classes (1,797 samples). ``flat=False`` gives
    1x8x8 images for convolutional models. The raw pixels (0..16, as scikit-learn ships them)
    are divided by 16 and then standardised; ``split.preprocess`` does both to new data.

    >>> digits().num_features
    64
    >>> digits(flat=False).train.tensors[0].shape[1:]
    (1, 8, 8)
    """
    data, target = _bundled_digits()
    return _split("digits", data, target, "classification", seed, test_size,
                  standardize, num_classes=10, scale=1 / 16, image_shape=(1, 8, 8),
                  sample_shape=None if flat else (1, 8, 8),
                  class_names=[str(n) for n in range(10)])


def _bundled_digits():
    """scikit-learn's digits (pixels, labels), read from the file it ships without importing
    scikit-learn (whose import alone takes seconds: `chainrule train` on digits starts
    faster); the same arrays as ``sklearn.datasets.load_digits()``, which is the fallback."""
    import importlib.util
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = os.path.join(spec.submodule_search_locations[0], "datasets", "data",
                            "digits.csv.gz")
        if os.path.isfile(path):
            table = numpy.loadtxt(path, delimiter=",")
            return table[:, :-1], table[:, -1].astype(numpy.int64)
    bunch = _sklearn("digits")
    return bunch.data, bunch.target


def _tabular(name, task, num_classes, seed, test_size, standardize):
    bunch = _sklearn(name)
    names = None if task != "classification" else [str(n) for n in bunch.target_names]
    return _split(name, bunch.data, bunch.target, task, seed, test_size, standardize,
                  num_classes=num_classes, feature_names=list(bunch.feature_names),
                  class_names=names)


def breast_cancer(seed=0, test_size=0.2, standardize=True):
    """Breast cancer Wisconsin: 30 features, malignant (0) or benign (1) — binary.

    >>> breast_cancer().num_classes
    2
    """
    return _tabular("breast_cancer", "classification", 2, seed, test_size, standardize)


def iris(seed=0, test_size=0.2, standardize=True):
    """Iris flowers: 4 features, 3 classes.

    >>> len(iris().test)
    30
    """
    return _tabular("iris", "classification", 3, seed, test_size, standardize)


def wine(seed=0, test_size=0.2, standardize=True):
    """Wine cultivars: 13 features, 3 classes.

    >>> wine().num_features
    13
    """
    return _tabular("wine", "classification", 3, seed, test_size, standardize)


def diabetes(seed=0, test_size=0.2, standardize=True):
    """Diabetes progression: 10 features, a real-valued target (regression).

    >>> diabetes().task
    'regression'
    """
    return _tabular("diabetes", "regression", None, seed, test_size, standardize)


def shapes(n=10000, size=32, seed=0, test_size=0.2):
    """Procedural 32x32 RGB circles, squares, triangles and crosses (see data.images).

    >>> shapes(n=40).image_shape
    (3, 32, 32)
    """
    return images.shapes(n=n, size=size, seed=seed, test_size=test_size)


def text(path=None, block_size=DEFAULT_BLOCK_SIZE, **options):
    """Character-level text for language models (see :mod:`chainrule.data.text`): windows
    of ``block_size`` characters and the characters that follow them; with no ``path``, the
    Python standard library's source files.

    >>> text(block_size=16, max_chars=5000).task
    'language_model'
    """
    return _text(path, block_size, **options)


LOADERS = {"toy_linear": toy_linear, "spiral": spiral, "moons": moons, "digits": digits,
           "breast_cancer": breast_cancer, "iris": iris, "wine": wine, "diabetes": diabetes,
           "shapes": shapes, "text": text}


def load(name, **options):
    """Load a data set by name (see ``LOADERS``); options go to its loader.

    >>> load("moons", n=10).name
    'moons'
    """
    if name not in LOADERS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of: {', '.join(LOADERS)}")
    return LOADERS[name](**options)
