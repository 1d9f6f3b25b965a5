"""Linear algebra on (batches of) matrices: inv, det, slogdet, solve, solve_triangular,
cholesky, cholesky_solve, qr, eigh, svd, pinv, lstsq, matrix_power, matrix_exp, matrix_rank —
the ``chainrule.linalg`` namespace.

Each op is one Function: forward calls NumPy's LAPACK routine; backward is PyTorch's formula
(``torch/csrc/autograd/FunctionsManual.cpp``) written with chainrule ops, so second derivatives
come from the same code. Leading dimensions are batch dimensions, as in PyTorch.

A decomposition has several outputs but a node has one: the factors travel packed into one
flat array, and the functional wrapper hands them out as views of it (``Q`` and ``R`` of
``qr`` are slices of one node's output). Backward unpacks the gradient the same way. A factor
nobody used gets a zero gradient, and the formulas then skip its terms, as PyTorch does for an
undefined gradient — so ``eigvalsh`` never divides by the gaps between eigenvalues.

Eigenvectors and singular vectors are unique only up to sign: NumPy's LAPACK calls may pick
other signs than PyTorch's (the reconstructions agree). Gradients through eigenvectors
(singular vectors) assume distinct eigenvalues (singular values), as PyTorch's do: at a
degenerate one the gaps in the denominators are zero and the gradient is inf or nan.
"""
import collections
import math

import numpy

from .. import backend, backend_helpers
from ..autograd.function import Function
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, GraphError, LinAlgError, \
    ShapeError
from ..tensor_base import TensorBase
from ._util import require_tensor
from .arithmetic import where
from .linalg import matmul
from .shape import concatenate, reshape, swapaxes, unsqueeze

# PyTorch's named tuples (torch.return_types.*)
SlogdetResult = collections.namedtuple("linalg_slogdet", ["sign", "logabsdet"])
EighResult = collections.namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
QRResult = collections.namedtuple("linalg_qr", ["Q", "R"])
SVDResult = collections.namedtuple("linalg_svd", ["U", "S", "Vh"])
LstsqResult = collections.namedtuple("linalg_lstsq", ["solution", "residuals", "rank",
                                                      "singular_values"])
TorchSlogdetResult = collections.namedtuple("slogdet", ["sign", "logabsdet"])
TorchSVDResult = collections.namedtuple("svd", ["U", "S", "V"])


# ---------------------------------------------------------------- small matrix helpers

def _mT(x):
    return swapaxes(x, -1, -2)


def _constant(like, array):
    return like._make(backend.xp.asarray(array, dtype=like.dtype), None)


def _eye(like, n):
    return _constant(like, backend.xp.eye(n))


def _diagonal(x):
    """The main diagonal of each matrix: (..., n, n) -> (..., n)."""
    return (x * _eye(x, x.shape[-1])).sum(-1)


def _diag_embed(v):
    """Vectors as diagonal matrices: (..., n) -> (..., n, n)."""
    return unsqueeze(v, -1) * _eye(v, v.shape[-1])


def _tril(x, k=0):
    return x * _constant(x, numpy.tril(numpy.ones(x.shape[-2:]), k))


def _triu(x, k=0):
    return x * _constant(x, numpy.triu(numpy.ones(x.shape[-2:]), k))


def _is_zero(t):
    """True when a gradient is exactly zero (a factor nobody used)."""
    return not backend.xp.any(t._data)


def _eps(dtype):
    return float(numpy.finfo(dtype).eps)


def _solve(a, b):
    """a^-1 b for matrices b, differentiable in both (the backward formulas use it)."""
    return Solve()(a, b)


def _batch_element(bad):
    """' (Batch element i)' naming the first failing matrix of a batch, as PyTorch does."""
    bad = numpy.asarray(backend.to_numpy(bad))
    if bad.ndim == 0:
        return ""
    return f" (Batch element {int(numpy.flatnonzero(bad.reshape(-1))[0])}):"


def _singular_error(op, a, what):
    singular = numpy.abs(numpy.linalg.det(backend.to_numpy(a))) == 0
    where_ = _batch_element(singular) if singular.any() else ""
    return LinAlgError(f"{op}:{where_} {what} because the input matrix is singular")


def _lapack(op, fn, *arrays):
    """Call a NumPy linalg routine; its LinAlgError becomes chainrule's, naming ``op``."""
    try:
        with numpy.errstate(all="ignore"):
            return fn(*arrays)
    except numpy.linalg.LinAlgError as error:
        if any(not backend.xp.isfinite(a).all() for a in arrays):
            raise LinAlgError(f"{op}: the algorithm failed to converge because the input "
                              "matrix contained non-finite values") from None
        raise LinAlgError(f"{op}: {error}") from None


# ---------------------------------------------------------------- several outputs, one node

