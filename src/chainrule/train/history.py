"""History: what happened during training, step by step and epoch by epoch.

For small models it can also keep every parameter and its gradient at every step, the way
the seeds' spreadsheet keeps W, B, Loss, dLoss/dW and dLoss/dB in its history table.
"""
import csv
import io
import json
import math
from .. import _html
from ..errors import ArgumentError


class History:
    """Per-step training loss, per-epoch metrics (train and validation) and learning rate.

    >>> h = History()
    >>> h.log_epoch({"epoch": 1, "loss": 0.5, "val_loss": 0.6})
    >>> h.log_epoch({"epoch": 2, "loss": 0.3, "val_loss": 0.4})
    >>> h.best()["epoch"]
    2
    """

    def __init__(self):
        self.steps = []         # {"step", "epoch", "loss", "lr"}
        self.epochs = []        # {"epoch", "loss", "val_loss", metric..., "lr"}
        self.params = []        # per step: {"step", name: value, "grad_" + name: grad} on request
        self.stop_reason = None  # why training stopped early, in words (None: it did not)
        self.diverged = False    # stopped because the loss diverged (stop_reason says why);
        #                          a run state, not saved in checkpoints
        self.timing = []        # wall seconds per epoch (kept apart: it is not reproducible)

    def log_step(self, row):
        self.steps.append(row)

    def log_epoch(self, row):
        self.epochs.append(row)

    def __getitem__(self, key):
        """``history["val_loss"]`` -> that column over epochs."""
        return [row.get(key) for row in self.epochs]

    def columns(self):
        keys = []
        for row in self.epochs:
            keys += [k for k in row if k not in keys]
        return keys

    def best(self, metric=None, mode=None):
        """The epoch row with the best value of ``metric`` (default: val_loss, else loss)."""
        if not self.epochs:
            raise ArgumentError("History.best: no epochs recorded")
        metric = metric or ("val_loss" if "val_loss" in self.epochs[0] else "loss")
        mode = mode or ("min" if "loss" in metric or metric in ("mae", "rmse") else "max")
        rows = [r for r in self.epochs if r.get(metric) is not None and
                not math.isnan(r[metric])]
        if not rows:
            raise ArgumentError(f"History.best: no finite values of {metric!r}")
        pick = min if mode == "min" else max
        return pick(rows, key=lambda r: r[metric])

    def to_csv(self, path=None, table="epochs"):
        """The epoch table (or ``table="steps"`` / ``"params"``) as CSV; written to ``path``
        if given, and returned as text."""
        rows = getattr(self, table)
        keys = []
        for row in rows:
            keys += [k for k in row if k not in keys]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(row.get(k)) for k in keys})
        text = buffer.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def to_dict(self):
        return {"steps": self.steps, "epochs": self.epochs, "params": self.params,
                "stop_reason": self.stop_reason}

    @classmethod
    def from_dict(cls, data):
        h = cls()
        h.steps, h.epochs = list(data.get("steps", [])), list(data.get("epochs", []))
        h.params, h.stop_reason = list(data.get("params", [])), data.get("stop_reason")
        return h

    def state_dict(self):
        return self.to_dict()

    def load_state_dict(self, data):
        """Replace this History's rows with saved ones (what a resumed run starts from)."""
        restored = History.from_dict(data)
        self.steps, self.epochs = restored.steps, restored.epochs
        self.params, self.stop_reason = restored.params, restored.stop_reason

    def to_json(self):
        return json.dumps(self.to_dict())

    def curves(self, keys=("loss", "val_loss")):
        """The loss curves as ``(label, xs, ys)``: the loss of every step, and the epoch
        columns ``keys`` placed at each epoch's last step (at the epoch number when no steps
        were logged). What ``plot`` draws and a notebook shows.

        >>> h = History()
        >>> h.log_step({"step": 1, "epoch": 1, "loss": 0.9})
        >>> h.log_step({"step": 2, "epoch": 1, "loss": 0.7})
        >>> h.log_epoch({"epoch": 1, "loss": 0.8})
        >>> h.curves()
        [('loss per step', [1, 2], [0.9, 0.7]), ('loss per epoch', [2], [0.8])]
        """
        last_step = {row.get("epoch"): row.get("step") for row in self.steps}
        found = []
        if self.steps:
            found.append(("loss per step", [r.get("step") for r in self.steps],
                          [r.get("loss") for r in self.steps]))
        xs = [last_step.get(r.get("epoch"), r.get("epoch")) for r in self.epochs]
        for key in keys:
            if any(key in r for r in self.epochs):
                found.append((f"{key} per epoch", xs, [r.get(key) for r in self.epochs]))
        return found

    def plot(self, keys=("loss", "val_loss"), ax=None):
        """Draw :meth:`curves` with matplotlib on ``ax`` (a new figure by default) and return
        the Axes; a notebook shows it inline. Needs ``chainrule[viz]``.

        >>> h = History()
        >>> h.log_epoch({"epoch": 1, "loss": 0.5})
        >>> h.log_epoch({"epoch": 2, "loss": 0.3})
        >>> ax = h.plot()
        >>> ax.get_xlabel(), [line.get_label() for line in ax.get_lines()]
        ('epoch', ['loss per epoch'])
        >>> import matplotlib.pyplot; matplotlib.pyplot.close(ax.figure)
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError("History.plot needs matplotlib: pip install 'chainrule[viz]'") \
                from error
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        for label, xs, ys in self.curves(keys):
            per_step = label == "loss per step"
            ax.plot(xs, [math.nan if y is None else y for y in ys], label=label,
                    lw=0.8 if per_step else 1.5, alpha=0.5 if per_step else 1.0,
                    marker=None if per_step else "o")
        ax.set(title="loss", xlabel="step" if self.steps else "epoch")
        if ax.get_lines():
            ax.legend()
        return ax

    def _repr_html_(self):
        """Jupyter's view: the epoch table (first and last rows when long) and the loss
        curves as an inline SVG (no matplotlib needed)."""
        keys = self.columns()
        shown = self.epochs if len(self.epochs) <= 12 else \
            self.epochs[:5] + [None] + self.epochs[-5:]
        body = [["…"] * len(keys) if row is None else [_html_value(row.get(k)) for k in keys]
                for row in shown]
        caption = f"History: {len(self.epochs)} epochs, {len(self.steps)} steps"
        chart = _html.line_chart(self.curves(), xlabel="step" if self.steps else "epoch",
                                 title="loss", faint=("loss per step",))
        return ('<div class="chainrule-history">' +
                _html.table(keys, body, caption=caption, footer=self.stop_reason) + chart +
                "</div>")

    def __repr__(self):
        last = self.epochs[-1] if self.epochs else {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items()
                          if isinstance(v, float))
        return f"History({len(self.epochs)} epochs, {len(self.steps)} steps; last: {shown})"


def _html_value(value):
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else value


def _csv_value(value):
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return json.dumps(value)
    return value
