"""The fast convolution and pooling paths against a plain reference (float64, to 1e-12) and
against PyTorch, over random geometries and memory layouts; gradcheck and gradgradcheck on
every im2col path."""
import contextlib

import numpy as np
import pytest
from hypothesis import assume, event, given, settings, strategies as st

import chainrule
from chainrule.nn import functional as F
from chainrule.ops import conv
from chainrule.ops.conv import ConvGeometry, _padding
from chainrule.ops.pool import PoolGeometry
from tests.helpers import check, make

EXACT = dict(rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- the reference

def reference_conv(x, w, b, stride, padding, dilation, groups):
    """conv2d by its definition: for each kernel offset, the shifted input times that tap of
    the weight, summed (padding: (top, bottom, left, right))."""
    n, c, h, width = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw), (top, bottom, left, right) = stride, dilation, padding
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (width + left + right - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    y = np.zeros((n, o, oh, ow))
    for i in range(kh):
        for j in range(kw):
            tap = padded[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                         j * dw:j * dw + sw * (ow - 1) + 1:sw]
            for g in range(groups):
                y[:, g * og:(g + 1) * og] += np.einsum(
                    "nchw,oc->nohw", tap[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og, :, i, j])
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def reference_grads(x, w, r, stride, padding, dilation, groups, x_hw=None):
    """The gradients of sum(conv(x, w, b) * r) in x, w and b, by the adjoint definitions.
    ``x_hw`` sets the input size (a transposed convolution with output_padding)."""
    n, c, h, width = x.shape if x_hw is None else (r.shape[0], w.shape[1] * groups) + x_hw
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw), (top, bottom, left, right) = stride, dilation, padding
    oh, ow = r.shape[2:]
    og = o // groups
    gpad = np.zeros((n, c, h + top + bottom, width + left + right))
    gw = np.zeros(w.shape)
    padded = None if x is None else np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            for g in range(groups):
                part = r[:, g * og:(g + 1) * og]
                gpad[:, g * cg:(g + 1) * cg, rows, cols] += np.einsum(
                    "nohw,oc->nchw", part, w[g * og:(g + 1) * og, :, i, j])
                if padded is not None:
                    gw[g * og:(g + 1) * og, :, i, j] = np.einsum(
                        "nohw,nchw->oc", part, padded[:, g * cg:(g + 1) * cg, rows, cols])
    gx = gpad[:, :, top:top + h, left:left + width]
    return gx, gw, r.sum(axis=(0, 2, 3))


# ---------------------------------------------------------------- layouts

def laid_out(array, layout):
    """The same values in another memory layout: NCHW, channel-major (CNHW, as convolutions
    produce), channels-last (NHWC) or strided (every other element of a wider array)."""
    if layout == "nchw":
        return np.ascontiguousarray(array)
    if layout == "channel_major":
        return np.ascontiguousarray(array.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    if layout == "channels_last":
        return np.ascontiguousarray(array.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],))
    wide[..., ::2] = array
    return wide[..., ::2]


LAYOUTS = ["nchw", "channel_major", "channels_last", "strided"]


