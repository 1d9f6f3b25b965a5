"""chainrule.linalg (issue 19.6) and the matmul family: gradcheck and gradgradcheck over drawn
batch shapes; values and gradients against PyTorch 2.13 in float64 (through functions that do
not depend on the sign of eigenvectors or singular vectors, which LAPACK may pick otherwise);
PyTorch's return types, edge cases (singular, empty, degenerate, broadcast batches) and errors;
an ONNX round trip."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule
from chainrule import linalg
from chainrule.errors import (ArgumentError, ArgumentTypeError, ChainruleError, DTypeError,
                              GraphError, LinAlgError, ShapeError)
from tests.helpers import check

SETTINGS = settings(max_examples=6, deadline=None)
batches = array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=2)


def _rng(seed):
    return np.random.default_rng(seed)


def well_conditioned(batch, n, seed):
    return _rng(seed).standard_normal(batch + (n, n)) + 2.0 * n * np.eye(n)


def symmetric_half(batch, n, seed):
    """A whose A + A^T has eigenvalues 1, 2.5, 4, ... (well separated): eigh's input."""
    rng = _rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal(batch + (n, n)))
    spectrum = 1.0 + 1.5 * np.arange(n)
    return 0.5 * (q * spectrum[..., None, :]) @ np.swapaxes(q, -1, -2)


def with_singular_values(batch, m, n, seed):
    """An m x n matrix with singular values 3, 2, 1 (distinct): svd's input."""
    rng = _rng(seed)
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal(batch + (m, k)))
    v, _ = np.linalg.qr(rng.standard_normal(batch + (n, k)))
    return (u * (3.0 - np.arange(k))[..., None, :]) @ np.swapaxes(v, -1, -2)


def T(array):
    return chainrule.tensor(array, requires_grad=True)


def spd(a):
    """A symmetric positive-definite function of any square a (cholesky's input)."""
    return a @ a.mT + chainrule.eye(a.shape[-1], dtype="float64") * a.shape[-1]


def eigen_invariant(result):
    """Eigenvalues and the eigenvectors scaled by their own first entries: sign-free."""
    values, vectors = result
    return vectors * vectors[..., :1, :] + values.unsqueeze(-2)


def svd_invariant(result, weights):
    """U diag(w) Vh and U diag(w) U^T over the first k vectors, and S: sign-free."""
    u, s, vh = result
    k = s.shape[-1]
    u, vh = u[..., :k], vh[..., :k, :]
    w = weights[:k]
    return ((u * w) @ vh).sum(-1) + ((u * w) @ u.mT).sum(-1)[..., :1] + s.sum(-1, keepdim=True)


# ---------------------------------------------------------------- gradients over drawn shapes

SQUARE_CASES = {
    "inv": (lambda a: linalg.inv(a), well_conditioned),
    "det": (lambda a: linalg.det(a), well_conditioned),
    "slogdet": (lambda a: linalg.slogdet(a).logabsdet, well_conditioned),
    "logdet": (lambda a: chainrule.logdet(spd(a)), well_conditioned),
    "cholesky": (lambda a: linalg.cholesky(spd(a)), well_conditioned),
    "cholesky_upper": (lambda a: linalg.cholesky(spd(a), upper=True), well_conditioned),
    "eigh": (lambda a: eigen_invariant(linalg.eigh(a + a.mT)), symmetric_half),
    "eigh_upper": (lambda a: eigen_invariant(linalg.eigh(a + a.mT, "U")), symmetric_half),
    "eigvalsh": (lambda a: linalg.eigvalsh(a + a.mT), symmetric_half),
    "matrix_power_5": (lambda a: linalg.matrix_power(a, 5) / 100, well_conditioned),
    "matrix_power_-2": (lambda a: linalg.matrix_power(a, -2), well_conditioned),
    "pinv_hermitian": (lambda a: linalg.pinv(a + a.mT, hermitian=True), symmetric_half),
    "matrix_exp": (lambda a: linalg.matrix_exp(a / 4), well_conditioned),
    "solve_triangular": (lambda a: linalg.solve_triangular(a, a.mT, upper=True),
                         well_conditioned),
    "solve_triangular_unit_right": (lambda a: linalg.solve_triangular(
        a / 4, a, upper=False, left=False, unitriangular=True), well_conditioned),
}


@pytest.mark.parametrize("name", sorted(SQUARE_CASES))
@SETTINGS
@given(batch=batches, n=st.integers(1, 3), seed=st.integers(0, 1000))
def test_square_matrix_gradients(name, batch, n, seed):
    fn, make = SQUARE_CASES[name]
    check(fn, T(make(batch, n, seed)))


RECTANGULAR_CASES = {
    "qr": lambda a: (lambda q, r: (q * q[..., :1, :]).sum(-2) + r.sum(-2))(*linalg.qr(a)),
    "svd": lambda a: svd_invariant(linalg.svd(a, full_matrices=False),
                                   chainrule.tensor([1.0, -2.0, 0.5], dtype="float64")),
    "svd_full": lambda a: svd_invariant(linalg.svd(a), chainrule.tensor([0.3, 1.0, -1.0],
                                                                       dtype="float64")),
    "svdvals": lambda a: linalg.svdvals(a),
    "pinv": lambda a: linalg.pinv(a),
    "matrix_norm_nuc": lambda a: linalg.matrix_norm(a, "nuc"),
    "matrix_norm_2": lambda a: linalg.matrix_norm(a, 2),
}


