"""Plots of learning: history curves, the seeds' U-shaped loss with gradient-descent steps,
optimizers compared on a 2-parameter surface, and the learning-rate range test."""
import textwrap

import numpy

from ..autograd.engine import grad
from ..autograd.grad_mode import enable_grad, no_grad
from .. import optim
from ..creation import tensor
from ..data import datasets
from ..errors import ArgumentError
from ..generator import Generator
from ..train.lr_find import starting_loss
from ._mpl import pyplot, save


def plot_history(history, path="history.png"):
    """Loss (train/validation) and metrics per epoch, loss per step, learning rate.

    >>> import chainrule, numpy as np, os, tempfile
    >>> model = chainrule.nn.Linear(1, 1)
    >>> h = chainrule.fit(model, chainrule.nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1),
    ...                 (np.ones((4, 1), np.float32), np.ones((4, 1), np.float32)), epochs=2, metrics=())
    >>> os.path.exists(plot_history(h, os.path.join(tempfile.mkdtemp(), "h.png")))
    True
    """
    plt = pyplot()
    metric_names = [k for k in history.columns()
                    if k not in ("epoch", "loss", "val_loss", "lr") and not k.startswith("val_")]
    panels = 3 + len(metric_names)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.4))
    epochs = history["epoch"]
    axes[0].plot(epochs, history["loss"], marker="o", label="train")
    if "val_loss" in history.columns():
        axes[0].plot(epochs, history["val_loss"], marker="o", label="validation")
    axes[0].set(title="loss per epoch", xlabel="epoch")
    axes[0].legend()
    axes[1].plot([s["step"] for s in history.steps], [s["loss"] for s in history.steps], lw=0.8)
    axes[1].set(title="loss per step", xlabel="step", yscale="log" if _positive(history) else
                "linear")
    axes[2].plot(epochs, history["lr"], marker="o")
    axes[2].set(title="learning rate", xlabel="epoch")
    for ax, name in zip(axes[3:], metric_names):
        ax.plot(epochs, history[name], marker="o", label="train")
        if "val_" + name in history.columns():
            ax.plot(epochs, history["val_" + name], marker="o", label="validation")
        ax.set(title=name, xlabel="epoch")
        ax.legend()
    return save(fig, path)


def _positive(history):
    return all(s["loss"] > 0 for s in history.steps)


def plot_loss_curve_1d(f, w_range=(-1.0, 3.0), path="loss_curve.png", start=None, lr=0.1,
                       steps=8):
    """The loss against one weight, with gradient-descent steps and their tangent slopes.

    ``f(w)`` maps a scalar tensor to a scalar loss, e.g. ``lambda w: (w * 1.0 - 2.0) ** 2``.

    >>> import os, tempfile
    >>> path = plot_loss_curve_1d(lambda w: (w * 1.0 - 2.0) ** 2, (-1, 4), os.path.join(tempfile.mkdtemp(), "c.png"))
    >>> os.path.exists(path)
    True
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    trail = descent_steps(f, w_range[0] if start is None else start, lr, steps)
    _draw_descent(ax, f, w_range, trail)
    ax.set(title=f"gradient descent, lr={lr}")
    return save(fig, path)


def _slope(f, w):
    """(loss, dloss/dw, d2loss/dw2) at the float ``w``, by the engine (float64)."""
    wt = tensor(w, dtype="float64", requires_grad=True)
    with enable_grad(), numpy.errstate(all="ignore"):
        loss = f(wt)
        (slope,) = grad(loss, wt, create_graph=True)
        curvature = grad(slope, wt, allow_unused=True)[0] if slope.requires_grad else None
    return (float(loss._data), float(slope._data),
            0.0 if curvature is None else float(curvature._data))


def descent_steps(f, start, lr, steps):
    """Gradient descent on one weight: ``[(w, loss, slope), ...]``, one per step (the update
    w <- w - lr * slope is always a subtraction). Stops early once w is no longer finite."""
    trail, w = [], float(start)
    for _ in range(steps + 1):
        loss, slope, _ = _slope(f, w)
        if not (numpy.isfinite(loss) and numpy.isfinite(slope)):
            break
        trail.append((w, loss, slope))
        w = w - lr * slope
    return trail


def _draw_descent(ax, f, w_range, trail):
    """The curve, each step's point with its number and tangent, arrows between steps."""
    grid = numpy.linspace(w_range[0], w_range[1], 300)
    with numpy.errstate(all="ignore"):
        values = [float(f(tensor(g, dtype="float64"))._data) for g in grid]
    ax.plot(grid, values, color="#555", label="loss(w)")
    span = (w_range[1] - w_range[0]) * 0.06
    for i, (w, value, slope) in enumerate(trail):
        ax.plot([w - span, w + span], [value - slope * span, value + slope * span],
                color="tab:red", lw=1)
        ax.scatter([w], [value], color="tab:red", zorder=3, s=18)
        ax.annotate(str(i), (w, value), textcoords="offset points", xytext=(4, 6), fontsize=8)
        if i:
            ax.annotate("", xy=(w, value), xytext=trail[i - 1][:2],
                        arrowprops=dict(arrowstyle="->", color="tab:blue", lw=0.8, alpha=0.7))
    ax.set(xlabel="w", ylabel="loss", xlim=w_range)
    top = max(values)
    ax.set_ylim(min(values) - 0.05 * (top - min(values)), top * 1.05 if top > 0 else 1)
    ax.legend(loc="upper center", fontsize=8)


