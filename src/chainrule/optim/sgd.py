"""Gradient descent: w <- w - lr * dLoss/dw, with momentum, dampening, Nesterov, weight decay."""
import numpy

from .. import backend, backend_helpers
from ._pytorch import refuse_torch_only_options
from .optimizer import Optimizer
from ..errors import ArgumentError

_FLOATING = frozenset(numpy.dtype(name) for name in ("float16", "float32", "float64"))


class SGD(Optimizer):
    """Stochastic gradient descent with PyTorch's exact update rule.

    With momentum m: buf = m * buf + (1 - dampening) * g (buf = g at the first step);
    the step uses buf, or g + m * buf with ``nesterov=True``.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.5, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> round(w.item(), 4)
    -0.9
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        refuse_torch_only_options("SGD", False, differentiable)
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ArgumentError(f"SGD: lr, momentum and weight_decay must be >= 0, got lr={lr}, "
                                f"momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ArgumentError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def update_group(self, params, group):
        if group["momentum"] or group["weight_decay"] or group["maximize"]:
            return super().update_group(params, group)
        # plain SGD over the whole list, without a temporary: param -= lr * grad
        lr, states, scaled = group["lr"], self.state, self._scaled
        views = self.__dict__.get("_workspace_views") or {}
        for p in params:
            if p not in states:
                states[p] = {}
            grad = p.grad._data
            out = views.get((grad.shape, grad.dtype, type(grad)))     # the workspace, known
            if out is None:
                p._data -= scaled(grad, lr)
            else:
                p._data -= backend_helpers.into(out, backend.namespace_of(grad).multiply, grad,
                                                lr)
            p._bump_version()

    def update(self, param, grad, group, state):
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = xp.asarray(g, copy=True)
            else:
                buf *= momentum
                dampening = group["dampening"]
                buf += self._scaled(g, 1 - dampening) if dampening else g
            g = g + momentum * buf if group["nesterov"] else buf
        param -= self._scaled(g, group["lr"])

    def _scaled(self, array, factor):
        """factor * array (the same values), written into the optimizer's workspace when
        the array is floating point; it lives until the next call."""
        if array.dtype not in _FLOATING:       # bfloat16, integers; array API dtypes
            return factor * array
        return backend_helpers.into(self.workspace(array), backend.namespace_of(array).multiply,
                                    array, factor)


class GD(SGD):
    """Plain (full-batch) gradient descent: SGD with no momentum, the seeds' update rule.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = GD([w], lr=0.25)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.item() < 1.0
    True
    """

    def __init__(self, params, lr=1e-3):
        super().__init__(params, lr=lr)