@pytest.mark.parametrize("name", sorted(RECTANGULAR_CASES))
@SETTINGS
@given(batch=batches, m=st.integers(1, 3), n=st.integers(1, 3), seed=st.integers(0, 1000))
def test_rectangular_matrix_gradients(name, batch, m, n, seed):
    if name == "qr" and m < n:
        m, n = n, m                # the m < n case is compared with PyTorch below
    check(RECTANGULAR_CASES[name], T(with_singular_values(batch, m, n, seed)))


@SETTINGS
@given(batch_a=batches, batch_b=batches, n=st.integers(1, 3), k=st.integers(1, 2),
       vector=st.booleans(), left=st.booleans(), seed=st.integers(0, 1000))
def test_solve_gradients_with_broadcast_batches(batch_a, batch_b, n, k, vector, left, seed):
    a = T(well_conditioned(batch_a, n, seed))
    if vector:
        b = T(_rng(seed + 1).standard_normal(batch_a + (n,)))
    else:
        shape = (n, k) if left else (k, n)
        b = T(_rng(seed + 1).standard_normal(_broadcastable(batch_a, batch_b) + shape))
    check(lambda a, b: linalg.solve(a, b, left=left), a, b)


def _broadcastable(a, b):
    """Batch shape b with 1 wherever it would not broadcast against a (aligned right)."""
    out = list(b)
    for i in range(1, min(len(a), len(b)) + 1):
        if out[-i] != a[-i] and a[-i] != 1:
            out[-i] = 1
    return tuple(out)


@SETTINGS
@given(batch=batches, m=st.integers(2, 4), n=st.integers(1, 2), k=st.integers(1, 2),
       seed=st.integers(0, 1000))
def test_lstsq_cholesky_solve_gradients(batch, m, n, k, seed):
    a, b = T(with_singular_values(batch, m, n, seed)), T(_rng(seed).standard_normal(
        batch + (m, k)))
    check(lambda a, b: linalg.lstsq(a, b).solution, a, b)
    if m > n:
        check(lambda a, b: linalg.lstsq(a, b, driver="gelsd").residuals, a, b)
    factor = T(np.linalg.cholesky(well_conditioned(batch, m, seed) @ np.swapaxes(
        well_conditioned(batch, m, seed), -1, -2)))
    check(lambda b, f: chainrule.cholesky_solve(b, f), b, factor)


PRODUCT_CASES = {
    "cross": (lambda a, b: linalg.cross(a, b), (4, 3), (4, 3)),
    "cross_broadcast": (lambda a, b: linalg.cross(a, b, dim=0), (3, 1), (3, 5)),
    "torch_cross": (lambda a, b: chainrule.cross(a, b), (3, 2), (3, 2)),
    "vecdot": (lambda a, b: linalg.vecdot(a, b), (2, 4), (4,)),
    "vecdot_dim0": (lambda a, b: linalg.vecdot(a, b, dim=0), (3, 2), (3, 1)),
    "multi_dot": (lambda a, b: linalg.multi_dot([a, b, b.T, a.mT]), (2, 3), (3, 4)),
    "multi_dot_vectors": (lambda a, b: linalg.multi_dot([a, b, a]), (3,), (3, 3)),
    "mm": (chainrule.mm, (2, 3), (3, 4)),
    "bmm": (chainrule.bmm, (2, 2, 3), (2, 3, 2)),
    "mv": (chainrule.mv, (2, 3), (3,)),
    "vdot": (chainrule.vdot, (3,), (3,)),
    "inner": (chainrule.inner, (2, 3), (4, 3)),
    "tensordot": (lambda a, b: chainrule.tensordot(a, b, ([0, 2], [1, 0])), (2, 3, 4),
                  (4, 2, 5)),
    "kron": (chainrule.kron, (2, 3), (2, 1, 2)),
    "addmm": (lambda a, b: chainrule.addmm(a[:, :2], a, b, beta=0.5, alpha=2.0), (2, 3),
              (3, 2)),
    "baddbmm": (lambda a, b: chainrule.baddbmm(b, a, b.mT @ a, alpha=0.5), (2, 2, 2),
                (2, 2, 2)),
    "addr": (lambda a, b: chainrule.addr(a.outer(b), a, b, beta=2.0), (3,), (2,)),
}


@pytest.mark.parametrize("name", sorted(PRODUCT_CASES))
def test_product_gradients(name):
    fn, shape_a, shape_b = PRODUCT_CASES[name]
    check(fn, T(_rng(0).standard_normal(shape_a)), T(_rng(1).standard_normal(shape_b)))


