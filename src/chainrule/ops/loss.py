"""Softmax cross-entropy with class-index targets as one node.

Forward computes log-softmax and picks each sample's class; backward is the textbook
(softmax(x) - onehot) * weight / N, with no graph of a dozen small ops in between. When the
backward pass is itself recorded (create_graph=True) the softmax is taken with the
differentiable op, so second derivatives (Newton, Hessian-vector products) stay exact.
"""
import numpy

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..autograd.grad_mode import state
from .activation import softmax
from .arithmetic import clamp_min, log, log1p


class SoftmaxCrossEntropy(Function):
    """Kept as a gate for speed: nll_loss(log_softmax(x)) in one node with the textbook
    gradient (softmax - onehot) * weight / N.

    Per-sample losses -w[t] log softmax(x)[t] for (N, C) logits, scaled by ``scale``
    (1/sum of weights for "mean", 1 for "sum"); reduced unless reduction is "none".
    """

    def __init__(self, targets, sample_weights, scale, reduce):
        self.targets, self.sample_weights = targets, sample_weights     # None: every one 1
        self.scale, self.reduce = scale, reduce

    def forward(self, x):
        xp = backend.xp
        shifted = x - backend_helpers.reduced("max", x, axis=1, keepdims=True)
        exp = xp.exp(shifted)
        total = backend_helpers.reduced("sum", exp, axis=1, keepdims=True)
        self.save_for_backward(x, exp / total)
        rows = xp.arange(x.shape[0])
        losses = xp.log(total[:, 0]) - shifted[rows, self.targets]
        # per-sample losses in float64, as the weighted path's float64 weights make them
        losses = xp.asarray(losses, dtype=xp.float64) if self.sample_weights is None else \
            losses * self.sample_weights
        if self.reduce:
            return xp.asarray(backend_helpers.reduced("sum", losses) * self.scale, dtype=x.dtype)
        return backend.xp.astype(losses, x.dtype, copy=False)

    def backward(self, gy):
        xp = backend.xp
        x, probabilities = self.saved_tensors
        n = x.shape[0]
        rows = xp.arange(n)
        factor = xp.asarray(self.scale, dtype=x.dtype) if self.sample_weights is None else \
            xp.astype(self.sample_weights * self.scale, x.dtype)[:, None]
        if state.enabled:           # create_graph: keep softmax differentiable
            onehot = xp.zeros(x.shape, dtype=x.dtype)
            backend_helpers.setitem(onehot, (rows, self.targets), 1)
            local = (softmax(x, dim=1) - onehot) * factor
            return local * (gy if self.reduce else gy.reshape(n, 1))
        # the same values in one fresh array: (softmax - onehot) * factor * gy
        local = xp.asarray(probabilities._data, copy=True)
        index = (rows, self.targets)
        backend_helpers.setitem(local, index, backend_helpers.getitem(local, index) - 1)
        local *= factor
        local *= gy._data if self.reduce else gy._data[:, None]
        return x._make(local, None)


class BinaryCrossEntropy(Function):
    """Kept as a gate for PyTorch's edge rule at probabilities exactly 0 and 1: each log is
    clamped at -100 (a finite loss) and the gradient's denominator p (1 - p) at 1e-12 (a
    finite gradient), which a composition of clamp and log would turn into 0 or nan.

    Elementwise -(t max(log p, -100) + (1 - t) max(log(1 - p), -100)); gradient with respect
    to p: (p - t) / max(p (1 - p), 1e-12), with respect to t: log(1 - p) - log(p).
    """

    def forward(self, p, t):
        xp = backend.xp
        self.save_for_backward(p, t)
        with numpy.errstate(divide="ignore"):
            log_p = xp.maximum(xp.log(p), -100)
            log_not_p = xp.maximum(xp.log1p(-p), -100)
        return -(t * log_p + (1 - t) * log_not_p)

    def backward(self, gy):
        p, t = self.saved_tensors
        gp = gt = None
        if self.needs_input_grad[0]:
            gp = gy * (p - t) / clamp_min(p * (1 - p), 1e-12)
        if self.needs_input_grad[1]:
            gt = gy * (log1p(-p) - log(p))
        return gp, gt
