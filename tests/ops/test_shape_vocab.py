"""Shape and construction vocabulary (issue 19.4): values and gradients against PyTorch,
gradcheck + gradgradcheck over drawn shapes, in-place changes through views, errors, ONNX."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule
from chainrule.errors import (ArgumentError, ArgumentTypeError, DTypeError,
                              IndexOutOfRangeError, ReadOnlyError, ShapeError)
from tests.helpers import check, make

SETTINGS = settings(max_examples=12, deadline=None)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _data(shape, seed, dtype=np.float64):
    values = np.random.default_rng(seed).standard_normal(shape)
    return values.astype(dtype) if dtype != np.int64 else (values * 3).astype(np.int64)


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def compare_with_torch(torch, fn, shapes, seed=0, dtype=np.float64, grad=True):
    """fn(module, *tensors) with module chainrule or torch: equal values, and equal
    gradients for a random upstream gradient on every output."""
    arrays = [_data(s, seed + i, dtype) for i, s in enumerate(shapes)]
    ours = [chainrule.tensor(a, requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad) for a in arrays]
    got, expected = _outputs(fn(chainrule, *ours)), _outputs(fn(torch, *theirs))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.shape == tuple(e.shape), (g.shape, tuple(e.shape))
        assert g.dtype == e.detach().numpy().dtype
        np.testing.assert_allclose(g.numpy(), e.detach().numpy(), rtol=1e-12, atol=1e-12)
    if not grad:
        return
    weights = [_data(g.shape, 99 + k) for k, g in enumerate(got)]
    loss = sum((g * chainrule.tensor(w)).sum() for g, w in zip(got, weights) if g.numel())
    torch_loss = sum((e * torch.tensor(w)).sum() for e, w in zip(expected, weights)
                     if e.numel())
    if not isinstance(loss, chainrule.Tensor) or loss.grad_fn is None:
        return
    loss.backward()
    torch_loss.backward()
    for o, t in zip(ours, theirs):
        expected_grad = np.zeros(o.shape) if t.grad is None else t.grad.numpy()
        got_grad = np.zeros(o.shape) if o.grad is None else o.grad.numpy()
        np.testing.assert_allclose(got_grad, expected_grad, rtol=1e-10, atol=1e-12)


# name -> (fn(module, *tensors), input shapes); one lambda serves both libraries
CASES = {
    "tril": (lambda m, x: m.tril(x), [(3, 4)]),
    "tril_batched_neg": (lambda m, x: m.tril(x, -1), [(2, 3, 4)]),
    "triu_pos": (lambda m, x: m.triu(x, 2), [(4, 3)]),
    "triu_far": (lambda m, x: x.triu(-5), [(3, 3)]),
    "triu_empty": (lambda m, x: m.triu(x), [(0, 3)]),
    "diag_vector": (lambda m, x: m.diag(x), [(3,)]),
    "diag_vector_offset": (lambda m, x: m.diag(x, -2), [(3,)]),
    "diag_matrix": (lambda m, x: m.diag(x, 1), [(3, 4)]),
    "diag_matrix_outside": (lambda m, x: m.diag(x, 7), [(3, 4)]),
    "diagonal": (lambda m, x: m.diagonal(x), [(3, 4)]),
    "diagonal_dims": (lambda m, x: m.diagonal(x, 1, 2, 0), [(3, 4, 5)]),
    "diagonal_negative": (lambda m, x: x.diagonal(-1, -1, -3), [(3, 4, 5)]),
    "diag_embed": (lambda m, x: m.diag_embed(x), [(2, 3)]),
    "diag_embed_dims": (lambda m, x: m.diag_embed(x, 1, 0, 2), [(2, 3)]),
    "diag_embed_neg": (lambda m, x: m.diag_embed(x, -2, -1, 0), [(3,)]),
    "diagflat": (lambda m, x: m.diagflat(x, -1), [(2, 2)]),
    "diagflat_method": (lambda m, x: x.diagflat(2), [(3,)]),
    "trace": (lambda m, x: m.trace(x), [(3, 4)]),
    "ravel": (lambda m, x: x.ravel(), [(2, 3)]),
    "concat": (lambda m, x, y: m.concat([x, y], dim=1), [(2, 1), (2, 3)]),
    "broadcast_tensors": (lambda m, x, y: m.broadcast_tensors(x, y), [(2, 1), (3,)]),
    "trace_empty": (lambda m, x: m.trace(x), [(0, 3)]),
    "roll_flat": (lambda m, x: m.roll(x, 3), [(2, 3)]),
    "roll_dims": (lambda m, x: m.roll(x, (1, -2), (0, -1)), [(3, 4)]),
    "roll_big_shift": (lambda m, x: x.roll(-7, 1), [(2, 3)]),
    "roll_0d": (lambda m, x: m.roll(x, 1), [()]),
    "roll_empty": (lambda m, x: m.roll(x, 2, 0), [(0, 3)]),
    "rot90": (lambda m, x: m.rot90(x), [(2, 3)]),
    "rot90_k2": (lambda m, x: m.rot90(x, 2, [1, 0]), [(2, 3)]),
    "rot90_k3_dims": (lambda m, x: m.rot90(x, -1, [0, 2]), [(2, 3, 4)]),
    "rot90_k0": (lambda m, x: m.rot90(x, 4), [(2, 3)]),
    "flip_empty_dims": (lambda m, x: m.flip(x, ()), [(2, 3)]),
    "flip_dims": (lambda m, x: x.flip((0, -1)), [(2, 3, 2)]),
    "fliplr": (lambda m, x: m.fliplr(x), [(2, 3)]),
    "flipud": (lambda m, x: m.flipud(x), [(2, 3)]),
    "movedim": (lambda m, x: m.movedim(x, 0, -1), [(2, 3, 4)]),
    "movedim_tuple": (lambda m, x: m.movedim(x, (0, 1), (2, 0)), [(2, 3, 4)]),
    "moveaxis": (lambda m, x: m.moveaxis(x, -1, 1), [(2, 3, 4)]),
    "swapdims": (lambda m, x: m.swapdims(x, 0, 2), [(2, 3, 4)]),
    "unflatten": (lambda m, x: m.unflatten(x, 1, (3, -1)), [(2, 12)]),
    "unflatten_neg": (lambda m, x: x.unflatten(-1, (2, 2, 3)), [(2, 12)]),
    "narrow": (lambda m, x: m.narrow(x, 1, 1, 2), [(2, 4)]),
    "narrow_negative_start": (lambda m, x: x.narrow(0, -2, 2), [(5,)]),
    "narrow_empty": (lambda m, x: x.narrow(0, 5, 0), [(5,)]),
    "select": (lambda m, x: m.select(x, 1, -1), [(2, 3)]),
    "unbind": (lambda m, x: m.unbind(x, 1), [(2, 3)]),
    "split_sizes": (lambda m, x: m.split(x, [1, 0, 2], dim=1), [(2, 3)]),
    "split_int": (lambda m, x: x.split(2), [(5, 2)]),
    "split_bigger": (lambda m, x: x.split(7, 1), [(5, 2)]),
    "split_empty": (lambda m, x: x.split(2), [(0, 2)]),
    "split_zero_of_empty": (lambda m, x: m.split(x, 0), [(0,)]),
    "chunk": (lambda m, x: x.chunk(4), [(5,)]),
    "chunk_empty": (lambda m, x: x.chunk(3), [(0, 2)]),
    "tensor_split_sections": (lambda m, x: m.tensor_split(x, 3), [(7,)]),
    "tensor_split_indices": (lambda m, x: m.tensor_split(x, [1, 5, 3, 9], dim=0), [(7, 2)]),
    "tensor_split_negative": (lambda m, x: x.tensor_split((-2,), dim=1), [(2, 7)]),
    "tensor_split_more": (lambda m, x: m.tensor_split(x, 4), [(2,)]),
    "hsplit": (lambda m, x: m.hsplit(x, 2), [(3, 4)]),
    "hsplit_1d": (lambda m, x: m.hsplit(x, [1, 3]), [(4,)]),
    "vsplit": (lambda m, x: m.vsplit(x, [1]), [(3, 4)]),
    "dsplit": (lambda m, x: x.dsplit(2), [(2, 1, 4)]),
    "hstack": (lambda m, x, y: m.hstack([x, y]), [(3,), (2,)]),
    "hstack_2d": (lambda m, x, y: m.hstack((x, y)), [(2, 1), (2, 3)]),
    "hstack_0d": (lambda m, x, y: m.hstack([x, y]), [(), (2,)]),
    "vstack": (lambda m, x, y: m.vstack([x, y]), [(3,), (2, 3)]),
    "row_stack": (lambda m, x, y: m.row_stack([x, y]), [(3,), (3,)]),
    "dstack": (lambda m, x, y: m.dstack([x, y]), [(3,), (3,)]),
    "dstack_2d": (lambda m, x, y: m.dstack([x, y]), [(2, 3), (2, 3, 2)]),
    "column_stack": (lambda m, x, y: m.column_stack([x, y]), [(3,), (3, 2)]),
    "column_stack_0d": (lambda m, x, y: m.column_stack([x, y]), [(), (1,)]),
    "atleast_1d": (lambda m, x: m.atleast_1d(x), [()]),
    "atleast_2d_many": (lambda m, x, y: m.atleast_2d(x, y), [(), (3,)]),
    "atleast_3d": (lambda m, x, y, z: m.atleast_3d([x, y, z]), [(), (3,), (2, 3)]),
    "repeat_interleave_int": (lambda m, x: m.repeat_interleave(x, 2), [(2, 3)]),
    "repeat_interleave_dim": (lambda m, x: x.repeat_interleave(3, dim=1), [(2, 3)]),
    "repeat_interleave_neg_dim": (lambda m, x: x.repeat_interleave(2, dim=-2), [(2, 3)]),
    "repeat_interleave_zero": (lambda m, x: x.repeat_interleave(0, dim=0), [(2, 3)]),
    "repeat_interleave_0d": (lambda m, x: m.repeat_interleave(x, 3), [()]),
    "repeat_interleave_tensor": (lambda m, x: x.repeat_interleave(
        m.tensor([1, 0, 3]), dim=1), [(2, 3)]),
    "repeat_interleave_one_count": (lambda m, x: x.repeat_interleave(
        m.tensor([2]), dim=0), [(2, 3)]),
    "repeat_interleave_output_size": (lambda m, x: m.repeat_interleave(
        x, m.tensor([2, 1]), dim=0, output_size=3), [(2, 3)]),
    "repeat": (lambda m, x: x.repeat(2, 1, 3), [(2, 3)]),
    "repeat_zero": (lambda m, x: x.repeat(0, 2), [(2, 3)]),
    "tile_pads": (lambda m, x: m.tile(x, (2,)), [(2, 3)]),
    "tile_longer": (lambda m, x: x.tile(2, 1, 1), [(2, 3)]),
    "unfold": (lambda m, x: x.unfold(0, 2, 1), [(5,)]),
    "unfold_step": (lambda m, x: x.unfold(1, 2, 3), [(2, 7)]),
    "unfold_big_window": (lambda m, x: x.unfold(-1, 4, 1), [(2, 5)]),
    "unfold_0d": (lambda m, x: x.unfold(0, 1, 1), [()]),
    "unfold_empty_window": (lambda m, x: x.unfold(0, 0, 2), [(3,)]),
    "meshgrid_ij": (lambda m, x, y: m.meshgrid(x, y, indexing="ij"), [(2,), (3,)]),
    "meshgrid_xy": (lambda m, x, y, z: m.meshgrid([x, y, z], indexing="xy"),
                    [(2,), (3,), (4,)]),
    "meshgrid_0d": (lambda m, x, y: m.meshgrid(x, y, indexing="ij"), [(), (3,)]),
    "cartesian_prod": (lambda m, x, y: m.cartesian_prod(x, y), [(2,), (3,)]),
    "cartesian_prod_three": (lambda m, x, y, z: m.cartesian_prod(x, y, z), [(2,), (1,), (2,)]),
    "block_diag": (lambda m, x, y, z: m.block_diag(x, y, z), [(), (2,), (2, 3)]),
    "block_diag_empty_block": (lambda m, x, y: m.block_diag(x, y), [(2, 0), (1, 2)]),
    "einsum_matmul": (lambda m, x, y: m.einsum("ij,jk->ik", x, y), [(2, 3), (3, 4)]),
    "einsum_implicit": (lambda m, x, y: m.einsum("ij,jk", x, y), [(2, 3), (3, 4)]),
    "einsum_trace": (lambda m, x: m.einsum("ii", x), [(3, 3)]),
    "einsum_diagonal": (lambda m, x: m.einsum("ii->i", x), [(3, 3)]),
    "einsum_repeat_three": (lambda m, x: m.einsum("iji->j", x), [(2, 3, 2)]),
    "einsum_diag_batch": (lambda m, x: m.einsum("...ii->...i", x), [(2, 3, 3)]),
    "einsum_ellipsis_broadcast": (lambda m, x, y: m.einsum("...ij,...jk->...ik", x, y),
                                  [(5, 1, 2, 3), (4, 3, 2)]),
    "einsum_ellipsis_middle": (lambda m, x, y: m.einsum("i...j,j...->...i", x, y),
                               [(2, 4, 3), (3, 4)]),
    "einsum_ellipsis_implicit": (lambda m, x: m.einsum("b...a", x), [(2, 3, 4)]),
    "einsum_ellipsis_summed": (lambda m, x: m.einsum("ij...->ij", x), [(2, 3, 4)]),
    "einsum_size_one_broadcast": (lambda m, x, y: m.einsum("ij,ij->", x, y), [(2, 3), (1, 3)]),
    "einsum_outer_upper": (lambda m, x, y: m.einsum("Ab,a", x, y), [(2, 3), (4,)]),
    "einsum_diag_times": (lambda m, x, y: m.einsum("iij,j->i", x, y), [(2, 2, 3), (3,)]),
    "einsum_sublist": (lambda m, x, y: m.einsum(x, [0, 1], y, [1, 2], [0, 2]),
                       [(2, 3), (3, 4)]),
    "einsum_sublist_ellipsis": (lambda m, x, y: m.einsum(x, [Ellipsis, 1], y, [1, 2]),
                                [(2, 3), (3, 4)]),
    "cdist": (lambda m, x, y: m.cdist(x, y), [(3, 2), (4, 2)]),
    "cdist_batched": (lambda m, x, y: m.cdist(x, y, p=1), [(2, 3, 2), (1, 4, 2)]),
    "cdist_p0": (lambda m, x, y: m.cdist(x, y, p=0), [(3, 2), (4, 2)]),
    "cdist_half": (lambda m, x, y: m.cdist(x, y, p=0.5), [(3, 2), (4, 2)]),
    "cdist_p15": (lambda m, x, y: m.cdist(x, y, p=1.5), [(3, 2), (4, 2)]),
    "cdist_p3": (lambda m, x, y: m.cdist(x, y, p=3), [(3, 2), (4, 2)]),
    "cdist_inf": (lambda m, x, y: m.cdist(x, y, p=float("inf")), [(3, 2), (4, 2)]),
    "cdist_mm": (lambda m, x, y: m.cdist(x, y, compute_mode="use_mm_for_euclid_dist"),
                 [(3, 2), (4, 2)]),
    "cdist_mm_auto": (lambda m, x, y: m.cdist(x, y), [(30, 3), (4, 3)]),
    "cdist_no_mm": (lambda m, x, y: m.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist"),
                    [(30, 3), (4, 3)]),
    "cdist_empty": (lambda m, x, y: m.cdist(x, y), [(0, 2), (3, 2)]),
    "cdist_no_columns": (lambda m, x, y: m.cdist(x, y), [(2, 0), (3, 0)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(torch, name):
    fn, shapes = CASES[name]
    compare_with_torch(torch, fn, shapes)


INTEGER_CASES = ["tril", "triu_pos", "diag_vector", "diag_matrix", "diagonal", "diag_embed",
                 "trace", "roll_dims", "rot90", "movedim", "narrow", "tensor_split_sections",
                 "hstack", "vstack", "dstack", "column_stack", "repeat_interleave_tensor",
                 "repeat", "unfold", "meshgrid_xy", "cartesian_prod", "block_diag",
                 "einsum_trace", "einsum_matmul"]


@pytest.mark.parametrize("name", INTEGER_CASES)
def test_integer_inputs_keep_torch_dtypes(torch, name):
    fn, shapes = CASES[name]
    compare_with_torch(torch, fn, shapes, dtype=np.int64, grad=False)


def test_promotion_in_joins_matches_torch(torch):
    for fn in (lambda m, a, b: m.hstack([a, b]), lambda m, a, b: m.block_diag(a, b),
               lambda m, a, b: m.column_stack([a, b]), lambda m, a, b: m.dstack([a, b])):
        a, b = np.arange(3), np.ones(3, dtype=np.float32)
        got = fn(chainrule, chainrule.tensor(a), chainrule.tensor(b))
        expected = fn(torch, torch.tensor(a), torch.tensor(b))
        assert got.dtype == expected.numpy().dtype
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_cdist_at_zero_distance_and_ties_matches_torch(torch):
    a = [[0.0, 1.0, 2.0], [1.0, 1.0, 1.0], [2.0, -1.0, 3.0]]
    b = [[0.0, 1.0, 2.0], [1.0, 3.0, 1.5], [0.0, -1.0, 4.0], [1.0, 1.0, 1.0]]
    for p in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, float("inf")):
        for mode in ("use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
            compare_with_torch(torch, lambda m, x, y: m.cdist(
                m.tensor(a, dtype=x.dtype) + 0 * x, m.tensor(b, dtype=y.dtype) + 0 * y, p=p,
                compute_mode=mode), [(3, 3), (4, 3)])
            x1 = chainrule.tensor(a, dtype="float64", requires_grad=True)
            x2 = chainrule.tensor(b, dtype="float64", requires_grad=True)
            t1 = torch.tensor(a, dtype=torch.float64, requires_grad=True)
            t2 = torch.tensor(b, dtype=torch.float64, requires_grad=True)
            chainrule.cdist(x1, x2, p=p, compute_mode=mode).sum().backward()
            torch.cdist(t1, t2, p=p, compute_mode=mode).sum().backward()
            np.testing.assert_allclose(x1.grad.numpy(), t1.grad.numpy(), atol=1e-12)
            np.testing.assert_allclose(x2.grad.numpy(), t2.grad.numpy(), atol=1e-12)


# ---------------------------------------------------------------- gradcheck over drawn shapes

@SETTINGS
@given(shape=array_shapes(min_dims=2, max_dims=3, max_side=4), k=st.integers(-3, 3),
       upper=st.booleans(), seed=st.integers(0, 50))
def test_tril_triu_gradcheck(shape, k, upper, seed):
    fn = chainrule.triu if upper else chainrule.tril
    check(lambda t: fn(t, k) ** 2, make(shape, seed))


@SETTINGS
@given(shape=array_shapes(min_dims=2, max_dims=3, max_side=4), data=st.data())
def test_diagonal_and_diag_embed_gradcheck(shape, data):
    ndim = len(shape)
    d1, d2 = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=2, max_size=2)
                       .filter(lambda d: d[0] % ndim != d[1] % ndim))
    offset = data.draw(st.integers(-3, 3))
    check(lambda t: t.diagonal(offset, d1, d2) ** 2, make(shape, 1))
    e1, e2 = data.draw(st.lists(st.integers(-ndim - 1, ndim), min_size=2, max_size=2)
                       .filter(lambda d: d[0] % (ndim + 1) != d[1] % (ndim + 1)))
    check(lambda t: chainrule.diag_embed(t, offset, e1, e2) ** 2, make(shape, 2))


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_roll_movedim_narrow_unfold_gradcheck(shape, data):
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    shift = data.draw(st.integers(-6, 6))
    weights = make(shape, 5, requires_grad=False)
    check(lambda t: t.roll(shift, dim) * weights, make(shape, 3))
    target = data.draw(st.integers(-ndim, ndim - 1))
    check(lambda t: t.movedim(dim, target) ** 2, make(shape, 4))
    n = shape[dim]
    start = data.draw(st.integers(-n, n))
    length = data.draw(st.integers(0, n - (start % n if start < 0 else start)))
    check(lambda t: t.narrow(dim, start, length) ** 2, make(shape, 6))
    size = data.draw(st.integers(0, n))
    step = data.draw(st.integers(1, 3))
    check(lambda t: t.unfold(dim, size, step) ** 2, make(shape, 7))


@SETTINGS
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=3), data=st.data())
def test_repeat_interleave_and_repeat_gradcheck(shape, data):
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    counts = data.draw(st.lists(st.integers(0, 3), min_size=shape[dim], max_size=shape[dim]))
    check(lambda t: t.repeat_interleave(chainrule.tensor(counts), dim=dim) ** 2, make(shape, 8))
    r = data.draw(st.integers(0, 3))
    check(lambda t: t.repeat_interleave(r) ** 2, make(shape, 9))
    reps = data.draw(st.lists(st.integers(1, 2), min_size=ndim, max_size=ndim + 1))
    check(lambda t: t.repeat(*reps) ** 2, make(shape, 10))


@SETTINGS
@given(p=st.sampled_from([1.0, 1.5, 2.0, 3.0, float("inf"), 0.7]), rows=st.integers(1, 3),
       others=st.integers(1, 3), width=st.integers(1, 3), mm=st.booleans(),
       batch=st.sampled_from([(), (2,)]), seed=st.integers(0, 50))
def test_cdist_gradcheck(p, rows, others, width, mm, batch, seed):
    mode = "use_mm_for_euclid_dist" if mm else "donot_use_mm_for_euclid_dist"
    x1, x2 = make(batch + (rows, width), seed), make((others, width), seed + 1)
    second = p not in (1.0, float("inf"))        # piecewise linear: no curvature to check
    check(lambda a, b: chainrule.cdist(a, b, p=p, compute_mode=mode), x1, x2, second=second)


EINSUM_SPECS = [("ij,jk->ik", [(2, 3), (3, 2)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
                ("...ij,...jk", [(2, 2, 3), (3, 2)]), ("iij,j->i", [(2, 2, 3), (3,)]),
                ("bi,bi->b", [(2, 3), (1, 3)]), ("i,j->ij", [(2,), (3,)]),
                ("i...->...", [(2, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)])]


@pytest.mark.parametrize("spec, shapes", EINSUM_SPECS)
def test_einsum_gradcheck(spec, shapes):
    check(lambda *t: chainrule.einsum(spec, *t), *[make(s, i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("name", ["rot90_k3_dims", "meshgrid_xy", "cartesian_prod",
                                  "block_diag", "hstack_2d", "column_stack", "atleast_3d",
                                  "tensor_split_indices", "unbind", "diag_matrix", "trace"])
def test_compositions_gradcheck(name):
    fn, shapes = CASES[name]

    def scalar(*t):
        return sum((out ** 2).sum() for out in _outputs(fn(chainrule, *t)) if out.numel())
    check(scalar, *[make(s, i) for i, s in enumerate(shapes)])


# ---------------------------------------------------------------- views and in-place changes

VIEWS = {
    "diagonal": lambda x: x.diagonal(1),
    "diagonal_dims": lambda x: x.diagonal(0, 2, 0),
    "narrow": lambda x: x.narrow(1, 1, 2),
    "select": lambda x: x.select(0, 1),
    "unbind": lambda x: x.unbind(1)[2],
    "unfold": lambda x: x.unfold(2, 2, 2),
    "movedim": lambda x: x.movedim(0, -1),
    "moveaxis_tuple": lambda x: x.moveaxis((0, 1), (1, 2)),
    "split_piece": lambda x: x.split([1, 2], dim=1)[1],
    "tensor_split_piece": lambda x: x.tensor_split(2, dim=2)[0],
    "hsplit_piece": lambda x: x.hsplit([1])[1],
    "unflatten": lambda x: x.unflatten(2, (2, 2)),
    "swapdims": lambda x: x.swapdims(0, 1),
}


# PyTorch refuses in-place changes of the pieces of multi-view ops (split, unbind) while
# recording; chainrule's pieces are plain slices, so they compare with torch's slices
TORCH_EQUIVALENT = {"unbind": lambda x: x[:, 2], "split_piece": lambda x: x[:, 1:]}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_inplace_change_through_a_view_matches_torch(torch, name):
    view_fn = VIEWS[name]
    torch_view_fn = TORCH_EQUIVALENT.get(name, view_fn)
    data, weights = _data((2, 3, 4), 0), _data((2, 3, 4), 1)
    leaf, torch_leaf = chainrule.tensor(data, requires_grad=True), torch.tensor(
        data, requires_grad=True)
    base, torch_base = leaf * 2.0, torch_leaf * 2.0
    view, torch_view = view_fn(base), torch_view_fn(torch_base)
    assert view._base is base and torch_view._base is torch_base
    version = base._version
    view.mul_(3.0).add_(1.0)
    torch_view.mul_(3.0).add_(1.0)
    assert base._version > version and view._version == base._version
    np.testing.assert_allclose(base.detach().numpy(), torch_base.detach().numpy())
    np.testing.assert_allclose(view.detach().numpy(), torch_view.detach().numpy())
    (base * chainrule.tensor(weights)).sum().backward()
    (torch_base * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), torch_leaf.grad.numpy())


def test_views_share_memory_without_grad():
    x = chainrule.arange(12.0).reshape(3, 4)
    x.diagonal().fill_(-1.0)
    x.narrow(0, 2, 1).zero_()
    x.unbind(1)[3].add_(100.0)
    assert x.tolist() == [[-1.0, 1.0, 2.0, 103.0], [4.0, -1.0, 6.0, 107.0],
                          [0.0, 0.0, 0.0, 100.0]]
    windows = chainrule.arange(6.0).unfold(0, 2, 2)
    windows[1, 0] = 50.0
    assert windows._base.tolist() == [0.0, 1.0, 50.0, 3.0, 4.0, 5.0]


def test_overlapping_views_cannot_be_changed_in_place():
    x = chainrule.arange(5.0)
    with pytest.raises(ReadOnlyError):
        x.unfold(0, 3, 1).mul_(2.0)
    grid, _ = chainrule.meshgrid(chainrule.arange(2.0), chainrule.arange(3.0))
    with pytest.raises(ReadOnlyError):
        grid.add_(1.0)


def test_tril_triu_in_place_match_torch(torch):
    data = _data((3, 4), 0)
    for name, k in (("tril_", 0), ("triu_", 1), ("tril_", -1)):
        x, t = chainrule.tensor(data), torch.tensor(data)
        getattr(x, name)(k)
        getattr(t, name)(k)
        np.testing.assert_array_equal(x.numpy(), t.numpy())
    leaf, torch_leaf = chainrule.tensor(data, requires_grad=True), torch.tensor(
        data, requires_grad=True)
    y, ty = leaf * 1.0, torch_leaf * 1.0
    y.triu_(1)
    ty.triu_(1)
    (y ** 2).sum().backward()
    (ty ** 2).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), torch_leaf.grad.numpy())


def test_broadcast_shapes_matches_torch(torch):
    for shapes in [((2, 1), (3,), 1), ((),), ((0, 1), (1, 4)), ()]:
        assert chainrule.broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes))
    with pytest.raises(ShapeError):
        chainrule.broadcast_shapes((2,), (3,))


def test_diag_is_a_copy_and_diagonal_a_view():
    x = chainrule.arange(4.0).reshape(2, 2)
    copy, view = chainrule.diag(x), x.diagonal()
    x.add_(10.0)
    assert copy.tolist() == [0.0, 3.0] and view.tolist() == [10.0, 13.0]


# ---------------------------------------------------------------- errors

ERRORS = [
    (lambda: chainrule.tril(chainrule.ones(3)), ShapeError, "at least 2 dimensions"),
    (lambda: chainrule.tril(chainrule.ones(2, 2), 1.5), ArgumentTypeError, "diagonal"),
    (lambda: chainrule.diagonal(chainrule.ones(2, 2), 0, 1, 1), ShapeError, "identical"),
    (lambda: chainrule.diagonal(chainrule.ones(2, 2), 0, 0, 2), ShapeError, "out of range"),
    (lambda: chainrule.diag(chainrule.ones(2, 2, 2)), ShapeError, "1-D or 2-D"),
    (lambda: chainrule.trace(chainrule.ones(2, 2, 2)), ShapeError, "matrix"),
    (lambda: chainrule.trace(chainrule.ones(2, 2, dtype=bool)), DTypeError, "bool"),
    (lambda: chainrule.roll(chainrule.ones(2, 3), (1, 2), 0), ShapeError, "align"),
    (lambda: chainrule.roll(chainrule.ones(2, 3), (1, 2)), ShapeError, "align"),
    (lambda: chainrule.rot90(chainrule.ones(2, 3), 1, [0, 0]), ShapeError, "different"),
    (lambda: chainrule.rot90(chainrule.ones(3)), ShapeError, "dims >= 2"),
    (lambda: chainrule.movedim(chainrule.ones(2, 3), (0, 0), (1, 0)), ShapeError, "repeated"),
    (lambda: chainrule.movedim(chainrule.ones(2, 3), (0, 1), 1), ShapeError, "same number"),
    (lambda: chainrule.unflatten(chainrule.ones(2, 12), 1, (5, -1)), ShapeError, "multiply"),
    (lambda: chainrule.unflatten(chainrule.ones(2, 12), 1, ()), ShapeError, "non-empty"),
    (lambda: chainrule.narrow(chainrule.ones(6), 0, 5, 2), ShapeError, "exceeds"),
    (lambda: chainrule.narrow(chainrule.ones(6), 0, -7, 1), IndexOutOfRangeError, "start"),
    (lambda: chainrule.narrow(chainrule.ones(6), 0, 1, -1), ArgumentError, "non-negative"),
    (lambda: chainrule.select(chainrule.ones(2, 3), 1, 3), IndexOutOfRangeError, "out of range"),
    (lambda: chainrule.tensor_split(chainrule.ones(7), 0), ArgumentError, "larger than 0"),
    (lambda: chainrule.split(chainrule.ones(3), 0), ArgumentError, "positive"),
    (lambda: chainrule.split(chainrule.ones(3), [2, -1, 2]), ShapeError, "non-negative"),
    (lambda: chainrule.chunk(chainrule.ones(3), 0), ArgumentError, "greater than 0"),
    (lambda: chainrule.hsplit(chainrule.ones(2, 4), 3), ShapeError, "divisible"),
    (lambda: chainrule.vsplit(chainrule.ones(4), 2), ShapeError, "at least 2 dimensions"),
    (lambda: chainrule.ones(2, 3).repeat(2), ShapeError, "can not be smaller"),
    (lambda: chainrule.ones(3).unfold(0, 4, 1), ShapeError, "maximum size"),
    (lambda: chainrule.ones(3).unfold(0, 2, 0), ArgumentError, "must be > 0"),
    (lambda: chainrule.repeat_interleave(chainrule.ones(3), -1), ArgumentError, "non-negative"),
    (lambda: chainrule.repeat_interleave(chainrule.ones(3), chainrule.tensor([1, 2]), dim=0),
     ShapeError, "same size"),
    (lambda: chainrule.repeat_interleave(chainrule.ones(3), chainrule.tensor([1, -1, 1])),
     ArgumentError, "negative"),
    (lambda: chainrule.repeat_interleave(chainrule.ones(2), 2, output_size=5), ShapeError,
     "output_size"),
    (lambda: chainrule.meshgrid(chainrule.ones(2, 2)), ShapeError, "1-D"),
    (lambda: chainrule.meshgrid(chainrule.ones(2), chainrule.arange(3)), DTypeError, "dtype"),
    (lambda: chainrule.meshgrid(chainrule.ones(2), indexing="foo"), ArgumentError, "indexing"),
    (lambda: chainrule.cartesian_prod(chainrule.ones(2, 2)), ShapeError, "1-D"),
    (lambda: chainrule.block_diag(chainrule.ones(2, 2, 2)), ShapeError, "2 or fewer"),
    (lambda: chainrule.cdist(chainrule.ones(3), chainrule.ones(2, 3)), ShapeError, "2-D"),
    (lambda: chainrule.cdist(chainrule.ones(2, 3), chainrule.ones(2, 4)), ShapeError,
     "columns"),
    (lambda: chainrule.cdist(chainrule.ones(2, 3, dtype="int64"),
                             chainrule.ones(2, 3, dtype="int64")), DTypeError, "floating"),
    (lambda: chainrule.cdist(chainrule.ones(2, 3), chainrule.ones(2, 3, dtype="float64")),
     DTypeError, "same dtype"),
    (lambda: chainrule.cdist(chainrule.ones(2, 3), chainrule.ones(2, 3), p=-1), ArgumentError,
     "non-negative"),
    (lambda: chainrule.cdist(chainrule.ones(2, 3), chainrule.ones(2, 3), compute_mode="x"),
     ArgumentError, "compute_mode"),
    (lambda: chainrule.cdist(chainrule.ones(2, 1, 3), chainrule.ones(4, 5, 3)), ShapeError,
     "batch"),
    (lambda: chainrule.einsum("ii->i", chainrule.ones(2, 3)), ShapeError, "repeated"),
    (lambda: chainrule.einsum("i,i->ii", chainrule.ones(2), chainrule.ones(2)), ArgumentError,
     "more than once"),
    (lambda: chainrule.einsum("i->j", chainrule.ones(2)), ArgumentError, "does not appear"),
    (lambda: chainrule.einsum("ij->ij", chainrule.ones(2)), ShapeError, "no ellipsis"),
    (lambda: chainrule.einsum("a.b", chainrule.ones(2, 2)), ArgumentError, "ellipsis"),
    (lambda: chainrule.einsum("i1", chainrule.ones(2, 2)), ArgumentError, "a-zA-Z"),
    (lambda: chainrule.einsum("ij,jk", chainrule.ones(2, 3), chainrule.ones(4, 2)), ShapeError,
     "size"),
    (lambda: chainrule.einsum("ij", chainrule.ones(2, 3), chainrule.ones(3)), ArgumentError,
     "operands"),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_bad_arguments_raise_chainrule_errors(index):
    fn, error, message = ERRORS[index]
    with pytest.raises(error, match=message):
        fn()


# ---------------------------------------------------------------- ONNX

def test_onnx_round_trip_of_shape_ops(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

    class Model(chainrule.nn.Module):
        def forward(self, x):
            y = chainrule.tril(x, -1) + chainrule.triu(x, 1) * 2.0
            y = y.flip(-1).roll((1, -2), (0, 2)).movedim(1, 2)
            y = y.repeat(1, 2, 1).unflatten(1, (2, -1))
            z = chainrule.einsum("bcij,bcjk->bcik", y, y.transpose(-1, -2))
            return chainrule.hstack([z.flatten(1), x.repeat_interleave(2, dim=2).flatten(1)])

    model = Model()
    x = chainrule.randn(2, 3, 4)
    path = chainrule.onnx.export(model, x, str(tmp_path / "shape.onnx"), dynamic_batch=False)
    session = ort.InferenceSession(path)
    got = session.run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-5, atol=1e-5)