# ---------------------------------------------------------------- why the loss goes up

def seed_loss(w):
    """The seeds' loss of one weight: (w·x − y)² at x = 1, y = 2 (curvature 2, minimum 2)."""
    return (w * 1.0 - 2.0) ** 2


def descent_caption(lr, curvature):
    """What gradient descent does on a quadratic bowl, in words, from lr × curvature.

    >>> descent_caption(0.1, 2).split(":")[0], descent_caption(0.7, 2).split(":")[0]
    ('converging', 'zig-zag')
    >>> descent_caption(1.2, 2).split(":")[0]
    'diverging'
    """
    k = lr * curvature
    shown = f"lr·curvature = {lr:g} × {curvature:g} = {k:.3g}"
    if k <= 0:
        return f"not descending: {shown}; with lr > 0 this means the curve bends down here"
    if k < 1:
        return (f"converging: each step goes part of the way down to the minimum and stays on "
                f"its side ({shown} < 1)")
    if k == 1:
        return f"one step to the minimum: the step lands exactly on it ({shown})"
    if k < 2:
        return (f"zig-zag: each step jumps over the minimum to the other side, landing a "
                f"little lower, so it still converges while crossing back and forth "
                f"(1 < {shown} < 2)")
    if k == 2:
        return (f"bouncing: each step jumps to the same height on the other side, forever "
                f"({shown})")
    return (f"diverging: each step jumps over the minimum and lands higher up the other side, "
            f"so the loss goes up every step ({shown} > 2); make lr smaller than "
            f"{2 / curvature:.3g}")


class Descent:
    """``chainrule.viz.plot_descent``'s result: the steps, the caption and its kind."""

    def __init__(self, trail, lr, curvature, path):
        self.trail, self.lr, self.curvature, self.path = trail, lr, curvature, path
        self.caption = descent_caption(lr, curvature)
        self.kind = self.caption.split(":")[0]

    @property
    def losses(self):
        return [loss for _, loss, _ in self.trail]

    def table(self):
        """The numbered steps as text: w, loss, slope and the next w = w - lr * slope."""
        lines = ["step  w            loss         slope        next w = w - lr*slope"]
        for i, (w, loss, slope) in enumerate(self.trail):
            lines.append(f"{i:<4}  {w:<11.6g}  {loss:<11.6g}  {slope:<11.6g}  "
                         f"{w - self.lr * slope:.6g}")
        return "\n".join(lines)


