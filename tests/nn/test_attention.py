"""Attention: F.scaled_dot_product_attention, F.multi_head_attention_forward and
nn.MultiheadAttention against PyTorch in float64 (forward, input and parameter gradients,
masks, layouts), gradient checks of the functional forms (first and second order), dropout,
and the errors for bad input."""
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import chainrule
from chainrule import errors, nn
from chainrule.nn import functional as F
from chainrule.ops.attention import attention_heads
from tests.helpers import check, make

RTOL, ATOL = 1e-6, 1e-9


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _pair(array, requires_grad=True):
    """The same float64 values as a chainrule tensor and a torch tensor."""
    import torch
    return (chainrule.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _close(ours, theirs, what=""):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=RTOL, atol=ATOL, err_msg=what)


# ---------------------------------------------------------------- scaled_dot_product_attention

def _mask(kind, shape, rng):
    if kind == "bool":
        mask = rng.random(shape) < 0.7
        mask[..., 0] = True                     # every query keeps a key ...
        return mask
    if kind == "bool_dead_rows":
        mask = rng.random(shape) < 0.7
        mask[..., 1, :] = False                 # ... except one that keeps none
        return mask
    return rng.standard_normal(shape)           # float, added to the scores


SDPA_CASES = [
    # (q shape, k shape, v shape, mask kind, mask shape, options)
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), None, None, {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), None, None, {"is_causal": True}),
    ((2, 3, 6, 8), (2, 3, 4, 8), (2, 3, 4, 8), None, None, {"is_causal": True}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), "bool", (4, 5), {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), "bool", (2, 1, 4, 5), {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), "bool_dead_rows", (4, 5), {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), "float", (3, 4, 5), {}),
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6), None, None, {"scale": 0.3}),
    ((4, 8), (5, 8), (5, 6), None, None, {}),                       # unbatched
    ((4, 8), (5, 8), (5, 6), "float", (4, 5), {"scale": 2.0}),
    ((3, 4, 8), (3, 5, 8), (3, 5, 6), "bool", (3, 4, 5), {}),
    ((2, 3, 4, 8), (5, 8), (1, 5, 6), None, None, {}),              # broadcast batches
    ((2, 4, 3, 8), (2, 2, 5, 8), (2, 2, 5, 6), None, None, {"enable_gqa": True}),
    ((2, 4, 3, 8), (2, 1, 5, 8), (2, 1, 5, 6), "bool", (3, 5), {"enable_gqa": True}),
]


@pytest.mark.torch
@pytest.mark.parametrize("case", SDPA_CASES, ids=lambda c: f"{c[0]}-{c[3]}-{sorted(c[5])}")
def test_sdpa_matches_pytorch(torch, case):
    q_shape, k_shape, v_shape, kind, mask_shape, options = case
    rng = np.random.default_rng(0)
    (cq, tq), (ck, tk), (cv, tv) = (_pair(rng.standard_normal(s))
                                    for s in (q_shape, k_shape, v_shape))
    ours_options, theirs_options = dict(options), dict(options)
    mask_pair = None
    if kind is not None:
        values = _mask(kind, mask_shape, rng)
        mask_pair = _pair(values, requires_grad=kind == "float")
        ours_options["attn_mask"], theirs_options["attn_mask"] = mask_pair
    ours = F.scaled_dot_product_attention(cq, ck, cv, **ours_options)
    theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **theirs_options)
    _close(ours, theirs, "forward")
    upstream = rng.standard_normal(theirs.shape)
    ours.backward(chainrule.tensor(upstream))
    theirs.backward(torch.tensor(upstream))
    for name, (c, t) in zip("qkv", ((cq, tq), (ck, tk), (cv, tv))):
        _close(c.grad, t.grad, f"grad {name}")
    if kind == "float":
        _close(mask_pair[0].grad, mask_pair[1].grad, "grad attn_mask")


