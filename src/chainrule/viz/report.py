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


def _integer_epochs(ax):
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


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
        _integer_epochs(ax)
        ax.legend()
        images.append((name, _png_data_uri(fig)))
    epochs, rates = effective_learning_rates(history)
    if len(set(rates)) > 1:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        ax.plot(epochs, rates, marker="." if len(rates) > 50 else "o")
        ax.set(title="learning rate used in each step", xlabel="epoch")
        _integer_epochs(ax)
        images.append(("learning rate", _png_data_uri(fig)))
    return images


def effective_learning_rates(history):
    """(epoch positions, learning rates) as the optimizer applied them: per step when the
    steps were recorded (a schedule that changes within an epoch shows), else per epoch.
    A step of epoch e at position i of its n steps sits at e - 1 + (i + 1) / n.

    >>> from chainrule.train.history import History
    >>> h = History()
    >>> for step, lr in enumerate([0.1, 0.1, 0.05, 0.05], 1):
    ...     h.log_step({"step": step, "epoch": (step + 1) // 2, "loss": 1.0, "lr": lr})
    >>> effective_learning_rates(h)
    ([0.5, 1.0, 1.5, 2.0], [0.1, 0.1, 0.05, 0.05])
    """
    steps = [s for s in history.steps if s.get("lr") is not None]
    if not steps:
        rows = [r for r in history.epochs if r.get("lr") is not None]
        return [r["epoch"] for r in rows], [float(r["lr"]) for r in rows]
    per_epoch = {}
    for row in steps:
        per_epoch.setdefault(row.get("epoch", 1), []).append(row)
    positions, rates = [], []
    for epoch, rows in per_epoch.items():
        for i, row in enumerate(rows):
            positions.append(epoch - 1 + (i + 1) / len(rows))
            rates.append(float(row["lr"]))
    return positions, rates


def _learning_rate_note(history):
    _, rates = effective_learning_rates(history)
    if not rates:
        return ""
    if len(set(rates)) == 1:
        return (f"<p>Learning rate: {rates[0]:g} in every step (constant: no schedule, so no "
                "plot).</p>")
    return (f"<p>Learning rate used by the optimizer: from {rates[0]:g} to {rates[-1]:g} "
            f"(between {min(rates):g} and {max(rates):g}).</p>")