class _Factorization(Function):
    """Base of the decompositions: ``factorize(array)`` gives the factors; the node's output
    is them packed flat, and :meth:`unpack` cuts a packed tensor (the output or its gradient)
    back into the factors as views."""

    def forward(self, a):
        factors = self.factorize(a)
        self.factor_shapes = [f.shape for f in factors]
        packed = backend.xp.concatenate([backend.xp.reshape(f, -1) for f in factors])
        self.save_for_backward(packed)
        return packed

    def unpack(self, packed):
        factors, start = [], 0
        for shape in self.factor_shapes:
            size = math.prod(shape)
            factors.append(reshape(packed[start:start + size], shape))
            start += size
        return factors

    def backward(self, g):
        (packed,) = self.saved_tensors
        with numpy.errstate(divide="ignore", invalid="ignore"):   # degenerate: inf / nan
            return self.gradient(self.unpack(g), self.unpack(packed))


# ---------------------------------------------------------------- the Functions

class Inv(Function):
    """The inverse X = A^-1; d/dA = -X^T g X^T."""

    def forward(self, a):
        out = _inverse_array(a)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (inverse,) = self.saved_tensors
        t = _mT(inverse)
        return -matmul(matmul(t, g), t)


def _inverse_array(a):
    try:
        with numpy.errstate(all="ignore"):
            return backend.xp.linalg.inv(a)
    except numpy.linalg.LinAlgError:
        raise _singular_error("linalg.inv", a, "the inversion could not be completed") \
            from None


class Solve(Function):
    """X = A^-1 B for matrices B (batch dimensions broadcast); gB = A^-T gX, gA = -gB X^T."""

    def forward(self, a, b):
        try:
            with numpy.errstate(all="ignore"):
                x = backend.xp.linalg.solve(a, b)
        except numpy.linalg.LinAlgError:
            raise _singular_error("linalg.solve", a, "the solver failed") from None
        self.save_for_backward(a, x)
        return x

    def backward(self, gx):
        a, x = self.saved_tensors
        gb = _solve(_mT(a), gx)
        ga = -matmul(gb, _mT(x)) if self.needs_input_grad[0] else None
        return ga, gb if self.needs_input_grad[1] else None


class Det(Function):
    """The determinant; d/dA is the cofactor matrix: det(A) A^-T where A is invertible, and
    where |det A| < 100 eps PyTorch's exact formula from the SVD (the adjugate of a singular
    matrix), so the gradient is right at singular matrices too."""

    def forward(self, a):
        d = backend.xp.asarray(_lapack("linalg.det", backend.xp.linalg.det, a))
        self.save_for_backward(a, d)
        return d

    def backward(self, g):
        a, det = self.saved_tensors
        if a._data.size == 0:
            return a * 0.0
        singular = backend.xp.abs(det._data) < 100 * _eps(a.dtype)
        if not backend.xp.any(singular):
            return _expand_scalar(g * det) * _mT(Inv()(a))
        if backend.xp.all(singular):
            return _cofactors(a, g)
        mask = backend.xp.asarray(singular)[..., None, None]
        eye = _eye(a, a.shape[-1])
        safe_inverse = _mT(Inv()(where(mask, eye, a)))
        distinct = _constant(a, numpy.diag(numpy.arange(1.0, a.shape[-1] + 1)))
        return where(mask, _cofactors(where(mask, a, distinct), g),
                     _expand_scalar(g * det) * safe_inverse)

    def to_onnx(self, builder, input_names, dynamic_batch):
        return builder.node("Det", input_names)


def _expand_scalar(t):
    return unsqueeze(unsqueeze(t, -1), -1)


def _cofactor_array(a):
    """The cofactor matrices (transposed adjugates) of an array of matrices, from the SVD."""
    xp = backend.xp
    u, s, vh = xp.linalg.svd(a)
    sign = xp.linalg.det(u) * xp.linalg.det(vh)
    n = s.shape[-1]
    others = xp.where(xp.eye(n, dtype=bool), 1.0, s[..., None, :]).prod(axis=-1)
    return sign[..., None, None] * ((u * others[..., None, :]) @ vh)


def _cofactors(a, g):
    """g times the cofactor matrix of a (the transposed adjugate), exact for singular a:
    U diag(prod of the other singular values) Vh, signed by det(U) det(Vh)."""
    u, s, vh = svd(a, full_matrices=False)
    sign = backend.xp.linalg.det(u._data) * backend.xp.linalg.det(vh._data)
    alpha = g * _constant(g, sign)
    n = s.shape[-1]
    others = where(backend.xp.eye(n, dtype=bool), 1.0, unsqueeze(s, -2).expand(
        *s.shape[:-1], n, n)).prod(-1)
    d = unsqueeze(alpha, -1) * others
    return matmul(u * unsqueeze(d, -2), vh)


class LogAbsDet(Function):
    """log |det A| (slogdet's second output; the sign is a constant); d/dA = A^-T. At a
    singular matrix the value is -inf and the gradient inf or nan, as in PyTorch."""

    def forward(self, a):
        sign, logabsdet = _lapack("linalg.slogdet", backend.xp.linalg.slogdet, a)
        self.sign = backend.xp.asarray(sign)
        self.save_for_backward(a)
        return backend.xp.asarray(logabsdet)

    def backward(self, g):
        (a,) = self.saved_tensors
        if a._data.size == 0:
            return a * 0.0
        g = _expand_scalar(g)
        singular = self.sign == 0
        if not singular.any():
            return g * _mT(Inv()(a))
        mask = backend.xp.asarray(singular)[..., None, None]
        eye = _eye(a, a.shape[-1])
        with numpy.errstate(all="ignore"):       # cofactors / 0: PyTorch's inf and nan
            blown_up = _cofactor_array(a._data) / backend.xp.zeros((), dtype=a.dtype)
        return where(mask, g * _constant(a, blown_up), g * _mT(Inv()(where(mask, eye, a))))


