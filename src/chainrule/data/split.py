"""DataSplit: a dataset's train and test parts plus what a model needs to know about them,
and Preprocessing: how raw inputs, as the dataset ships them, become the model's inputs."""
import math

import numpy

from ..errors import ArgumentError, ShapeError
from .dataset import TensorDataset


class Preprocessing:
    """How raw inputs become model inputs: ``(x * scale - mean) / std``, then a reshape.

    ``mean`` and ``std`` broadcast against one raw sample (per feature for tables, per
    channel for images). Training fits them on the training split; ``chainrule train``
    saves them in the checkpoint so that ``predict`` treats new raw data the same way.

    >>> p = Preprocessing(raw_shape=(2,), scale=0.5, mean=[1.0, 0.0], std=[1.0, 2.0])
    >>> p(numpy.array([[4.0, 4.0]])).tolist()
    [[1.0, 1.0]]
    >>> Preprocessing.from_dict(p.to_dict())(numpy.array([[4.0, 4.0]])).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, raw_shape, shape=None, scale=1.0, mean=None, std=None,
                 image_size=None):
        self.raw_shape = tuple(int(n) for n in raw_shape)
        self.shape = tuple(int(n) for n in shape) if shape is not None else self.raw_shape
        self.scale = float(scale)
        self.mean = None if mean is None else numpy.asarray(mean, dtype=numpy.float32)
        self.std = None if std is None else numpy.asarray(std, dtype=numpy.float32)
        self.image_size = None if image_size is None else tuple(int(n) for n in image_size)
        self._check()

    @property
    def num_features(self):
        return math.prod(self.raw_shape)

    def __call__(self, x):
        """Raw samples ``(n, *raw_shape)`` (or flattened ``(n, features)``) -> model inputs."""
        x = numpy.asarray(x, dtype=numpy.float32)
        if x.ndim == 2 and len(self.raw_shape) > 1 and x.shape[1] == self.num_features:
            x = x.reshape((-1,) + self.raw_shape)            # flattened images, e.g. a CSV
        if x.shape[1:] != self.raw_shape:
            raise ShapeError(f"expected samples of shape {self.raw_shape} (an array of shape "
                             f"(n, {', '.join(map(str, self.raw_shape))})), got an array of "
                             f"shape {x.shape}")
        if self.scale != 1.0:
            x = x * numpy.float32(self.scale)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return numpy.ascontiguousarray(x.reshape((-1,) + self.shape), dtype=numpy.float32)

    def to_dict(self):
        """JSON-able description (mean and std stay float32 arrays, stored exactly)."""
        return {"raw_shape": list(self.raw_shape), "shape": list(self.shape),
                "scale": self.scale, "mean": self.mean, "std": self.std,
                "image_size": None if self.image_size is None else list(self.image_size)}

    @classmethod
    def from_dict(cls, data):
        """Rebuild from :meth:`to_dict`, checking every field (it may come from a file)."""
        if not isinstance(data, dict):
            raise ArgumentError(f"preprocessing: expected a dict, got {type(data).__name__}")
        unknown = sorted(set(data) - {"raw_shape", "shape", "scale", "mean", "std",
                                      "image_size"})
        if unknown:
            raise ArgumentError(f"preprocessing: unknown fields {', '.join(map(str, unknown))}")
        fields = {}
        for key in ("raw_shape", "shape", "image_size"):
            if data.get(key) is not None:
                fields[key] = _dimensions(data[key], f"preprocessing.{key}")
        if "raw_shape" not in fields:
            raise ArgumentError("preprocessing.raw_shape is missing")
        scale = data.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or \
                not math.isfinite(scale) or scale <= 0:
            raise ArgumentError(f"preprocessing.scale must be a finite positive number, got "
                                f"{scale!r}")
        for key in ("mean", "std"):
            if data.get(key) is not None:
                fields[key] = _real_array(data[key], f"preprocessing.{key}")
        return cls(scale=scale, **fields)

    def _check(self):
        if math.prod(self.shape) != self.num_features:
            raise ArgumentError(f"preprocessing: raw samples of shape {self.raw_shape} cannot "
                                f"be reshaped to {self.shape}")
        if (self.mean is None) != (self.std is None):
            raise ArgumentError("preprocessing: mean and std come together")
        if self.mean is None:
            return
        for name, value in (("mean", self.mean), ("std", self.std)):
            try:
                shape = numpy.broadcast_shapes(value.shape, self.raw_shape)
            except ValueError:
                shape = None
            if shape != self.raw_shape:
                raise ArgumentError(f"preprocessing.{name} of shape {value.shape} does not "
                                    f"fit samples of shape {self.raw_shape}")
            if not numpy.isfinite(value).all():
                raise ArgumentError(f"preprocessing.{name} holds NaN or inf")
        if (self.std <= 0).any():
            raise ArgumentError("preprocessing.std must be positive")

    def __repr__(self):
        parts = [f"raw_shape={self.raw_shape}"]
        if self.shape != self.raw_shape:
            parts.append(f"shape={self.shape}")
        if self.scale != 1.0:
            parts.append(f"scale={self.scale:g}")
        if self.mean is not None:
            parts.append("standardised")
        return f"Preprocessing({', '.join(parts)})"


def _dimensions(value, name):
    if not isinstance(value, (list, tuple)) or len(value) > 8 or any(
            isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= 2**24 for n in value):
        raise ArgumentError(f"{name} must be a list of at most 8 positive integers, got "
                            f"{value!r}"[:200])
    return tuple(value)


def _real_array(value, name):
    array = numpy.asarray(value) if isinstance(value, numpy.ndarray) else None
    if array is None:
        try:
            array = numpy.asarray(value, dtype=numpy.float64)
        except (TypeError, ValueError):
            raise ArgumentError(f"{name} must be an array of numbers") from None
    if array.dtype.kind not in "iuf" or array.size > 2**24:
        raise ArgumentError(f"{name} must be an array of real numbers, got dtype {array.dtype} "
                            f"and {array.size} elements")
    return array


class DataSplit:
    """A train/test pair of datasets plus what a model needs to know about them:
    the task, classes and their names, the sample shape, and the :class:`Preprocessing`
    that turned the raw data into the model's inputs (fitted on the training split).

    ``raw_test`` holds the test split's inputs as the dataset ships them (when the loader
    knows them): ``split.preprocess(split.raw_test)`` equals the test inputs.

    >>> from chainrule.data.datasets import load
    >>> split = load("iris")
    >>> (split.task, split.num_classes, split.num_outputs, split.class_names[0])
    ('classification', 3, 3, 'setosa')
    """

    def __init__(self, name, x_train, y_train, x_test, y_test, task, num_classes=None,
                 feature_names=None, image_shape=None, preprocessing=None, raw_test=None,
                 class_names=None):
        self._setup(name, TensorDataset(x_train, y_train), TensorDataset(x_test, y_test), task,
                    num_classes, tuple(x_train.shape[1:]), feature_names, image_shape,
                    preprocessing, raw_test, class_names)

    @classmethod
    def from_datasets(cls, name, train, test, task, sample_shape, num_classes=None,
                      image_shape=None, preprocessing=None, class_names=None):
        """A split of any two datasets (e.g. lazily read image files) of one sample shape."""
        split = cls.__new__(cls)
        split._setup(name, train, test, task, num_classes, tuple(sample_shape), None,
                     image_shape, preprocessing, None, class_names)
        return split

    def _setup(self, name, train, test, task, num_classes, sample_shape, feature_names,
               image_shape, preprocessing, raw_test, class_names):
        self.name, self.task, self.num_classes = name, task, num_classes
        self.train, self.test = train, test
        self.sample_shape = sample_shape
        self.num_features = math.prod(sample_shape)
        self.feature_names = feature_names
        self.image_shape = image_shape
        self.preprocessing = preprocessing or Preprocessing(sample_shape)
        self.raw_test = raw_test
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.feature_mean, self.feature_std = self.preprocessing.mean, self.preprocessing.std

    def preprocess(self, x):
        """New raw inputs (as the dataset ships them) -> model inputs, exactly as in training.

        >>> from chainrule.data.datasets import digits
        >>> split = digits()
        >>> bool((split.preprocess(split.raw_test) == split.test.tensors[0].numpy()).all())
        True
        """
        return self.preprocessing(x)

    def standardize(self, x):
        """The same as :meth:`preprocess` (scaling included, e.g. the digits' ``/ 16``)."""
        return self.preprocessing(x)

    @property
    def num_outputs(self):
        if self.task == "classification":
            return self.num_classes
        return 1

    def __repr__(self):
        return (f"DataSplit({self.name!r}, task={self.task!r}, train={len(self.train)}, "
                f"test={len(self.test)}, features={self.num_features}, "
                f"classes={self.num_classes})")
