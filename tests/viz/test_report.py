"""report.html: valid, self-contained, shows the final accuracy, and renders in Chromium."""
import html.parser
import shutil
import subprocess

import pytest

import chainrule
from chainrule import nn, optim
from chainrule.data import datasets

pytest.importorskip("matplotlib")


class _Checker(html.parser.HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.sources = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs).get("src", ""))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


@pytest.fixture(scope="module")
def report_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    chainrule.manual_seed(0)
    split = datasets.digits()
    model = chainrule.models.MLP(64, (32,), 10)
    history = chainrule.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(),
                                                                     lr=1e-2),
                            split.train, val_data=split.test, epochs=3)
    metrics = {"test": chainrule.evaluate(model, nn.CrossEntropyLoss(), split.test)}
    x, y = split.test.tensors
    evaluation = {"outputs": chainrule.predict(model, x).numpy(), "targets": y.numpy(),
                  "inputs": x.numpy(), "image_shape": (1, 8, 8)}
    path = chainrule.report(history, model, str(out), config={"lr": 0.01}, metrics=metrics,
                            input_shape=(1, 64), evaluation=evaluation)
    return path, metrics["test"]["accuracy"]


def test_report_is_valid_self_contained_html(report_path):
    path, accuracy = report_path
    text = open(path, encoding="utf-8").read()
    checker = _Checker()
    checker.feed(text)
    assert text.startswith("<!DOCTYPE html>") and not checker.errors and not checker.stack
    assert "http" not in text
    assert all(src.startswith("data:image/png;base64,") for src in checker.sources)
    assert len(checker.sources) >= 4
    assert f"{accuracy:.4f}" in text
    for section in ("Final metrics", "Configuration", "Curves", "Model", "Confusion matrix",
                    "Misclassified examples"):
        assert section in text


def test_report_renders_in_headless_chromium(report_path, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Debian's chromium is not installed")
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    f"--screenshot={shot}", "--window-size=1200,900",
                    "file://" + report_path[0]], capture_output=True, timeout=120)
    from PIL import Image
    with Image.open(shot) as image:
        assert image.size == (1200, 900)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is None or len(colours) > 50      # more than a blank page
