"""Matrix products: matmul (1-D, 2-D, batched with broadcasting), dot, outer, einsum; the
rest of PyTorch's matmul family (mm, bmm, mv, vdot, inner, tensordot, kron, addmm, ...,
multi_dot) and cross / vecdot."""
import math

import numpy

from .. import backend, backend_helpers
from ..autograd.broadcast import broadcast_shapes, broadcast_to
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor_base import TensorBase
from ._util import broadcast_check, lift, operands, require_tensor, single_axis
from . import activation
from .shape import permute, reshape


class MatMul(Function):
    """a @ b for operands with at least 2 dimensions (batch dimensions broadcast).

    d/da = gy @ b^T and d/db = a^T @ gy (the engine sums them back over broadcast batch
    dimensions).
    """

    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a if need_b else None, b if need_a else None)
        y = a @ b
        return y if y.dtype == a.dtype else backend.xp.astype(y, a.dtype)   # bfloat16: float32 inside

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
    if a.ndim > 2 and b.ndim > 2:
        _check_batch_dimensions(a.shape, b.shape, "matmul")
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


def _check_batch_dimensions(shape_a, shape_b, op):
    try:
        broadcast_shapes(shape_a[:-2], shape_b[:-2])
    except ShapeError:
        raise ShapeError(f"{op}: shapes {shape_a} and {shape_b} do not fit: their batch "
                         f"dimensions {shape_a[:-2]} and {shape_b[:-2]} cannot be broadcast "
                         "together") from None


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
    """einsum over operands whose subscripts hold each index once (the functional
    ``einsum`` takes diagonals and broadcasts first).

    einsum is linear in each operand, so the gradient of operand i is an einsum of the
    upstream gradient with the other operands, broadcast over any index that only operand
    i had (those were summed away).
    """

    def __init__(self, in_subs, out_sub):
        self.in_subs, self.out_sub = in_subs, out_sub

    def forward(self, *arrays):
        spec = ",".join(self.in_subs) + "->" + self.out_sub
        self.save_for_backward(*arrays)
        return backend_helpers.einsum(spec, *arrays, optimize=len(arrays) > 2)

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


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum(equation, *operands):
    """Einstein summation with PyTorch's rules: ``...`` for broadcast dimensions, a repeated
    index inside one operand for its diagonal (``"ii->i"``, the trace ``"ii"``), size-1
    dimensions broadcast, and without ``->`` the output is the ellipsis then the indices
    seen once, sorted. Also the sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.
    Differentiable in every operand.

    >>> import chainrule
    >>> chainrule.einsum("ij,j->i", chainrule.ones(2, 3), chainrule.ones(3)).tolist()
    [3.0, 3.0]
    >>> chainrule.einsum("ii", chainrule.eye(3)).item()
    3.0
    >>> chainrule.einsum("...ij,...jk", chainrule.ones(5, 2, 3), chainrule.ones(3, 4)).shape
    (5, 2, 4)
    """
    if isinstance(equation, TensorBase):
        equation, operands = _from_sublists((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise ArgumentError(f"einsum: the equation must be a string, got "
                            f"{type(equation).__name__}")
    operands = [require_tensor(t, "einsum", f"operand {i}") for i, t in enumerate(operands)]
    lhs, out_sub = _split_equation(equation.replace(" ", ""), len(operands))
    in_subs = lhs.split(",")
    unused = iter(c for c in _LETTERS if c not in equation)
    ellipsis_ndim = max([t.ndim - len(s.replace("...", "")) for s, t in zip(in_subs, operands)
                         if "..." in s] + [0])
    ellipsis = "".join(next(unused) for _ in range(ellipsis_ndim))
    in_subs = [_expand_ellipsis(s, t, ellipsis, i) for i, (s, t) in
               enumerate(zip(in_subs, operands))]
    if out_sub is None:
        letters = "".join(s for s in lhs.split(",")).replace(".", "")
        out_sub = ellipsis + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    else:
        out_sub = out_sub.replace("...", ellipsis)
    _check_output(out_sub, in_subs)
    operands, in_subs = zip(*[_take_diagonals(t, s, i)
                              for i, (t, s) in enumerate(zip(operands, in_subs))])
    operands = _broadcast_sizes(list(operands), list(in_subs), equation)
    return Einsum(list(in_subs), out_sub)(*operands)


def _from_sublists(args):
    """einsum(a, [0, 1], b, [1, 2], [0, 2]) -> ("ab,bc->ac", (a, b))."""
    def letters(sublist):
        out = ""
        for item in sublist:
            if item is Ellipsis:
                out += "..."
            elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 52:
                out += _LETTERS[item]
            else:
                raise ArgumentError(f"einsum: a sublist holds ints in [0, 52) or Ellipsis, got "
                                    f"{item!r}")
        return out
    pairs, output = list(args), None
    if len(pairs) % 2:
        output = pairs.pop()
    operands, subs = pairs[0::2], [letters(s) for s in pairs[1::2]]
    equation = ",".join(subs) + ("" if output is None else "->" + letters(output))
    return equation, tuple(operands)


def _split_equation(spec, count):
    for i, c in enumerate(spec):
        if not (c.isascii() and c.isalpha()) and c not in ".,->":
            raise ArgumentError(f"einsum: invalid subscript {c!r} at index {i} of {spec!r}; "
                                "subscripts must be in [a-zA-Z]")
    lhs, arrow, out_sub = spec.partition("->")
    if "-" in lhs or ">" in lhs or "-" in out_sub or ">" in out_sub or "," in out_sub:
        raise ArgumentError(f"einsum: malformed equation {spec!r}")
    in_subs = lhs.split(",")
    if len(in_subs) != count:
        raise ArgumentError(f"einsum: {spec!r} names {len(in_subs)} operands but {count} "
                            "were given")
    for s in in_subs + [out_sub]:
        if s.replace("...", "", 1).count(".") or s.count("...") > 1:
            raise ArgumentError(f"einsum: found '.' in {s!r} that is not part of one "
                                "ellipsis '...'")
    return lhs, (out_sub if arrow else None)


def _expand_ellipsis(sub, t, ellipsis, index):
    named = sub.replace("...", "")
    if "..." not in sub:
        if len(sub) != t.ndim:
            raise ShapeError(f"einsum: the subscript {sub!r} has {len(sub)} indices but operand "
                             f"{index} has shape {t.shape} and no ellipsis was given")
        return sub
    covered = t.ndim - len(named)
    if covered < 0:
        raise ShapeError(f"einsum: the subscript {sub!r} has more indices than operand {index} "
                         f"has dimensions (shape {t.shape})")
    return sub.replace("...", ellipsis[len(ellipsis) - covered:])


def _check_output(out_sub, in_subs):
    seen = set("".join(in_subs))
    for c in out_sub:
        if out_sub.count(c) > 1:
            raise ArgumentError(f"einsum: output subscript {c!r} appears more than once in the "
                                "output")
        if c not in seen:
            raise ArgumentError(f"einsum: output subscript {c!r} does not appear in the "
                                "equation for any input operand")


def _take_diagonals(t, sub, index):
    """A repeated index inside one operand selects its diagonal (a differentiable view)."""
    while len(set(sub)) != len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        first = sub.index(c)
        second = sub.index(c, first + 1)
        if t.shape[first] != t.shape[second]:
            raise ShapeError(f"einsum: subscript {c!r} is repeated for operand {index} but the "
                             f"sizes don't match, {t.shape[first]} != {t.shape[second]}")
        t = t.diagonal(0, first, second)
        sub = "".join(x for k, x in enumerate(sub) if k not in (first, second)) + c
    return t, sub


def _broadcast_sizes(operands, in_subs, equation):
    """Each index has one size; operands where it is 1 are broadcast up to it."""
    sizes = {}
    for sub, t in zip(in_subs, operands):
        for c, n in zip(sub, t.shape):
            if sizes.get(c, 1) == 1:
                sizes[c] = n
            elif n not in (1, sizes[c]):
                raise ShapeError(f"einsum: index {c!r} has size {sizes[c]} in one operand and "
                                 f"{n} in another ({equation!r})")
    for i, (sub, t) in enumerate(zip(in_subs, operands)):
        full = tuple(sizes[c] for c in sub)
        if full != t.shape:
            operands[i] = t.broadcast_to(full)
    return operands


class Linear(Function):
    """Kept as a gate for speed: x @ W.T + b in one node (one matrix product, bias added in
    place), instead of matmul, transpose and add.

    For 2-D x the gradients are three more gates and no views: gx = gy @ W (MatMul),
    gW = gy.T @ x (TransposedMatMul), gb = gy summed over the batch (BatchSum); each only when
    ``needs_input_grad`` asks for it. Other shapes fold their batch dimensions first.
    """

    def forward(self, x, weight, bias=None):
        need_x, need_weight = self.needs_input_grad[:2]
        self.save_for_backward(x if need_weight else None, weight if need_x else None)
        if x.ndim > 2:      # one 2-D product: NumPy's stacked matmul is ~10x slower here
            y = backend.xp.reshape(backend.xp.reshape(x, (-1, x.shape[-1])) @ weight.T, x.shape[:-1] + weight.shape[:1])
        else:
            y = x @ weight.T
        if bias is not None:
            y += bias
        return y if y.dtype == x.dtype else backend.xp.astype(y, x.dtype)   # bfloat16: float32 inside

    def backward(self, gy):
        x, weight = self.saved_tensors
        return self._gradients(gy, x, weight)

    def _gradients(self, gy, x, weight):
        needs = self.needs_input_grad
        if gy.ndim != 2:
            return self._folded_backward(gy, x, weight)
        if not state.enabled:       # no create_graph: the same products on the arrays
            return self._array_backward(gy, x, weight)
        gx = MatMul()(gy, weight) if needs[0] else None
        gw = TransposedMatMul()(gy, x) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (BatchSum()(gy) if needs[2] else None)

    def _array_backward(self, gy, x, weight):
        """backward's gradients computed as its gates' forwards would (the same values),
        without making a node of each: nothing records them when create_graph is off."""
        needs, g = self.needs_input_grad, gy._data
        grads = (gy._make(_in_dtype_of(g @ weight._data, g), None) if needs[0] else None,
                 gy._make(_in_dtype_of(g.T @ x._data, g), None) if needs[1] else None)
        if len(needs) == 2:
            return grads
        return grads + (gy._make(_batch_sum(g), None) if needs[2] else None,)

    def _folded_backward(self, gy, x, weight):
        """The gradients for 1-D or batched (..., in_features) inputs: as 2-D, reshaped back."""
        needs = self.needs_input_grad
        gy2 = reshape(gy, -1, gy.shape[-1])
        gx = None
        if needs[0]:    # sizes, not -1: 0 elements
            gx = reshape(MatMul()(gy2, weight), *gy.shape[:-1], weight.shape[1])
        gw = TransposedMatMul()(gy2, reshape(x, -1, x.shape[-1])) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (BatchSum()(gy2) if needs[2] else None)


class LinearReLU(activation.ReLUAfter, Linear):
    """Kept as a gate for speed: relu(x @ W.T + b) in one node, for a Linear whose output
    only a ReLU reads (``nn.Sequential``'s Linear then ReLU); see ``ReLUAfter``."""


class TransposedMatMul(Function):
    """Kept as a gate for speed: a.T @ b for 2-D a and b (Linear's weight gradient gy.T @ x)
    in one node, without a transpose view; BLAS reads a transposed as it lies.

    d/da = b @ gz.T (a Linear without bias), d/db = a @ gz.
    """

    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a if need_b else None, b if need_a else None)
        return _in_dtype_of(a.T @ b, a)

    def backward(self, gz):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ga = Linear()(b, gz) if need_a else None
        gb = MatMul()(a, gz) if need_b else None
        return ga, gb


class BatchSum(Function):
    """gy summed over its first axis (Linear's bias gradient) as one node that ops.linalg can
    reach (ops.reduction imports this module); derivative: broadcast back. bfloat16 sums in
    float32, as Sum does.
    """

    def forward(self, x):
        self.input_shape = x.shape
        return _batch_sum(x)

    def backward(self, gy):
        return broadcast_to(gy, self.input_shape)


def _in_dtype_of(y, like):
    """A product in ``like``'s dtype (bfloat16 products come back as float32)."""
    return y if y.dtype == like.dtype else backend.xp.astype(y, like.dtype)


def _batch_sum(x):
    """x summed over its first axis; bfloat16 in float32, as Sum does."""
    if backend.is_bfloat16(x.dtype):
        return backend.xp.astype(backend.xp.sum(backend.xp.astype(x, numpy.float32), axis=0),
                                 x.dtype)
    return backend_helpers.reduced("sum", x, axis=0)


def linear(x, weight, bias=None):
    """``x @ weight.T + bias`` (PyTorch's F.linear), one fused node.

    >>> import chainrule
    >>> chainrule.linear(chainrule.ones(1, 2), chainrule.ones(3, 2), chainrule.zeros(3)).tolist()
    [[2.0, 2.0, 2.0]]
    """
    _check_linear(x, weight, "linear")
    if bias is None:
        return Linear()(x, weight)
    return Linear()(x, weight, bias)


def linear_relu(x, weight, bias=None):
    """``relu(x @ weight.T + bias)`` as one node (what ``nn.Sequential`` runs for a Linear
    followed by a ReLU): the same values and gradients as ``relu(linear(x, weight, bias))``.

    >>> import chainrule
    >>> x, weight = chainrule.ones(1, 2), chainrule.ones(2, 2)
    >>> linear_relu(x, weight, chainrule.tensor([-3.0, 0.5])).tolist()
    [[0.0, 2.5]]
    """
    _check_linear(x, weight, "linear")
    if bias is None:
        return LinearReLU()(x, weight)
    return LinearReLU()(x, weight, bias)


def _check_linear(x, weight, op):
    require_tensor(x, op)
    shape, weight_shape = x._data.shape, weight._data.shape
    if not shape or len(weight_shape) != 2 or shape[-1] != weight_shape[1]:
        wanted = (f"in_features={weight_shape[1]}" if len(weight_shape) == 2 else
                  "in_features, and the weight must be 2-D (out_features, in_features)")
        raise ShapeError(f"{op}: input of shape {x.shape} does not fit a weight of shape "
                         f"{weight.shape}: the input's last dimension must be {wanted}")


__all__ = ["matmul", "dot", "outer", "einsum", "linear"]


# ---------------------------------------------------------------- the matmul family (issue 19.6)

class Cross(Function):
    """The cross product of 3-vectors along ``axis`` (the operands broadcast); it is linear
    in each operand: d/da = b x g, d/db = g x a."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(b if need_a else None, a if need_b else None)
        a, b = backend.xp.broadcast_arrays(a, b)
        return backend.xp.cross(a, b, axis=self.axis)

    def backward(self, g):
        b, a = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (Cross(self.axis)(b, g) if need_a else None,
                Cross(self.axis)(g, a) if need_b else None)


def _same_dtype(a, b, op, what="x and y"):
    first, second = what.split(" and ")
    if a._data.dtype != b._data.dtype:
        raise DTypeError(f"{op}: Expected {what} to have the same dtype, but found {first} of "
                         f"type {a.dtype} and {second} of type {b.dtype} instead")


def cross(input, other, dim=None):
    """``torch.cross``: the cross product along ``dim``; without ``dim``, along the first
    dimension of size 3 (PyTorch's deprecated default; :func:`linalg_cross` uses -1).

    >>> import chainrule
    >>> chainrule.cross(chainrule.tensor([1.0, 0.0, 0.0]), chainrule.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    _cross_operands(input, other, "cross")
    if dim is None:
        shape = broadcast_check(input, other, "cross")
        threes = [i for i, n in enumerate(shape) if n == 3]
        if not threes:
            raise ShapeError(f"cross: no dimension of size 3 in input of shape {input.shape}")
        dim = threes[0]
    return _cross(input, other, dim, "cross")


def linalg_cross(input, other, *, dim=-1):
    """``torch.linalg.cross``: the cross product of the 3-vectors along ``dim`` (the operands
    broadcast, but must have the same number of dimensions).

    >>> import chainrule
    >>> a = chainrule.tensor([[0.0, 0.0, 2.0]])
    >>> chainrule.linalg.cross(a, chainrule.tensor([[1.0, 0.0, 0.0]])).tolist()
    [[0.0, 2.0, 0.0]]
    """
    _cross_operands(input, other, "linalg.cross")
    return _cross(input, other, dim, "linalg.cross")


def _cross_operands(input, other, op):
    require_tensor(input, op)
    require_tensor(other, op, "other")
    if input.ndim != other.ndim:
        raise ShapeError(f"{op}: inputs must have the same number of dimensions, got "
                         f"shapes {input.shape} and {other.shape}")
    _same_dtype(input, other, op, "input and other")
    if backend.kind(input._data.dtype) == "b":
        raise DTypeError(f"{op}: not implemented for bool tensors")


def _cross(a, b, dim, op):
    shape = broadcast_check(a, b, op)
    if not shape:
        raise ShapeError(f"{op}: needs vectors of length 3, got 0-d tensors")
    axis = single_axis(dim, len(shape), op)
    if a.shape[axis] != 3 or b.shape[axis] != 3:
        raise ShapeError(f"{op}: inputs dimension {dim} must have length 3. Got shapes "
                         f"{a.shape} and {b.shape}")
    return Cross(axis)(a, b)


def vecdot(x, y, *, dim=-1):
    """The dot product of the vectors along ``dim`` (the operands broadcast): (x * y).sum(dim).

    >>> import chainrule
    >>> x = chainrule.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> chainrule.linalg.vecdot(x, chainrule.tensor([1.0, 1.0])).tolist()
    [3.0, 7.0]
    """
    require_tensor(x, "linalg.vecdot", "x")
    require_tensor(y, "linalg.vecdot", "y")
    if backend.kind(x._data.dtype) != "f":
        raise DTypeError(f"linalg.vecdot: Expected a floating point tensor as input. Got "
                         f"{x.dtype}")
    _same_dtype(x, y, "linalg.vecdot")
    shape = broadcast_check(x, y, "linalg.vecdot")
    return (x * y).sum(single_axis(dim, len(shape), "linalg.vecdot"))


def multi_dot(tensors):
    """The product of a chain of matrices in the cheapest order; the first may be a row
    vector (1-D) and the last a column vector, as in PyTorch.

    >>> import chainrule
    >>> a, b = chainrule.ones(2, 3), chainrule.ones(3, 4)
    >>> chainrule.linalg.multi_dot([a, b, chainrule.ones(4)]).tolist()
    [12.0, 12.0]
    """
    tensors = list(tensors)
    if len(tensors) < 2:
        raise ArgumentError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, t in enumerate(tensors):
        require_tensor(t, "multi_dot", f"tensors[{i}]")
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            which = "first" if i == 0 else "last" if i == len(tensors) - 1 else f"tensor {i}"
            raise ShapeError(f"multi_dot(): the {which} tensor must be "
                             f"{' or '.join(f'{n}D' for n in allowed)} but got {t.ndim}D")
        if t._data.dtype != tensors[0]._data.dtype:
            raise DTypeError(f"multi_dot(): all tensors must have be the same dtype but tensor "
                             f"0 is {tensors[0].dtype} and tensor {i} {t.dtype}")
    first_vector, last_vector = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = [reshape(tensors[0], 1, -1) if first_vector else tensors[0]] + tensors[1:-1] + \
        [reshape(tensors[-1], -1, 1) if last_vector else tensors[-1]]
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise ShapeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                             f"{list(tensors[i].shape)} and {list(tensors[i + 1].shape)} cannot "
                             "be multiplied")
    out = _chain(mats, _chain_order([m.shape[0] for m in mats] + [mats[-1].shape[1]]),
                 0, len(mats) - 1)
    if first_vector:
        out = reshape(out, out.shape[1:])
    if last_vector:
        out = reshape(out, out.shape[:-1])
    return out


def _chain_order(sizes):
    """The classic matrix-chain dynamic programme: split[i][j] is where to cut the product
    of matrices i..j so that it costs the fewest multiplications."""
    n = len(sizes) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + sizes[i] * sizes[k + 1] * sizes[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(mats, split, i, j):
    if i == j:
        return mats[i]
    k = split[i][j]
    return matmul(_chain(mats, split, i, k), _chain(mats, split, k + 1, j))


def chain_matmul(*matrices):
    """``torch.chain_matmul`` (deprecated in PyTorch): :func:`multi_dot` of 2-D tensors.

    >>> import chainrule
    >>> chainrule.chain_matmul(chainrule.ones(1, 2), chainrule.ones(2, 1)).tolist()
    [[2.0]]
    """
    if len(matrices) == 1:
        return matrices[0] * 1
    return multi_dot(matrices)


def mm(input, mat2):
    """The product of two 2-D tensors (no broadcasting).

    >>> import chainrule
    >>> chainrule.mm(chainrule.ones(2, 3), chainrule.ones(3, 1)).tolist()
    [[3.0], [3.0]]
    """
    _ranks(input, mat2, "mm", 2, 2)
    return matmul(input, mat2)


def bmm(input, mat2):
    """The products of two batches of matrices, (b, n, m) @ (b, m, p) (no broadcasting).

    >>> import chainrule
    >>> chainrule.bmm(chainrule.ones(4, 2, 3), chainrule.ones(4, 3, 5)).shape
    (4, 2, 5)
    """
    _ranks(input, mat2, "bmm", 3, 3)
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"bmm: batch sizes differ: shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2)


def mv(input, vec):
    """A 2-D tensor times a 1-D tensor.

    >>> import chainrule
    >>> chainrule.mv(chainrule.ones(2, 3), chainrule.ones(3)).tolist()
    [3.0, 3.0]
    """
    _ranks(input, vec, "mv", 2, 1)
    return matmul(input, vec)


def _ranks(a, b, op, rank_a, rank_b):
    require_tensor(a, op)
    require_tensor(b, op, "other")
    if a.ndim != rank_a or b.ndim != rank_b:
        raise ShapeError(f"{op}: expects a {rank_a}-D and a {rank_b}-D tensor, got shapes "
                         f"{a.shape} and {b.shape}")


def vdot(input, other):
    """The dot product of two 1-D tensors (for real tensors the same as :func:`dot`).

    >>> import chainrule
    >>> chainrule.vdot(chainrule.tensor([1.0, 2.0]), chainrule.tensor([3.0, 4.0])).item()
    11.0
    """
    return dot(input, other)


def inner(input, other):
    """The sum of products over the last dimension of both (``a * b`` if either is 0-d);
    the result has shape a.shape[:-1] + b.shape[:-1].

    >>> import chainrule
    >>> chainrule.inner(chainrule.ones(2, 3), chainrule.ones(4, 3)).shape
    (2, 4)
    """
    input, other = _two_tensors(input, other, "inner")
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([-1], [-1]))


def tensordot(a, b, dims=2):
    """Contract ``dims`` (an int: the last dims of a with the first of b; or two lists of
    dims) of a with those of b; the other dims of a, then of b, make up the result.

    >>> import chainrule
    >>> chainrule.tensordot(chainrule.ones(2, 3, 4), chainrule.ones(3, 4, 5)).shape
    (2, 5)
    """
    a, b = _two_tensors(a, b, "tensordot")
    if isinstance(dims, (int, numpy.integer)):
        if dims < 0 or dims > min(a.ndim, b.ndim):
            raise ArgumentError(f"tensordot expects dims in [0, {min(a.ndim, b.ndim)}], got "
                                f"{dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, (int, numpy.integer)) else list(d)
                          for d in dims)
    if len(dims_a) != len(dims_b):
        raise ArgumentError(f"tensordot: both arguments to dims must have the same length, got "
                            f"{dims_a} and {dims_b}")
    dims_a = [single_axis(d, a.ndim, "tensordot") for d in dims_a]
    dims_b = [single_axis(d, b.ndim, "tensordot") for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise ShapeError(f"tensordot: contracted dimensions need the same size, but the "
                             f"first has size {a.shape[da]} in dim {da} and the second "
                             f"{b.shape[db]} in dim {db}")
    free_a = [i for i in range(a.ndim) if i not in dims_a]
    free_b = [i for i in range(b.ndim) if i not in dims_b]
    size = math.prod(a.shape[d] for d in dims_a)
    left = reshape(permute(a, *(free_a + dims_a)), math.prod(a.shape[i] for i in free_a), size)
    right = reshape(permute(b, *(dims_b + free_b)), size, math.prod(b.shape[i] for i in free_b))
    out = matmul(left, right)
    return reshape(out, tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def kron(input, other):
    """The Kronecker product: each element of input times the whole of other, in blocks.

    >>> import chainrule
    >>> chainrule.kron(chainrule.tensor([1.0, 2.0]), chainrule.tensor([1.0, 10.0])).tolist()
    [1.0, 10.0, 2.0, 20.0]
    """
    input, other = _two_tensors(input, other, "kron")
    ndim = max(input.ndim, other.ndim)
    shape_a = (1,) * (ndim - input.ndim) + input.shape
    shape_b = (1,) * (ndim - other.ndim) + other.shape
    a = reshape(input, tuple(n for size in shape_a for n in (size, 1)))
    b = reshape(other, tuple(n for size in shape_b for n in (1, size)))
    return reshape(a * b, tuple(p * q for p, q in zip(shape_a, shape_b)))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2); with beta = 0 input is ignored (nan in it does
    not show), as in PyTorch.

    >>> import chainrule
    >>> chainrule.addmm(chainrule.ones(2, 2), chainrule.ones(2, 3), chainrule.ones(3, 2)).tolist()
    [[4.0, 4.0], [4.0, 4.0]]
    """
    _ranks(mat1, mat2, "addmm", 2, 2)
    return _add_scaled(input, matmul(mat1, mat2), beta, alpha, "addmm")


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec).

    >>> import chainrule
    >>> chainrule.addmv(chainrule.zeros(2), chainrule.ones(2, 3), chainrule.ones(3)).tolist()
    [3.0, 3.0]
    """
    _ranks(mat, vec, "addmv", 2, 1)
    return _add_scaled(input, matmul(mat, vec), beta, alpha, "addmv")


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (batch1 @ batch2) for batches of matrices.

    >>> import chainrule
    >>> chainrule.baddbmm(chainrule.zeros(1, 2, 2), chainrule.ones(1, 2, 3),
    ...                   chainrule.ones(1, 3, 2)).tolist()
    [[[3.0, 3.0], [3.0, 3.0]]]
    """
    return _add_scaled(input, bmm(batch1, batch2), beta, alpha, "baddbmm")


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (the sum over the batch of batch1[i] @ batch2[i]).

    >>> import chainrule
    >>> chainrule.addbmm(chainrule.zeros(2, 2), chainrule.ones(4, 2, 3),
    ...                  chainrule.ones(4, 3, 2)).tolist()
    [[12.0, 12.0], [12.0, 12.0]]
    """
    return _add_scaled(input, bmm(batch1, batch2).sum(0), beta, alpha, "addbmm")


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """beta * input + alpha * outer(vec1, vec2).

    >>> import chainrule
    >>> chainrule.addr(chainrule.zeros(2, 2), chainrule.ones(2), chainrule.ones(2)).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    _ranks(vec1, vec2, "addr", 1, 1)
    return _add_scaled(input, outer(vec1, vec2), beta, alpha, "addr")


def _add_scaled(input, product, beta, alpha, op):
    require_tensor(input, op)
    try:
        numpy.broadcast_shapes(input.shape, product.shape)
    except ValueError:
        raise ShapeError(f"{op}: input of shape {input.shape} does not broadcast with the "
                         f"product's shape {product.shape}") from None
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        return scaled.broadcast_to(numpy.broadcast_shapes(input.shape, product.shape)) \
            if input.shape != product.shape else scaled
    return (input if beta == 1 else input * beta) + scaled


__all__ += ["cross", "linalg_cross", "vecdot", "multi_dot", "chain_matmul", "mm", "bmm", "mv",
            "vdot", "inner", "tensordot", "kron", "addmm", "addmv", "baddbmm", "addbmm", "addr"]
