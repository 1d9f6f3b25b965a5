"""Higher-level derivatives built on ``grad``: vjp, jvp, jacobian, hessian, hvp.

``hvp`` is the Hessian-vector product by double backward (Pearlmutter's trick): it costs
two backward passes and never forms the Hessian, which is what makes Newton-CG possible.
"""
from .. import backend
from ..errors import ShapeError
from ..ops.shape import stack
from ..tensor_base import TensorBase
from .engine import grad
from .grad_mode import enable_grad


def _prepare(inputs):
    single = isinstance(inputs, TensorBase)
    inputs = (inputs,) if single else tuple(inputs)
    prepared = tuple(t._make(t._data, None).requires_grad_(True) for t in inputs)
    return single, prepared


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _zero_if_none(grads, like):
    return tuple(_zeros_like(t) if g is None else g for g, t in zip(grads, like))


def _zeros_like(t, shape=None):
    shape = t.shape if shape is None else shape
    return t._make(backend.xp.zeros(shape, dtype=t.dtype), None)


def _unwrap(single, values):
    return values[0] if single else values


def vjp(func, inputs, v=None, create_graph=False):
    """(func(inputs), v^T J): the vector-Jacobian product, one backward pass."""
    single, xs = _prepare(inputs)
    with enable_grad():
        out = func(*xs)
        grads = grad(out, xs, v, create_graph=create_graph, allow_unused=True)
    result = _zero_if_none(grads, xs)
    return (out if create_graph else out.detach()), _unwrap(single, result)


def jvp(func, inputs, v, create_graph=False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick."""
    single, xs = _prepare(inputs)
    vs = _as_tuple(v)
    if len(vs) != len(xs):
        raise ShapeError(f"jvp: {len(vs)} tangent vectors for {len(xs)} inputs")
    with enable_grad():
        out = func(*xs)
        dummy = _zeros_like(out).requires_grad_(True)
        grads = grad(out, xs, dummy, create_graph=True, allow_unused=True)
        pairs = [(g, u) for g, u in zip(grads, vs) if g is not None and g.requires_grad]
        if not pairs:
            return out.detach(), _zeros_like(out)
        (result,) = grad([g for g, _ in pairs], dummy, [u for _, u in pairs],
                         create_graph=create_graph, allow_unused=True)
    if result is None:
        result = _zeros_like(out)
    return (out if create_graph else out.detach()), result


def jacobian(func, inputs, create_graph=False):
    """d func / d inputs, of shape ``out.shape + input.shape`` (a tuple for several inputs).

    >>> import chainrule
    >>> from chainrule.autograd.functional import jacobian
    >>> jacobian(lambda x: x ** 2, chainrule.tensor([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    single, xs = _prepare(inputs)
    with enable_grad():
        out = func(*xs)
        flat = out.reshape(-1)
        rows = []
        for i in range(flat.shape[0]):
            grads = grad(flat[i], xs, retain_graph=True, create_graph=create_graph,
                         allow_unused=True)
            rows.append(_zero_if_none(grads, xs))
    result = []
    for k, x in enumerate(xs):
        if rows:
            jac = stack([row[k] for row in rows]).reshape(out.shape + x.shape)
        else:
            jac = _zeros_like(x, out.shape + x.shape)
        result.append(jac if create_graph else jac.detach())
    return _unwrap(single, tuple(result))


def hessian(func, inputs, create_graph=False):
    """Second derivatives of a scalar function: shape ``input.shape + input.shape``.

    >>> import chainrule
    >>> from chainrule.autograd.functional import hessian
    >>> A = chainrule.tensor([[2.0, 1.0], [1.0, 3.0]], dtype="float64")
    >>> hessian(lambda x: 0.5 * (x @ A @ x), chainrule.tensor([1.0, 1.0], dtype="float64")).tolist()
    [[2.0, 1.0], [1.0, 3.0]]
    """
    single, xs = _prepare(inputs)

    def gradient(*args):
        with enable_grad():
            out = func(*args)
            if out._data.size != 1:
                raise ShapeError(f"hessian: func must return a scalar, got shape {out.shape}")
            grads = grad(out, args, create_graph=True, allow_unused=True)
        return _zero_if_none(grads, args)

    if single:
        return jacobian(lambda x: gradient(x)[0], xs[0], create_graph)
    return tuple(jacobian(lambda *a, i=i: gradient(*a)[i], xs, create_graph)
                 for i in range(len(xs)))


def hvp(func, inputs, v, create_graph=False):
    """(func(inputs), H v) for a scalar func, without forming H: two backward passes."""
    single, xs = _prepare(inputs)
    vs = _as_tuple(v)
    with enable_grad():
        out = func(*xs)
        if out._data.size != 1:
            raise ShapeError(f"hvp: func must return a scalar, got shape {out.shape}")
        grads = grad(out, xs, create_graph=True, allow_unused=True)
        pairs = [(g, x, u) for g, x, u in zip(grads, xs, vs) if g is not None and g.requires_grad]
        dot = None
        for g, _, u in pairs:
            term = (g * u).sum()
            dot = term if dot is None else dot + term
        if dot is None:
            result = _zero_if_none((None,) * len(xs), xs)
        else:
            result = _zero_if_none(grad(dot, xs, create_graph=create_graph, allow_unused=True),
                                   xs)
    return (out if create_graph else out.detach()), _unwrap(single, result)