class Cholesky(Function):
    """A = L L^T from A's lower triangle (``upper=True``: A = U^T U). PyTorch's backward:
    gA = L^-T phi L^-1 with phi = (tril(L^T gL) + its strictly lower part transposed) / 2."""

    def __init__(self, upper):
        self.upper = upper

    def forward(self, a):
        try:
            with numpy.errstate(all="ignore"):
                lower = backend.xp.linalg.cholesky(a)
        except numpy.linalg.LinAlgError:
            raise _not_positive_definite(a) from None
        out = backend.xp.ascontiguousarray(backend.xp.swapaxes(lower, -1, -2)) \
            if self.upper else lower
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (factor,) = self.saved_tensors
        lower, g = (_mT(factor), _mT(g)) if self.upper else (factor, g)
        phi = _tril(matmul(_mT(lower), g))
        phi = 0.5 * (phi + _mT(_tril(phi, -1)))
        left = _solve(_mT(lower), phi)                  # L^-T phi
        return _mT(_solve(_mT(lower), _mT(left)))       # (L^-T phi) L^-1


def _not_positive_definite(a):
    """PyTorch's message: which batch element, and the order of the first leading minor that
    is not positive-definite."""
    flat = backend.to_numpy(a).reshape((-1,) + a.shape[-2:])
    for index, matrix in enumerate(flat):
        for order in range(1, matrix.shape[-1] + 1):
            try:
                numpy.linalg.cholesky(matrix[:order, :order])
            except numpy.linalg.LinAlgError:
                where_ = f" (Batch element {index}):" if a.ndim > 2 else ""
                return LinAlgError(
                    f"linalg.cholesky:{where_} The factorization could not be completed because "
                    f"the input is not positive-definite (the leading minor of order {order} "
                    "is not positive-definite).")
    return LinAlgError("linalg.cholesky: The factorization could not be completed because the "
                       "input is not positive-definite.")


class QR(_Factorization):
    """A = Q R (Householder, as LAPACK's geqrf); PyTorch's backward for m >= n and m < n."""

    def __init__(self, mode):
        self.mode = mode

    def factorize(self, a):
        q, r = backend.xp.linalg.qr(a, mode="complete" if self.mode == "complete" else
                                    "reduced")
        return q, r

    def gradient(self, grads, factors):
        (gq, gr), (q, r) = grads, factors
        m, n = q.shape[-2], r.shape[-1]
        if self.mode == "r":
            raise GraphError("The derivative of linalg.qr depends on Q, which is not computed "
                             "when mode='r'. Please use linalg.qr(A, mode='reduced') if you are "
                             "going to differentiate through linalg.qr.")
        if self.mode == "complete" and m > n:
            raise GraphError("The QR decomposition is not differentiable when mode='complete' "
                             "and nrows > ncols.")
        use_q, use_r = not _is_zero(gq), not _is_zero(gr)
        if not (use_q or use_r):
            return _constant(q, backend.xp.zeros(q.shape[:-1] + (n,)))
        if use_q and use_r:
            ga = matmul(gr, _mT(r)) - matmul(_mT(q), gq)
        elif use_q:
            ga = -matmul(_mT(q), gq)
        else:
            ga = matmul(gr, _mT(r))
        if m >= n:
            upper = _triu(ga)
            ga = matmul(q, upper + _mT(upper) - _diag_embed(_diagonal(upper)))
            if use_q:
                ga = ga + gq
            return _mT(_solve(r, _mT(ga)))                       # ga R^-T
        ga = matmul(q, _tril(-ga - _mT(-ga)))
        ga = _mT(_solve(r[..., :, :m], _mT(ga)))                 # ga R1^-T
        ga = concatenate([ga, _constant(ga, backend.xp.zeros(ga.shape[:-1] + (n - m,)))],
                         axis=-1)
        return ga + matmul(q, gr) if use_r else ga


