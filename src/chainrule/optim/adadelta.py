"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
from .. import backend
from ._pytorch import refuse_torch_only_options
from .optimizer import Optimizer
from ..errors import ArgumentError


class Adadelta(Optimizer):
    """PyTorch's Adadelta: s = rho s + (1 - rho) g^2; d = sqrt(u + eps) / sqrt(s + eps) g;
    u = rho u + (1 - rho) d^2; w -= lr d.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = Adadelta([w])
    >>> (w * w).sum().backward(); opt.step()
    >>> round(w.item(), 6)
    0.996838
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        refuse_torch_only_options("Adadelta", capturable, differentiable)
        if lr < 0 or eps < 0 or weight_decay < 0 or not 0 <= rho <= 1:
            raise ArgumentError(f"Adadelta: invalid hyper-parameters lr={lr}, rho={rho}, "
                                f"eps={eps}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def update(self, param, grad, group, state):
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            state["acc_delta"] = xp.zeros_like(param)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        rho, eps = group["rho"], group["eps"]
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * (g * g)
        delta = xp.sqrt(acc_delta + eps) / xp.sqrt(square_avg + eps) * g
        acc_delta *= rho
        acc_delta += (1 - rho) * (delta * delta)
        param += -group["lr"] * delta
