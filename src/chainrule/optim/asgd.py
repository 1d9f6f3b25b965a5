"""ASGD: stochastic gradient descent with a decaying step and a running average of the
iterates (Polyak-Ruppert averaging), kept in the state as ``ax``."""
from .. import backend
from ._pytorch import refuse_torch_only_options, torch_scalar
from .optimizer import Optimizer
from ..errors import ArgumentError


class ASGD(Optimizer):
    """PyTorch's ASGD: w = w (1 - lambd eta) - eta g; ax moves towards w by mu;
    eta = lr / (1 + lambd lr t)^alpha and mu = 1 / max(1, t - t0) after step t.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = ASGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> round(w.item(), 4)
    0.8
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        refuse_torch_only_options("ASGD", capturable, differentiable)
        if lr < 0 or weight_decay < 0:
            raise ArgumentError(f"ASGD: lr and weight_decay must be >= 0, got lr={lr}, "
                                f"weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, maximize=maximize))

    def update(self, param, grad, group, state):
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        lr, lambd = group["lr"], group["lambd"]
        if not state:
            state["step"] = 0
            state["eta"] = torch_scalar(lr)
            state["mu"] = 1.0
            state["ax"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        eta = state["eta"]
        param *= 1 - lambd * eta
        param += -eta * g
        ax = state["ax"]
        if state["mu"] != 1:
            ax += (param - ax) * state["mu"]
        else:
            ax[...] = param
        state["eta"] = torch_scalar(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"] = torch_scalar(1 / max(1, step - group["t0"]))
