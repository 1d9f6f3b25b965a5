"""Metrics computed from a whole epoch's outputs and targets (NumPy arrays).

Classification metrics take logits/probabilities of shape (N, C), or a single score per
sample for binary tasks (thresholded at ``threshold``). Regression metrics take (N,) or (N, 1).

>>> import numpy as np
>>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
0.5
"""
import numpy

from ..errors import ConfigError


def predicted_classes(outputs, threshold=0.5):
    outputs = numpy.asarray(outputs)
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        return outputs.argmax(axis=1)
    return (outputs.reshape(-1) > threshold).astype(numpy.int64)


def _labels(targets):
    targets = numpy.asarray(targets)
    if targets.ndim == 2 and targets.shape[1] > 1:      # probabilities / one-hot
        return targets.argmax(axis=1)
    return targets.reshape(-1).astype(numpy.int64)


def accuracy(outputs, targets, threshold=0.5):
    return float((predicted_classes(outputs, threshold) == _labels(targets)).mean())


def top_k_accuracy(outputs, targets, k=5):
    """Share of samples whose class is among the ``k`` highest scores.

    >>> import numpy as np
    >>> top_k_accuracy(np.array([[0.1, 0.5, 0.4]]), np.array([2]), k=2)
    1.0
    """
    outputs = numpy.asarray(outputs)
    top = numpy.argsort(-outputs, axis=1)[:, :k]
    return float((top == _labels(targets)[:, None]).any(axis=1).mean())


def _per_class(outputs, targets, threshold):
    pred, true = predicted_classes(outputs, threshold), _labels(targets)
    classes = numpy.union1d(numpy.unique(true), numpy.unique(pred))
    tp = numpy.array([((pred == c) & (true == c)).sum() for c in classes], dtype=float)
    fp = numpy.array([((pred == c) & (true != c)).sum() for c in classes], dtype=float)
    fn = numpy.array([((pred != c) & (true == c)).sum() for c in classes], dtype=float)
    return tp, fp, fn


def _safe_divide(a, b):
    return numpy.divide(a, b, out=numpy.zeros_like(a), where=b > 0)


def precision(outputs, targets, threshold=0.5):
    """Macro-averaged precision.

    >>> import numpy as np
    >>> precision(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]))
    0.5
    """
    tp, fp, _ = _per_class(outputs, targets, threshold)
    return float(_safe_divide(tp, tp + fp).mean())


def recall(outputs, targets, threshold=0.5):
    """Macro-averaged recall.

    >>> import numpy as np
    >>> recall(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]))
    0.25
    """
    tp, _, fn = _per_class(outputs, targets, threshold)
    return float(_safe_divide(tp, tp + fn).mean())


def f1(outputs, targets, threshold=0.5):
    """Macro-averaged F1 (the mean over classes of each class's F1).

    >>> import numpy as np
    >>> round(f1(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 1])), 3)
    1.0
    """
    tp, fp, fn = _per_class(outputs, targets, threshold)
    p, r = _safe_divide(tp, tp + fp), _safe_divide(tp, tp + fn)
    return float(_safe_divide(2 * p * r, p + r).mean())


def mae(outputs, targets, threshold=None):
    """Mean absolute error.

    >>> import numpy as np
    >>> mae(np.array([1.0, 3.0]), np.array([2.0, 2.0]))
    1.0
    """
    return float(numpy.abs(numpy.asarray(outputs).reshape(-1) -
                           numpy.asarray(targets).reshape(-1)).mean())


def rmse(outputs, targets, threshold=None):
    """Root mean squared error.

    >>> import numpy as np
    >>> rmse(np.array([0.0, 0.0]), np.array([3.0, 4.0]))
    3.5355339059327378
    """
    diff = numpy.asarray(outputs).reshape(-1) - numpy.asarray(targets).reshape(-1)
    return float(numpy.sqrt((diff * diff).mean()))


def r2(outputs, targets, threshold=None):
    """Coefficient of determination (1 is a perfect fit).

    >>> import numpy as np
    >>> r2(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    1.0
    """
    y = numpy.asarray(targets, dtype=float).reshape(-1)
    residual = ((numpy.asarray(outputs).reshape(-1) - y) ** 2).sum()
    total = ((y - y.mean()) ** 2).sum()
    return float(1 - residual / total) if total else 0.0


def confusion_matrix(outputs, targets, num_classes=None, threshold=0.5):
    """Counts of (true class, predicted class) pairs.

    >>> import numpy as np
    >>> confusion_matrix(np.array([[0.9, 0.1], [0.8, 0.2]]), np.array([0, 1])).tolist()
    [[1, 0], [1, 0]]
    """
    pred, true = predicted_classes(outputs, threshold), _labels(targets)
    n = num_classes or int(max(pred.max(), true.max())) + 1
    matrix = numpy.zeros((n, n), dtype=numpy.int64)
    numpy.add.at(matrix, (true, pred), 1)
    return matrix


METRICS = {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1,
           "mae": mae, "rmse": rmse, "r2": r2}


def get_metric(name):
    """A metric function by name; ``top5_accuracy`` (any k) is top-k accuracy."""
    if callable(name):
        return getattr(name, "__name__", "metric"), name
    if name in METRICS:
        return name, METRICS[name]
    if name.startswith("top") and name.endswith("_accuracy") and name[3:-9].isdigit():
        k = int(name[3:-9])
        return name, lambda outputs, targets, threshold=None: top_k_accuracy(outputs, targets, k)
    raise ConfigError(f"unknown metric {name!r}; choose from {', '.join(METRICS)} or topK_accuracy")