@st.composite
def geometries(draw, paths=("pointwise", "flat", "patches", "windows")):
    """Geometries that reach every im2col path: pointwise (1x1), flat (stride 1), patches
    (stride = kernel) and phased (any other stride; "windows" draws them: its exact form
    is what the phased path falls back to for inf and nan)."""
    path = draw(st.sampled_from(paths))
    groups = draw(st.sampled_from([1, 2, 3]))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    if path == "pointwise":
        kernel, stride, dilation, padding = (1, 1), draw(st.sampled_from([(1, 1), (2, 2), (1, 3)])), \
            (1, 1), 0
    elif path == "flat":
        kernel = (draw(st.integers(1, 4)), draw(st.integers(2, 4)))
        stride, dilation = (1, 1), (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        padding = draw(st.sampled_from([0, 1, 2, (0, 2), "same"]))
    elif path == "patches":
        kernel = (draw(st.integers(1, 3)), draw(st.integers(2, 3)))
        stride, dilation, padding = kernel, (1, 1), 0
    else:
        kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        stride = (draw(st.integers(1, 3)), draw(st.integers(2, 3)))
        dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        padding = draw(st.sampled_from([0, 1, (2, 1)]))
    span_h, span_w = dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1
    h, w = draw(st.integers(span_h, span_h + 6)), draw(st.integers(span_w, span_w + 6))
    n = draw(st.integers(1, 3))
    return dict(x_shape=(n, c_in, h, w), w_shape=(c_out, c_in // groups) + kernel,
                stride=stride, padding=padding, dilation=dilation, groups=groups,
                bias=draw(st.booleans()), layout=draw(st.sampled_from(LAYOUTS)), path=path)


def _arrays(case, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["x_shape"])
    w = rng.standard_normal(case["w_shape"])
    b = rng.standard_normal(case["w_shape"][0]) if case["bias"] else None
    return x, w, b


def _padding4(case):
    return _padding(case["padding"], case["w_shape"][2:], case["dilation"], case["stride"])


@settings(max_examples=30, deadline=None)
@given(case=geometries(), seed=st.integers(0, 1000))
def test_conv2d_values_and_gradients_match_the_reference(case, seed):
    x, w, b = _arrays(case, seed)
    geometry = ConvGeometry(case["stride"], _padding4(case), case["dilation"], case["groups"])
    event(geometry.path(*case["w_shape"][2:]))          # the drawn path, or a simpler one
    xt = chainrule.tensor(laid_out(x, case["layout"]), requires_grad=True)
    wt = chainrule.tensor(w, requires_grad=True)
    bt = None if b is None else chainrule.tensor(b, requires_grad=True)
    y = F.conv2d(xt, wt, bt, case["stride"], case["padding"], case["dilation"], case["groups"])
    args = (case["stride"], _padding4(case), case["dilation"], case["groups"])
    expected = reference_conv(x, w, b, *args)
    np.testing.assert_allclose(y.numpy(), expected, **EXACT)
    r = np.random.default_rng(seed + 1).standard_normal(expected.shape)
    y.backward(chainrule.tensor(laid_out(r, case["layout"])))
    gx, gw, gb = reference_grads(x, w, r, *args)
    np.testing.assert_allclose(xt.grad.numpy(), gx, **EXACT)
    np.testing.assert_allclose(wt.grad.numpy(), gw, **EXACT)
    if b is not None:
        np.testing.assert_allclose(bt.grad.numpy(), gb, **EXACT)


@settings(max_examples=30, deadline=None)
@given(case=geometries(), seed=st.integers(0, 1000), extra=st.integers(0, 2))
def test_conv_transpose2d_matches_the_reference_adjoint(case, seed, extra):
    if case["padding"] == "same" or case["padding"] == (0, 2):
        case["padding"] = 1
    if not isinstance(case["padding"], int):
        case["padding"] = case["padding"][0]
    x, w, _ = _arrays(case, seed)
    args = (case["stride"], _padding4(case), case["dilation"], case["groups"])
    g = reference_conv(x, w, None, *args)                 # an input of the right size
    output_padding = tuple(min(extra, max(s, d) - 1) for s, d in zip(case["stride"],
                                                                      case["dilation"]))
    # a padding wider than the kernel's reach can leave no output at all (torch refuses too)
    assume(all((n - 1) * s - 2 * case["padding"] + d * (k - 1) + p + 1 >= 1 for n, s, d, k, p in
               zip(g.shape[2:], case["stride"], case["dilation"], w.shape[2:], output_padding)))
    # conv_transpose2d's weight (C_in, C_out / groups, kh, kw) is conv2d's weight itself
    ours = F.conv_transpose2d(chainrule.tensor(laid_out(g, case["layout"])), chainrule.tensor(w),
                              None, case["stride"], case["padding"], output_padding,
                              case["groups"], case["dilation"])
    gx, _, _ = reference_grads(None, w, g, *args, x_hw=tuple(ours.shape[2:]))
    np.testing.assert_allclose(ours.numpy(), gx, **EXACT)


@pytest.mark.torch
@settings(max_examples=20, deadline=None)
@given(case=geometries(), seed=st.integers(0, 1000))
def test_conv2d_matches_pytorch(case, seed):
    torch = pytest.importorskip("torch")
    x, w, b = _arrays(case, seed)
    ours = [chainrule.tensor(laid_out(x, case["layout"]), requires_grad=True),
            chainrule.tensor(w, requires_grad=True)]
    theirs = [torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)]
    if b is not None:
        ours.append(chainrule.tensor(b, requires_grad=True))
        theirs.append(torch.tensor(b, requires_grad=True))
    options = (case["stride"], case["padding"], case["dilation"], case["groups"])
    y = F.conv2d(ours[0], ours[1], ours[2] if b is not None else None, *options)
    ty = torch.nn.functional.conv2d(theirs[0], theirs[1], theirs[2] if b is not None else None,
                                    *options)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    r = np.random.default_rng(seed).standard_normal(ty.shape)
    y.backward(chainrule.tensor(r))
    ty.backward(torch.tensor(r))
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("chunk_bytes, keep_bytes", [(1, 0), (3000, 0), (1, 1 << 30)])
@settings(max_examples=15, deadline=None)
@given(case=geometries(), seed=st.integers(0, 1000))
def test_chunked_batches_give_the_same_values_and_gradients(case, seed, chunk_bytes,
                                                            keep_bytes):
    """One image per chunk (or a few: the weight gradient rebuilds the matrix chunk by
    chunk), or the whole batch as one chunk however large (its matrix kept): the same values
    and gradients."""
    previous = conv.CHUNK_BYTES, conv.WHOLE_BYTES
    conv.CHUNK_BYTES, conv.WHOLE_BYTES = chunk_bytes, keep_bytes
    try:
        test_conv2d_values_and_gradients_match_the_reference.hypothesis.inner_test(case, seed)
    finally:
        conv.CHUNK_BYTES, conv.WHOLE_BYTES = previous


@pytest.mark.parametrize("keep_bytes, kept", [(1 << 30, True), (0, False)])
def test_the_forward_keeps_the_whole_im2col_matrix_only_up_to_whole_bytes(keep_bytes, kept):
    """Up to WHOLE_BYTES the batch is one chunk and the weight gradient reuses the forward's
    matrix (one long product); over it, the matrix is rebuilt chunk by chunk; both give the
    reference's gradients."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((5, 3, 7, 6)), rng.standard_normal((16, 3, 3, 3))
    previous = conv.CHUNK_BYTES, conv.WHOLE_BYTES
    conv.CHUNK_BYTES, conv.WHOLE_BYTES = 1, keep_bytes          # several chunks when rebuilt
    try:
        xt, wt = chainrule.tensor(x, requires_grad=True), chainrule.tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt, padding=1)
        cols = y.grad_fn._saved[2]
        assert (cols is not None) == kept
        if kept:        # the whole batch's matrix: K = 3 * 3 * 3 rows, a column per position
            assert cols.shape[:2] == (1, 27) and cols.shape[2] >= 5 * 7 * 6
        r = rng.standard_normal(y.shape)
        y.backward(chainrule.tensor(r))
        grads = reference_grads(x, w, r, (1, 1), (1, 1, 1, 1), (1, 1), 1)
        np.testing.assert_allclose(xt.grad.numpy(), grads[0], **EXACT)
        np.testing.assert_allclose(wt.grad.numpy(), grads[1], **EXACT)
    finally:
        conv.CHUNK_BYTES, conv.WHOLE_BYTES = previous


@pytest.mark.parametrize("kernel, stride, padding, dilation, groups", [
    ((1, 1), 1, 0, 1, 1),          # pointwise, the input itself
    ((1, 1), 2, 0, 1, 2),          # pointwise, strided
    ((3, 2), 1, (1, 0), (1, 2), 1),  # flat
    ((2, 2), 2, 0, 1, 1),          # patches
    ((3, 3), (2, 1), 1, 1, 2),     # phased
])
def test_each_path_passes_gradcheck_and_gradgradcheck(kernel, stride, padding, dilation, groups):
    x = make((2, 2 * groups, 5, 6), 0)
    w = make((2 * groups, 2) + kernel, 1)
    b = make((2 * groups,), 2)
    check(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), x, w, b)


@pytest.mark.parametrize("layer", [
    lambda x: F.conv2d(x, chainrule.randn(5, 3, 3, 3), chainrule.randn(5), padding=1),
    lambda x: F.conv2d(x, chainrule.randn(4, 3, 1, 1), stride=2),
    lambda x: F.conv_transpose2d(x, chainrule.randn(3, 2, 2, 2), stride=2),
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.avg_pool2d(x, 3, 2, 1),
    lambda x: F.batch_norm(x, None, None, training=True),
])
def test_outputs_are_contiguous_as_in_pytorch_so_view_works(layer):
    """The classic ``x.view(x.size(0), -1)`` after a layer (PyTorch's outputs are contiguous)."""
    x = chainrule.tensor(laid_out(np.random.default_rng(0).standard_normal((4, 3, 8, 8)),
                                  "channels_last").astype(np.float32))
    y = layer(x)
    assert y.is_contiguous()
    assert y.view(4, -1).shape == (4, y.numel() // 4)


@pytest.mark.parametrize("x_shape, w_shape, padding, groups, out_rows", [
    ((2, 1, 12, 11), (6, 1, 5, 5), 2, 1, 12),        # LeNet's first layer: blocks of 4 rows
    ((3, 2, 9, 7), (2, 2, 3, 3), 1, 1, 9),           # 9 rows in blocks of 8: a partial block
    ((2, 4, 8, 6), (6, 2, 4, 3), (1, 0), 2, 7),      # groups, an uneven kernel
    ((1, 1, 4, 9), (3, 1, 3, 2), 0, 1, 2),           # fewer output rows than a block
])
def test_row_blocks_match_the_plain_layout_and_the_reference(x_shape, w_shape, padding, groups,
                                                             out_rows):
    """Few output channels per group: columns covering several output rows (the product's
    weight shifted per row) give the plain layout's values and gradients, chunked or not."""
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))
    geometry = ConvGeometry((1, 1), _padding(padding, w_shape[2:], (1, 1), (1, 1)), (1, 1),
                            groups)
    oh = geometry.output_size(*x_shape[2:], *w_shape[2:])[0]
    assert oh == out_rows and geometry.row_block(*w_shape[2:], w_shape[0] // groups, oh) > 1
    r = rng.standard_normal((x_shape[0], w_shape[0]) + geometry.output_size(*x_shape[2:],
                                                                            *w_shape[2:]))
    expected = reference_conv(x, w, b, (1, 1), geometry.padding, (1, 1), groups)
    grads = reference_grads(x, w, r, (1, 1), geometry.padding, (1, 1), groups)
    previous = conv.SHORT_PRODUCT, conv.CHUNK_BYTES, conv.WHOLE_BYTES
    try:
        for short, chunk, keep in ((16, 1 << 30, 0), (16, 1, 0), (16, 1, 1 << 30),
                                   (0, 1 << 30, 0)):
            conv.SHORT_PRODUCT, conv.CHUNK_BYTES, conv.WHOLE_BYTES = short, chunk, keep
            xt, wt, bt = (chainrule.tensor(a, requires_grad=True) for a in (x, w, b))
            y = F.conv2d(xt, wt, bt, 1, padding, 1, groups)
            np.testing.assert_allclose(y.numpy(), expected, **EXACT)
            y.backward(chainrule.tensor(r))
            for tensor, grad in zip((xt, wt, bt), grads):
                np.testing.assert_allclose(tensor.grad.numpy(), grad, **EXACT)
    finally:
        conv.SHORT_PRODUCT, conv.CHUNK_BYTES, conv.WHOLE_BYTES = previous


@pytest.mark.parametrize("x_shape, w_shape, padding, dilation, groups", [
    ((2, 16, 6, 5), (16, 16, 3, 3), 1, 1, 1),        # ResNet's stride-1 blocks
    ((3, 4, 7, 6), (2, 4, 3, 2), (2, 1), (1, 2), 1),  # fewer outputs, dilation
    ((2, 6, 5, 7), (6, 2, 2, 3), "same", (2, 1), 3),  # groups, uneven "same" padding
])
def test_both_gradients_from_one_im2col_match_the_reference(x_shape, w_shape, padding, dilation,
                                                            groups):
    """The input gradient as a convolution of g, and the weight gradient from the same
    im2col matrix of g (not a second one of x): the reference's values, and what backward
    gives (it takes this path when nothing is recorded)."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    dilation = (dilation, dilation) if isinstance(dilation, int) else dilation
    pads = _padding(padding, w_shape[2:], dilation, (1, 1))
    geometry = ConvGeometry((1, 1), pads, dilation, groups)
    r = rng.standard_normal((x_shape[0], w_shape[0]) + geometry.output_size(*x_shape[2:],
                                                                            *w_shape[2:]))
    expected_gx, expected_gw, _ = reference_grads(x, w, r, (1, 1), pads, dilation, groups)
    previous, conv.SHORT_PRODUCT = conv.SHORT_PRODUCT, 0
    try:
        gx, gw = conv._both_gradients(geometry, laid_out(r, "channels_last"), w,
                                      laid_out(x, "strided"))
        np.testing.assert_allclose(gx, expected_gx, **EXACT)
        np.testing.assert_allclose(gw, expected_gw, **EXACT)
        xt, wt = chainrule.tensor(x, requires_grad=True), chainrule.tensor(w, requires_grad=True)
        F.conv2d(xt, wt, None, 1, padding, dilation, groups).backward(chainrule.tensor(r))
        np.testing.assert_allclose(xt.grad.numpy(), expected_gx, **EXACT)
        np.testing.assert_allclose(wt.grad.numpy(), expected_gw, **EXACT)
    finally:
        conv.SHORT_PRODUCT = previous


def test_row_blocked_convolution_passes_gradcheck_and_gradgradcheck():
    x, w, b = make((2, 1, 7, 6), 0), make((3, 1, 3, 3), 1), make((3,), 2)
    assert ConvGeometry((1, 1), (1, 1, 1, 1), (1, 1), 1).row_block(3, 3, 3, 7) == 7
    check(lambda x, w, b: F.conv2d(x, w, b, 1, 1), x, w, b)


def test_conv2d_rejects_mismatched_dtypes_and_bias_shapes():
    x = chainrule.randn(1, 2, 5, 5)
    with pytest.raises(chainrule.DTypeError, match="conv2d.*float32.*float64"):
        F.conv2d(x, chainrule.randn(3, 2, 3, 3).double())
    with pytest.raises(chainrule.ShapeError, match="bias"):
        F.conv2d(x, chainrule.randn(3, 2, 3, 3), chainrule.randn(4))


# ---------------------------------------------------------------- pooling

def reference_pool(x, kernel, stride, padding, kind):
    """Each window's max (PyTorch's tie and NaN rule for the gradient position) or mean."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    fill = -np.inf if kind == "max" else 0.0
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (padded.shape[2] - kh) // sh + 1, (padded.shape[3] - kw) // sw + 1
    n, c = x.shape[:2]
    y = np.zeros((n, c, oh, ow))
    chosen = np.zeros((n, c, oh, ow, 2), dtype=int)
    for index in np.ndindex(n, c, oh, ow):
        a, b, i, j = index
        window = padded[a, b, i * sh:i * sh + kh, j * sw:j * sw + kw]
        if kind == "mean":
            y[index] = window.sum() / (kh * kw)
            continue
        flat = window.ravel()
        nan = np.flatnonzero(np.isnan(flat))
        pick = nan[-1] if nan.size else int(np.argmax(flat))   # last NaN, else first max
        y[index] = flat[pick]
        chosen[index] = (i * sh + pick // kw - ph, j * sw + pick % kw - pw)
    return y, chosen


def reference_pool_grad(x_shape, r, chosen, kernel, stride, padding, kind):
    gx = np.zeros(x_shape)
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    padded = np.zeros((x_shape[0], x_shape[1], x_shape[2] + 2 * ph, x_shape[3] + 2 * pw))
    for index in np.ndindex(r.shape):
        a, b, i, j = index
        if kind == "max":
            gx[a, b, chosen[index][0], chosen[index][1]] += r[index]
        else:
            padded[a, b, i * sh:i * sh + kh, j * sw:j * sw + kw] += r[index] / (kh * kw)
    return gx if kind == "max" else padded[:, :, ph:ph + x_shape[2], pw:pw + x_shape[3]]


@st.composite
def pool_cases(draw):
    kind = draw(st.sampled_from(["max", "mean"]))
    tiles = draw(st.booleans())
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    if tiles:
        stride, padding = kernel, (0, 0)
    else:
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    h, w = draw(st.integers(kernel[0], 8)), draw(st.integers(kernel[1], 8))
    return dict(kind=kind, kernel=kernel, stride=stride, padding=padding,
                x_shape=(draw(st.integers(1, 3)), draw(st.integers(1, 3)), h, w),
                layout=draw(st.sampled_from(LAYOUTS)), ties=draw(st.booleans()),
                nans=draw(st.booleans()) and kind == "max")


def _pool_input(case, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["x_shape"])
    if case["ties"]:
        x = np.round(x)                        # many equal values: the tie rule matters
    if case["nans"]:
        x[rng.random(x.shape) < 0.2] = np.nan
    return x


@settings(max_examples=30, deadline=None)
@given(case=pool_cases(), seed=st.integers(0, 1000))
def test_pooling_matches_the_reference_with_ties_and_nans(case, seed):
    x = _pool_input(case, seed)
    fn = F.max_pool2d if case["kind"] == "max" else F.avg_pool2d
    xt = chainrule.tensor(laid_out(x, case["layout"]), requires_grad=True)
    y = fn(xt, case["kernel"], case["stride"], case["padding"])
    expected, chosen = reference_pool(x, case["kernel"], case["stride"], case["padding"],
                                      case["kind"])
    np.testing.assert_allclose(y.numpy(), expected, equal_nan=True, **EXACT)
    r = np.random.default_rng(seed + 1).standard_normal(expected.shape)
    y.backward(chainrule.tensor(laid_out(r, case["layout"])))
    np.testing.assert_allclose(xt.grad.numpy(), reference_pool_grad(
        x.shape, r, chosen, case["kernel"], case["stride"], case["padding"], case["kind"]),
        **EXACT)


@pytest.mark.torch
@settings(max_examples=20, deadline=None)
@given(case=pool_cases(), seed=st.integers(0, 1000))
def test_pooling_matches_pytorch_with_ties_and_nans(case, seed):
    torch = pytest.importorskip("torch")
    x = _pool_input(case, seed)
    ours = chainrule.tensor(laid_out(x, case["layout"]), requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    options = (case["kernel"], case["stride"], case["padding"])
    if case["kind"] == "max":
        y, ty = F.max_pool2d(ours, *options), torch.nn.functional.max_pool2d(theirs, *options)
    else:
        y, ty = F.avg_pool2d(ours, *options), torch.nn.functional.avg_pool2d(theirs, *options)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), equal_nan=True, rtol=1e-12,
                               atol=1e-12)
    r = np.random.default_rng(seed).standard_normal(ty.shape)
    y.backward(chainrule.tensor(r))
    ty.backward(torch.tensor(r))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 2),
    lambda x: F.max_pool2d(x, (1, 3)),
    lambda x: F.avg_pool2d(x, 2),
    lambda x: F.avg_pool2d(x, (2, 3)),
    lambda x: F.adaptive_avg_pool2d(x, 1),
    lambda x: F.adaptive_avg_pool2d(x, (2, 1)),
])
def test_tiling_pools_pass_gradcheck_and_gradgradcheck(fn):
    x = make((2, 3, 4, 7), 5)
    x._data += np.arange(x._data.size).reshape(x.shape) * 1e-3     # no exact ties for max
    check(fn, x)