class Eigh(_Factorization):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, from one triangle.
    PyTorch's backward: gA = V (diag(gL) + skew(V^T gV) / E) V^T, E_ij = L_j - L_i; with no
    gradient for V, gA = V diag(gL) V^T (no division by the gaps)."""

    def __init__(self, uplo):
        self.uplo = uplo

    def factorize(self, a):
        return _lapack("linalg.eigh", lambda x: backend.xp.linalg.eigh(x, UPLO=self.uplo), a)

    def gradient(self, grads, factors):
        (gl, gv), (values, vectors) = grads, factors
        if _is_zero(gv):
            return matmul(vectors * unsqueeze(gl, -2), _mT(vectors))
        vhgv = matmul(_mT(vectors), gv)
        vhgv = 0.5 * (vhgv - _mT(vhgv))
        gaps = unsqueeze(values, -2) - unsqueeze(values, -1) + _eye(values, values.shape[-1])
        inner = vhgv / gaps + _diag_embed(gl)
        return matmul(vectors, matmul(inner, _mT(vectors)))


class SVD(_Factorization):
    """A = U diag(S) Vh (LAPACK's gesdd, as PyTorch on the CPU); PyTorch's backward (distinct
    singular values; for a rectangular A with gradients for U or Vh, full rank)."""

    def __init__(self, full_matrices):
        self.full_matrices = full_matrices

    def factorize(self, a):
        return _lapack("linalg.svd", lambda x: backend.xp.linalg.svd(
            x, full_matrices=self.full_matrices), a)

    def gradient(self, grads, factors):
        (gu, gs, gvh), (u, s, vh) = grads, factors
        k = s.shape[-1]
        if self.full_matrices:        # only the first k singular vectors carry a gradient
            gu, u, gvh, vh = gu[..., :k], u[..., :k], gvh[..., :k, :], vh[..., :k, :]
        m, n = u.shape[-2], vh.shape[-1]
        use_u, use_v = not _is_zero(gu), not _is_zero(gvh)
        if not (use_u or use_v):
            if m >= n:
                return matmul(u, unsqueeze(gs, -1) * vh)
            return matmul(u * unsqueeze(gs, -2), vh)
        s2 = s * s
        gaps = unsqueeze(s2, -2) - unsqueeze(s2, -1) + _eye(s, k)
        if use_u:
            uhgu = matmul(_mT(u), gu)
            uhgu = uhgu - _mT(uhgu)
        if use_v:
            vhgv = matmul(vh, _mT(gvh))
            vhgv = vhgv - _mT(vhgv)
        if use_u and use_v:
            inner = (uhgu * unsqueeze(s, -2) + unsqueeze(s, -1) * vhgv) / gaps
        elif use_u:
            inner = (uhgu / gaps) * unsqueeze(s, -2)
        else:
            inner = unsqueeze(s, -1) * (vhgv / gaps)
        inner = inner + _diag_embed(gs)
        if m > n and use_u:
            ga = matmul(u, inner)
            gu_over_s = gu / unsqueeze(s, -2)
            ga = ga + gu_over_s - matmul(u, matmul(_mT(u), gu_over_s))
            return matmul(ga, vh)
        if m < n and use_v:
            ga = matmul(inner, vh)
            gvh_over_s = gvh / unsqueeze(s, -1)
            ga = ga + gvh_over_s - matmul(matmul(gvh_over_s, _mT(vh)), vh)
            return matmul(u, ga)
        return matmul(u, matmul(inner, vh)) if m >= n else matmul(matmul(u, inner), vh)


class Pinv(Function):
    """The Moore-Penrose pseudo-inverse (singular values at or below the tolerance count as
    zero); PyTorch's backward, which holds while the rank does not change."""

    def __init__(self, atol, rtol, hermitian):
        self.atol, self.rtol, self.hermitian = atol, rtol, hermitian

    def forward(self, a):
        xp = backend.xp
        if self.hermitian:
            values, vectors = _lapack("linalg.pinv", xp.linalg.eigh, a)
            s = xp.abs(values)
            tol = _tolerance(backend.xp.max(s, axis=-1, initial=0.0), self.atol, self.rtol)
            inverse = xp.where(s > tol[..., None], 1.0 / xp.where(s > 0, values, 1.0), 0.0)
            out = (vectors * inverse[..., None, :]) @ xp.swapaxes(vectors, -1, -2)
        else:
            u, s, vh = _lapack("linalg.pinv", lambda x: xp.linalg.svd(
                x, full_matrices=False), a)
            tol = _tolerance(backend.xp.max(s, axis=-1, initial=0.0), self.atol, self.rtol)
            inverse = xp.where(s > tol[..., None], 1.0 / xp.where(s > 0, s, 1.0), 0.0)
            out = (xp.swapaxes(vh, -1, -2) * inverse[..., None, :]) @ xp.swapaxes(u, -1, -2)
        out = xp.ascontiguousarray(backend.xp.astype(out, a.dtype, copy=False))
        self.save_for_backward(a, out)
        return out

    def backward(self, g):
        a, p = self.saved_tensors
        m, n = a.shape[-2], a.shape[-1]
        ph, gh = _mT(p), _mT(g)
        if m <= n:
            k = matmul(gh, p)
            kph = matmul(k, ph)
            return (-_mT(matmul(p, k)) + kph - matmul(matmul(a, p), kph)
                    + matmul(matmul(ph, p), gh - matmul(k, a)))
        k = matmul(p, gh)
        phk = matmul(ph, k)
        return (-_mT(matmul(k, p)) + matmul(matmul(gh - matmul(a, k), p), ph) + phk
                - matmul(matmul(phk, p), a))


def _tolerance(largest, atol, rtol):
    """PyTorch's cut-off: max(atol, rtol * largest singular value), elementwise per matrix."""
    return backend.xp.maximum(atol, rtol * largest)


class MatrixExp(Function):
    """exp(A) = I + A + A^2/2! + ... (SciPy's Pade approximation with scaling and squaring).
    PyTorch's backward (Mathias' block formula): gA is the upper-right block of
    exp([[A^T, g], [0, A^T]]), itself a matrix_exp, so every order of derivative follows."""

    def forward(self, a):
        import scipy.linalg                     # a core dependency, as for the special ops
        out = backend.xp.asarray(scipy.linalg.expm(a), dtype=a.dtype) if a.size else backend_helpers.contiguous_copy(a)
        self.save_for_backward(a)
        return out

    def backward(self, g):
        (a,) = self.saved_tensors
        n = a.shape[-1]
        at = _mT(a)
        zeros = _constant(a, backend.xp.zeros(a.shape))
        block = concatenate([concatenate([at, g], axis=-1), concatenate([zeros, at], axis=-1)],
                            axis=-2)
        return MatrixExp()(block)[..., :n, n:]


# ---------------------------------------------------------------- checks

def _matrices(a, op, square=True, name="A"):
    require_tensor(a, op, name)
    if a.ndim < 2:
        raise ShapeError(f"{op}: The input tensor {name} must have at least 2 dimensions, "
                         f"got shape {a.shape}")
    if square and a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{op}: {name} must be batches of square matrices, but they are "
                         f"{a.shape[-2]} by {a.shape[-1]} matrices (shape {a.shape})")
    _floating(a, op)
    return a