@pytest.mark.torch
def test_sdpa_rows_with_every_key_masked_give_zeros_as_pytorch(torch):
    rng = np.random.default_rng(1)
    (cq, tq), (ck, tk), (cv, tv) = (_pair(rng.standard_normal((3, 4))) for _ in range(3))
    for values in (np.array([[True] * 3, [False] * 3, [True, False, True]]),
                   np.array([[0.0] * 3, [-np.inf] * 3, [0.0, -np.inf, 1.0]])):
        for t in (cq, ck, cv, tq, tk, tv):
            t.grad = None
        ours = F.scaled_dot_product_attention(cq, ck, cv, chainrule.tensor(values))
        theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv,
                                                                  torch.tensor(values))
        assert ours.numpy()[1].tolist() == [0.0] * 4
        _close(ours, theirs)
        ours.sum().backward()
        theirs.sum().backward()
        for c, t in ((cq, tq), (ck, tk), (cv, tv)):
            _close(c.grad, t.grad)


def test_sdpa_with_no_keys_gives_zeros():
    out = F.scaled_dot_product_attention(chainrule.ones(2, 4, 3), chainrule.ones(2, 0, 3),
                                         chainrule.ones(2, 0, 5))
    assert out.shape == (2, 4, 5) and not out.numpy().any()


SHAPES = st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
                   st.integers(1, 3))


@settings(max_examples=12, deadline=None)
@given(shape=SHAPES, seed=st.integers(0, 1000), variant=st.sampled_from(
    ["plain", "causal", "bool", "float", "scale"]))
def test_sdpa_gradients_first_and_second_order(shape, seed, variant):
    batch, length, keys, width, value_width = shape
    rng = np.random.default_rng(seed)
    q = make((batch, length, width), seed)
    k = make((batch, keys, width), seed + 1)
    v = make((batch, keys, value_width), seed + 2)
    if variant == "float":
        mask = make((length, keys), seed + 3)
        check(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m), q, k, v, mask)
        return
    options = {"causal": {"is_causal": True}, "scale": {"scale": 0.7}}.get(variant, {})
    if variant == "bool":
        options["attn_mask"] = chainrule.tensor(_mask("bool", (length, keys), rng))
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **options), q, k, v)


def test_sdpa_second_order_through_a_masked_row():
    q, k, v = make((3, 2), 0), make((4, 2), 1), make((4, 2), 2)
    mask = chainrule.tensor(np.array([[True] * 4, [False] * 4, [True, False, True, True]]))
    check(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask), q, k, v)


def test_sdpa_dropout_keeps_the_expectation_and_is_seeded():
    q, k = chainrule.randn(1, 3, 4), chainrule.randn(1, 200, 4)
    v = chainrule.ones(1, 200, 1)
    chainrule.manual_seed(3)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    chainrule.manual_seed(3)
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    assert np.array_equal(dropped, again)
    assert np.allclose(dropped.mean(), 1.0, atol=0.25) and not np.allclose(dropped, 1.0)
    assert not F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy().any()