def test_max_pool_gradient_ignores_nonfinite_upstream_values_elsewhere():
    x = chainrule.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    y = F.max_pool2d(x, 2)
    y.backward(chainrule.tensor([[[[np.inf, 1.0], [2.0, np.nan]]]], dtype=chainrule.float64))
    grad = x.grad.numpy()[0, 0]
    assert grad[1, 1] == np.inf and np.isnan(grad[3, 3]) and grad[3, 1] == 2.0
    assert (grad[0] == [0, 0, 0, 0]).all()            # not 0 * inf = nan


def test_adaptive_average_pool_with_uneven_bins_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 5))
    ours = F.adaptive_avg_pool2d(chainrule.tensor(x), (3, 2)).numpy()
    theirs = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), (3, 2)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_pool_geometry_tiles_only_for_kernel_equal_to_stride_without_padding():
    assert PoolGeometry((2, 2), (2, 2), (0, 0)).tiles
    assert not PoolGeometry((3, 3), (2, 2), (0, 0)).tiles
    assert not PoolGeometry((2, 2), (2, 2), (1, 1)).tiles


@contextlib.contextmanager
def _conv_settings(**values):
    """Set conv's module constants (hypothesis tests take no monkeypatch), and count the
    calls of the kernel-rows form in the list it yields."""
    previous = {name: getattr(conv, name) for name in values}
    original, taken = conv._convolve_by_kernel_rows, []

    def counted(*args):
        taken.append(1)
        return original(*args)
    for name, value in values.items():
        setattr(conv, name, value)
    conv._convolve_by_kernel_rows = counted
    try:
        yield taken
    finally:
        conv._convolve_by_kernel_rows = original
        for name, value in previous.items():
            setattr(conv, name, value)


