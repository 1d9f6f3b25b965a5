"""RAdam: Adam whose adaptive step is switched on gradually, as the variance of its
second-moment estimate becomes tractable (a rectification term)."""
import math

from .. import backend
from ._pytorch import refuse_torch_only_options
from .optimizer import Optimizer
from .adam import _check, weight_decayed


class RAdam(Optimizer):
    """PyTorch's RAdam: with rho_t the length of the approximated simple moving average,
    w -= lr m_hat * r_t sqrt(1 - b2^t) / (sqrt(v) + eps) once rho_t > 5, w -= lr m_hat before.
    ``decoupled_weight_decay`` gives RAdamW.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = RAdam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> round(w.item(), 6)
    0.8
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        refuse_torch_only_options("RAdam", capturable, differentiable)
        _check("RAdam", lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def update(self, param, grad, group, state):
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        beta1, beta2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        g = weight_decayed(param, g, lr, wd, group["decoupled_weight_decay"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (g - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * (g * g)
        bias1, bias2 = 1 - beta1 ** step, 1 - beta2 ** step
        m_hat = m / bias1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                             ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = bias2 ** 0.5 / (xp.sqrt(v) + group["eps"])
            param += -(m_hat * lr * adaptive * rect)
        else:
            param += -(m_hat * lr)
