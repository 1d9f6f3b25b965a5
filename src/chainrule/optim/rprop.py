"""Rprop: each weight's step size grows while its gradient keeps its sign and shrinks when
the sign flips; only the sign of the gradient moves the weight."""
from .. import backend
from ._pytorch import refuse_torch_only_options
from .optimizer import Optimizer
from ..errors import ArgumentError


class Rprop(Optimizer):
    """PyTorch's Rprop: step sizes (starting at lr) times etas[1] where g * g_prev > 0, times
    etas[0] where it is < 0 (and that gradient then counts as 0), clipped to step_sizes;
    w -= sign(g) * step size.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = Rprop([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> round(w.item(), 4)
    0.9
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        refuse_torch_only_options("Rprop", capturable, differentiable)
        if lr < 0 or not 0 < etas[0] < 1 < etas[1]:
            raise ArgumentError(f"Rprop: needs lr >= 0 and 0 < etas[0] < 1 < etas[1], got "
                                f"lr={lr}, etas={etas}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      maximize=maximize))

    def update(self, param, grad, group, state):
        xp = backend.namespace_of(param)
        g = -grad if group["maximize"] else grad
        if not state:
            state["step"] = 0
            state["prev"] = xp.zeros_like(param)
            state["step_size"] = xp.full_like(param, group["lr"])
        state["step"] += 1
        eta_minus, eta_plus = group["etas"]
        smallest, largest = group["step_sizes"]
        sign = xp.sign(g * state["prev"])
        factor = xp.where(sign > 0, eta_plus, xp.where(sign < 0, eta_minus, xp.ones_like(sign)))
        step_size = state["step_size"]
        step_size[...] = xp.clip(step_size * factor, smallest, largest)
        g = xp.astype(xp.where(factor == eta_minus, 0.0, g), param.dtype, copy=False)
        param += -(xp.sign(g) * step_size)
        state["prev"][...] = g