@pytest.mark.parametrize("chunk_bytes, keep_bytes", [(1 << 30, 0), (1, 0), (3000, 0)])
@settings(max_examples=20, deadline=None)
@given(case=geometries(), seed=st.integers(0, 1000))
def test_kernel_rows_form_gives_the_reference_values_and_gradients(case, seed, chunk_bytes,
                                                                   keep_bytes):
    """Every stride-1 convolution in the kernel-rows form (the column offsets' matrix times
    the stacked kernel rows, each row's products summed at its offset): the reference's
    values and gradients to 1e-12, the batch whole or a chunk at a time, any layout."""
    with _conv_settings(KERNEL_ROWS_MIN_COLUMNS=1, SHORT_PRODUCT=0, CHUNK_BYTES=chunk_bytes,
                        WHOLE_BYTES=keep_bytes) as taken:
        test_conv2d_values_and_gradients_match_the_reference.hypothesis.inner_test(case, seed)
    if case["path"] == "flat":
        event("kernel rows taken" if taken else "kernel rows not taken (a kernel 1 row high)")


@pytest.mark.torch
@settings(max_examples=15, deadline=None)
@given(case=geometries(), seed=st.integers(0, 1000))
def test_kernel_rows_form_matches_pytorch(case, seed):
    with _conv_settings(KERNEL_ROWS_MIN_COLUMNS=1, SHORT_PRODUCT=0, WHOLE_BYTES=0):
        test_conv2d_matches_pytorch.hypothesis.inner_test(case, seed)


