"""report.html, issue 15 point 7: the misclassified examples are the original pictures (not
standardised noise) with class names, the learning rate is the one the optimizer used, epoch
ticks are whole numbers, and a constant learning rate gets a sentence instead of a panel."""
import base64
import html.parser
import importlib
import io
import re

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim

report_module = importlib.import_module("chainrule.viz.report")    # the function shadows it

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")


class _Examples(html.parser.HTMLParser):
    """The misclassified examples of a report: (caption, pixels in [0, 1]) per figure."""

    def __init__(self):
        super().__init__()
        self.examples, self._image, self._in_caption = [], None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img" and attrs.get("class") == "pixels":
            data = base64.b64decode(attrs["src"].split(",", 1)[1])
            with Image.open(io.BytesIO(data)) as picture:
                self._image = np.asarray(picture.convert("RGB"), dtype=np.float64) / 255.0
        self._in_caption = tag == "figcaption" and self._image is not None

    def handle_data(self, data):
        if self._in_caption:
            self.examples.append((data, self._image))
            self._image, self._in_caption = None, False


def _examples(path):
    parser = _Examples()
    parser.feed(open(path, encoding="utf-8").read())
    return parser.examples


def _as_rgb(pixels):
    """(C, H, W) or (H, W) in [0, 1] -> (H, W, 3), as the PNG holds it."""
    pixels = np.asarray(pixels, dtype=np.float64)
    if pixels.ndim == 3:
        pixels = pixels.transpose(1, 2, 0)
    else:
        pixels = pixels[..., None]
    return np.broadcast_to(pixels, pixels.shape[:2] + (3,))