def _floating(a, op):
    dtype = a._data.dtype
    if backend.kind(dtype) != "f":
        raise DTypeError(f"{op}: Expected a floating point tensor as input. Got {a.dtype}")
    if backend.numpy_dtype(dtype).itemsize < 4:
        raise DTypeError(f"{op}: Low precision dtypes not supported. Got {a.dtype}; convert "
                         "with .float()")


def _same_dtype(a, b, op):
    if a._data.dtype != b._data.dtype:
        raise DTypeError(f"{op}: Expected A and B to have the same dtype, but found A of type "
                         f"{a.dtype} and B of type {b.dtype} instead")


def _batch_shape(a, b, op):
    try:
        return numpy.broadcast_shapes(a, b)
    except ValueError:
        raise ShapeError(f"{op}: the batch dimensions {a} and {b} cannot be broadcast "
                         "together") from None


def _int_argument(n, op, name):
    if isinstance(n, TensorBase) or isinstance(n, bool) or not isinstance(
            n, (int, numpy.integer)):
        raise ArgumentTypeError(f"{op}(): argument '{name}' must be int, not "
                                f"{type(n).__name__}")
    return int(n)


# ---------------------------------------------------------------- functional API

def inv(A):
    """The inverse of each square matrix; a singular one raises LinAlgError.

    >>> import chainrule
    >>> chainrule.linalg.inv(chainrule.tensor([[2.0, 0.0], [0.0, 4.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    return Inv()(_matrices(A, "linalg.inv"))


def inverse(input):
    """``torch.inverse``: the same as :func:`inv`.

    >>> import chainrule
    >>> chainrule.tensor([[4.0]]).inverse().tolist()
    [[0.25]]
    """
    return inv(input)


def det(A):
    """The determinant of each square matrix (1 for a 0 x 0 matrix); its gradient is the
    cofactor matrix, exact at singular matrices too.

    >>> import chainrule
    >>> chainrule.linalg.det(chainrule.tensor([[1.0, 2.0], [3.0, 4.0]])).item()
    -2.0
    """
    return Det()(_matrices(A, "linalg.det"))


def slogdet(A):
    """``(sign, logabsdet)`` with det(A) = sign * exp(logabsdet); sign 0 and logabsdet -inf
    for a singular matrix. The sign has no gradient.

    >>> import chainrule
    >>> sign, logabsdet = chainrule.linalg.slogdet(chainrule.tensor([[-2.0, 0.0], [0.0, 1.0]]))
    >>> sign.item(), round(logabsdet.item(), 4)
    (-1.0, 0.6931)
    """
    sign, logabsdet = _slogdet(_matrices(A, "linalg.slogdet"))
    return SlogdetResult(sign, logabsdet)


def _slogdet(a):
    fn = LogAbsDet()
    logabsdet = fn(a)
    return a._make(fn.sign.astype(a._data.dtype), None), logabsdet


def torch_slogdet(input):
    """``torch.slogdet``: :func:`slogdet` with the named tuple ``torch.return_types.slogdet``.

    >>> import chainrule
    >>> chainrule.slogdet(chainrule.tensor([[2.0]])).sign.item()
    1.0
    """
    return TorchSlogdetResult(*_slogdet(_matrices(input, "slogdet")))


def logdet(input):
    """log det(A): nan where the determinant is negative, -inf where it is 0 (PyTorch's
    ``torch.logdet``, computed from slogdet).

    >>> import chainrule
    >>> round(chainrule.logdet(chainrule.tensor([[2.0, 0.0], [0.0, 3.0]])).item(), 4)
    1.7918
    """
    sign, logabsdet = _slogdet(_matrices(input, "logdet"))
    return where(sign._data == -1, float("nan"), logabsdet)


def solve(A, B, *, left=True):
    """The solution X of A X = B (``left=False``: X A = B). B is a batch of vectors when it
    is 1-D or has A's shape without the last dimension; batch dimensions broadcast.

    >>> import chainrule
    >>> A = chainrule.tensor([[2.0, 0.0], [0.0, 4.0]])
    >>> chainrule.linalg.solve(A, chainrule.tensor([2.0, 2.0])).tolist()
    [1.0, 0.5]
    """
    _matrices(A, "linalg.solve")
    require_tensor(B, "linalg.solve", "B")
    _floating(B, "linalg.solve")
    _same_dtype(A, B, "linalg.solve")
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector and left:
        matrix_b = unsqueeze(B, -1)
    elif B.ndim < 1 or (B.ndim < 2 and not vector):
        raise ShapeError(f"linalg.solve: B must have at least 1 dimension, got shape {B.shape}")
    else:
        matrix_b = B if not vector else unsqueeze(B, -2)
    rows = matrix_b.shape[-2] if left else matrix_b.shape[-1]
    if rows != n:
        shown = f"{matrix_b.shape[-2]}x{matrix_b.shape[-1]}"
        raise ShapeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                         f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {shown})")
    _batch_shape(A.shape[:-2], matrix_b.shape[:-2], "linalg.solve")
    if left:
        x = _solve(A, matrix_b)
    else:
        x = _mT(_solve(_mT(A), _mT(matrix_b)))
    if vector:
        x = x[..., 0] if left else x[..., 0, :]
    return x


def cholesky(A, *, upper=False):
    """The Cholesky factor L (lower triangular, A = L L^T) of each symmetric positive-definite
    matrix, read from A's lower triangle; ``upper=True`` gives U = L^T.

    >>> import chainrule
    >>> chainrule.linalg.cholesky(chainrule.tensor([[4.0, 2.0], [2.0, 2.0]])).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    return Cholesky(bool(upper))(_matrices(A, "linalg.cholesky"))