@pytest.mark.parametrize("x_shape, w_shape, padding, dilation, groups", [
    ((2, 16, 6, 7), (16, 16, 3, 3), 1, (1, 1), 1),    # a ResNet-like block, 16 * 3 columns
    ((2, 6, 9, 8), (4, 3, 2, 3), (2, 1), (2, 1), 2),  # groups, dilation, uneven padding
])
def test_kernel_rows_form_is_taken_and_passes_gradcheck(x_shape, w_shape, padding, dilation,
                                                        groups):
    """The default threshold sends a 16-channel 3x3 convolution this way (under no_grad,
    where nothing keeps its im2col matrix); gradcheck and gradgradcheck through it."""
    threshold = min(conv.KERNEL_ROWS_MIN_COLUMNS, w_shape[1] * w_shape[3])
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    with _conv_settings(KERNEL_ROWS_MIN_COLUMNS=threshold) as taken, chainrule.no_grad():
        y = F.conv2d(chainrule.tensor(x), chainrule.tensor(w), None, 1, padding, dilation,
                     groups)
    assert taken
    pads = _padding(padding, w_shape[2:], dilation, (1, 1))
    np.testing.assert_allclose(y.numpy(), reference_conv(x, w, None, (1, 1), pads, dilation,
                                                         groups), **EXACT)
    with _conv_settings(KERNEL_ROWS_MIN_COLUMNS=threshold, WHOLE_BYTES=0) as taken:
        check(lambda x, w: F.conv2d(x, w, None, 1, padding, dilation, groups),  # as in training
              make(x_shape[:1] + (x_shape[1],) + (5, 6), 0), make(w_shape, 1))
    assert taken