def plot_descent(lr=0.1, f=None, start=None, steps=8, path="descent.png", w_range=None):
    """The U-shaped loss over w with numbered gradient-descent steps, their tangents and a
    caption saying whether they converge, zig-zag across the minimum or diverge.

    ``f``: a loss of one weight (default: the seeds' (w·1 − 2)², curvature 2, minimum w = 2).
    Returns a :class:`Descent` (``.caption``, ``.kind``, ``.trail``).

    >>> import os, tempfile
    >>> plot_descent(0.8, path=os.path.join(tempfile.mkdtemp(), "d.png")).kind
    'zig-zag'
    """
    f = f or seed_loss
    start = -0.5 if start is None else float(start)
    _, _, curvature = _slope(f, start)
    trail = descent_steps(f, start, lr, steps)
    if w_range is None:
        ws = [w for w, _, _ in trail]
        low, high = min(ws), max(ws)
        pad = max(0.15 * (high - low), 0.5)
        w_range = (low - pad, high + pad)
    result = Descent(trail, lr, curvature, path)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.6))
    _draw_descent(ax, f, w_range, trail)
    ax.set_title(f"gradient descent, lr = {lr:g}: {result.kind}")
    fig.text(0.5, -0.02, _wrap(result.caption, 95), ha="center", va="top", fontsize=9)
    save(fig, path)
    return result


def _wrap(text, width):
    return "\n".join(textwrap.wrap(text, width))


class BatchComparison:
    """``compare_batches``'s result: the loss per step of full-batch GD and of mini-batch SGD
    (on its batch, and on all the data), and the steps where each rose."""

    def __init__(self, gd, sgd_batch, sgd_full, batch_size, n, path):
        self.gd, self.sgd_batch, self.sgd_full = gd, sgd_batch, sgd_full
        self.batch_size, self.n, self.path = batch_size, n, path
        self.gd_rises = _rises(gd)
        self.sgd_rises = _rises(sgd_batch)

    @property
    def caption(self):
        return (f"Full-batch GD uses all {self.n} samples in every step: its loss rose on "
                f"{len(self.gd_rises)} of {len(self.gd) - 1} steps. Mini-batch SGD uses "
                f"{self.batch_size} samples per step, a sample of the data: the loss on its "
                f"batch rose on {len(self.sgd_rises)} of {len(self.sgd_batch) - 1} steps, "
                "because each batch is a different sample (some are harder than others), "
                "while the loss on all the data still falls on average.")


def _rises(losses):
    return [i for i in range(1, len(losses)) if losses[i] > losses[i - 1]]


def _line_data(data, seed):
    if data is None:
        split = datasets.toy_linear(n=200, noise=0.5, seed=seed)
        data = split.train.tensors
    x, y = data
    x = numpy.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=numpy.float64)
    y = numpy.asarray(y.numpy() if hasattr(y, "numpy") else y, dtype=numpy.float64)
    return x.reshape(len(x), -1), y.reshape(len(y), -1)


