"""Newton's method at scale: solve H d = -g by conjugate gradient on Hessian-vector products.

The seeds call Newton's method impossible for big models because the Hessian has n^2
entries. It is not needed: conjugate gradient only asks for products H v, and double
backward gives each one for the cost of two backward passes (``autograd.functional.hvp``).
Memory stays O(n). Damping (H + lambda I, adapted Levenberg-Marquardt style) and a
backtracking line search keep the step safe on non-convex losses.
"""
import numpy

from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.engine import grad
from ..tensor import Tensor
from ._flat import add_flat, params_of, set_flat, flat_params, split_like
from .optimizer import Optimizer
from ..errors import ArgumentError


def hessian_size(n):
    """(entries, bytes) of the Hessian of n parameters as a float64 matrix.

    >>> entries, size = hessian_size(42_634)      # the default MLP 64-128-128-128-10
    >>> entries, round(size / 2 ** 30, 1)
    (1817657956, 13.5)
    """
    return n * n, 8 * n * n


def check_hessian_fits(n, max_bytes):
    """Refuse to form an n×n Hessian larger than ``max_bytes``, with the numbers and the way
    out (the default Hessian-free mode)."""
    entries, size = hessian_size(n)
    if size > max_bytes:
        raise ArgumentError(
            f"Newton(hessian='exact'): the model has n = {n:,} parameters, so its Hessian has "
            f"n² = {entries:,} entries, {_bytes(size)} as float64 — more than "
            f"max_hessian_bytes = {_bytes(max_bytes)}. Use the default hessian='cg' "
            "(Hessian-free Newton-CG): conjugate gradient needs only Hessian-vector products "
            "(two backward passes each), so memory stays O(n) and the matrix is never formed")


def _bytes(size):
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit} ({size:,} bytes)"
    return f"{size:,} bytes"