# ---------------------------------------------------------------- against PyTorch

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _listed(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def compare(ours, theirs, *arrays, rtol=1e-9, atol=1e-11, create_graph=False):
    """Values and gradients (of a random weighting of every output) of ours on chainrule
    tensors and theirs on torch tensors, for the same float64 arrays."""
    import torch
    xs = [T(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours_out, theirs_out = _listed(ours(*xs)), _listed(theirs(*ts))
        for o, t in zip(ours_out, theirs_out, strict=True):
            assert tuple(o.shape) == tuple(t.shape)
            np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=rtol,
                                       atol=atol)
        rng = _rng(11)
        pairs = [(o, t) for o, t in zip(ours_out, theirs_out) if t.requires_grad]
        weights = [rng.standard_normal(t.shape) for _, t in pairs]
        if not pairs:
            return
        ours_loss = sum((o * chainrule.tensor(w)).sum() for (o, _), w in zip(pairs, weights))
        theirs_loss = sum((t * torch.tensor(w)).sum() for (_, t), w in zip(pairs, weights))
        ours_grads = chainrule.autograd.grad(ours_loss, xs, allow_unused=True)
        theirs_grads = torch.autograd.grad(theirs_loss, ts, allow_unused=True,
                                           create_graph=create_graph)
    for x, g, h in zip(xs, ours_grads, theirs_grads):
        np.testing.assert_allclose(np.zeros(x.shape) if g is None else g.numpy(),
                                   np.zeros(x.shape) if h is None else h.detach().numpy(),
                                   rtol=rtol, atol=atol)


def _sym_torch(f):
    return lambda a: f(a + a.mT)


def _spd_torch(a):
    import torch
    return a @ a.mT + torch.eye(a.shape[-1], dtype=torch.float64) * a.shape[-1]


def _eigen_invariant_torch(result):
    values, vectors = result
    return vectors * vectors[..., :1, :] + values.unsqueeze(-2)


def _svd_invariant_torch(result, weights):
    import torch
    u, s, vh = result
    k = s.shape[-1]
    u, vh, w = u[..., :k], vh[..., :k, :], torch.tensor(weights[:k], dtype=torch.float64)
    return ((u * w) @ vh).sum(-1) + ((u * w) @ u.mT).sum(-1)[..., :1] + s.sum(-1, keepdim=True)


W = [1.0, -2.0, 0.5]
SQ = well_conditioned((2,), 3, 0)
SYM = symmetric_half((2,), 3, 1)


def _torch_cases():
    import torch
    L = torch.linalg
    tall, wide = with_singular_values((2,), 4, 2, 2), with_singular_values((2,), 2, 4, 3)
    rhs = _rng(4).standard_normal((2, 3, 2))
    return [
        ("inv", linalg.inv, L.inv, [SQ]),
        ("inverse", chainrule.inverse, torch.inverse, [SQ]),
        ("det", linalg.det, L.det, [SQ]),
        ("torch.det", lambda a: a.det(), lambda a: a.det(), [SQ]),
        ("slogdet", lambda a: tuple(linalg.slogdet(a)), lambda a: tuple(L.slogdet(a)),
         [SQ * np.array([1, -1, 1])[:, None]]),
        ("torch.slogdet", lambda a: tuple(a.slogdet()), lambda a: tuple(a.slogdet()), [SQ]),
        ("logdet", lambda a: a.logdet(), lambda a: a.logdet(), [SQ * np.array([1, -1, 1])]),
        ("solve", linalg.solve, L.solve, [SQ, rhs]),
        ("solve_vector", linalg.solve, L.solve, [SQ, rhs[..., 0]]),
        ("solve_1d", linalg.solve, L.solve, [SQ, rhs[0, :, 0]]),
        ("solve_broadcast", linalg.solve, L.solve, [SQ[:1], _rng(5).standard_normal(
            (3, 2, 3, 2))]),
        ("solve_left_false", lambda a, b: linalg.solve(a, b, left=False),
         lambda a, b: L.solve(a, b, left=False), [SQ, np.swapaxes(rhs, -1, -2)]),
        ("cholesky", lambda a: linalg.cholesky(spd(a)), lambda a: L.cholesky(_spd_torch(a)),
         [SQ]),
        ("cholesky_upper", lambda a: linalg.cholesky(spd(a), upper=True),
         lambda a: L.cholesky(_spd_torch(a), upper=True), [SQ]),
        ("cholesky_solve", lambda b, f: chainrule.cholesky_solve(b, f),
         lambda b, f: torch.cholesky_solve(b, f), [rhs, np.linalg.cholesky(SQ @ np.swapaxes(
             SQ, -1, -2))]),
        ("cholesky_solve_upper", lambda b, f: b.cholesky_solve(f, True),
         lambda b, f: b.cholesky_solve(f, True), [rhs, np.swapaxes(np.linalg.cholesky(
             SQ @ np.swapaxes(SQ, -1, -2)), -1, -2)]),
        ("qr_tall", lambda a: tuple(linalg.qr(a)), lambda a: tuple(L.qr(a)), [tall]),
        ("qr_wide", lambda a: tuple(linalg.qr(a)), lambda a: tuple(L.qr(a)), [wide]),
        ("qr_square_complete", lambda a: tuple(linalg.qr(a, "complete")),
         lambda a: tuple(L.qr(a, "complete")), [SQ]),
        ("qr_wide_complete", lambda a: tuple(linalg.qr(a, "complete")),
         lambda a: tuple(L.qr(a, "complete")), [wide]),
        ("eigh", lambda a: eigen_invariant(linalg.eigh(a + a.mT)),
         _sym_torch(lambda s: _eigen_invariant_torch(L.eigh(s))), [SYM]),
        ("eigh_U", lambda a: eigen_invariant(linalg.eigh(a, UPLO="U")),
         lambda a: _eigen_invariant_torch(L.eigh(a, UPLO="U")), [SYM]),
        ("eigvalsh", lambda a: linalg.eigvalsh(a), L.eigvalsh, [SQ]),
        ("svd_tall", lambda a: svd_invariant(linalg.svd(a, False), chainrule.tensor(
            W, dtype="float64")), lambda a: _svd_invariant_torch(L.svd(a, False), W), [tall]),
        ("svd_wide_full", lambda a: svd_invariant(linalg.svd(a), chainrule.tensor(
            W, dtype="float64")), lambda a: _svd_invariant_torch(L.svd(a), W), [wide]),
        ("svd_square", lambda a: svd_invariant(linalg.svd(a), chainrule.tensor(
            W, dtype="float64")), lambda a: _svd_invariant_torch(L.svd(a), W), [SQ]),
        ("svd_values", lambda a: linalg.svd(a).S, lambda a: L.svd(a).S, [tall]),
        ("torch.svd", lambda a: (lambda u, s, v: (u * v[..., :1, :].sum(-2, keepdim=True))
                                 .sum(-1) + s.sum(-1, keepdim=True))(*a.svd()),
         lambda a: (lambda u, s, v: (u * v[..., :1, :].sum(-2, keepdim=True)).sum(-1)
                    + s.sum(-1, keepdim=True))(*a.svd()), [tall]),
        ("svdvals", linalg.svdvals, L.svdvals, [wide]),
        ("pinv_tall", linalg.pinv, L.pinv, [tall]),
        ("pinv_wide", linalg.pinv, L.pinv, [wide]),
        ("pinv_hermitian", lambda a: linalg.pinv(a + a.mT, hermitian=True),
         lambda a: L.pinv(a + a.mT, hermitian=True), [SYM]),
        ("pinverse", lambda a: a.pinverse(), lambda a: a.pinverse(), [tall]),
        ("lstsq", lambda a, b: linalg.lstsq(a, b).solution, lambda a, b: L.lstsq(a, b).solution,
         [with_singular_values((2,), 4, 3, 6), _rng(7).standard_normal((2, 4, 2))]),
        ("lstsq_gelsd", lambda a, b: tuple(linalg.lstsq(a, b, driver="gelsd"))[:2],
         lambda a, b: tuple(L.lstsq(a, b, driver="gelsd"))[:2],
         [with_singular_values((2,), 4, 3, 6), _rng(7).standard_normal((2, 4, 2))]),
        ("lstsq_vector", lambda a, b: tuple(linalg.lstsq(a, b, driver="gelss"))[:2],
         lambda a, b: tuple(L.lstsq(a, b, driver="gelss"))[:2],
         [with_singular_values((), 4, 2, 8), _rng(9).standard_normal(4)]),
        ("lstsq_broadcast", lambda a, b: linalg.lstsq(a, b).solution,
         lambda a, b: L.lstsq(a, b).solution,
         [with_singular_values((1,), 4, 2, 8), _rng(9).standard_normal((3, 4, 2))]),
        ("matrix_exp", lambda a: a.matrix_exp(), lambda a: a.matrix_exp(), [SQ / 4]),
        ("solve_triangular", lambda a, b: linalg.solve_triangular(a, b, upper=True),
         lambda a, b: L.solve_triangular(a, b, upper=True), [SQ, rhs]),
        ("solve_triangular_lower_unit_right", lambda a, b: linalg.solve_triangular(
            a, b, upper=False, left=False, unitriangular=True),
         lambda a, b: L.solve_triangular(a, b, upper=False, left=False, unitriangular=True),
         [SQ, np.swapaxes(rhs, -1, -2)]),
        ("linalg.diagonal", lambda a: linalg.diagonal(a, offset=1),
         lambda a: L.diagonal(a, offset=1), [SQ]),
        ("matrix_power_0", lambda a: linalg.matrix_power(a, 0), lambda a: L.matrix_power(a, 0),
         [SQ]),
        ("matrix_power_7", lambda a: linalg.matrix_power(a, 7), lambda a: L.matrix_power(a, 7),
         [SQ / 6]),
        ("matrix_power_-3", lambda a: a.matrix_power(-3), lambda a: a.matrix_power(-3), [SQ]),
        ("cross", lambda a, b: linalg.cross(a, b), lambda a, b: L.cross(a, b),
         [_rng(1).standard_normal((4, 3)), _rng(2).standard_normal((1, 3))]),
        ("torch.cross_default", chainrule.cross, torch.cross,
         [_rng(1).standard_normal((2, 3, 3)), _rng(2).standard_normal((2, 3, 3))]),
        ("vecdot", lambda a, b: linalg.vecdot(a, b, dim=0), lambda a, b: L.vecdot(a, b, dim=0),
         [_rng(1).standard_normal((3, 4)), _rng(2).standard_normal((3, 1))]),
        ("multi_dot", lambda a, b, c: linalg.multi_dot([a, b, c]),
         lambda a, b, c: L.multi_dot([a, b, c]),
         [_rng(1).standard_normal(5), _rng(2).standard_normal((5, 2)),
          _rng(3).standard_normal((2, 4))]),
        ("multi_dot_4", lambda a, b, c, d: linalg.multi_dot([a, b, c, d]),
         lambda a, b, c, d: L.multi_dot([a, b, c, d]),
         [_rng(1).standard_normal((2, 5)), _rng(2).standard_normal((5, 1)),
          _rng(3).standard_normal((1, 4)), _rng(4).standard_normal(4)]),
        ("mm", chainrule.mm, torch.mm, [_rng(1).standard_normal((2, 3)),
                                         _rng(2).standard_normal((3, 2))]),
        ("bmm", chainrule.bmm, torch.bmm, [_rng(1).standard_normal((2, 2, 3)),
                                            _rng(2).standard_normal((2, 3, 2))]),
        ("mv", chainrule.mv, torch.mv, [_rng(1).standard_normal((2, 3)),
                                         _rng(2).standard_normal(3)]),
        ("vdot", chainrule.vdot, torch.vdot, [_rng(1).standard_normal(3),
                                               _rng(2).standard_normal(3)]),
        ("inner", chainrule.inner, torch.inner, [_rng(1).standard_normal((2, 3)),
                                                  _rng(2).standard_normal((4, 2, 3))]),
        ("tensordot", lambda a, b: chainrule.tensordot(a, b, 1),
         lambda a, b: torch.tensordot(a, b, 1), [_rng(1).standard_normal((2, 3)),
                                                  _rng(2).standard_normal((3, 4))]),
        ("tensordot_lists", lambda a, b: chainrule.tensordot(a, b, ([1, 0], [0, 2])),
         lambda a, b: torch.tensordot(a, b, ([1, 0], [0, 2])),
         [_rng(1).standard_normal((2, 3, 4)), _rng(2).standard_normal((3, 5, 2))]),
        ("kron", chainrule.kron, torch.kron, [_rng(1).standard_normal((2, 3)),
                                               _rng(2).standard_normal((3, 1, 2))]),
        ("addmm", lambda c, a, b: chainrule.addmm(c, a, b, beta=0.5, alpha=-2.0),
         lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=-2.0),
         [_rng(0).standard_normal((1, 2)), _rng(1).standard_normal((3, 4)),
          _rng(2).standard_normal((4, 2))]),
        ("addmv", lambda c, a, b: chainrule.addmv(c, a, b, beta=0),
         lambda c, a, b: torch.addmv(c, a, b, beta=0),
         [np.full(2, np.nan), _rng(1).standard_normal((2, 4)), _rng(2).standard_normal(4)]),
        ("addbmm", chainrule.addbmm, torch.addbmm,
         [_rng(0).standard_normal((2, 2)), _rng(1).standard_normal((3, 2, 4)),
          _rng(2).standard_normal((3, 4, 2))]),
        ("baddbmm", chainrule.baddbmm, torch.baddbmm,
         [_rng(0).standard_normal((3, 2, 2)), _rng(1).standard_normal((3, 2, 4)),
          _rng(2).standard_normal((3, 4, 2))]),
        ("addr", chainrule.addr, torch.addr,
         [_rng(0).standard_normal((3, 2)), _rng(1).standard_normal(3),
          _rng(2).standard_normal(2)]),
        ("chain_matmul", chainrule.chain_matmul, lambda *m: torch.linalg.multi_dot(m),
         [_rng(1).standard_normal((2, 3)), _rng(2).standard_normal((3, 4)),
          _rng(3).standard_normal((4, 1))]),
    ]


def _torch_case_names():
    try:
        return [case[0] for case in _torch_cases()]
    except ImportError:
        return ["torch missing"]


@pytest.mark.torch
@pytest.mark.parametrize("name", _torch_case_names())
def test_values_and_gradients_match_pytorch(torch, name):
    cases = {case[0]: case[1:] for case in _torch_cases()}
    ours, theirs, arrays = cases[name]
    compare(ours, theirs, *arrays)


@pytest.mark.torch
def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix(torch):
    """Exact at singular matrices: PyTorch's value with create_graph=True (its plain backward
    returns det * A^-T from a perturbed LU, zero when det is exactly 0; see docs/pytorch.md)."""
    singular = np.array([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 0.0], [0.0, 3.0]]])
    rank_two = with_singular_values((), 3, 3, 5) @ np.diag([1.0, 1.0, 0.0])
    for array in (singular, singular[0], rank_two, np.zeros((3, 3)), np.zeros((0, 0))):
        compare(linalg.det, torch.linalg.det, array, create_graph=True)
    check(linalg.det, T(rank_two))