def batch_losses(data=None, lr=0.1, batch_size=8, steps=60, seed=0):
    """Train the same linear model from the same start by full-batch GD and by mini-batch
    SGD; return ``(gd, sgd_batch, sgd_full, n)``: the loss each step saw (GD: all the data;
    SGD: its batch), SGD's loss on all the data before each step, and the sample count."""
    x, y = _line_data(data, seed)
    n = len(x)
    if not 1 <= batch_size <= n:
        raise ArgumentError(f"compare_batches: batch_size must be between 1 and {n} (the "
                            f"number of samples), got {batch_size}")
    order = Generator(seed).numpy
    start = Generator(seed + 1).numpy.uniform(-1, 1, size=x.shape[1] + 1)

    def run(full_batch):
        # a copy: chainrule.tensor(ndarray) shares the array's memory (torch.tensor copies)
        w = tensor(start.copy(), dtype="float64", requires_grad=True)
        opt = optim.SGD([w], lr=lr)
        seen, full, batches = [], [], []
        for _ in range(steps):
            if not batches:
                batches = list(numpy.array_split(order.permutation(n), max(n // batch_size, 1)))
            rows = numpy.arange(n) if full_batch else batches.pop()
            with numpy.errstate(all="ignore"):
                full.append(_mse(w, x, y))
                opt.zero_grad()
                loss = _mse_tensor(w, x[rows], y[rows])
                loss.backward()
                opt.step()
            seen.append(float(loss._data))
        return seen, full
    gd, _ = run(True)
    sgd_batch, sgd_full = run(False)
    return gd, sgd_batch, sgd_full, n


def _mse_tensor(w, x, y):
    prediction = tensor(x) @ w[1:].reshape(-1, 1) + w[0]
    return ((prediction - tensor(y)) ** 2).mean()


def _mse(w, x, y):
    with no_grad():
        return float(_mse_tensor(w, x, y)._data)


def compare_batches(data=None, lr=0.1, batch_size=8, steps=60, seed=0,
                    path="compare_batches.png"):
    """Full-batch gradient descent next to mini-batch SGD on the same data and model, with
    the steps where the loss rose marked: a batch is a sample, so its loss jumps around.

    ``data``: an (X, y) pair for a linear model (default: the seeds' noisy line).
    Returns a :class:`BatchComparison` (``.caption``, ``.gd_rises``, ``.sgd_rises``).

    >>> import os, tempfile
    >>> result = compare_batches(steps=20, path=os.path.join(tempfile.mkdtemp(), "b.png"))
    >>> len(result.gd_rises), len(result.sgd_rises) > 0
    (0, True)
    """
    gd, sgd_batch, sgd_full, n = batch_losses(data, lr, batch_size, steps, seed)
    result = BatchComparison(gd, sgd_batch, sgd_full, batch_size, n, path)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), sharey=True)
    for ax, losses, rises, title in (
            (axes[0], gd, result.gd_rises, f"full-batch GD: every step sees all {n} samples"),
            (axes[1], sgd_batch, result.sgd_rises,
             f"mini-batch SGD: each step sees {batch_size} samples")):
        steps_axis = numpy.arange(len(losses))
        ax.plot(steps_axis, losses, marker=".", lw=1, label="loss the step saw")
        if rises:
            ax.scatter(rises, [losses[i] for i in rises], color="tab:red", zorder=3, s=28,
                       label=f"loss rose ({len(rises)} steps)")
        ax.set(title=title, xlabel="step", yscale="log")
    axes[1].plot(numpy.arange(len(sgd_full)), sgd_full, color="black", lw=1.2,
                 label="SGD's loss on all the data")
    axes[0].set_ylabel("mean squared error")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.text(0.5, -0.02, _wrap(result.caption, 150), ha="center", va="top", fontsize=9)
    save(fig, path)
    return result


def rosenbrock(w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


def bowl(w):
    """A stretched quadratic bowl: the loss of a linear regression in its two weights."""
    return 0.5 * (w[0] - 1) ** 2 + 5 * (w[1] + 0.5) ** 2 + 0.8 * (w[0] - 1) * (w[1] + 0.5)


PROBLEMS = {"rosenbrock": (rosenbrock, (-1.5, 1.5), ((-2, 2), (-1, 3))),
            "bowl": (bowl, (-2.0, 2.0), ((-3, 3), (-3, 3)))}


def default_optimizers():
    return {"GD": lambda p: optim.GD(p, lr=1e-3), "SGD+noise": lambda p: optim.SGD(p, lr=1e-3),
            "momentum": lambda p: optim.SGD(p, lr=1e-3, momentum=0.9),
            "Adam": lambda p: optim.Adam(p, lr=0.05), "Adamax": lambda p: optim.Adamax(p, lr=0.05),
            "Newton": lambda p: optim.Newton(p)}


def optimizer_paths(problem="rosenbrock", optimizers=None, steps=200, seed=0):
    """Run each optimizer from the same start; return {name: (path array, losses)}."""
    f, start, _ = PROBLEMS[problem] if isinstance(problem, str) else problem
    optimizers = optimizers or default_optimizers()
    noise = Generator(seed).numpy
    results = {}
    for name, make in optimizers.items():
        w = tensor(list(start), dtype="float64", requires_grad=True)
        opt = make([w])
        path, losses = [w.numpy().copy()], []
        for _ in range(steps):
            if getattr(opt, "closure_needs_graph", False):
                loss = opt.step(lambda: f(w))
            else:
                opt.zero_grad()
                loss = f(w)
                loss.backward()
                if "noise" in name:          # stochastic gradients, as from mini-batches
                    w.grad._data += noise.normal(0, 0.2 * numpy.abs(w.grad._data).mean() + 1e-3,
                                                size=2)
                opt.step()
            losses.append(float(loss._data))
            path.append(w.numpy().copy())
        results[name] = (numpy.array(path), losses)
    return results


def compare_optimizers(problem="rosenbrock", optimizers=None, path="optimizers.png", steps=200):
    """Paths of GD, SGD, momentum, Adam, Adamax and Newton on one surface, and loss vs step.

    >>> import os, tempfile
    >>> os.path.exists(compare_optimizers("bowl", path=os.path.join(tempfile.mkdtemp(), "o.png"), steps=5))
    True
    """
    plt = pyplot()
    f, _, (xr, yr) = PROBLEMS[problem] if isinstance(problem, str) else problem
    results = optimizer_paths(problem, optimizers, steps)
    xs, ys = numpy.meshgrid(numpy.linspace(*xr, 160), numpy.linspace(*yr, 160))
    zs = numpy.array([[float(f(tensor([x, y], dtype="float64"))._data)
                       for x, y in zip(row_x, row_y)] for row_x, row_y in zip(xs, ys)])
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    left.contour(xs, ys, numpy.log1p(zs - zs.min()), levels=30, cmap="viridis", linewidths=0.6)
    for name, (trail, _) in results.items():
        left.plot(trail[:, 0], trail[:, 1], marker=".", ms=2, lw=1, label=name)
    left.set(title=f"optimizer paths on {problem if isinstance(problem, str) else 'f'}",
             xlabel="w0", ylabel="w1", xlim=xr, ylim=yr)
    left.legend(fontsize=8)
    for name, (_, losses) in results.items():
        right.plot(numpy.maximum(losses, 1e-12), label=name)
    right.set(yscale="log", title="loss vs step", xlabel="step")
    right.legend(fontsize=8)
    return save(fig, path)


def plot_lr_find(result, path="lr_find.png"):
    """The range test: loss against learning rate (log scale), the suggestion marked — or,
    for a flat curve, the range to try shaded. The y-axis shows the useful region: from just
    below the lowest loss to a little above the starting loss, not the blow-up at the end.

    >>> import os, tempfile
    >>> from chainrule.train.lr_find import LRFindResult
    >>> result = LRFindResult([1e-3, 1e-2, 1e-1, 1.0], [2.0, 1.5, 0.8, 50.0], 1e-1)
    >>> os.path.exists(plot_lr_find(result, os.path.join(tempfile.mkdtemp(), "lr.png")))
    True
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    ax.plot(result.lrs, result.losses)
    if result.suggestion is not None:
        ax.axvline(result.suggestion, color="tab:red", ls="--",
                   label=f"suggested lr {result.suggestion:.2g}")
        title = "learning-rate range test"
    else:
        ax.axvspan(*result.lr_range, color="tab:orange", alpha=0.2,
                   label=f"flat curve: try {result.lr_range[0]:.2g} to {result.lr_range[1]:.2g}")
        title = "learning-rate range test: the loss curve is flat"
    low, high = lr_find_ylim(result.losses)
    ax.set(xscale="log", xlabel="learning rate", ylabel="loss (smoothed)", title=title,
           ylim=(low, high))
    ax.legend(fontsize=8)
    return save(fig, path)


def lr_find_ylim(losses):
    """(bottom, top) that shows the useful part of a range test's curve.

    >>> lr_find_ylim([2.0, 2.0, 1.0, 1e9])
    (0.9, 2.5)
    """
    finite = [v for v in losses if numpy.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    start, lowest = starting_loss(losses), min(finite)
    start = start if numpy.isfinite(start) else max(finite)
    span = max(start - lowest, 1e-3 * max(abs(start), 1e-12))
    return lowest - 0.1 * span, start + 0.5 * span
