"""Plots of learning: history curves, the seeds' U-shaped loss with gradient-descent steps,
optimizers compared on a 2-parameter surface, and the learning-rate range test."""
import numpy

from ..autograd.grad_mode import enable_grad
from ..creation import tensor
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
    grid = numpy.linspace(w_range[0], w_range[1], 200)
    values = [float(f(tensor(g, dtype="float64"))._data) for g in grid]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(grid, values, color="#555", label="loss(w)")
    w = float(w_range[0] if start is None else start)
    span = (w_range[1] - w_range[0]) * 0.08
    for i in range(steps):
        wt = tensor(w, dtype="float64", requires_grad=True)
        with enable_grad():
            loss = f(wt)
            loss.backward()
        slope, value = float(wt.grad._data), float(loss._data)
        ax.plot([w - span, w + span], [value - slope * span, value + slope * span],
                color="tab:red", lw=1)
        ax.scatter([w], [value], color="tab:red", zorder=3)
        ax.annotate(str(i), (w, value), textcoords="offset points", xytext=(4, 6), fontsize=8)
        w = w - lr * slope
    ax.set(xlabel="w", ylabel="loss", title=f"gradient descent, lr={lr}")
    ax.legend()
    return save(fig, path)


def rosenbrock(w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


def bowl(w):
    """A stretched quadratic bowl: the loss of a linear regression in its two weights."""
    return 0.5 * (w[0] - 1) ** 2 + 5 * (w[1] + 0.5) ** 2 + 0.8 * (w[0] - 1) * (w[1] + 0.5)


PROBLEMS = {"rosenbrock": (rosenbrock, (-1.5, 1.5), ((-2, 2), (-1, 3))),
            "bowl": (bowl, (-2.0, 2.0), ((-3, 3), (-3, 3)))}


def default_optimizers():
    from .. import optim
    return {"GD": lambda p: optim.GD(p, lr=1e-3), "SGD+noise": lambda p: optim.SGD(p, lr=1e-3),
            "momentum": lambda p: optim.SGD(p, lr=1e-3, momentum=0.9),
            "Adam": lambda p: optim.Adam(p, lr=0.05), "Adamax": lambda p: optim.Adamax(p, lr=0.05),
            "Newton": lambda p: optim.Newton(p)}


def optimizer_paths(problem="rosenbrock", optimizers=None, steps=200, seed=0):
    """Run each optimizer from the same start; return {name: (path array, losses)}."""
    from ..generator import Generator
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
    """The range test: loss against learning rate (log scale), suggestion marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result.lrs, result.losses)
    ax.axvline(result.suggestion, color="tab:red", ls="--",
               label=f"suggested lr {result.suggestion:.2g}")
    ax.set(xscale="log", xlabel="learning rate", ylabel="loss (smoothed)",
           title="learning-rate range test")
    ax.legend()
    return save(fig, path)