# ---------------------------------------------------------------- inf and nan

FAST_PATH_SETTINGS = {
    "default": {},
    "row blocks": dict(SHORT_PRODUCT=1 << 20, BLOCK_ROWS=24),
    "kernel rows": dict(KERNEL_ROWS_MIN_COLUMNS=1, SHORT_PRODUCT=0, WHOLE_BYTES=0),
    "chunks": dict(CHUNK_BYTES=1, WHOLE_BYTES=0),
}


def _plant(case, seed, where, value):
    """The case's arrays with one inf or nan at a drawn position of x or w."""
    x, w, b = _arrays(case, seed)
    target = x if where == "x" else w
    position = np.random.default_rng(seed + 2).integers(0, target.size)
    target.reshape(-1)[position] = value
    return x, w, b


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("paths", list(FAST_PATH_SETTINGS))
@settings(max_examples=25, deadline=None)
@given(case=geometries(), seed=st.integers(0, 1000), where=st.sampled_from(["x", "w"]),
       value=st.sampled_from([np.inf, -np.inf, np.nan]))
def test_inf_and_nan_reach_only_what_they_reach_in_the_definition(paths, case, seed, where,
                                                                 value):
    """One inf or nan in x or w: values and gradients (nan where the reference has nan, the
    same infinities, the rest to 1e-12) as by the definition, on every fast path: the flat
    layout's extra columns and the row blocks' zero weights must not turn into nan."""
    x, w, b = _plant(case, seed, where, value)
    args = (case["stride"], _padding4(case), case["dilation"], case["groups"])
    with _conv_settings(**FAST_PATH_SETTINGS[paths]):
        xt = chainrule.tensor(laid_out(x, case["layout"]), requires_grad=True)
        wt = chainrule.tensor(w, requires_grad=True)
        bt = None if b is None else chainrule.tensor(b)
        y = F.conv2d(xt, wt, bt, case["stride"], case["padding"], case["dilation"],
                     case["groups"])
        with chainrule.no_grad():
            y_inference = F.conv2d(chainrule.tensor(x), chainrule.tensor(w), bt,
                                   case["stride"], case["padding"], case["dilation"],
                                   case["groups"])
        expected = reference_conv(x, w, b, *args)
        r = np.random.default_rng(seed + 1).standard_normal(expected.shape)
        y.backward(chainrule.tensor(r))
    gx, gw, _ = reference_grads(x, w, r, *args)
    for ours, reference in ((y.detach().numpy(), expected), (y_inference.numpy(), expected),
                            (xt.grad.numpy(), gx), (wt.grad.numpy(), gw)):
        np.testing.assert_allclose(ours, reference, **EXACT)     # (nan equals nan here)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("where", ["input", "weight", "upstream"])
