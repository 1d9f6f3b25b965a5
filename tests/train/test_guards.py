"""fit never diverges silently: NaN/inf losses stop the run with the cause in words (bad
inputs, the learning rate, or a named op), runs of no step and float16 parameters are refused,
and paths are checked before training starts."""
import os
import warnings

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, datasets
from chainrule.errors import ArgumentError, ConfigError, DTypeError
from chainrule.io import checkpoints_in, load_checkpoint
from chainrule.models import MLP
from chainrule.train import CSVLogger, DivergenceGuard, LambdaCallback


@pytest.fixture(scope="module")
def digits():
    return datasets.digits()


def _train(digits, make_optimizer, data=None, epochs=2, **options):
    """A small `chainrule train`: an MLP on digits, fit's default guard."""
    chainrule.manual_seed(0)
    model = MLP(64, (32, 32), 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = chainrule.fit(model, nn.CrossEntropyLoss(), make_optimizer(model.parameters()),
                                data if data is not None else digits.train, epochs=epochs,
                                batch_size=64, metrics=(), **options)
    warned = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning) and
              str(w.message).startswith("DivergenceGuard")]
    return history, model, warned


def _finite(model):
    return all(np.isfinite(p.numpy()).all() for p in model.parameters())


@pytest.mark.parametrize("lr, words", [
    (float("nan"), ["the learning rate is lr=nan", "use a finite learning rate",
                    "Adam's default lr=0.001"]),
    (float("inf"), ["the learning rate is lr=inf", "use a finite learning rate"]),
    (1e6, ["learning rate (lr=1e+06) is probably too large", "try lr=100000",
           "Adam's default lr=0.001"]),
])
def test_a_learning_rate_that_ruins_the_weights_is_named(digits, lr, words):
    history, _, warned = _train(digits, lambda p: optim.Adam(p, lr=lr))
    assert history.diverged is True
    assert history.stop_reason.startswith("DivergenceGuard: ")
    for w in words:
        assert w in history.stop_reason
    assert "inputs" not in history.stop_reason
    assert history.epochs == []            # the epoch that diverged is not logged
    assert warned == [history.stop_reason]  # the default guard also warns, once


def test_lbfgs_with_its_default_lr_diverges_with_a_reason(digits):
    history, _, _ = _train(digits, lambda p: optim.LBFGS(p), epochs=1)
    assert history.diverged
    assert "learning rate (lr=1) is probably too large — try lr=0.1" in history.stop_reason


def test_nan_in_the_inputs_names_the_batch_and_the_samples_not_the_learning_rate(digits):
    x, y = (t.numpy().copy() for t in digits.train.tensors)
    x[17, 3], x[40, 0] = np.nan, np.inf
    history, model, _ = _train(digits, lambda p: optim.Adam(p, lr=1e-3), data=(x, y))
    reason = history.stop_reason
    assert history.diverged
    assert "because the inputs of that batch hold NaN/inf" in reason
    assert "(epoch 1, batch " in reason and "sample " in reason
    assert "the training data has 2 such samples (dataset indices 17, 40)" in reason
    assert "it is not the learning rate" in reason
    assert _finite(model)                  # the NaN batch was not stepped on


def test_nan_in_regression_targets_is_told_apart_from_the_inputs():
    chainrule.manual_seed(0)
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(-1, 1)
    y = 2 * x
    y[5] = np.nan
    model = nn.Linear(1, 1)
    history = chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                            (x, y), metrics=(), shuffle=False, batch_size=8,
                            callbacks=[DivergenceGuard()])
    assert "the loss became nan at step 1 (epoch 1, batch 1) because the targets" in \
        history.stop_reason
    assert "sample 5 of the batch has nan" in history.stop_reason


def test_an_op_outside_its_domain_is_named_under_detect_anomaly():
    chainrule.manual_seed(0)
    model = nn.Linear(2, 2)
    x = np.ones((8, 2), np.float32)
    y = np.full((8, 2), 9.0, np.float32)
    history = chainrule.fit(model, lambda out, t: chainrule.log(out - t).sum(),
                            optim.SGD(model.parameters(), lr=0.1), (x, y), metrics=(),
                            callbacks=[DivergenceGuard()])
    reason = history.stop_reason
    assert history.diverged
    assert "with finite inputs and weights: detect_anomaly found: Log produced NaN" in reason
    assert "it is not the learning rate" in reason


