"""Metrics against hand-computed values (and scikit-learn when installed)."""
import numpy as np
import pytest

from chainrule.train import metrics


def test_classification_metrics():
    outputs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    targets = np.array([0, 1, 1, 2])
    assert metrics.accuracy(outputs, targets) == 0.5
    assert metrics.top_k_accuracy(outputs, targets, k=2) == 0.75
    sk = pytest.importorskip("sklearn.metrics")
    pred = outputs.argmax(1)
    assert metrics.precision(outputs, targets) == pytest.approx(
        sk.precision_score(targets, pred, average="macro", zero_division=0))
    assert metrics.recall(outputs, targets) == pytest.approx(
        sk.recall_score(targets, pred, average="macro", zero_division=0))
    assert metrics.f1(outputs, targets) == pytest.approx(
        sk.f1_score(targets, pred, average="macro", zero_division=0))


def test_binary_threshold_and_confusion_matrix():
    assert metrics.accuracy(np.array([[2.0], [-1.0]]), np.array([1, 0]), threshold=0.0) == 1.0
    m = metrics.confusion_matrix(np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]),
                                 np.array([0, 0, 1]))
    assert m.tolist() == [[1, 1], [1, 0]]


def test_regression_metrics():
    out, y = np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 3.0])
    assert metrics.mae(out, y) == pytest.approx(2 / 3)
    assert metrics.rmse(out, y) == pytest.approx(np.sqrt(2 / 3))
    total = ((y - y.mean()) ** 2).sum()                        # 2/3
    assert metrics.r2(out, y) == pytest.approx(1 - 2.0 / total)


def test_metric_lookup():
    assert metrics.get_metric("top3_accuracy")[0] == "top3_accuracy"
    with pytest.raises(ValueError, match="unknown metric"):
        metrics.get_metric("bogus")