@settings(max_examples=30, deadline=None)
@given(case=geometries(), seed=st.integers(0, 1000), value=st.sampled_from([np.inf, np.nan]),
       extra=st.tuples(st.integers(0, 2), st.integers(0, 2)))
def test_transposed_convolution_with_inf_or_nan_follows_the_definition(case, seed, where,
                                                                       value, extra):
    """conv_transpose2d (col2im, or the convolution of g that _as_convolution takes) with one
    inf or nan in its input, its weight or the upstream gradient, with output padding (up to
    max(stride, dilation) - 1, as PyTorch allows): the reference adjoint's values and
    gradients."""
    x, w, _ = _arrays(case, seed)
    args = (case["stride"], _padding4(case), case["dilation"], case["groups"])
    (sh, sw), (dh, dw), (kh, kw) = case["stride"], case["dilation"], w.shape[2:]
    output_padding = (min(extra[0], max(sh, dh) - 1), min(extra[1], max(sw, dw) - 1))
    g = reference_conv(x, w, None, *args)                 # the transposed conv's input
    top, _, left, _ = args[1]
    assume(args[1] == (top, top, left, left))             # (conv_transpose2d: symmetric)
    x_hw = ((g.shape[2] - 1) * sh - 2 * top + dh * (kh - 1) + output_padding[0] + 1,
            (g.shape[3] - 1) * sw - 2 * left + dw * (kw - 1) + output_padding[1] + 1)
    assume(min(x_hw) >= 1)                                # an output to give
    ggx = np.random.default_rng(seed + 3).standard_normal((g.shape[0], x.shape[1]) + x_hw)
    target = {"input": g, "weight": w, "upstream": ggx}[where]
    target.reshape(-1)[np.random.default_rng(seed + 2).integers(0, target.size)] = value
    gt = chainrule.tensor(g, requires_grad=True)
    wt = chainrule.tensor(w, requires_grad=True)
    y = F.conv_transpose2d(gt, wt, None, case["stride"], (top, left), output_padding,
                           groups=case["groups"], dilation=case["dilation"])
    assert tuple(y.shape[2:]) == x_hw
    expected, _, _ = reference_grads(None, w, g, *args, x_hw=x_hw)
    np.testing.assert_allclose(y.detach().numpy(), expected, **EXACT)
    y.backward(chainrule.tensor(ggx))
    cropped = reference_conv(ggx, w, None, *args)[:, :, :g.shape[2], :g.shape[3]]
    np.testing.assert_allclose(gt.grad.numpy(), cropped, **EXACT)
    _, gw, _ = reference_grads(ggx, w, g, *args)
    np.testing.assert_allclose(wt.grad.numpy(), gw, **EXACT)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("x_shape, w_shape, options", [
    ((2, 1, 12, 12), (6, 1, 5, 5), dict(padding=2)),        # LeNet's first layer: row blocks
    ((1, 1, 5, 5), (1, 1, 3, 3), {}),                       # flat, both gradients from g
    ((2, 4, 8, 8), (3, 4, 3, 3), dict(padding=1)),
    ((2, 16, 8, 8), (16, 16, 3, 3), dict(padding=1)),       # kernel rows under no_grad
    ((2, 3, 9, 9), (4, 3, 3, 3), dict(stride=2, padding=1)),
])
@pytest.mark.parametrize("where", ["x", "w"])
@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_inf_and_nan_match_pytorch(x_shape, w_shape, options, where, value):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    (x if where == "x" else w)[0, 0, 2 if where == "x" else 1, 0] = value
    ours = [chainrule.tensor(x, requires_grad=True), chainrule.tensor(w, requires_grad=True)]
    theirs = [torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)]
    y = F.conv2d(*ours, **options)
    ty = torch.nn.functional.conv2d(*theirs, **options)
    with chainrule.no_grad():
        inference = F.conv2d(chainrule.tensor(x), chainrule.tensor(w), **options)
    r = rng.standard_normal(ty.shape)
    y.backward(chainrule.tensor(r))
    ty.backward(torch.tensor(r))
    for mine, reference in ((y.detach().numpy(), ty.detach().numpy()),
                            (inference.numpy(), ty.detach().numpy()),
                            (ours[0].grad.numpy(), theirs[0].grad.numpy()),
                            (ours[1].grad.numpy(), theirs[1].grad.numpy())):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(case=geometries(paths=("windows",)), seed=st.integers(0, 1000))