class Newton(Optimizer):
    """Second-order optimizer (Hessian-free Newton-CG, or exact Newton for tiny models).

    ``step(closure)``: the closure returns the loss computed from the parameters, **without**
    calling backward (Newton differentiates it twice itself).

    Args:
        lr: scale of the Newton step before the line search (1 is the pure Newton step).
        damping: initial lambda in (H + lambda I) d = -g; adapted each step when
            ``adaptive_damping`` (shrunk when the quadratic model predicts well, grown when not).
        cg_max_iter: conjugate-gradient iterations per step (None: min(n, 250)).
        cg_tol: relative residual at which CG stops.
        hessian: ``"cg"`` (Hessian-free) or ``"exact"`` (forms H: for teaching, tiny models;
            refused with the numbers when n² float64 entries exceed ``max_hessian_bytes``).
        line_search: backtracking Armijo search on the step length.
        max_hessian_bytes: the most memory ``hessian="exact"`` may use for H (default 1 GiB).

    >>> import chainrule
    >>> w = chainrule.tensor([3.0, -2.0], dtype="float64", requires_grad=True)
    >>> opt = Newton([w], damping=0.0)
    >>> _ = opt.step(lambda: ((w - 1.0) ** 2).sum())   # a quadratic: one step solves it
    >>> [round(v, 8) for v in w.tolist()]
    [1.0, 1.0]
    """

    closure_needs_graph = True

    def __init__(self, params, lr=1.0, damping=1e-4, adaptive_damping=True, cg_max_iter=None,
                 cg_tol=1e-10, hessian="cg", line_search=True, max_line_search=20,
                 max_hessian_bytes=2 ** 30):
        if hessian not in ("cg", "exact"):
            raise ArgumentError(f"Newton: hessian must be 'cg' or 'exact', got {hessian!r}")
        if damping < 0 or lr <= 0:
            raise ArgumentError(f"Newton: need lr > 0 and damping >= 0, got lr={lr}, "
                                f"damping={damping}")
        super().__init__(params, dict(lr=lr, damping=damping, adaptive_damping=adaptive_damping,
                                      cg_max_iter=cg_max_iter, cg_tol=cg_tol, hessian=hessian,
                                      line_search=line_search, max_line_search=max_line_search,
                                      max_hessian_bytes=max_hessian_bytes))
        if hessian == "exact":
            check_hessian_fits(sum(p._data.size for p in params_of(self)), max_hessian_bytes)

    def step(self, closure=None):
        if closure is None:
            raise ArgumentError("Newton.step needs a closure that returns the loss (without "
                                "calling backward)")
        group = self.param_groups[0]
        params = params_of(self)
        state = self.state.setdefault(params[0], {"damping": group["damping"], "n_iter": 0})
        with enable_grad():
            loss = closure()
            grads = grad(loss, params, create_graph=True, allow_unused=True)
        grads = [g if g is not None else Tensor._make(numpy.zeros_like(p._data), None)
                 for g, p in zip(grads, params)]
        g = numpy.concatenate([gi._data.reshape(-1) for gi in grads]).astype(numpy.float64)
        damping = state["damping"]
        if group["hessian"] == "exact":
            check_hessian_fits(g.size, group.get("max_hessian_bytes", 2 ** 30))
            direction = self._exact_direction(params, grads, g, damping)
        else:
            direction = self._cg_direction(params, grads, g, damping, group)
        f0 = float(loss._data)
        # the curvature along d, for judging the quadratic model (before params move)
        hd = self._hvp(params, grads, direction) if group["adaptive_damping"] else None
        step, f_new = self._line_search(closure, params, direction, g, f0, group)
        if hd is not None and step > 0:
            predicted = -(step * g.dot(direction) + 0.5 * step * step * direction.dot(hd))
            ratio = (f0 - f_new) / predicted if predicted > 0 else 0.0
            if ratio < 0.25:
                state["damping"] = max(damping * 1.5, 1e-8)
            elif ratio > 0.75:
                state["damping"] = damping * (2.0 / 3.0)
        state["n_iter"] += 1
        state["last_step"] = step
        return loss

    # ------------------------------------------------------------ directions
    @staticmethod
    def _hvp(params, grads, vector):
        """H v by double backward: d(g . v)/dw, with v a constant."""
        pieces = split_like(params, vector)
        with enable_grad():
            dot = None
            for gi, vi in zip(grads, pieces):
                if gi.requires_grad:
                    term = (gi * vi).sum()
                    dot = term if dot is None else dot + term
            if dot is None:
                return numpy.zeros_like(vector)
            hv = grad(dot, params, retain_graph=True, allow_unused=True)
        return numpy.concatenate([
            numpy.zeros(p._data.size) if h is None else h._data.reshape(-1).astype(numpy.float64)
            for h, p in zip(hv, params)])

    def _cg_direction(self, params, grads, g, damping, group):
        """Conjugate gradient on (H + damping I) d = -g; stops at negative curvature."""
        n = g.size
        max_iter = group["cg_max_iter"] or min(n, 250)
        d = numpy.zeros(n)
        r = -g.copy()
        p = r.copy()
        rr = r.dot(r)
        stop = group["cg_tol"] ** 2 * max(rr, 1e-300)
        for _ in range(max_iter):
            hp = self._hvp(params, grads, p) + damping * p
            curvature = p.dot(hp)
            if curvature <= 0:            # negative curvature: keep what we have (or -g)
                return d if d.any() else -g
            alpha = rr / curvature
            d += alpha * p
            r -= alpha * hp
            rr_new = r.dot(r)
            if rr_new <= stop:
                break
            p = r + (rr_new / rr) * p
            rr = rr_new
        return d

    def _exact_direction(self, params, grads, g, damping):
        n = g.size
        hessian = numpy.stack([self._hvp(params, grads, e) for e in numpy.eye(n)])
        hessian = 0.5 * (hessian + hessian.T) + damping * numpy.eye(n)
        try:
            direction = numpy.linalg.solve(hessian, -g)
        except numpy.linalg.LinAlgError:
            return -g
        return direction if g.dot(direction) < 0 else -g

    # ------------------------------------------------------------ step length
    @staticmethod
    def _line_search(closure, params, direction, g, f0, group):
        """Backtracking (Armijo) from t = lr; returns the step taken and the new loss."""
        x0 = flat_params(params)
        slope = g.dot(direction)
        t = group["lr"]
        for _ in range(group["max_line_search"] if group["line_search"] else 1):
            add_flat(params, t, direction)
            with no_grad():
                f_new = float(closure()._data)
            if not group["line_search"] or (numpy.isfinite(f_new) and
                                            f_new <= f0 + 1e-4 * t * slope):
                return t, f_new
            set_flat(params, x0)
            t *= 0.5
        return 0.0, f0