@pytest.mark.torch
def test_slogdet_of_a_singular_matrix_is_minus_inf_as_pytorch(torch):
    a = T(np.array([[1.0, 2.0], [2.0, 4.0]]))
    sign, logabsdet = linalg.slogdet(a)
    expected = torch.linalg.slogdet(torch.tensor(a.numpy()))
    assert sign.item() == expected.sign.item() == 0 and logabsdet.item() == -np.inf
    logabsdet.backward()
    assert np.isinf(a.grad.numpy()).all()          # PyTorch: inf too (the signs may differ)


@pytest.mark.torch
def test_repeated_eigenvalues_and_singular_values(torch):
    """eigvalsh / svdvals stay differentiable at repeated values (no gaps divided by); the
    eigenvectors' and singular vectors' gradients are not finite there, in PyTorch too."""
    eye = np.eye(3)
    compare(linalg.eigvalsh, torch.linalg.eigvalsh, eye)
    compare(linalg.svdvals, torch.linalg.svdvals, 2 * eye)
    for ours, theirs in [(lambda a: linalg.eigh(a).eigenvectors, lambda a: torch.linalg.eigh(
            a).eigenvectors), (lambda a: linalg.svd(a).U, lambda a: torch.linalg.svd(a).U)]:
        a, t = T(eye), torch.tensor(eye, requires_grad=True)
        ours(a).sum().backward()
        theirs(t).sum().backward()
        assert not np.isfinite(a.grad.numpy()).all() and not np.isfinite(t.grad.numpy()).all()