def test_phased_columns_are_the_windows_columns_bit_for_bit(case, seed):
    """The phased im2col matrix, cropped to the output width, is the windows one (the same
    values), and its col2im gives the windows col2im's bits (each pixel's sum in the same
    order), on strided geometries."""
    geometry = ConvGeometry(case["stride"], _padding4(case), case["dilation"], case["groups"])
    kh, kw = case["w_shape"][2:]
    assume(geometry.path(kh, kw) == "phased")
    exact = geometry.without_extra_columns()
    x, _, _ = _arrays(case, seed)
    images = np.ascontiguousarray(x.transpose(1, 0, 2, 3))
    c, m, h, w = images.shape
    oh, ow = geometry.output_size(h, w, kh, kw)
    width = geometry.width(w, kh, kw)
    assert width >= ow and exact.path(kh, kw) == "windows"
    phased = np.empty((1, c * kh * kw, m * oh * width))
    windows = np.empty((1, c * kh * kw, m * oh * ow))
    geometry.fill_columns(images, phased, kh, kw)
    exact.fill_columns(images, windows, kh, kw)
    cropped = phased.reshape(c * kh * kw, m, oh, width)[..., :ow]
    assert np.array_equal(cropped, windows.reshape(c * kh * kw, m, oh, ow))
    rng = np.random.default_rng(seed)
    spread = np.zeros(phased.shape)
    spread.reshape(c * kh * kw, m, oh, width)[..., :ow] = rng.standard_normal(cropped.shape)
    ours, theirs = np.empty(images.shape), np.empty(images.shape)
    geometry.add_columns(spread, ours, kh, kw, (oh, ow))
    exact.add_columns(np.ascontiguousarray(spread.reshape(c * kh * kw, m, oh, width)[..., :ow]),
                      theirs, kh, kw, (oh, ow))
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("size, kernel, stride, padding", [
    (1, 3, 3, 2), (2, 5, 4, 2), (1, 1, 3, 1), (3, 2, 3, 1)])  # phases with no image pixel
def test_phased_path_with_phases_of_padding_only(size, kernel, stride, padding):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 2, size, size)), rng.standard_normal((3, 2, kernel, kernel))
    xt, wt = chainrule.tensor(x, requires_grad=True), chainrule.tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt, stride=stride, padding=padding)
    args = ((stride, stride), (padding,) * 4, (1, 1), 1)
    np.testing.assert_allclose(y.detach().numpy(), reference_conv(x, w, None, *args), **EXACT)
    r = rng.standard_normal(y.shape)
    y.backward(chainrule.tensor(r))
    gx, gw, _ = reference_grads(x, w, r, *args)
    np.testing.assert_allclose(xt.grad.numpy(), gx, **EXACT)
    np.testing.assert_allclose(wt.grad.numpy(), gw, **EXACT)


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("kernel, stride, dilation, output_padding, bad", [
    (2, 1, 2, 1, "weight"),      # the exact path's windows for an output narrower than them
    (1, 1, 2, 1, None),          # a 1x1 kernel there, all finite
    (2, 2, 3, 2, "weight"),
    (2, 1, 2, 1, "upstream"),    # x cropped to what g's windows read
    (3, 2, 3, 2, "upstream"),
])
def test_transposed_convolution_with_output_padding_past_the_stride(kernel, stride, dilation,
                                                                    output_padding, bad):
    """PyTorch allows output padding up to max(stride, dilation) - 1: the output is then
    smaller than its windows, on the exact path too (found in review)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 1, kernel, kernel))
    if bad == "weight":
        w[0, 0, 0, 0] = np.inf
    options = dict(stride=stride, dilation=dilation, output_padding=output_padding)
    ours = [chainrule.tensor(x, requires_grad=True), chainrule.tensor(w, requires_grad=True)]
    theirs = [torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)]
    y = F.conv_transpose2d(*ours, **options)
    ty = torch.nn.functional.conv_transpose2d(*theirs, **options)
    r = rng.standard_normal(ty.shape)
    if bad == "upstream":
        r[0, 0, -1, -1] = np.inf
    y.backward(chainrule.tensor(r))
    ty.backward(torch.tensor(r))
    for mine, reference in ((y.detach().numpy(), ty.detach().numpy()),
                            (ours[0].grad.numpy(), theirs[0].grad.numpy()),
                            (ours[1].grad.numpy(), theirs[1].grad.numpy())):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-10)


def test_an_empty_batch_gives_zero_weight_and_bias_gradients():
    """N = 0: the bias gradient's per-channel sums see an (0, O, rest) array (a reshape with
    -1 cannot infer rest from an empty array)."""
    x = chainrule.zeros(0, 2, 5, 5, requires_grad=True)
    w = chainrule.ones(3, 2, 3, 3, requires_grad=True)
    b = chainrule.ones(3, requires_grad=True)
    F.conv2d(x, w, b).sum().backward()
    assert b.grad.tolist() == [0.0, 0.0, 0.0] and (w.grad.numpy() == 0).all()
    assert x.grad.shape == (0, 2, 5, 5)
