"""The loss landscape of a real network around its trained weights (Li et al., 2018).

Two random directions in weight space, each filter rescaled to the norm of the matching
filter of the weights ("filter normalisation"), span a plane through the trained point;
the loss is evaluated on a grid in that plane. An optimizer's path (parameter snapshots) is
projected onto the same plane.
"""
import numpy

from ..autograd.grad_mode import no_grad
from ..generator import Generator
from ..tensor import Tensor
from ._mpl import pyplot, save


class Landscape:
    """The loss on a grid (``losses[i, j]`` at ``betas[i]``, ``alphas[j]``), the model's own
    loss, and the optimizer's path projected onto the plane (or None)."""

    def __init__(self, alphas, betas, losses, center_loss, path=None):
        self.alphas, self.betas, self.losses = alphas, betas, losses
        self.center_loss, self.path = center_loss, path

    @property
    def center_value(self):
        """The grid's loss at (0, 0): the model's own loss."""
        i, j = len(self.betas) // 2, len(self.alphas) // 2
        return float(self.losses[i, j])


def _directions(params, seed):
    rng = Generator(seed).numpy
    dirs = []
    for p in params:
        d = rng.standard_normal(p.shape)
        if p.ndim >= 2:
            w = p._data.reshape(p.shape[0], -1)
            dd = d.reshape(p.shape[0], -1)
            dd *= numpy.linalg.norm(w, axis=1, keepdims=True) / (
                numpy.linalg.norm(dd, axis=1, keepdims=True) + 1e-10)
            d = dd.reshape(p.shape)
        else:
            d = numpy.zeros(p.shape)       # biases and norms stay put (as in the paper)
        dirs.append(d)
    return dirs


def _full_loss(model, loss_fn, x, y):
    with no_grad():
        return float(loss_fn(model(x), y).data)


def landscape(model, loss_fn, data, resolution=21, span=1.0, seed=0, trajectory=None):
    """Compute the 2-D landscape; ``data`` is (X, y) (a manageable sample of the data set).

    ``trajectory``: a list of parameter lists (numpy arrays in ``model.parameters()`` order),
    e.g. snapshots taken during training; it is projected onto the plane.
    """
    x, y = data
    x = x if isinstance(x, Tensor) else Tensor(numpy.asarray(x))
    y = y if isinstance(y, Tensor) else Tensor(numpy.asarray(y))
    params = list(model.parameters())
    center = [p._data.copy() for p in params]
    d1, d2 = _directions(params, seed), _directions(params, seed + 1)
    alphas = numpy.linspace(-span, span, resolution)
    betas = numpy.linspace(-span, span, resolution)
    was_training = model.training
    model.eval()
    losses = numpy.zeros((resolution, resolution))
    try:
        for i, b in enumerate(betas):
            for j, a in enumerate(alphas):
                for p, c, u, v in zip(params, center, d1, d2):
                    p._data[...] = c + a * u + b * v
                losses[i, j] = _full_loss(model, loss_fn, x, y)
    finally:
        for p, c in zip(params, center):
            p._data[...] = c
        model.train(was_training)
    center_loss = _full_loss(model, loss_fn, x, y)
    projected = None
    if trajectory:
        basis = numpy.stack([numpy.concatenate([u.ravel() for u in d1]),
                             numpy.concatenate([v.ravel() for v in d2])], axis=1)
        origin = numpy.concatenate([c.ravel() for c in center])
        offsets = numpy.stack([numpy.concatenate([numpy.asarray(q).ravel() for q in snap]) - origin
                               for snap in trajectory])
        projected = numpy.linalg.lstsq(basis, offsets.T, rcond=None)[0].T
    return Landscape(alphas, betas, losses, center_loss, projected)


def plot_landscape(model, loss_fn, data, path="landscape.png", resolution=21, span=1.0, seed=0,
                   trajectory=None):
    """A contour of the loss around the trained weights, a 1-D slice through it, and the
    optimizer's projected path. Returns the :class:`Landscape` (``.center_value`` equals the
    model's loss).

    >>> import chainrule, os, tempfile
    >>> model = chainrule.nn.Linear(2, 1)
    >>> x, y = chainrule.randn(8, 2), chainrule.randn(8, 1)
    >>> result = plot_landscape(model, chainrule.nn.MSELoss(), (x, y), os.path.join(tempfile.mkdtemp(), "l.png"), resolution=3)
    >>> abs(result.center_value - chainrule.nn.MSELoss()(model(x), y).item()) < 1e-5
    True
    """
    result = landscape(model, loss_fn, data, resolution, span, seed, trajectory)
    fig = landscape_figure(result)
    save(fig, path)
    return result


def landscape_figure(result):
    """The matplotlib figure of a :class:`Landscape`: the contour with the trained point and
    the projected path, and a 1-D slice (labels laid out so that none overlap).

    >>> import numpy
    >>> grid = numpy.linspace(-1, 1, 3)
    >>> fig = landscape_figure(Landscape(grid, grid, numpy.ones((3, 3)), 1.0))
    >>> len(fig.axes)        # the contour, its colour bar and the slice
    3
    """
    plt = pyplot()
    # constrained layout keeps the colour bar's label clear of the slice's axis label
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.5), layout="constrained")
    grid_a, grid_b = numpy.meshgrid(result.alphas, result.betas)
    contour = left.contourf(grid_a, grid_b, numpy.log(result.losses + 1e-12), levels=30,
                            cmap="viridis")
    fig.colorbar(contour, ax=left, label="log loss")
    left.scatter([0], [0], color="red", marker="*", s=120, label="trained weights")
    if result.path is not None:
        left.plot(result.path[:, 0], result.path[:, 1], color="white", marker=".", lw=1,
                  label="optimizer path")
    left.set(xlabel="direction 1", ylabel="direction 2", title="loss landscape (filter-normalised)")
    left.legend(fontsize=8, loc="upper left", framealpha=0.85)
    middle = len(result.betas) // 2
    right.plot(result.alphas, result.losses[middle])
    right.set(xlabel="direction 1", ylabel="loss", title="1-D slice through the trained weights")
    return fig
