"""Gradient descent: w <- w - lr * dLoss/dw, with momentum, dampening, Nesterov, weight decay.

Every update ``a + alpha * b`` is rounded once per element (a fused multiply-add, BLAS
``axpy``), as PyTorch's ``a.add_(b, alpha=alpha)`` rounds it: chainrule's SGD and PyTorch's
give the same bits from the same gradients.
"""
from .. import backend, backend_helpers
from ._pytorch import refuse_torch_only_options
from .optimizer import Optimizer
from ..errors import ArgumentError


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
        # plain SGD over the whole list: param += -lr * grad, without a temporary
        step, states = -group["lr"], self.state
        for p in params:
            if p not in states:
                states[p] = {}
            backend_helpers.add_scaled_(p._data, step, p.grad._data)
            p._bump_version()

    def update(self, param, grad, group, state):
        # each "a + alpha * b" is rounded once, as PyTorch's add_(b, alpha=alpha) rounds it
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        if group["weight_decay"]:
            g = backend_helpers.add_scaled_(xp.asarray(g, copy=True), group["weight_decay"],
                                            param)
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = xp.asarray(g, copy=True)
            else:
                buf *= momentum
                backend_helpers.add_scaled_(buf, 1 - group["dampening"], g)
            g = backend_helpers.add_scaled_(xp.asarray(g, copy=True), momentum, buf) \
                if group["nesterov"] else buf
        backend_helpers.add_scaled_(param, -group["lr"], g)


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
