"""Numerical gradients — the spreadsheet method — and the checks built on them.

A learner checks a derivative by nudging a weight by a small eps and watching the loss
change: (L(w + eps) - L(w)) / eps. :func:`numerical_grad` does exactly that for every
element; :func:`gradcheck` compares it (central differences, float64) with backprop.
"""
import warnings

import numpy

from .. import backend
from ..errors import ArgumentError, GradcheckError, ShapeError
from .engine import grad
from .grad_mode import enable_grad, no_grad


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def numerical_grad(fn, inputs, eps=1e-4, scheme="forward"):
    """d fn / d input for a scalar-valued ``fn``, by nudging each element by ``eps``.

    ``scheme="forward"`` is the seeds' spreadsheet formula (L(w+eps) - L(w)) / eps;
    ``"central"`` uses (L(w+eps) - L(w-eps)) / 2eps, which is far more accurate.
    Returns one array per input (a single array for a single tensor).

    >>> import chainrule
    >>> w = chainrule.tensor(1.0, dtype="float64")
    >>> g = numerical_grad(lambda w: (w * 1.0 - 2.0) ** 2, w)
    >>> round(float(g), 3)
    -2.0
    """
    if scheme not in ("forward", "central"):
        raise ArgumentError(
            f"numerical_grad: scheme must be 'forward' or 'central', got {scheme!r}")
    single = not isinstance(inputs, (tuple, list))
    inputs = _as_tuple(inputs)

    def loss():
        with no_grad():
            out = fn(*inputs)
        if out._data.size != 1:
            raise ShapeError(f"numerical_grad: fn must return a scalar loss, got shape {out.shape}")
        return float(out._data.reshape(()))

    base = loss() if scheme == "forward" else None
    result = []
    for t in inputs:
        data = t._data            # nudged element by element, in place: works for any strides
        g = numpy.zeros(t.shape, dtype=numpy.float64)
        for index in numpy.ndindex(*t.shape):
            original = data[index].item()
            data[index] = original + eps
            up = loss()
            if scheme == "forward":
                g[index] = (up - base) / eps
            else:
                data[index] = original - eps
                g[index] = (up - loss()) / (2 * eps)
            data[index] = original
        result.append(g)
    return result[0] if single else result


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check backprop against central differences for every input that requires grad.

    Outputs are projected on a fixed random direction u (the check is of d(sum(u * fn))/dx,
    which catches any wrong Jacobian entry with probability one). Returns True, or raises
    :class:`GradcheckError` naming the input, the element, and both values.

    >>> import chainrule
    >>> x = chainrule.randn(3, dtype="float64", requires_grad=True)
    >>> gradcheck(chainrule.tanh, x)
    True
    """
    inputs = _as_tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    if not checked:
        raise ArgumentError("gradcheck: no input requires grad, so there is nothing to check")
    for i in checked:
        if inputs[i]._data.dtype != numpy.float64:
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 for a "
                          "reliable check", stacklevel=2)
    projection = _projection(fn, inputs, seed)
    with enable_grad():
        loss = projection(*inputs)
    targets = [inputs[i] for i in checked]
    if loss.requires_grad:
        analytic = grad(loss, targets, allow_unused=True)
    else:
        analytic = (None,) * len(targets)
    numeric = numerical_grad(projection, inputs, eps=eps, scheme="central")
    for i, a in zip(checked, analytic):
        a = numpy.zeros(inputs[i].shape) if a is None else backend.to_numpy(a._data)
        n = numeric[i]
        bad = ~(numpy.abs(a - n) <= atol + rtol * numpy.abs(n))  # NaN counts as bad
        if bad.any():
            where = tuple(int(k) for k in numpy.argwhere(bad)[0])
            message = (f"gradcheck: input {i} (shape {inputs[i].shape}), element {where}: "
                       f"analytic {a[where]:.8g} vs numerical {n[where]:.8g} "
                       f"({int(bad.sum())} of {bad.size} elements differ)")
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check second derivatives: gradcheck applied to the (create_graph) gradient of fn."""
    inputs = _as_tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    projection = _projection(fn, inputs, seed)

    def first_derivative(*xs):
        with enable_grad():
            loss = projection(*xs)
            if not loss.requires_grad:
                return _zeros_like_sum(xs)
            grads = grad(loss, [xs[i] for i in checked], create_graph=True, allow_unused=True)
        total = None
        for k, g in enumerate(grads):
            if g is not None:
                term = _project(g, seed + 1 + k)
                total = term if total is None else total + term
        return total if total is not None else _zeros_like_sum(xs)

    return gradcheck(first_derivative, inputs, eps, atol, rtol, raise_exception, seed)


def _zeros_like_sum(xs):
    """A constant zero: the derivative of something that does not depend on xs."""
    return xs[0]._make(backend.xp.zeros((), dtype=numpy.float64), None)


def _project(t, seed):
    rng = numpy.random.default_rng(seed + t._data.size)
    u = rng.standard_normal(t.shape).astype(t._data.dtype)
    return (t * t._make(backend.xp.asarray(u), None)).sum()


def _projection(fn, inputs, seed):
    """x -> sum over outputs of sum(u_k * out_k), with fixed random u_k."""
    def projected(*xs):
        outputs = _as_tuple(fn(*xs))
        total = None
        for k, out in enumerate(outputs):
            if backend.kind(out._data.dtype) != "f":
                continue
            term = _project(out, seed + 7 * k)
            total = term if total is None else total + term
        if total is None:
            raise ArgumentError("gradcheck: fn returned no floating-point output")
        return total
    return projected
