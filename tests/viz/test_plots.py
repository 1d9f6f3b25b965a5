"""Every plot writes a non-empty PNG of the expected size, with no display."""
import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.data import datasets

pytest.importorskip("matplotlib")


def _png_size(path):
    from PIL import Image
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


@pytest.fixture(scope="module")
def trained():
    chainrule.manual_seed(0)
    split = datasets.digits()
    model = chainrule.models.MLP(64, (32,), 10)
    snapshots = []
    keep = chainrule.train.LambdaCallback(on_epoch_end=lambda t, e, logs: snapshots.append(
        [p.numpy().copy() for p in model.parameters()]))
    history = chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(),
                                                                     lr=1e-2),
                            split.train, val_data=split.test, epochs=3, callbacks=[keep])
    return split, model, history, snapshots


def test_plot_history(tmp_path, trained):
    path = chainrule.viz.plot_history(trained[2], str(tmp_path / "h.png"))
    width, height = _png_size(path)
    assert width > 1000 and height > 200


def test_loss_curve_1d_with_descent_steps(tmp_path):
    path = chainrule.viz.plot_loss_curve_1d(lambda w: (w * 1.0 - 2.0) ** 2, (-1, 4),
                                            str(tmp_path / "c.png"), start=-0.5, lr=0.2)
    width, height = _png_size(path)
    assert width > 400 and height > 250


def test_compare_optimizers(tmp_path):
    path = chainrule.viz.compare_optimizers("bowl", path=str(tmp_path / "o.png"), steps=30)
    width, _ = _png_size(path)
    assert width > 800
    paths = chainrule.viz.optimizer_paths("bowl", steps=30)
    assert set(paths) == {"GD", "SGD+noise", "momentum", "Adam", "Adamax", "Newton"}
    assert paths["Newton"][1][-1] < 1e-8       # Newton solves the quadratic bowl


def test_landscape_centre_is_the_model_loss(tmp_path, trained):
    split, model, _, snapshots = trained
    x, y = split.test.tensors
    result = chainrule.viz.plot_landscape(model, nn.CrossEntropyLoss(), (x, y),
                                          str(tmp_path / "l.png"), resolution=7,
                                          trajectory=snapshots)
    actual = chainrule.evaluate(model, nn.CrossEntropyLoss(), (x, y), batch_size=10_000)["loss"]
    assert result.center_value == pytest.approx(actual, rel=1e-5)
    assert result.path.shape == (3, 2)
    assert result.losses.max() > result.center_value
    width, _ = _png_size(tmp_path / "l.png")
    assert width > 800


def test_lr_find_suggests_a_rate_that_trains_well(tmp_path):
    split = datasets.digits()
    chainrule.manual_seed(0)
    model = chainrule.models.MLP(64, (32,), 10)
    before = [p.numpy().copy() for p in model.parameters()]
    result = chainrule.lr_find(model, nn.CrossEntropyLoss(),
                               optim.SGD(model.parameters(), lr=0.1), split.train)
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(before, model.parameters()))

    def final_loss(lr):
        chainrule.manual_seed(0)
        m = chainrule.models.MLP(64, (32,), 10)
        return chainrule.fit(m, nn.CrossEntropyLoss(), optim.SGD(m.parameters(), lr=lr),
                             split.train, epochs=3, metrics=()).epochs[-1]["loss"]
    good = min([1e-3, 1e-2, 1e-1, 1.0], key=final_loss)
    assert good / 10 <= result.suggestion <= good * 10
    width, _ = _png_size(result.plot(str(tmp_path / "lr.png")))
    assert width > 400
