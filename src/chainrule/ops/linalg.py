"""Matrix products: matmul (1-D, 2-D, batched with broadcasting), dot, outer, einsum."""
from .. import backend
from ..autograd.function import Function
from ..errors import ArgumentError, ShapeError
from ..tensor_base import TensorBase
from ._util import lift, operands, require_tensor
from .shape import reshape


class MatMul(Function):
    """a @ b for operands with at least 2 dimensions (batch dimensions broadcast).

    d/da = gy @ b^T and d/db = a^T @ gy (the engine sums them back over broadcast batch
    dimensions).
    """

    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a if need_b else None, b if need_a else None)
        return a @ b

    def backward(self, gy):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = matmul(gy, b.mT) if need_a else None
        gb = matmul(a.mT, gy) if need_b else None
        return ga, gb


def matmul(a, b):
    """Matrix product with NumPy/PyTorch semantics for 1-D, 2-D and batched operands.

    >>> import chainrule
    >>> chainrule.matmul(chainrule.ones(2, 3), chainrule.ones(3)).tolist()
    [3.0, 3.0]
    """
    a, b = _two_tensors(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape} (use * for scalars)")
    if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
        raise ShapeError(
            f"matmul: shapes {a.shape} and {b.shape} do not fit: the last dimension of the first "
            f"({a.shape[-1]}) must equal the {'second-to-last' if b.ndim > 1 else 'only'} "
            f"dimension of the second ({b.shape[-2 if b.ndim > 1 else 0]})")
    if a.ndim >= 2 and b.ndim >= 2:
        return MatMul()(a, b)
    a2 = reshape(a, 1, a.shape[0]) if a.ndim == 1 else a
    b2 = reshape(b, b.shape[0], 1) if b.ndim == 1 else b
    out = MatMul()(a2, b2)
    if a.ndim == 1:
        out = reshape(out, out.shape[:-2] + out.shape[-1:])
    if b.ndim == 1:
        out = reshape(out, out.shape[:-1])
    return out


def _two_tensors(a, b, op):
    if not isinstance(a, TensorBase) and not isinstance(b, TensorBase):
        require_tensor(a, op)
    a = lift(a, b) if not isinstance(a, TensorBase) else a
    b = lift(b, a) if not isinstance(b, TensorBase) else b
    return operands(a, b, op, broadcast=False)


def dot(a, b):
    """Inner product of two 1-D tensors.

    >>> import chainrule
    >>> chainrule.dot(chainrule.tensor([1.0, 2.0]), chainrule.tensor([3.0, 4.0])).item()
    11.0
    """
    a, b = _two_tensors(a, b, "dot")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: expects two 1-D tensors, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def outer(a, b):
    """Outer product of two 1-D tensors.

    >>> import chainrule
    >>> chainrule.outer(chainrule.tensor([1.0, 2.0]), chainrule.tensor([3.0])).tolist()
    [[3.0], [6.0]]
    """
    a, b = _two_tensors(a, b, "outer")
    return reshape(a, a.shape[0], 1) * reshape(b, 1, b.shape[0])


class Einsum(Function):
    """einsum without repeated indices inside one operand.

    einsum is linear in each operand, so the gradient of operand i is an einsum of the
    upstream gradient with the other operands, broadcast over any index that only operand
    i had (those were summed away).
    """

    def __init__(self, in_subs, out_sub):
        self.in_subs, self.out_sub = in_subs, out_sub

    def forward(self, *arrays):
        spec = ",".join(self.in_subs) + "->" + self.out_sub
        self.save_for_backward(*arrays)
        return backend.xp.einsum(spec, *arrays, optimize=len(arrays) > 2)

    def backward(self, gy):
        operands = self.saved_tensors
        grads = []
        for i, t in enumerate(operands):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [(s, u) for j, (s, u) in enumerate(zip(self.in_subs, operands)) if j != i]
            available = set(self.out_sub).union(*[set(s) for s, _ in others])
            reduced = "".join(c for c in self.in_subs[i] if c in available)
            subs = [self.out_sub] + [s for s, _ in others]
            g = Einsum(subs, reduced)(gy, *[u for _, u in others])
            if reduced != self.in_subs[i]:
                shape = tuple(t.shape[k] if c in available else 1
                              for k, c in enumerate(self.in_subs[i]))
                g = reshape(g, shape).broadcast_to(t.shape)
            grads.append(g)
        return tuple(grads)


def einsum(subscripts, *operands):
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", a, b)``; differentiable in every operand.

    >>> import chainrule
    >>> chainrule.einsum("ij,j->i", chainrule.ones(2, 3), chainrule.ones(3)).tolist()
    [3.0, 3.0]
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [require_tensor(t, "einsum", f"operand {i}") for i, t in enumerate(operands)]
    spec = subscripts.replace(" ", "")
    if "..." in spec:
        raise ArgumentError("einsum: '...' is not supported; name every index")
    if "->" in spec:
        lhs, out_sub = spec.split("->")
    else:
        lhs = spec
        letters = lhs.replace(",", "")
        out_sub = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    in_subs = lhs.split(",")
    if len(in_subs) != len(operands):
        raise ArgumentError(f"einsum: {subscripts!r} names {len(in_subs)} operands but "
                            f"{len(operands)} were given")
    sizes = {}
    for sub, t in zip(in_subs, operands):
        if len(sub) != t.ndim:
            raise ShapeError(f"einsum: subscript {sub!r} has {len(sub)} indices but the operand "
                             f"has shape {t.shape}")
        if len(set(sub)) != len(sub):
            raise ArgumentError(f"einsum: repeated index in {sub!r} (diagonals) is not supported")
        for c, n in zip(sub, t.shape):
            if sizes.setdefault(c, n) != n:
                raise ShapeError(f"einsum: index {c!r} has size {sizes[c]} in one operand and "
                                 f"{n} in another ({subscripts!r})")
    return Einsum(in_subs, out_sub)(*operands)


class Linear(Function):
    """Kept as a gate for speed: x @ W.T + b in one node (one matrix product, bias added in
    place), instead of matmul, transpose and add.
    """

    def forward(self, x, weight, bias=None):
        need_x, need_weight = self.needs_input_grad[:2]
        self.save_for_backward(x if need_weight else None, weight if need_x else None)
        y = x @ weight.T
        if bias is not None:
            y += bias
        return y

    def backward(self, gy):
        x, weight = self.saved_tensors
        need_x, need_weight = self.needs_input_grad[:2]
        gx = matmul(gy, weight) if need_x else None
        gw = None
        if need_weight:
            out_features, in_features = gy.shape[-1], x.shape[-1]
            gy2 = reshape(gy, -1, out_features)
            gw = matmul(gy2.mT, reshape(x, -1, in_features))
        if len(self.needs_input_grad) == 2:
            return gx, gw
        gb = None
        if self.needs_input_grad[2]:
            gb = reshape(gy, -1, gy.shape[-1]).sum(dim=0)
        return gx, gw, gb


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` (PyTorch's F.linear), one fused node.

    >>> import chainrule
    >>> chainrule.linear(chainrule.ones(1, 2), chainrule.ones(3, 2), chainrule.zeros(3)).tolist()
    [[2.0, 2.0, 2.0]]
    """
    require_tensor(x, "linear")
    if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input of shape {x.shape} does not fit a weight of shape "
                         f"{weight.shape}: the input's last dimension must be "
                         f"in_features={weight.shape[1]}")
    if bias is None:
        return Linear()(x, weight)
    return Linear()(x, weight, bias)


__all__ = ["matmul", "dot", "outer", "einsum", "linear"]