def cholesky_solve(B, L, upper=False):
    """The solution X of A X = B given the Cholesky factor L of A (``upper=True``: the factor
    U with A = U^T U); batch dimensions broadcast.

    >>> import chainrule
    >>> L = chainrule.tensor([[2.0, 0.0], [1.0, 1.0]])
    >>> chainrule.cholesky_solve(chainrule.tensor([[4.0], [2.0]]), L).tolist()
    [[1.0], [0.0]]
    """
    _matrices(B, "cholesky_solve", square=False, name="B")
    _matrices(L, "cholesky_solve", name="L")
    _same_dtype(L, B, "cholesky_solve")
    if B.shape[-2] != L.shape[-1]:
        raise ShapeError(f"cholesky_solve: B of shape {B.shape} does not fit L of shape "
                         f"{L.shape}: B needs {L.shape[-1]} rows")
    _batch_shape(B.shape[:-2], L.shape[:-2], "cholesky_solve")
    lower = _mT(L) if upper else L
    return _solve(_mT(lower), _solve(lower, B))


def qr(A, mode="reduced"):
    """``(Q, R)`` with A = Q R: ``mode='reduced'`` (Q m x k), ``'complete'`` (Q m x m) or
    ``'r'`` (R only; Q is empty and R has no gradient).

    >>> import chainrule
    >>> Q, R = chainrule.linalg.qr(chainrule.tensor([[3.0, 0.0], [4.0, 5.0]]))
    >>> R.abs().tolist()
    [[5.0, 4.0], [0.0, 3.0]]
    """
    _matrices(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"qr received unrecognized mode {mode!r} but expected one of "
                            "'reduced' (default), 'r', or 'complete'")
    fn = QR(mode)
    q, r = fn.unpack(fn(A))
    if mode == "r":
        q = A._make(backend.xp.zeros((0,), dtype=A._data.dtype), None)
    return QRResult(q, r)


def eigh(A, UPLO="L"):
    """``(eigenvalues, eigenvectors)`` of each symmetric matrix, eigenvalues ascending, read
    from the lower (``UPLO='L'``) or upper triangle. Eigenvectors are unique up to sign only.

    >>> import chainrule
    >>> chainrule.linalg.eigh(chainrule.tensor([[2.0, 1.0], [1.0, 2.0]])).eigenvalues.tolist()
    [1.0, 3.0]
    """
    _matrices(A, "linalg.eigh")
    fn = Eigh(_uplo(UPLO))
    return EighResult(*fn.unpack(fn(A)))


def _uplo(uplo):
    if uplo not in ("L", "U"):
        raise ArgumentError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo!r}")
    return uplo


def eigvalsh(A, UPLO="L"):
    """The eigenvalues (ascending) of each symmetric matrix; gradient V diag(g) V^T.

    >>> import chainrule
    >>> chainrule.linalg.eigvalsh(chainrule.tensor([[2.0, 0.0], [0.0, 1.0]])).tolist()
    [1.0, 2.0]
    """
    return eigh(A, UPLO).eigenvalues


def svd(A, full_matrices=True, *, driver=None):
    """``(U, S, Vh)`` with A = U diag(S) Vh, singular values descending. ``full_matrices``
    (PyTorch's default True) makes U m x m and Vh n x n.

    >>> import chainrule
    >>> chainrule.linalg.svd(chainrule.tensor([[3.0, 0.0], [0.0, -4.0]])).S.tolist()
    [4.0, 3.0]
    """
    _matrices(A, "linalg.svd", square=False)
    _no_driver(driver, "linalg.svd")
    fn = SVD(bool(full_matrices))
    return SVDResult(*fn.unpack(fn(A)))


