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


def _drawn(path):
    """The picture has drawn content: varied pixels, some of them coloured (not just size)."""
    from PIL import Image
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=float)
    return pixels.std() > 15 and (np.abs(pixels[..., 0] - pixels[..., 2]) > 60).mean() > 0.001


def test_loss_curve_1d_with_descent_steps(tmp_path):
    path = chainrule.viz.plot_loss_curve_1d(lambda w: (w * 1.0 - 2.0) ** 2, (-1, 4),
                                            str(tmp_path / "c.png"), start=-0.5, lr=0.2)
    width, height = _png_size(path)
    assert width > 400 and height > 250 and _drawn(path)


def test_compare_batches_marks_the_rises(tmp_path):
    result = chainrule.viz.compare_batches(steps=25, path=str(tmp_path / "b.png"))
    assert result.gd_rises == [] and len(result.sgd_rises) >= 3
    assert "a sample of the data" in result.caption and _drawn(tmp_path / "b.png")


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
    assert not result.flat and good / 10 <= result.suggestion <= good * 10
    width, _ = _png_size(chainrule.viz.plot_lr_find(result, str(tmp_path / "lr.png")))
    assert width > 400


def test_lr_find_plot_shows_the_useful_region_not_the_blow_up():
    from chainrule.train.lr_find import LRFindResult
    from chainrule.viz.plots import lr_find_ylim
    losses = [2.3, 2.3, 2.29, 2.2, 1.5, 0.9, 0.7, 3.0, 40.0, 1e6]
    low, high = lr_find_ylim(losses)
    assert low < 0.7 < 2.3 < high < 3.5          # the drop is in view, the blow-up is not
    result = LRFindResult(list(np.logspace(-4, 1, len(losses))), losses, 0.1)
    assert result.advice == "suggested learning rate 0.1"


def test_landscape_labels_do_not_overlap():
    from chainrule.viz.landscape import Landscape, landscape_figure
    grid = np.linspace(-1, 1, 5)
    losses = np.add.outer(grid ** 2, grid ** 2) + 0.1
    fig = landscape_figure(Landscape(grid, grid, losses, 0.1))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [t for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label)
             if t.get_text()]
    boxes = [t.get_window_extent(renderer) for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (texts[i].get_text(), texts[j].get_text())
    import matplotlib.pyplot as plt
    plt.close(fig)