@pytest.mark.torch
def test_empty_matrices_match_pytorch(torch):
    for ours, theirs, shape in [(linalg.inv, torch.linalg.inv, (2, 0, 0)),
                                (linalg.det, torch.linalg.det, (2, 0, 0)),
                                (linalg.pinv, torch.linalg.pinv, (2, 0, 3)),
                                (linalg.matrix_rank, torch.linalg.matrix_rank, (2, 0, 3)),
                                (linalg.svdvals, torch.linalg.svdvals, (3, 0)),
                                (linalg.eigvalsh, torch.linalg.eigvalsh, (0, 0))]:
        ours_out = ours(chainrule.zeros(*shape, dtype="float64"))
        theirs_out = theirs(torch.zeros(shape, dtype=torch.float64))
        assert tuple(ours_out.shape) == tuple(theirs_out.shape)
        np.testing.assert_array_equal(ours_out.numpy(), theirs_out.numpy())


@pytest.mark.torch
def test_rank_lstsq_outputs_and_tolerances_match_pytorch(torch):
    deficient = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    small = np.diag([1.0, 1e-3])
    for kwargs in ({}, {"atol": 1e-2}, {"rtol": 1e-2}, {"atol": 0.0}, {"hermitian": True}):
        for array in (deficient[:2], small, np.eye(2)):
            assert linalg.matrix_rank(chainrule.tensor(array), **kwargs).item() == \
                torch.linalg.matrix_rank(torch.tensor(array), **kwargs).item()
            np.testing.assert_allclose(
                linalg.pinv(chainrule.tensor(array), **kwargs).numpy(),
                torch.linalg.pinv(torch.tensor(array), **kwargs).numpy(), atol=1e-12)
    b = _rng(0).standard_normal((3, 1))
    for driver in (None, "gels", "gelsy", "gelsd", "gelss"):
        for array in ((deficient, with_singular_values((), 3, 2, 1)) if driver != "gels" else
                      (with_singular_values((), 3, 2, 1),)):
            ours = linalg.lstsq(chainrule.tensor(array), chainrule.tensor(b), driver=driver)
            theirs = torch.linalg.lstsq(torch.tensor(array), torch.tensor(b), driver=driver)
            for o, t in zip(ours, theirs):
                assert tuple(o.shape) == tuple(t.shape) and str(o.dtype) in str(t.dtype)
                np.testing.assert_allclose(o.numpy(), t.numpy(), atol=1e-10)