def _table(rows, header=None):
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def misclassified_examples(evaluation, limit=8):
    """The first ``limit`` wrongly predicted test samples of an ``evaluation`` (see
    :func:`report`): dicts with ``index``, ``pixels`` (height x width x channels, or height x
    width, in [0, 1]), ``true`` and ``predicted`` (class names when given), ``probability``
    and ``file`` (or None). The pixels are ``evaluation["images"]``, the original pictures,
    when given; else the model inputs rescaled to [0, 1] for display.

    >>> import numpy
    >>> evaluation = {"outputs": numpy.array([[2.0, 0.0], [0.0, 2.0]]), "targets": [0, 0],
    ...               "images": numpy.ones((2, 3, 4, 4)) * 0.5, "class_names": ["cats", "dogs"]}
    >>> [(e["index"], e["true"], e["predicted"], e["pixels"].shape)
    ...  for e in misclassified_examples(evaluation)]
    [(1, 'cats', 'dogs', (4, 4, 3))]
    """
    outputs = numpy.asarray(evaluation["outputs"], dtype=numpy.float64)
    targets = numpy.asarray(evaluation["targets"]).reshape(-1)
    shifted = numpy.exp(outputs - outputs.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    predicted = probabilities.argmax(axis=1)
    names = evaluation.get("class_names")
    files = evaluation.get("files")
    original = evaluation.get("images")
    examples = []
    for i in numpy.flatnonzero(predicted != targets)[:limit]:
        if original is not None:
            pixels = numpy.clip(numpy.asarray(original[i], dtype=numpy.float64), 0.0, 1.0)
        else:
            pixels = numpy.asarray(evaluation["inputs"][i], dtype=numpy.float64)
            pixels = (pixels - pixels.min()) / (pixels.max() - pixels.min() + 1e-12)
        shape = evaluation.get("image_shape")
        if shape is not None:
            pixels = pixels.reshape(shape)
        examples.append({
            "index": int(i), "pixels": _channels_last(pixels),
            "true": names[targets[i]] if names else int(targets[i]),
            "predicted": names[predicted[i]] if names else int(predicted[i]),
            "probability": float(probabilities[i, predicted[i]]),
            "file": None if files is None else str(files[i])})
    return examples


def _channels_last(pixels):
    if pixels.ndim == 3 and pixels.shape[0] in (1, 3, 4):
        pixels = pixels.transpose(1, 2, 0)
    return pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels


def _pixels_png(pixels):
    """The picture as a PNG of exactly its pixels (the page enlarges it)."""
    import matplotlib.pyplot as plt
    buffer = io.BytesIO()
    if pixels.ndim == 2:
        plt.imsave(buffer, pixels, cmap="gray", vmin=0.0, vmax=1.0, format="png")
    else:
        plt.imsave(buffer, pixels, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _misclassified_section(evaluation):
    examples = misclassified_examples(evaluation)
    if not examples:
        return None
    source = "the original pictures" if evaluation.get("images") is not None else \
        "the model inputs, rescaled for display"
    parts = [f"<h2>Misclassified examples</h2><p>The first {len(examples)} test samples the "
             f"model got wrong ({source}).</p><div class='grid'>"]
    for e in examples:
        caption = f"true {e['true']}, predicted {e['predicted']} {e['probability']:.2f}"
        if e["file"]:
            caption = f"{e['file']}: {caption}"
        parts.append(f"<figure class='example'><img class='pixels' alt='misclassified "
                     f"{html.escape(caption, quote=True)}' src='{_pixels_png(e['pixels'])}'>"
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</div>")
    return "\n".join(parts)


def report(history, model, out_dir, config=None, metrics=None, input_shape=None,
           evaluation=None, title="chainrule run"):
    """Write ``report.html`` (plus ``history.csv`` and ``metrics.json``) into ``out_dir``.

    ``evaluation``: optional dict with ``outputs`` and ``targets`` (test-set arrays), giving a
    confusion matrix; for images also ``image_shape`` and ``images`` (the original pictures,
    values in [0, 1]) or ``inputs`` (the model inputs), giving the misclassified examples;
    optionally ``class_names`` and ``files`` (a file name per sample) to label them. The
    learning rate is plotted as the optimizer used it, step by step, unless it was constant.
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
    parts.append(_learning_rate_note(history))
    if input_shape is not None:
        parts.append("<h2>Model</h2><pre>" + html.escape(summary(model, input_shape).to_text())
                     + "</pre>")
    if evaluation is not None and numpy.asarray(evaluation["outputs"]).ndim == 2 \
            and numpy.asarray(evaluation["outputs"]).shape[1] > 1:
        outputs = numpy.asarray(evaluation["outputs"])
        targets = numpy.asarray(evaluation["targets"]).reshape(-1)
        matrix = confusion_matrix(outputs, targets, outputs.shape[1])
        parts.append("<h2>Confusion matrix (test)</h2><p>rows: true class, columns: predicted</p>")
        labels = evaluation.get("class_names") or list(range(outputs.shape[1]))
        parts.append(_table([[labels[i]] + row for i, row in enumerate(matrix.tolist())],
                            ["true \\ pred"] + list(labels)))
        if evaluation.get("image_shape") is not None and (
                evaluation.get("images") is not None or evaluation.get("inputs") is not None):
            section = _misclassified_section(evaluation)
            if section:
                parts.append(section)
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
.example {{ width: 8em; font-size: 0.8em; }}
img.pixels {{ width: 8em; image-rendering: pixelated; }}
.note {{ background: #fff3cd; padding: 0.5em; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""