def test_the_newest_checkpoint_after_a_divergence_is_the_last_good_state(digits, tmp_path):
    def blow_up(trainer, epoch):
        if epoch == 3:
            trainer.optimizer.param_groups[0]["lr"] = 1e6
    history, model, _ = _train(digits, lambda p: optim.Adam(p, lr=1e-2), epochs=4,
                               checkpoint_dir=str(tmp_path),
                               callbacks=[LambdaCallback(on_epoch_begin=blow_up)])
    assert history.diverged and "lr=1e+06" in history.stop_reason
    assert [row["epoch"] for row in history.epochs] == [1, 2]
    assert [epoch for epoch, _ in checkpoints_in(str(tmp_path))] == [1, 2]
    restored = MLP(64, (32, 32), 10)
    assert load_checkpoint(checkpoints_in(str(tmp_path))[-1][1], restored)["epoch"] == 2
    assert _finite(restored)
    loss = chainrule.evaluate(restored, nn.CrossEntropyLoss(), digits.train, metrics=())["loss"]
    assert loss < history.epochs[0]["loss"] < 2.0    # a model that learned, not a ruined one


def test_no_training_step_is_an_error_not_a_loss_of_zero():
    x, y = np.zeros((5, 3), np.float32), np.zeros(5, np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, drop_last=True)
    model = nn.Linear(3, 2)
    with pytest.raises(ArgumentError, match=r"no training step per epoch: 5 samples with "
                                            r"batch_size=8 and drop_last=True"):
        chainrule.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                      loader)


def test_float16_parameters_are_refused_with_the_reason():
    model = nn.Sequential(nn.Linear(4, 2)).to(chainrule.float16)
    data = (np.zeros((8, 4), np.float16), np.zeros(8, np.int64))
    with pytest.raises(DTypeError, match=r"parameter 0\.weight is float16.*model\.to\("
                                         r"chainrule\.float32\)"):
        chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), data)


def test_float16_adam_fails_in_pytorch_too_which_is_why_fit_refuses_it():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    layer = torch.nn.Linear(64, 10).half()
    opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
    x, y = torch.randn(32, 64).half(), torch.randint(0, 10, (32,))
    torch.nn.functional.cross_entropy(layer(x).float(), y).backward()
    opt.step()
    assert not torch.isfinite(layer.weight).all()      # NaN after one step, no word
    w = torch.ones(1, dtype=torch.float16, requires_grad=True)
    sgd = torch.optim.SGD([w], lr=1e-4)
    w.sum().backward()
    sgd.step()
    assert w.item() == 1.0                             # a small update rounded away


def test_without_the_guard_fit_trains_on_as_a_plain_loop_would():
    model = nn.Linear(1, 1)
    x = np.ones((4, 1), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(),
                                                               lr=float("nan")),
                                (x, x), epochs=3, metrics=(), divergence_guard=False)
    assert not history.diverged and history.stop_reason is None
    assert len(history.epochs) == 3 and np.isnan(history.epochs[-1]["loss"])


def test_a_warning_guard_warns_and_lets_training_go_on():
    model = nn.Linear(1, 1)
    x = np.ones((4, 1), np.float32)
    with pytest.warns(RuntimeWarning, match="DivergenceGuard: the loss became nan"):
        history = chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(),
                                                               lr=float("nan")),
                                (x, x), epochs=3, metrics=(),
                                callbacks=[DivergenceGuard(action="warn")])
    assert not history.diverged and len(history.epochs) == 3


def test_unwritable_paths_fail_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    model = nn.Linear(1, 1)
    steps = []
    spy = LambdaCallback(on_batch_end=lambda trainer, step, loss: steps.append(step))
    data = (np.ones((4, 1), np.float32), np.ones((4, 1), np.float32))
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ConfigError, match=r"checkpoint directory: cannot write into .*a-file"):
        chainrule.fit(model, nn.MSELoss(), opt, data, metrics=(), callbacks=[spy],
                      checkpoint_dir=str(blocker / "checkpoints"))
    with pytest.raises(ConfigError, match=r"CSVLogger\(.*\): cannot write into"):
        chainrule.fit(model, nn.MSELoss(), opt, data, metrics=(),
                      callbacks=[spy, CSVLogger(os.path.join(str(blocker), "log.csv"))])
    assert steps == []