def test_return_types_are_named_as_in_pytorch():
    a = chainrule.tensor(well_conditioned((), 3, 0))
    assert type(linalg.slogdet(a)).__name__ == "linalg_slogdet"
    assert linalg.slogdet(a)._fields == ("sign", "logabsdet")
    assert chainrule.slogdet(a)._fields == ("sign", "logabsdet")
    assert linalg.eigh(a)._fields == ("eigenvalues", "eigenvectors")
    assert linalg.qr(a)._fields == ("Q", "R")
    assert linalg.svd(a)._fields == ("U", "S", "Vh")
    assert chainrule.svd(a)._fields == ("U", "S", "V")
    assert linalg.lstsq(a, a)._fields == ("solution", "residuals", "rank", "singular_values")
    q, r = linalg.qr(a, mode="r")
    assert q.shape == (0,) and r.shape == (3, 3)
    u, s, v = chainrule.svd(a, compute_uv=False)
    assert not u.numpy().any() and u.shape == (3, 3) and s.shape == (3,)


def test_outputs_share_one_node_and_unused_factors_cost_nothing():
    a = T(symmetric_half((), 3, 0))
    values, vectors = linalg.eigh(a + a.mT)
    values.sum().backward()                     # no eigenvector gradient: no 1 / gaps
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.eye(3), atol=1e-12)