def _history(epochs=3, lr=0.1, callbacks=(), scheduler=None):
    chainrule.manual_seed(0)
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=lr)
    if scheduler is not None:
        scheduler = scheduler(opt)
    x = np.random.default_rng(0).normal(size=(16, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    history = chainrule.fit(model, nn.CrossEntropyLoss(), opt, (x, y), epochs=epochs,
                            batch_size=4, val_data=(x, y), callbacks=list(callbacks),
                            scheduler=scheduler)
    return model, history


def test_misclassified_examples_show_the_given_original_pictures_with_class_names(tmp_path):
    rng = np.random.default_rng(1)
    pictures = rng.random((6, 3, 5, 5))
    inputs = (pictures - 0.5) / 0.1                         # what the model saw: standardised
    targets = np.array([0, 1, 0, 1, 0, 1])
    outputs = np.eye(2)[[0, 0, 1, 1, 0, 0]] * 3.0           # samples 1, 2 and 5 are wrong
    files = [f"photos/{i}.png" for i in range(6)]
    model, history = _history(epochs=1)
    path = chainrule.report(history, model, str(tmp_path), evaluation={
        "outputs": outputs, "targets": targets, "inputs": inputs, "images": pictures,
        "image_shape": (3, 5, 5), "class_names": ["cats", "dogs"], "files": files})
    shown = _examples(path)
    assert [caption.split(":")[0] for caption, _ in shown] == [files[1], files[2], files[5]]
    assert shown[0][0] == "photos/1.png: true dogs, predicted cats 0.95"
    assert shown[1][0] == "photos/2.png: true cats, predicted dogs 0.95"
    for (_, png), index in zip(shown, (1, 2, 5)):
        np.testing.assert_allclose(png, _as_rgb(pictures[index]), atol=1 / 255 + 1e-9)
    assert "the original pictures" in open(path, encoding="utf-8").read()


def test_digits_are_drawn_from_the_raw_pixels_not_the_standardised_inputs(tmp_path):
    pytest.importorskip("sklearn")
    from chainrule.cli import train                     # what chainrule train --out writes
    split = chainrule.data.datasets.digits(seed=0, flat=False)
    chainrule.manual_seed(0)
    model = chainrule.models.LeNet5(1, 10, 8)           # untrained: many digits wrong
    evaluation = train.report_evaluation(split, model)
    _, history = _history(epochs=1)
    shown = _examples(chainrule.report(history, model, str(tmp_path), evaluation=evaluation))
    assert len(shown) == 8                              # the first 8 it got wrong
    raw = split.raw_test.reshape(-1, 8, 8) / 16.0       # sklearn's pixels are 0..16
    labels = split.test.tensors[1].numpy()
    for caption, png in shown:
        true = int(re.match(r"true (\d), predicted \d [01]\.\d\d$", caption).group(1))
        distances = np.abs(raw - png[..., 0]).max(axis=(1, 2))
        index = int(distances.argmin())                 # the test digit it shows
        assert distances[index] <= 1 / 255 + 1e-9 and labels[index] == true
        assert np.allclose(png[..., 0], png[..., 1])    # grey, as digits are


def test_an_image_folder_report_shows_each_file_as_it_is(tmp_path):
    from chainrule.cli import train
    from chainrule.data import images
    rng = np.random.default_rng(0)
    for label in ("cats", "dogs"):
        (tmp_path / label).mkdir()
        for i in range(5):
            Image.fromarray((rng.random((12, 10, 3)) * 255).astype(np.uint8)).save(
                tmp_path / label / f"{i}.png")
    split = images.image_folder_split(str(tmp_path), image_size=8, seed=0, test_size=0.5)
    chainrule.manual_seed(0)
    model = chainrule.models.MLP(3 * 8 * 8, [4], 2)
    evaluation = train.report_evaluation(split, model)
    evaluation["outputs"] = -np.eye(2)[evaluation["targets"]]    # every answer wrong
    _, history = _history(epochs=1)
    shown = _examples(chainrule.report(history, model, str(tmp_path / "out"),
                                       evaluation=evaluation))
    assert len(shown) == len(split.test)
    for caption, png in shown:
        file = caption.split(": ")[0]
        assert file.startswith(str(tmp_path)) and "true " in caption
        np.testing.assert_allclose(png, _as_rgb(images.read_image(file, (8, 8))),
                                   atol=1 / 255 + 1e-9)
        assert caption.split(": ")[1].split(",")[0] == "true " + file.split("/")[-2]


def _panels(monkeypatch):
    """Record (title, x tick positions) of every figure the report draws."""
    panels, original = [], report_module._png_data_uri

    def recording(fig):
        for ax in fig.axes:
            panels.append((ax.get_title(), list(ax.get_xticks())))
        return original(fig)
    monkeypatch.setattr(report_module, "_png_data_uri", recording)
    return panels


def test_epoch_ticks_are_whole_numbers_and_a_constant_lr_has_no_panel(tmp_path, monkeypatch):
    panels = _panels(monkeypatch)
    model, history = _history(epochs=3, lr=0.1)
    path = chainrule.report(history, model, str(tmp_path))
    titles = [title for title, _ in panels]
    assert "loss" in titles and "accuracy" in titles
    assert not any("learning rate" in t for t in titles)
    for _, ticks in panels:
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    text = open(path, encoding="utf-8").read()
    assert "Learning rate: 0.1 in every step (constant" in text


def test_a_schedule_gets_a_panel_of_the_learning_rate_the_optimizer_used(tmp_path,
                                                                         monkeypatch):
    panels = _panels(monkeypatch)
    model, history = _history(epochs=3, lr=0.1, scheduler=lambda opt: optim.lr_scheduler.StepLR(
        opt, step_size=1, gamma=0.5))
    epochs, rates = report_module.effective_learning_rates(history)
    assert rates == [0.1] * 4 + [0.05] * 4 + [0.025] * 4         # 4 steps per epoch
    assert epochs[:4] == [0.25, 0.5, 0.75, 1.0]
    path = chainrule.report(history, model, str(tmp_path))
    assert [t for t, _ in panels if "learning rate" in t] == ["learning rate used in each step"]
    assert all(float(t).is_integer() for _, ticks in panels for t in ticks)
    text = open(path, encoding="utf-8").read()
    assert "from 0.1 to 0.025 (between 0.025 and 0.1)" in text


class _HalveEveryStep(chainrule.train.Callback):
    """A schedule inside the epoch, which a per-epoch record would not show."""

    def on_batch_end(self, trainer, step, loss):
        trainer.optimizer.param_groups[0]["lr"] *= 0.5


def test_the_learning_rate_is_read_step_by_step():
    _, history = _history(epochs=2, lr=0.1, callbacks=[_HalveEveryStep()])
    _, rates = report_module.effective_learning_rates(history)
    assert rates == pytest.approx([0.1 * 0.5 ** i for i in range(8)])
    assert len(history.epochs) == 2                      # per epoch, 2 of the 8 would show