def test_sdpa_dropout_gradients_use_the_same_mask():
    q, k, v = make((2, 3, 4), 0), make((2, 5, 4), 1), make((2, 5, 3), 2)

    def attention(q, k, v):
        chainrule.manual_seed(7)                 # the same mask at every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    check(attention, q, k, v)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.scaled_dot_product_attention(chainrule.ones(4), chainrule.ones(4),
                                            chainrule.ones(4)), errors.ShapeError,
     "at least 2 dimensions"),
    (lambda: F.scaled_dot_product_attention(chainrule.ones(2, 4), chainrule.ones(3, 5),
                                            chainrule.ones(3, 4)), errors.ShapeError,
     "same last dimension"),
    (lambda: F.scaled_dot_product_attention(chainrule.ones(2, 4), chainrule.ones(3, 4),
                                            chainrule.ones(2, 4)), errors.ShapeError,
     "same sequence length"),
    (lambda: F.scaled_dot_product_attention(chainrule.ones(2, 4), chainrule.ones(3, 4),
                                            chainrule.ones(3, 4, dtype="float64")),
     errors.DTypeError, "same dtype"),
    (lambda: F.scaled_dot_product_attention(chainrule.ones(2, 4), chainrule.ones(3, 4),
                                            chainrule.ones(3, 4),
                                            attn_mask=chainrule.ones(2, 3), is_causal=True),
     errors.ArgumentError, "is_causal"),
    (lambda: F.scaled_dot_product_attention(chainrule.ones(2, 4), chainrule.ones(3, 4),
                                            chainrule.ones(3, 4),
                                            attn_mask=chainrule.ones(2, 3, dtype="int64")),
     errors.DTypeError, "bool or floating"),
    (lambda: F.scaled_dot_product_attention(chainrule.ones(2, 4), chainrule.ones(3, 4),
                                            chainrule.ones(3, 4), attn_mask=chainrule.ones(2, 4)),
     errors.ShapeError, r"\(2, 4\) does not broadcast"),
    (lambda: F.scaled_dot_product_attention(chainrule.ones(2, 4), chainrule.ones(3, 4),
                                            chainrule.ones(3, 4), dropout_p=1.5),
     errors.ArgumentError, "dropout_p"),
    (lambda: F.scaled_dot_product_attention(chainrule.ones(3, 2, 4), chainrule.ones(2, 3, 4),
                                            chainrule.ones(2, 3, 4), enable_gqa=True),
     errors.ShapeError, "enable_gqa"),
    (lambda: F.scaled_dot_product_attention(chainrule.ones(3, 2, 4), chainrule.ones(2, 3, 4),
                                            chainrule.ones(2, 3, 4)),
     errors.ShapeError, "batch dimensions"),
])
def test_sdpa_errors_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- the multi-head core

@pytest.mark.parametrize("chunks, batch_first, options", [
    ((3,), True, {"is_causal": True}),
    ((3,), False, {}),
    ((1, 2), False, {}),
    ((1, 1, 1), True, {"mask": "float"}),
])
def test_attention_heads_gradients_first_and_second_order(chunks, batch_first, options):
    heads, size, n, length = 2, 2, 2, 3
    shape = (n, length) if batch_first else (length, n)
    inputs = [make(shape + (c * heads * size,), i) for i, c in enumerate(chunks)]
    if options.get("mask") == "float":
        inputs.append(make((n, 1, length, length), 9))

    def core(*tensors):
        projections = tensors[:len(chunks)]
        mask = tensors[len(chunks)] if len(tensors) > len(chunks) else None
        return attention_heads(list(projections), chunks, heads, batch_first, mask,
                               options.get("is_causal", False))
    check(core, *inputs)


# ---------------------------------------------------------------- MultiheadAttention

def _copy_weights(ours, theirs):
    ours.load_state_dict({k: chainrule.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})