def test_qr_modes_without_a_gradient_say_so():
    a = T(_rng(0).standard_normal((3, 2)))
    with pytest.raises(GraphError, match="mode='r'"):
        linalg.qr(a, mode="r").R.sum().backward()
    with pytest.raises(GraphError, match="mode='complete' and nrows > ncols"):
        linalg.qr(a, mode="complete").Q.sum().backward()


def test_methods_and_aliases():
    a = chainrule.tensor([[2.0, 1.0], [1.0, 3.0]])
    assert a.det().item() == pytest.approx(5.0) and a.inverse().shape == (2, 2)
    assert a.matrix_power(2).tolist() == [[5.0, 5.0], [5.0, 10.0]]
    assert chainrule.linalg.matmul is chainrule.matmul
    assert chainrule.linalg.LinAlgError is LinAlgError and issubclass(LinAlgError, RuntimeError)


@pytest.mark.parametrize("call, error, match", [
    (lambda: linalg.inv(chainrule.tensor([[1.0, 2.0], [2.0, 4.0]])), LinAlgError, "singular"),
    (lambda: linalg.inv(chainrule.stack([chainrule.eye(2), chainrule.zeros(2, 2)])),
     LinAlgError, r"Batch element 1"),
    (lambda: linalg.solve(chainrule.zeros(2, 2), chainrule.ones(2)), LinAlgError, "singular"),
    (lambda: linalg.matrix_power(chainrule.zeros(2, 2), -1), LinAlgError, "singular"),
    (lambda: linalg.cholesky(chainrule.tensor([[1.0, 2.0], [2.0, 1.0]])), LinAlgError,
     "leading minor of order 2 is not positive-definite"),
    (lambda: linalg.cholesky(chainrule.stack([chainrule.eye(2), -chainrule.eye(2)])),
     LinAlgError, r"Batch element 1\): .*order 1"),
    (lambda: linalg.svd(chainrule.tensor([[float("nan"), 1.0], [1.0, 1.0]])), LinAlgError,
     "non-finite"),
    (lambda: linalg.inv(chainrule.ones(2, 3)), ShapeError, "square matrices"),
    (lambda: linalg.det(chainrule.ones(2)), ShapeError, "at least 2 dimensions"),
    (lambda: linalg.eigh(chainrule.ones(2, 3)), ShapeError, "square"),
    (lambda: linalg.inv(chainrule.eye(2, dtype="int64")), DTypeError, "floating point"),
    (lambda: linalg.inv(chainrule.eye(2, dtype="float16")), DTypeError, "Low precision"),
    (lambda: linalg.solve(chainrule.eye(2), chainrule.ones(2, dtype="float64")), DTypeError,
     "same dtype"),
    (lambda: linalg.solve(chainrule.ones(3, 2, 2), chainrule.ones(4, 2, 5)), ShapeError,
     "broadcast"),
    (lambda: linalg.solve(chainrule.eye(2), chainrule.ones(3)), ShapeError, "Incompatible"),
    (lambda: linalg.solve(chainrule.ones(4, 3, 2, 2), chainrule.ones(3, 2)), ShapeError,
     "Incompatible"),
    (lambda: linalg.qr(chainrule.eye(2), mode="X"), ArgumentError, "unrecognized mode"),
    (lambda: linalg.eigh(chainrule.eye(2), UPLO="X"), ArgumentError, "UPLO"),
    (lambda: linalg.svd(chainrule.eye(2), driver="gesvd"), ArgumentError, "driver"),
    (lambda: linalg.lstsq(chainrule.ones(4, 2), chainrule.ones(3, 2)), ShapeError, "size"),
    (lambda: linalg.lstsq(chainrule.ones(4, 2), chainrule.ones(4, 2), driver="foo"),
     ArgumentError, "driver"),
    (lambda: linalg.lstsq(chainrule.ones(5, 4, 2), chainrule.ones(3, 4, 2)), ShapeError,
     "broadcast"),
    (lambda: linalg.matrix_power(chainrule.eye(2), 2.0), ArgumentTypeError, "must be int"),
    (lambda: linalg.matrix_power(chainrule.ones(2, 3), 2), ShapeError, "square"),
    (lambda: linalg.cross(chainrule.ones(4, 2), chainrule.ones(4, 2)), ShapeError, "length 3"),
    (lambda: linalg.cross(chainrule.ones(4, 3), chainrule.ones(3)), ShapeError,
     "same number of dimensions"),
    (lambda: linalg.cross(chainrule.ones(3), chainrule.ones(3, dtype="float64")), DTypeError,
     "same dtype"),
    (lambda: linalg.vecdot(chainrule.ones(4, 3), chainrule.ones(2)), ShapeError, "broadcast"),
    (lambda: linalg.vecdot(chainrule.tensor([1, 2]), chainrule.tensor([1, 2])), DTypeError,
     "floating"),
    (lambda: linalg.multi_dot([chainrule.ones(3)]), ArgumentError, "at least 2"),
    (lambda: linalg.multi_dot([chainrule.ones(2, 3, 3), chainrule.ones(3, 3)]), ShapeError,
     "first tensor must be 1D or 2D"),
    (lambda: linalg.multi_dot([chainrule.ones(3, 3), chainrule.ones(4, 4)]), ShapeError,
     "cannot be multiplied"),
    (lambda: chainrule.mm(chainrule.ones(3), chainrule.ones(3, 3)), ShapeError, "2-D"),
    (lambda: chainrule.bmm(chainrule.ones(2, 2, 3), chainrule.ones(3, 3, 2)), ShapeError,
     "batch"),
    (lambda: chainrule.tensordot(chainrule.ones(2, 3), chainrule.ones(2, 3), 1), ShapeError,
     "same size"),
    (lambda: chainrule.cholesky_solve(chainrule.ones(2), chainrule.eye(2)), ShapeError,
     "at least 2"),
    (lambda: linalg.pinv(chainrule.ones(2, 3), hermitian=True), ShapeError, "square"),
    (lambda: linalg.solve_triangular(chainrule.eye(2), chainrule.ones(2), upper=True),
     ShapeError, "at least 2 dimensions"),
    (lambda: linalg.solve_triangular(chainrule.eye(2), chainrule.ones(3, 1), upper=True),
     ShapeError, "Incompatible"),
    (lambda: linalg.matrix_exp(chainrule.ones(2, 3)), ShapeError, "square"),
])
def test_bad_input_raises_a_chainrule_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.torch
@pytest.mark.parametrize("ours, theirs", [
    (lambda c: c.linalg.inv(c.tensor([[1.0, 2.0], [2.0, 4.0]])),
     lambda t: t.linalg.inv(t.tensor([[1.0, 2.0], [2.0, 4.0]]))),
    (lambda c: c.linalg.solve(c.zeros(2, 2), c.ones(2)),
     lambda t: t.linalg.solve(t.zeros(2, 2), t.ones(2))),
    (lambda c: c.linalg.cholesky(c.tensor([[1.0, 2.0], [2.0, 1.0]])),
     lambda t: t.linalg.cholesky(t.tensor([[1.0, 2.0], [2.0, 1.0]]))),
    (lambda c: c.linalg.solve(c.ones(3, 2, 2), c.ones(4, 2, 5)),
     lambda t: t.linalg.solve(t.ones(3, 2, 2), t.ones(4, 2, 5))),
    (lambda c: c.linalg.solve(c.ones(4, 3, 2, 2), c.ones(3, 2)),
     lambda t: t.linalg.solve(t.ones(4, 3, 2, 2), t.ones(3, 2))),
    (lambda c: c.linalg.lstsq(c.ones(5, 4, 2), c.ones(3, 4, 2)),
     lambda t: t.linalg.lstsq(t.ones(5, 4, 2), t.ones(3, 4, 2))),
    (lambda c: c.linalg.inv(c.eye(2, dtype="int64")),
     lambda t: t.linalg.inv(t.eye(2, dtype=t.int64))),
])
def test_pytorch_raises_for_the_same_inputs(torch, ours, theirs):
    with pytest.raises(RuntimeError):
        theirs(torch)
    with pytest.raises(ChainruleError):
        ours(chainrule)


