"""Adagrad: per-weight learning rates that shrink with the sum of squared gradients."""
from .. import backend
from ._pytorch import refuse_torch_only_options
from .optimizer import Optimizer
from ..errors import ArgumentError


class Adagrad(Optimizer):
    """PyTorch's Adagrad: sum += g^2; w -= lr / (1 + (t-1) lr_decay) * g / (sqrt(sum) + eps).

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.item() < 1.0
    True
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        refuse_torch_only_options("Adagrad", False, differentiable)
        if lr < 0 or lr_decay < 0 or weight_decay < 0 or eps < 0:
            raise ArgumentError(f"Adagrad: invalid hyper-parameters lr={lr}, lr_decay={lr_decay}, "
                                f"weight_decay={weight_decay}, eps={eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def update(self, param, grad, group, state):
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += g * g
        param -= clr * (g / (xp.sqrt(state["sum"]) + group["eps"]))