def _no_driver(driver, op):
    if driver is not None:
        raise ArgumentError(f"{op}: keyword argument `driver=` is only supported on CUDA "
                            f"inputs, got driver={driver!r}")


def svdvals(A, *, driver=None):
    """The singular values, descending; gradient U diag(g) Vh.

    >>> import chainrule
    >>> chainrule.linalg.svdvals(chainrule.tensor([[0.0, 2.0], [1.0, 0.0]])).tolist()
    [2.0, 1.0]
    """
    _matrices(A, "linalg.svdvals", square=False)
    _no_driver(driver, "linalg.svdvals")
    return _svd_reduced(A).S


def _svd_reduced(a):
    fn = SVD(False)
    return SVDResult(*fn.unpack(fn(a)))


def torch_svd(input, some=True, compute_uv=True):
    """``torch.svd``: ``(U, S, V)`` — V, not Vh — reduced unless ``some=False``; with
    ``compute_uv=False`` U and V are zero-filled (m x m and n x n), as in PyTorch.

    >>> import chainrule
    >>> U, S, V = chainrule.svd(chainrule.tensor([[0.0, 2.0], [1.0, 0.0]]))
    >>> S.tolist()
    [2.0, 1.0]
    """
    _matrices(input, "svd", square=False)
    if not compute_uv:
        s = _svd_reduced(input).S
        zeros = backend.xp.zeros
        m, n = input.shape[-2:]
        batch = input.shape[:-2]
        return TorchSVDResult(input._make(zeros(batch + (m, m), dtype=input._data.dtype), None),
                              s, input._make(zeros(batch + (n, n), dtype=input._data.dtype),
                                             None))
    u, s, vh = svd(input, full_matrices=not some)
    return TorchSVDResult(u, s, _mT(vh))


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The pseudo-inverse: singular values at or below max(atol, rtol * largest) count as 0;
    ``rtol`` defaults to eps * max(m, n) unless a positive ``atol`` is given (then 0).
    ``hermitian=True`` uses the eigendecomposition of a symmetric A.

    >>> import chainrule
    >>> chainrule.linalg.pinv(chainrule.tensor([[2.0, 0.0], [0.0, 0.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.0]]
    """
    _matrices(A, "linalg.pinv", square=bool(hermitian))
    atol, rtol = _tolerances(A, atol, rtol)
    return Pinv(atol, rtol, bool(hermitian))(A)


def _tolerances(a, atol, rtol):
    """PyTorch's defaults: rtol = eps * max(m, n) unless a positive atol is given."""
    def value(t):
        return backend.to_numpy(t._data) if isinstance(t, TensorBase) else t
    atol, rtol = value(atol), value(rtol)
    if rtol is None:
        given = atol is not None and numpy.all(numpy.asarray(atol) > 0)
        rtol = 0.0 if given else _eps(a._data.dtype) * max(a.shape[-2:])
    return (0.0 if atol is None else atol), rtol


def pinverse(input, rcond=1e-15):
    """``torch.pinverse``: :func:`pinv` with ``rtol=rcond``.

    >>> import chainrule
    >>> chainrule.tensor([[4.0]]).pinverse().tolist()
    [[0.25]]
    """
    _matrices(input, "pinverse", square=False)
    return Pinv(0.0, rcond, False)(input)


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of A X = B as ``(solution, residuals, rank,
    singular_values)``, with PyTorch's CPU conventions: the default driver ``'gelsy'`` gives
    the rank but empty residuals and singular values; ``'gelsd'``/``'gelss'`` give all
    (residuals only when m > n and every A has full rank); ``'gels'`` gives no rank.
    Singular values at or below ``rcond`` * largest count as 0 (default eps * max(m, n)).

    >>> import chainrule
    >>> A = chainrule.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> chainrule.linalg.lstsq(A, chainrule.tensor([[1.0], [2.0], [3.0]])).solution.tolist()
    [[1.0], [2.0]]
    """
    _matrices(A, "torch.linalg.lstsq", square=False)
    require_tensor(B, "torch.linalg.lstsq", "B")
    _floating(B, "torch.linalg.lstsq")
    _same_dtype(A, B, "torch.linalg.lstsq")
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise ArgumentError("torch.linalg.lstsq: parameter `driver` should be one of (gels, "
                            f"gelsy, gelsd, gelss), got {driver!r}")
    vector = B.ndim == A.ndim - 1
    matrix_b = unsqueeze(B, -1) if vector else B
    if matrix_b.ndim < 2 or matrix_b.shape[-2] != A.shape[-2]:
        raise ShapeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2), "
                         f"got A of shape {A.shape} and B of shape {B.shape}")
    _batch_shape(A.shape[:-2], matrix_b.shape[:-2], "torch.linalg.lstsq")
    m, n = A.shape[-2:]
    if rcond is None:
        rcond = _eps(A._data.dtype) * max(m, n)
    s = backend.xp.linalg.svd(A._data, compute_uv=False) if A._data.size else \
        backend.xp.zeros(A.shape[:-2] + (0,), dtype=A._data.dtype)
    largest = s.max(axis=-1, initial=0.0)
    rank = (s > (rcond * largest)[..., None]).sum(axis=-1).astype(numpy.int64)
    solution = matmul(Pinv(0.0, 0.0 if driver == "gels" else rcond, False)(A), matrix_b)
    empty = A._make(backend.xp.zeros((0,), dtype=A._data.dtype), None)
    residuals = empty
    if driver != "gelsy" and m > n and bool((rank == n).all()):
        residuals = ((matmul(A, solution) - matrix_b) ** 2).sum(-2)
    if vector:
        solution = solution[..., 0]
    rank_t = A._make(backend.xp.zeros((0,), dtype=numpy.int64), None) if driver == "gels" \
        else A._make(backend.xp.asarray(rank), None)
    values = A._make(s, None) if driver in ("gelsd", "gelss") else empty
    return LstsqResult(solution, residuals, rank_t, values)


def matrix_power(A, n):
    """A multiplied by itself n times (n may be 0: the identity; negative: powers of the
    inverse), by repeated squaring as PyTorch.

    >>> import chainrule
    >>> chainrule.linalg.matrix_power(chainrule.tensor([[1.0, 1.0], [0.0, 1.0]]), 3).tolist()
    [[1.0, 3.0], [0.0, 1.0]]
    """
    require_tensor(A, "linalg.matrix_power", "A")
    n = _int_argument(n, "linalg_matrix_power", "n")
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"linalg.matrix_power: A must be batches of square matrices, but got "
                         f"shape {A.shape}")
    if n == 0:
        eye = backend.xp.broadcast_to(backend.xp.eye(A.shape[-1], dtype=A._data.dtype),
                                      A.shape)
        return where(backend.xp.ones(A.shape, dtype=bool), A._make(eye, None), A) \
            if A.requires_grad else A._make(eye.copy(), None)
    if n < 0:
        A, n = inv(A), -n
    if n == 1:
        return A * 1
    if n == 2:
        return matmul(A, A)
    if n == 3:
        return matmul(matmul(A, A), A)
    z = result = None
    while n > 0:
        bit, n = n % 2, n // 2
        z = A if z is None else matmul(z, z)
        if bit:
            result = z if result is None else matmul(result, z)
    return result


def matrix_exp(A):
    """The matrix exponential of each square matrix (batched); differentiable to any order.

    >>> import chainrule
    >>> chainrule.linalg.matrix_exp(chainrule.tensor([[0.0, 1.0], [0.0, 0.0]])).tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    """
    return MatrixExp()(_matrices(A, "linalg.matrix_exp"))


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """The solution X of A X = B (``left=False``: X A = B) reading only A's upper (``upper=
    True``) or lower triangle, with ones on the diagonal when ``unitriangular``; A's gradient
    is confined to that triangle, as PyTorch's. Batch dimensions broadcast.

    >>> import chainrule
    >>> A = chainrule.tensor([[2.0, 1.0], [5.0, 4.0]])
    >>> chainrule.linalg.solve_triangular(A, chainrule.ones(2, 1), upper=True).tolist()
    [[0.375], [0.25]]
    """
    op = "linalg.solve_triangular"
    _matrices(A, op)
    _matrices(B, op, square=False, name="B")
    _same_dtype(A, B, op)
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise ShapeError(f"{op}: Incompatible shapes of A and B for the equation "
                         f"{'AX = B' if left else 'XA = B'} ({n}x{n} and "
                         f"{B.shape[-2]}x{B.shape[-1]})")
    _batch_shape(A.shape[:-2], B.shape[:-2], op)
    triangle = _triu(A, 1 if unitriangular else 0) if upper else \
        _tril(A, -1 if unitriangular else 0)
    if unitriangular:
        triangle = triangle + _eye(A, n)
    if left:
        return _solve(triangle, B)
    return _mT(_solve(_mT(triangle), _mT(B)))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values (|eigenvalues| with ``hermitian=True``) above
    max(atol, rtol * largest), as int64 (no gradient). Tolerances default as in :func:`pinv`.

    >>> import chainrule
    >>> chainrule.linalg.matrix_rank(chainrule.tensor([[1.0, 2.0], [2.0, 4.0]])).item()
    1
    """
    _matrices(A, "linalg.matrix_rank", square=bool(hermitian))
    atol, rtol = _tolerances(A, atol, rtol)
    xp = backend.xp
    if A._data.size == 0:
        s = xp.zeros(A.shape[:-2] + (0,), dtype=A._data.dtype)
    elif hermitian:
        s = xp.abs(_lapack("linalg.matrix_rank", xp.linalg.eigvalsh, A._data))
    else:
        s = _lapack("linalg.matrix_rank", lambda x: xp.linalg.svd(x, compute_uv=False),
                    A._data)
    tol = _tolerance(s.max(axis=-1, initial=0.0), atol, rtol)
    return A._make(xp.asarray((s > tol[..., None]).sum(axis=-1), dtype=numpy.int64), None)


__all__ = ["inv", "inverse", "det", "slogdet", "logdet", "solve", "cholesky", "cholesky_solve",
           "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv", "pinverse", "lstsq",
           "matrix_power", "matrix_rank", "matrix_exp", "solve_triangular"]
