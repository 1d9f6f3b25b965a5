"""fit / evaluate / predict: learning works, is reproducible, and bad input is explained."""
import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.data import datasets
from chainrule.errors import ShapeError
from chainrule.models import MLP
from chainrule.train import DivergenceGuard, EarlyStopping


def test_logistic_regression_with_bce_on_breast_cancer():
    chainrule.manual_seed(0)
    split = datasets.breast_cancer()
    model = nn.Sequential(nn.Linear(split.num_features, 1), nn.Sigmoid())
    x, y = split.train.tensors
    xt, yt = split.test.tensors
    chainrule.fit(model, nn.BCELoss(), optim.Adam(model.parameters(), lr=0.01),
                  (x, y.float().reshape(-1, 1)), epochs=30, metrics=("accuracy",))
    result = chainrule.evaluate(model, nn.BCELoss(), (xt, yt.float().reshape(-1, 1)))
    assert result["accuracy"] >= 0.95


def test_default_mlp_on_digits_reaches_95_percent():
    chainrule.manual_seed(0)
    split = datasets.digits()
    model = MLP(64, (128, 128, 128), 10)
    history = chainrule.fit(model, nn.CrossEntropyLoss(),
                            optim.Adam(model.parameters(), lr=1e-3), split.train,
                            val_data=split.test, epochs=15, batch_size=64)
    assert history.epochs[-1]["val_accuracy"] >= 0.95
    assert chainrule.evaluate(model, nn.CrossEntropyLoss(), split.test)["accuracy"] >= 0.95
    assert chainrule.predict(model, split.test.tensors[0]).shape == (len(split.test), 10)


def _run_once(seed=7):
    chainrule.manual_seed(seed)
    split = datasets.digits()
    model = MLP(64, (32, 32), 10, dropout=0.1)
    history = chainrule.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1,
                                                                    momentum=0.9),
                            split.train, val_data=split.test, epochs=3)
    return history, model


def test_same_seed_gives_bit_identical_history_and_parameters():
    h1, m1 = _run_once()
    h2, m2 = _run_once()
    assert h1.to_csv() == h2.to_csv()
    assert h1.to_csv(table="steps") == h2.to_csv(table="steps")
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert np.array_equal(a.numpy(), b.numpy())


def test_learning_rate_100x_too_large_triggers_divergence_guard():
    chainrule.manual_seed(0)
    split = datasets.diabetes()
    model = MLP(10, (32,), 1)
    history = chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1.0),
                            split.train, epochs=20, metrics=(),
                            callbacks=[DivergenceGuard(patience=5)])
    assert history.stop_reason.startswith("DivergenceGuard: ")
    assert "learning rate (lr=1) is probably too large — try lr=0.1" in history.stop_reason
    assert len(history.epochs) < 20


def test_divergence_guard_names_the_op_that_made_the_nan():
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2))
    x = np.array([[1.0, 2.0]] * 8, dtype=np.float32)
    y = np.array([[1.0, -1.0]] * 8, dtype=np.float32)

    def loss_fn(out, target):
        return chainrule.log(out - target).sum()     # log of negative numbers: NaN
    history = chainrule.fit(model, loss_fn, optim.SGD(model.parameters(), lr=0.1), (x, y),
                            epochs=2, metrics=(), callbacks=[DivergenceGuard()])
    assert "the loss became nan" in history.stop_reason
    assert "detect_anomaly found: Log produced NaN" in history.stop_reason


# The spreadsheet's History (every parameter and gradient of every step, checked number by
# number against a hand computation) is tested in tests/seeds/test_lessons.py.


def test_early_stopping_restores_the_best_weights():
    chainrule.manual_seed(0)
    split = datasets.digits()
    model = MLP(64, (64,), 10)
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    history = chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(),
                                                                     lr=0.01),
                            split.train, val_data=split.test, epochs=40, callbacks=[stopper])
    assert "early stopping" in history.stop_reason
    best = history.best("val_loss")
    result = chainrule.evaluate(model, nn.CrossEntropyLoss(), split.test)
    assert result["loss"] == pytest.approx(best["val_loss"], rel=1e-5)


def test_bad_input_to_fit_names_the_mismatch():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()
    with pytest.raises(ShapeError, match="X has 10 samples but y has 9"):
        chainrule.fit(model, loss, opt, (np.zeros((10, 3)), np.zeros(9, dtype=int)))
    with pytest.raises(chainrule.DTypeError, match="use y.long()"):
        chainrule.fit(model, loss, opt, (np.zeros((10, 3), np.float32), np.zeros(10)))
    with pytest.raises(ValueError, match="empty"):
        chainrule.fit(model, loss, opt, (np.zeros((0, 3)), np.zeros(0, dtype=int)))
    with pytest.raises(ShapeError, match=r"\(10, 2\).*\(10, 1\)"):
        chainrule.fit(model, nn.MSELoss(), opt, (np.zeros((10, 3), np.float32),
                                                 np.zeros((10, 1), np.float32)))
    with pytest.raises(ShapeError, match="in_features=3"):
        chainrule.fit(model, loss, opt, (np.zeros((10, 4), np.float32), np.zeros(10, int)))


def test_parameters_missing_from_the_optimizer_are_reported():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    opt = optim.SGD(model[0].parameters(), lr=0.1)
    with pytest.warns(UserWarning, match=r"2 trainable parameters .* 1\.weight, 1\.bias"):
        chainrule.fit(model, nn.MSELoss(), opt, (np.zeros((4, 2), np.float32),
                                                 np.zeros((4, 2), np.float32)), metrics=())


def test_fit_with_lbfgs_and_newton_closures_and_scheduler():
    chainrule.manual_seed(0)
    split = datasets.iris()
    for make_opt in (lambda p: optim.LBFGS(p, max_iter=5), lambda p: optim.Newton(p)):
        model = nn.Linear(4, 3)
        history = chainrule.fit(model, nn.CrossEntropyLoss(), make_opt(model.parameters()),
                                split.train, epochs=3, batch_size=200)
        assert history.epochs[-1]["accuracy"] > 0.9
    model = nn.Linear(4, 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = chainrule.fit(model, nn.CrossEntropyLoss(), opt, split.train, epochs=3,
                            scheduler=sched)
    assert history["lr"] == [0.1, 0.05, 0.025]       # the rate each epoch trained with
