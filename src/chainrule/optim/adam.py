"""Adam, AdamW and Adamax, with PyTorch's exact formulas (bias-corrected moments)."""
import math

from .. import backend
from ._pytorch import refuse_torch_only_options
from .optimizer import Optimizer
from ..errors import ArgumentError


class Adam(Optimizer):
    """Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    w -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps). ``amsgrad`` keeps max(v).

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> round(w.item(), 4)
    0.9
    """

    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        name = type(self).__name__
        refuse_torch_only_options(name, capturable, differentiable)
        _check(name, lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def update(self, param, grad, group, state):
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        beta1, beta2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        g = weight_decayed(param, g, lr, wd,
                           group.get("decoupled_weight_decay", self.decoupled_weight_decay))
        state["step"] += 1
        step = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (g - m) * (1 - beta1)           # lerp, as PyTorch
        v *= beta2
        v += (1 - beta2) * g * g
        bias1 = 1 - beta1 ** step
        bias2_sqrt = math.sqrt(1 - beta2 ** step)
        if group["amsgrad"]:
            state["max_exp_avg_sq"][...] = xp.maximum(state["max_exp_avg_sq"], v)
            denom = xp.sqrt(state["max_exp_avg_sq"]) / bias2_sqrt + group["eps"]
        else:
            denom = xp.sqrt(v) / bias2_sqrt + group["eps"]
        param -= (lr / bias1) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: w *= 1 - lr * weight_decay before the Adam step.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.item() < 1.0
    True
    """

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         capturable=capturable, differentiable=differentiable,
                         decoupled_weight_decay=True)


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm): u = max(b2 u, |g| + eps);
    w -= lr / (1 - b1^t) * m / u.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = Adamax([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.item() < 1.0
    True
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        refuse_torch_only_options("Adamax", capturable, differentiable)
        _check("Adamax", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def update(self, param, grad, group, state):
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_inf"] = xp.zeros_like(param)
        if group["weight_decay"]:
            g = g + group["weight_decay"] * param
        state["step"] += 1
        m, u = state["exp_avg"], state["exp_inf"]
        m += (g - m) * (1 - beta1)
        u[...] = xp.maximum(u * beta2, xp.abs(g) + group["eps"])
        param -= (group["lr"] / (1 - beta1 ** state["step"])) * (m / u)


def weight_decayed(param, g, lr, wd, decoupled):
    """The gradient after weight decay ``wd``: decoupled (AdamW's way) shrinks ``param`` in
    place by ``lr * wd`` and leaves ``g`` as it is; coupled (L2) adds ``wd * param`` to it."""
    if wd:
        if decoupled:
            param *= 1 - lr * wd
        else:
            g = g + wd * param
    return g


def _check(name, lr, betas, eps, weight_decay):
    if lr < 0 or eps < 0 or weight_decay < 0:
        raise ArgumentError(f"{name}: lr, eps and weight_decay must be >= 0, got lr={lr}, "
                            f"eps={eps}, weight_decay={weight_decay}")
    if not all(0 <= b < 1 for b in betas):
        raise ArgumentError(f"{name}: betas must be in [0, 1), got {betas}")