def _mha_case(torch, *, batch_first=False, need_weights=True, self_attention=False,
              kv_same=False, kdim=None, vdim=None, bias=True, add_bias_kv=False,
              add_zero_attn=False, average=True, padding=None, attn_mask=None,
              is_causal=False, unbatched=False, embed_dim=8, heads=2, length=4, keys=5,
              batch=3, seed=0):
    """One MultiheadAttention configuration, chainrule against torch: forward, weights,
    input gradients and every parameter gradient."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    options = dict(bias=bias, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn, kdim=kdim,
                   vdim=vdim, batch_first=batch_first)
    theirs = torch.nn.MultiheadAttention(embed_dim, heads, **options).double()
    ours = nn.MultiheadAttention(embed_dim, heads, dtype="float64", **options)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    _copy_weights(ours, theirs)
    keys = length if self_attention else keys

    def shape(n, width):
        return (n, width) if unbatched else (batch, n, width) if batch_first else \
            (n, batch, width)
    cq, tq = _pair(rng.standard_normal(shape(length, embed_dim)))
    if self_attention:
        (ck, tk), (cv, tv) = (cq, tq), (cq, tq)
    else:
        ck, tk = _pair(rng.standard_normal(shape(keys, kdim or embed_dim)))
        cv, tv = (ck, tk) if kv_same else _pair(rng.standard_normal(shape(keys, vdim or
                                                                          embed_dim)))
    ours_masks, theirs_masks = {}, {}
    if padding is not None:
        values = rng.random((keys,) if unbatched else (batch, keys)) < 0.3
        values[..., 0] = False
        if padding == "float":
            values = np.where(values, -1e9, 0.0) + 0.1 * rng.standard_normal(values.shape)
        ours_masks["key_padding_mask"], theirs_masks["key_padding_mask"] = _pair(
            values, requires_grad=False)
    if attn_mask is not None:
        if attn_mask == "causal":
            values = np.triu(np.full((length, length), -np.inf), 1)
        elif attn_mask == "bool":
            values = rng.random((length, keys)) < 0.3
            values[:, 0] = False
        elif attn_mask == "bool3":
            values = rng.random((heads if unbatched else batch * heads, length, keys)) < 0.3
            values[..., 0] = False
        else:
            values = rng.standard_normal((length, keys))
        ours_masks["attn_mask"], theirs_masks["attn_mask"] = _pair(values, requires_grad=False)
    call = dict(need_weights=need_weights, average_attn_weights=average, is_causal=is_causal)
    out, weights = ours(cq, ck, cv, **call, **ours_masks)
    t_out, t_weights = theirs(tq, tk, tv, **call, **theirs_masks)
    _close(out, t_out, "output")
    upstream = rng.standard_normal(t_out.shape)
    loss = (out * chainrule.tensor(upstream)).sum()
    t_loss = (t_out * torch.tensor(upstream)).sum()
    if need_weights:
        _close(weights, t_weights, "attention weights")
        upstream = rng.standard_normal(t_weights.shape)
        loss = loss + (weights * chainrule.tensor(upstream)).sum()
        t_loss = t_loss + (t_weights * torch.tensor(upstream)).sum()
    else:
        assert weights is None and t_weights is None
    loss.backward()
    t_loss.backward()
    for name, (c, t) in zip(("query", "key", "value"), ((cq, tq), (ck, tk), (cv, tv))):
        _close(c.grad, t.grad, f"grad {name}")
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, t_params[name].grad, f"grad {name}")


MHA_VARIANTS = [{}, {"padding": "bool"}, {"attn_mask": "bool"}, {"attn_mask": "float"},
                {"padding": "float", "attn_mask": "float"}, {"add_bias_kv": True},
                {"add_zero_attn": True, "padding": "bool", "attn_mask": "bool3"},
                {"bias": False}, {"average": False}, {"unbatched": True},
                {"unbatched": True, "padding": "bool", "attn_mask": "bool3"}]
MHA_GRID = [dict(batch_first=bf, need_weights=nw, self_attention=sa, **variant)
            for bf, nw, sa in itertools.product((False, True), (False, True), (False, True))
            for variant in MHA_VARIANTS]
MHA_GRID += [dict(batch_first=bf, need_weights=nw, kdim=6, vdim=7, **variant)
             for bf, nw in itertools.product((False, True), (False, True))
             for variant in ({}, {"padding": "bool", "attn_mask": "bool"},
                             {"add_bias_kv": True, "add_zero_attn": True}, {"unbatched": True})]
MHA_GRID += [dict(batch_first=bf, need_weights=nw, self_attention=True, attn_mask="causal",
                  is_causal=True, **variant)
             for bf, nw in itertools.product((False, True), (False, True))
             for variant in ({}, {"padding": "bool"})]
MHA_GRID += [dict(kv_same=True, need_weights=nw) for nw in (False, True)]


@pytest.mark.torch
@pytest.mark.parametrize("options", MHA_GRID, ids=lambda o: ",".join(
    f"{k}={v}" for k, v in sorted(o.items())))
def test_multihead_attention_matches_pytorch(torch, options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # PyTorch's mixed mask dtype deprecation
        _mha_case(torch, **options)


@pytest.mark.torch
def test_fully_masked_queries_nan_with_weights_zero_without_as_pytorch(torch):
    theirs = torch.nn.MultiheadAttention(4, 2, batch_first=True).double()
    ours = nn.MultiheadAttention(4, 2, batch_first=True, dtype="float64")
    _copy_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    padding = np.zeros((2, 3), bool)
    padding[0] = True
    for need_weights in (True, False):
        with np.errstate(invalid="ignore"):
            out = ours(chainrule.tensor(x), chainrule.tensor(x), chainrule.tensor(x),
                       key_padding_mask=chainrule.tensor(padding),
                       need_weights=need_weights)[0]
        t = torch.tensor(x)
        t_out = theirs(t, t, t, key_padding_mask=torch.tensor(padding),
                       need_weights=need_weights)[0]
        np.testing.assert_array_equal(np.isnan(out.numpy()), np.isnan(t_out.detach().numpy()))
        assert np.isnan(out.numpy()[0]).all() == need_weights
        _close(out, t_out) if not need_weights else None


@pytest.mark.torch
def test_multi_head_attention_forward_matches_pytorch(torch):
    rng = np.random.default_rng(2)
    args = {name: rng.standard_normal(shape) for name, shape in (
        ("x", (4, 2, 6)), ("w", (18, 6)), ("b", (18,)), ("ow", (6, 6)), ("ob", (6,)))}
    ours = {k: chainrule.tensor(v, requires_grad=True) for k, v in args.items()}
    theirs = {k: torch.tensor(v, requires_grad=True) for k, v in args.items()}
    mask = np.triu(np.ones((4, 4), bool), 1)
    out, weights = F.multi_head_attention_forward(
        ours["x"], ours["x"], ours["x"], 6, 3, ours["w"], ours["b"], None, None, False, 0.0,
        ours["ow"], ours["ob"], attn_mask=chainrule.tensor(mask))
    t_out, t_weights = torch.nn.functional.multi_head_attention_forward(
        theirs["x"], theirs["x"], theirs["x"], 6, 3, theirs["w"], theirs["b"], None, None,
        False, 0.0, theirs["ow"], theirs["ob"], attn_mask=torch.tensor(mask))
    _close(out, t_out)
    _close(weights, t_weights)
    (out.sum() + weights.sum()).backward()
    (t_out.sum() + t_weights.sum()).backward()
    for name in args:
        _close(ours[name].grad, theirs[name].grad, name)


@pytest.mark.torch
def test_multihead_attention_parameters_state_dict_and_repr_match_pytorch(torch):
    for options in ({}, {"kdim": 3, "vdim": 5}, {"bias": False}, {"add_bias_kv": True}):
        theirs = torch.nn.MultiheadAttention(6, 3, **options)
        ours = nn.MultiheadAttention(6, 3, **options)
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert repr(ours) == repr(theirs)
        ours.load_state_dict({k: chainrule.tensor(v.numpy())
                              for k, v in theirs.state_dict().items()})
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})


def test_multihead_attention_initialisation_is_pytorchs():
    chainrule.manual_seed(0)
    layer = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = math.sqrt(6 / (64 + 3 * 64))            # Xavier-uniform on (3E, E)
    w = layer.in_proj_weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert not layer.in_proj_bias.numpy().any() and not layer.out_proj.bias.numpy().any()
    assert abs(layer.bias_k.numpy().std() - math.sqrt(2 / 128)) < 0.03  # Xavier-normal (1,1,E)
    out_bound = 1 / math.sqrt(64)                   # out_proj: Linear's default
    assert np.abs(layer.out_proj.weight.numpy()).max() <= out_bound
    assert type(layer.out_proj).__name__ == "NonDynamicallyQuantizableLinear"


def test_multihead_attention_dropout_only_while_training():
    chainrule.manual_seed(0)
    layer = nn.MultiheadAttention(8, 2, dropout=0.5, batch_first=True)
    x = chainrule.randn(2, 6, 8)
    layer.eval()
    with chainrule.no_grad():
        a = layer(x, x, x, need_weights=False)[0].numpy()
        b = layer(x, x, x, need_weights=False)[0].numpy()
    assert np.array_equal(a, b)
    layer.train()
    weights = layer(x, x, x)[1].numpy()
    assert (weights == 0).any()                      # dropped weights are returned as PyTorch


@pytest.mark.parametrize("build, call, error, match", [
    (lambda: nn.MultiheadAttention(6, 4), None, errors.ArgumentError, "divisible"),
    (lambda: nn.MultiheadAttention(0, 1), None, errors.ArgumentError, "greater than 0"),
    (lambda: nn.MultiheadAttention(4, 2),
     lambda m, x: m(x, x, x, is_causal=True), errors.ArgumentError, "attn_mask"),
    (lambda: nn.MultiheadAttention(4, 2),
     lambda m, x: m(x, x, x, attn_mask=chainrule.ones(3, 2) > 0), errors.ShapeError,
     r"should be \(5, 5\)"),
    (lambda: nn.MultiheadAttention(4, 2),
     lambda m, x: m(x, x, x, key_padding_mask=chainrule.ones(3, 5) > 0), errors.ShapeError,
     r"should have shape \(2, 5\)"),
    (lambda: nn.MultiheadAttention(4, 2),
     lambda m, x: m(x, x, x, key_padding_mask=chainrule.ones(2, 5, dtype="int64")),
     errors.DTypeError, "bool or floating"),
    (lambda: nn.MultiheadAttention(4, 2),
     lambda m, x: m(x[0], x, x), errors.ShapeError, "key and value must be 2-D"),
    (lambda: nn.MultiheadAttention(4, 2),
     lambda m, x: m(chainrule.ones(5, 2, 3), x, x), errors.ShapeError, "embed_dim=4"),
])
def test_multihead_attention_errors_name_the_problem(build, call, error, match):
    with pytest.raises(error, match=match):
        layer = build()
        call(layer, chainrule.randn(5, 2, 4))


@pytest.mark.parametrize("need_weights, masked", [(False, False), (False, True), (True, True)])
def test_multi_head_attention_forward_gradients_first_and_second_order(need_weights, masked):
    x, memory = make((2, 1, 4), 0), make((3, 1, 4), 1)
    w, b, ow, ob = make((12, 4), 2), make((12,), 3), make((4, 4), 4), make((4,), 5)
    mask = chainrule.tensor(np.array([[False, True, False], [False, False, True]])) \
        if masked else None

    def attention(x, memory, w, b, ow, ob):
        out, weights = F.multi_head_attention_forward(
            x, memory, memory, 4, 2, w, b, None, None, False, 0.0, ow, ob,
            need_weights=need_weights, attn_mask=mask)
        return out if weights is None else chainrule.cat([out.flatten(), weights.flatten()])
    check(attention, x, memory, w, b, ow, ob)


def test_sdpa_onnx_export_matches_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.key = nn.Parameter(chainrule.randn(2, 5, 4))
            self.mask = chainrule.tensor(np.tril(np.ones((3, 5), bool), 2))

        def forward(self, q):
            return F.scaled_dot_product_attention(q, self.key, self.key, self.mask, scale=0.5)
    chainrule.manual_seed(0)
    model = Attention()
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    path = chainrule.onnx.export(model, chainrule.tensor(x), str(tmp_path / "sdpa.onnx"),
                                 dynamic_batch=False)
    (got,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
        None, {"input": x})
    with chainrule.no_grad():
        np.testing.assert_allclose(got, model(chainrule.tensor(x)).numpy(), rtol=1e-5,
                                   atol=1e-6)