def test_onnx_round_trip_of_det_norms_and_products(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

    class Model(chainrule.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = chainrule.nn.Parameter(chainrule.randn(4, 4))

        def forward(self, x):
            y = chainrule.mm(x, self.weight)
            parts = [linalg.det(y.reshape(x.shape[0], 2, 2))]
            parts += [linalg.vector_norm(y, o, 1) for o in (2, 1, float("inf"), -float("inf"),
                                                            3, 0)]
            return sum(parts[1:], parts[0])

    chainrule.manual_seed(0)
    model = Model()
    path = chainrule.onnx.export(model, chainrule.randn(2, 4), str(tmp_path / "linalg.onnx"))
    onnx.checker.check_model(onnx.load(path))
    session = ort.InferenceSession(path)
    x = _rng(0).standard_normal((5, 4)).astype(np.float32)
    with chainrule.no_grad():
        expected = model(chainrule.tensor(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("name, shapes", [
    ("addmm_", [(2, 2), (2, 3), (3, 2)]), ("addmv_", [(2,), (2, 3), (3,)]),
    ("baddbmm_", [(2, 2, 2), (2, 2, 3), (2, 3, 2)]), ("addbmm_", [(2, 2), (4, 2, 3), (4, 3, 2)]),
    ("addr_", [(2, 3), (2,), (3,)]),
])
def test_inplace_products_match_pytorch(torch, name, shapes):
    arrays = [_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    compare(lambda *xs: getattr(xs[0] * 1.0, name)(*xs[1:], beta=0.5, alpha=-2.0),
            lambda *ts: getattr(ts[0] * 1.0, name)(*ts[1:], beta=0.5, alpha=-2.0), *arrays)
