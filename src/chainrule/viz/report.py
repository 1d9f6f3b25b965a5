"""report: one self-contained HTML page about a training run (images embedded, no fetches)."""
import base64
import html
import io
import json
import os

import numpy

from ..train.metrics import confusion_matrix
from ._mpl import pyplot
from .summary import summary


def _png_data_uri(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _history_images(history):
    plt = pyplot()
    images = []
    columns = history.columns()
    for name in ["loss"] + [c for c in columns if c not in ("epoch", "loss", "lr")
                            and not c.startswith("val_")]:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(history["epoch"], history[name], marker="o", label="train")
        if "val_" + name in columns:
            ax.plot(history["epoch"], history["val_" + name], marker="o", label="validation")
        ax.set(title=name, xlabel="epoch")
        ax.legend()
        images.append((name, _png_data_uri(fig)))
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(history["epoch"], history["lr"], marker="o")
    ax.set(title="learning rate", xlabel="epoch")
    images.append(("learning rate", _png_data_uri(fig)))
    return images


def _table(rows, header=None):
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _misclassified(x, outputs, targets, image_shape, limit=8):
    plt = pyplot()
    pred = outputs.argmax(axis=1)
    wrong = numpy.flatnonzero(pred != targets)[:limit]
    if not len(wrong):
        return None
    fig, axes = plt.subplots(1, len(wrong), figsize=(1.6 * len(wrong), 2))
    for ax, i in zip(numpy.atleast_1d(axes), wrong):
        image = numpy.asarray(x[i]).reshape(image_shape)
        image = image.transpose(1, 2, 0) if image.shape[0] in (3, 4) else image[0]
        image = (image - image.min()) / (image.max() - image.min() + 1e-12)
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.set_title(f"true {targets[i]}\npred {pred[i]}", fontsize=8)
        ax.axis("off")
    return _png_data_uri(fig)


def report(history, model, out_dir, config=None, metrics=None, input_shape=None,
           evaluation=None, title="chainrule run"):
    """Write ``report.html`` (plus ``history.csv`` and ``metrics.json``) into ``out_dir``.

    ``evaluation``: optional dict with ``outputs`` and ``targets`` (test-set arrays), and for
    images ``inputs`` and ``image_shape``, giving a confusion matrix and misclassified examples.
    Returns the report's path.

    >>> import chainrule, numpy as np, tempfile
    >>> model = chainrule.nn.Linear(1, 1)
    >>> h = chainrule.fit(model, chainrule.nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1),
    ...                 (np.ones((4, 1), np.float32), np.ones((4, 1), np.float32)), epochs=2, metrics=())
    >>> report(h, model, tempfile.mkdtemp(), metrics={"loss": h.epochs[-1]["loss"]}).endswith("report.html")
    True
    """
    os.makedirs(out_dir, exist_ok=True)
    history.to_csv(os.path.join(out_dir, "history.csv"))
    metrics = metrics or {}
    with open(os.path.join(out_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump({"metrics": metrics, "config": config or {}, "epochs": len(history.epochs),
                   "stop_reason": history.stop_reason}, f, indent=2, default=str)
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if history.stop_reason:
        parts.append(f"<p class='note'>Stopped: {html.escape(history.stop_reason)}</p>")
    parts.append("<h2>Final metrics</h2>")
    rows = [(split, name, f"{value:.4f}") for split, values in metrics.items()
            for name, value in values.items()] if metrics and isinstance(
        next(iter(metrics.values())), dict) else [("", k, f"{v:.4f}") for k, v in metrics.items()]
    parts.append(_table(rows, ("split", "metric", "value")))
    parts.append("<h2>Configuration</h2>")
    parts.append(_table(sorted((k, v) for k, v in (config or {}).items()), ("option", "value")))
    parts.append("<h2>Curves</h2><div class='grid'>")
    for name, uri in _history_images(history):
        parts.append(f"<figure><img alt='{html.escape(name)}' src='{uri}'>"
                     f"<figcaption>{html.escape(name)}</figcaption></figure>")
    parts.append("</div>")
    if input_shape is not None:
        parts.append("<h2>Model</h2><pre>" + html.escape(summary(model, input_shape).to_text())
                     + "</pre>")
    if evaluation is not None and numpy.asarray(evaluation["outputs"]).ndim == 2 \
            and numpy.asarray(evaluation["outputs"]).shape[1] > 1:
        outputs = numpy.asarray(evaluation["outputs"])
        targets = numpy.asarray(evaluation["targets"]).reshape(-1)
        matrix = confusion_matrix(outputs, targets, outputs.shape[1])
        parts.append("<h2>Confusion matrix (test)</h2><p>rows: true class, columns: predicted</p>")
        parts.append(_table([[i] + row for i, row in enumerate(matrix.tolist())],
                            ["true \\ pred"] + list(range(outputs.shape[1]))))
        if evaluation.get("image_shape") is not None and evaluation.get("inputs") is not None:
            uri = _misclassified(evaluation["inputs"], outputs, targets, evaluation["image_shape"])
            if uri:
                parts.append("<h2>Misclassified examples</h2>"
                             f"<img alt='misclassified examples' src='{uri}'>")
    page = _PAGE.format(title=html.escape(title), body="\n".join(parts))
    path = os.path.join(out_dir, "report.html")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 1em; }}
figure {{ margin: 0; }}
.note {{ background: #fff3cd; padding: 0.5em; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
