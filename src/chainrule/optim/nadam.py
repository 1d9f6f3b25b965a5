"""NAdam: Adam with Nesterov momentum, its momentum warmed up by ``momentum_decay``."""
from .. import backend
from ._pytorch import refuse_torch_only_options, torch_scalar
from .optimizer import Optimizer
from .adam import _check, weight_decayed


class NAdam(Optimizer):
    """PyTorch's NAdam: mu_t = b1 (1 - 0.5 * 0.96^(t psi)); the step mixes the gradient and
    the first moment by mu_t and mu_{t+1}, divided by sqrt(v / (1 - b2^t)) + eps.
    ``decoupled_weight_decay`` gives NAdamW.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = NAdam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w.item() < 1.0
    True
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        refuse_torch_only_options("NAdam", capturable, differentiable)
        _check("NAdam", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def update(self, param, grad, group, state):
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        beta1, beta2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        g = weight_decayed(param, g, lr, wd, group["decoupled_weight_decay"])
        decay = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
        state["mu_product"] = torch_scalar(state["mu_product"] * torch_scalar(mu))  # as torch
        mu_product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (g - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * (g * g)
        denom = xp.sqrt(v / (1 - beta2 ** step)) + group["eps"]
        param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
        param += (-lr * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)
