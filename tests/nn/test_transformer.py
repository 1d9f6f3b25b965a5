"""Transformer layers and models against PyTorch in float64 with weights copied from the
torch module (forward, input gradients, every parameter gradient) over a grid of layouts,
masks, norm placements and activations; state_dict round trips through safetensors both
ways; ONNX export of an encoder compared with onnxruntime."""
import itertools
import warnings

import numpy as np
import pytest

import chainrule
from chainrule import errors, nn

RTOL, ATOL = 1e-6, 1e-9
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched")


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _close(ours, theirs, what=""):
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=RTOL, atol=ATOL,
                               err_msg=what)


def _copy_weights(ours, theirs):
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({k: chainrule.tensor(v.detach().numpy()) for k, v in state.items()})


def _activation(name, torch):
    """(chainrule, torch) activation arguments: names, functions or modules."""
    return {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
            "gelu_fn": (chainrule.nn.functional.gelu, torch.nn.functional.gelu),
            "gelu_module": (nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh"))}[name]


def _masks(rng, batch, length, keys, kinds, unbatched):
    """Masks as (chainrule, torch) pairs: causal (float), bool attention, bool padding."""
    import torch
    made = {}
    if "causal" in kinds:
        values = np.triu(np.full((length, length), -np.inf), 1)
        made["mask"] = values
    if "bool" in kinds:
        values = rng.random((length, keys)) < 0.3
        values[:, 0] = False
        made["mask"] = values
    if "padding" in kinds:
        values = rng.random((keys,) if unbatched else (batch, keys)) < 0.3
        values[..., 0] = False
        made["padding"] = values
    return {k: (chainrule.tensor(v), torch.tensor(v)) for k, v in made.items()}


def _gradients_match(torch, ours, theirs, inputs, outputs, rng):
    """Backward the same random projection of the outputs; inputs and all parameters."""
    out, t_out = outputs
    _close(out, t_out, "forward")
    upstream = rng.standard_normal(t_out.shape)
    (out * chainrule.tensor(upstream)).sum().backward()
    (t_out * torch.tensor(upstream)).sum().backward()
    for i, (c, t) in enumerate(inputs):
        _close(c.grad, t.grad, f"input {i} gradient")
    t_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        _close(p.grad, t_params[name].grad, f"grad {name}")


def _inputs(rng, shape, count=1):
    import torch
    pairs = []
    for _ in range(count):
        x = rng.standard_normal(shape)
        pairs.append((chainrule.tensor(x, requires_grad=True),
                      torch.tensor(x, requires_grad=True)))
    return pairs


ENCODER_GRID = [dict(batch_first=bf, norm_first=nf, activation=act, masks=masks)
                for bf, nf, act, masks in itertools.product(
                    (False, True), (False, True), ("relu", "gelu"),
                    ((), ("padding",), ("bool",), ("causal",), ("causal", "padding")))]
ENCODER_GRID += [dict(batch_first=True, norm_first=False, activation=a, masks=()) for a in
                 ("gelu_fn", "gelu_module")]
ENCODER_GRID += [dict(batch_first=bf, norm_first=nf, activation="relu", masks=m,
                      unbatched=True) for bf, nf, m in itertools.product(
                          (False, True), (False, True), ((), ("causal",), ("padding",)))]
ENCODER_GRID += [dict(batch_first=True, norm_first=nf, activation="relu", masks=("causal",),
                      bias=False) for nf in (False, True)]


def _ids(options):
    return ",".join(f"{k}={v}" for k, v in sorted(options.items()))


@pytest.mark.torch
@pytest.mark.parametrize("options", ENCODER_GRID, ids=_ids)
def test_encoder_layer_matches_pytorch(torch, options):
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    ours_act, theirs_act = _activation(options["activation"], torch)
    unbatched = options.get("unbatched", False)
    kwargs = dict(dim_feedforward=16, dropout=0.0, batch_first=options["batch_first"],
                  norm_first=options["norm_first"], bias=options.get("bias", True))
    theirs = torch.nn.TransformerEncoderLayer(8, 2, activation=theirs_act, **kwargs).double()
    ours = nn.TransformerEncoderLayer(8, 2, activation=ours_act, dtype="float64", **kwargs)
    _copy_weights(ours, theirs)
    batch, length = 3, 5
    shape = (length, 8) if unbatched else (batch, length, 8) if options["batch_first"] else \
        (length, batch, 8)
    inputs = _inputs(rng, shape)
    masks = _masks(rng, batch, length, length, options["masks"], unbatched)
    call = {}
    if "mask" in masks:
        call["src_mask"] = masks["mask"]
    if "padding" in masks:
        call["src_key_padding_mask"] = masks["padding"]
    causal = "causal" in options["masks"]
    outputs = (ours(inputs[0][0], is_causal=causal, **{k: v[0] for k, v in call.items()}),
               theirs(inputs[0][1], is_causal=causal, **{k: v[1] for k, v in call.items()}))
    _gradients_match(torch, ours, theirs, inputs, outputs, rng)


DECODER_GRID = [dict(batch_first=bf, norm_first=nf, activation=act, masks=masks)
                for bf, nf, act, masks in itertools.product(
                    (False, True), (False, True), ("relu", "gelu"),
                    ((), ("causal",), ("causal", "padding", "memory_padding"),
                     ("memory_bool",)))]
DECODER_GRID += [dict(batch_first=bf, norm_first=False, activation="relu",
                      masks=("causal",), unbatched=True) for bf in (False, True)]


@pytest.mark.torch
@pytest.mark.parametrize("options", DECODER_GRID, ids=_ids)
def test_decoder_layer_matches_pytorch(torch, options):
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    ours_act, theirs_act = _activation(options["activation"], torch)
    unbatched = options.get("unbatched", False)
    kwargs = dict(dim_feedforward=16, dropout=0.0, batch_first=options["batch_first"],
                  norm_first=options["norm_first"])
    theirs = torch.nn.TransformerDecoderLayer(8, 2, activation=theirs_act, **kwargs).double()
    ours = nn.TransformerDecoderLayer(8, 2, activation=ours_act, dtype="float64", **kwargs)
    _copy_weights(ours, theirs)
    batch, length, memory_length = 2, 4, 6

    def shape(n):
        return (n, 8) if unbatched else (batch, n, 8) if options["batch_first"] else \
            (n, batch, 8)
    inputs = _inputs(rng, shape(length)) + _inputs(rng, shape(memory_length))
    kinds = options["masks"]
    call = {}
    target_masks = _masks(rng, batch, length, length, [k for k in kinds if k in
                                                       ("causal", "padding")], unbatched)
    if "mask" in target_masks:
        call["tgt_mask"] = target_masks["mask"]
    if "padding" in target_masks:
        call["tgt_key_padding_mask"] = target_masks["padding"]
    memory_masks = _masks(rng, batch, length, memory_length,
                          [{"memory_bool": "bool", "memory_padding": "padding"}[k]
                           for k in kinds if k.startswith("memory")], unbatched)
    if "mask" in memory_masks:
        call["memory_mask"] = memory_masks["mask"]
    if "padding" in memory_masks:
        call["memory_key_padding_mask"] = memory_masks["padding"]
    causal = "causal" in kinds
    outputs = (ours(inputs[0][0], inputs[1][0], tgt_is_causal=causal,
                    **{k: v[0] for k, v in call.items()}),
               theirs(inputs[0][1], inputs[1][1], tgt_is_causal=causal,
                      **{k: v[1] for k, v in call.items()}))
    _gradients_match(torch, ours, theirs, inputs, outputs, rng)


@pytest.mark.torch
@pytest.mark.parametrize("batch_first, norm_first, with_norm", [
    (False, False, True), (True, True, False), (True, False, True)])
def test_encoder_and_decoder_stacks_match_pytorch(torch, batch_first, norm_first, with_norm):
    rng = np.random.default_rng(2)
    torch.manual_seed(2)
    kwargs = dict(dim_feedforward=12, dropout=0.0, batch_first=batch_first,
                  norm_first=norm_first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # PyTorch's nested-tensor notice
        theirs = torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(8, 2, **kwargs), 2,
            torch.nn.LayerNorm(8) if with_norm else None).double()
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dtype="float64", **kwargs),
                                 2, nn.LayerNorm(8) if with_norm else None)
    ours.double()
    _copy_weights(ours, theirs)
    shape = (2, 5, 8) if batch_first else (5, 2, 8)
    inputs = _inputs(rng, shape)
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    padding = np.array([[False] * 5, [False, False, False, True, True]])
    outputs = (ours(inputs[0][0], mask=chainrule.tensor(mask),
                    src_key_padding_mask=chainrule.tensor(padding)),
               theirs(inputs[0][1], mask=torch.tensor(mask),
                      src_key_padding_mask=torch.tensor(padding)))
    _gradients_match(torch, ours, theirs, inputs, outputs, rng)

    theirs = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, **kwargs), 2,
                                         torch.nn.LayerNorm(8) if with_norm else None).double()
    ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, dtype="float64", **kwargs),
                                 2, nn.LayerNorm(8) if with_norm else None).double()
    _copy_weights(ours, theirs)
    inputs = _inputs(rng, shape) + _inputs(rng, (2, 3, 8) if batch_first else (3, 2, 8))
    outputs = (ours(inputs[0][0], inputs[1][0], tgt_mask=chainrule.tensor(mask)),
               theirs(inputs[0][1], inputs[1][1], tgt_mask=torch.tensor(mask)))
    _gradients_match(torch, ours, theirs, inputs, outputs, rng)


@pytest.mark.torch
@pytest.mark.parametrize("batch_first, norm_first, activation", [
    (False, False, "relu"), (True, True, "gelu")])
def test_transformer_end_to_end_matches_pytorch(torch, batch_first, norm_first, activation):
    rng = np.random.default_rng(3)
    torch.manual_seed(3)
    kwargs = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                  dim_feedforward=16, dropout=0.0, activation=activation,
                  batch_first=batch_first, norm_first=norm_first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.Transformer(**kwargs).double()
    ours = nn.Transformer(**kwargs, dtype="float64")
    _copy_weights(ours, theirs)
    src_shape, tgt_shape = ((2, 6, 8), (2, 4, 8)) if batch_first else ((6, 2, 8), (4, 2, 8))
    inputs = _inputs(rng, src_shape) + _inputs(rng, tgt_shape)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(4, dtype="float64")
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    np.testing.assert_array_equal(tgt_mask.numpy(), t_mask.numpy())
    padding = np.array([[False] * 6, [False] * 4 + [True] * 2])
    outputs = (ours(inputs[0][0], inputs[1][0], tgt_mask=tgt_mask,
                    src_key_padding_mask=chainrule.tensor(padding),
                    memory_key_padding_mask=chainrule.tensor(padding)),
               theirs(inputs[0][1], inputs[1][1], tgt_mask=t_mask,
                      src_key_padding_mask=torch.tensor(padding),
                      memory_key_padding_mask=torch.tensor(padding)))
    _gradients_match(torch, ours, theirs, inputs, outputs, rng)


def test_transformer_initialisation_is_xavier_uniform_on_every_matrix():
    chainrule.manual_seed(0)
    model = nn.Transformer(d_model=32, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=64)
    w = model.encoder.layers[0].linear1.weight.numpy()
    bound = np.sqrt(6 / (32 + 64))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert (model.encoder.norm.weight.numpy() == 1).all()


def test_layers_are_independent_copies_and_bias_false_drops_every_bias():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=8, bias=False)
    names = [n for n, _ in nn.TransformerEncoder(layer, 2).named_parameters()]
    assert not any("bias" in n for n in names)
    stack = nn.TransformerEncoder(layer, 2)
    assert stack.layers[0].linear1.weight is not stack.layers[1].linear1.weight


@pytest.mark.torch
def test_state_dict_names_shapes_and_repr_match_pytorch(torch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2,
                                      num_decoder_layers=1, dim_feedforward=16)
    ours = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                          dim_feedforward=16)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}


@pytest.mark.torch
def test_state_dict_round_trip_with_pytorch_through_safetensors(torch, tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    kwargs = dict(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                  dim_feedforward=16, dropout=0.0, batch_first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.Transformer(**kwargs)
    safetensors_torch.save_file(theirs.state_dict(), str(tmp_path / "torch.safetensors"))
    ours = nn.Transformer(**kwargs)
    ours.load_state_dict(chainrule.load(str(tmp_path / "torch.safetensors")))
    rng = np.random.default_rng(4)
    src = rng.standard_normal((2, 5, 8)).astype(np.float32)
    tgt = rng.standard_normal((2, 3, 8)).astype(np.float32)
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    with chainrule.no_grad():
        out = ours.eval()(chainrule.tensor(src), chainrule.tensor(tgt), tgt_mask=mask).numpy()
    with torch.no_grad():
        t_out = theirs.eval()(torch.tensor(src), torch.tensor(tgt),
                              tgt_mask=torch.tensor(mask.numpy())).numpy()
    np.testing.assert_allclose(out, t_out, rtol=1e-4, atol=1e-5)

    chainrule.manual_seed(5)
    ours = nn.Transformer(**kwargs)                 # fresh weights back into torch
    chainrule.save(ours.state_dict(), str(tmp_path / "ours.safetensors"))
    theirs.load_state_dict(safetensors_torch.load_file(str(tmp_path / "ours.safetensors")))
    with chainrule.no_grad():
        out = ours.eval()(chainrule.tensor(src), chainrule.tensor(tgt), tgt_mask=mask).numpy()
    with torch.no_grad():
        t_out = theirs(torch.tensor(src), torch.tensor(tgt),
                       tgt_mask=torch.tensor(mask.numpy())).numpy()
    np.testing.assert_allclose(out, t_out, rtol=1e-4, atol=1e-5)


class _Classifier(nn.Module):
    """An encoder with an embedding-free input projection and a head, for export."""

    def __init__(self, causal, norm_first):
        super().__init__()
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1,
                                           activation="gelu", batch_first=True,
                                           norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, 2, nn.LayerNorm(8))
        self.head = nn.Linear(8, 3)
        self.causal = causal

    def forward(self, x):
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1]) if self.causal \
            else None
        return self.head(self.encoder(x, mask=mask, is_causal=self.causal))


@pytest.mark.parametrize("causal, norm_first", [(False, False), (True, True)])
def test_encoder_onnx_export_matches_onnxruntime(tmp_path, causal, norm_first):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    chainrule.manual_seed(0)
    model = _Classifier(causal, norm_first)
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    path = chainrule.onnx.export(model, chainrule.tensor(x), str(tmp_path / "encoder.onnx"))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    model.eval()
    for batch in (x, np.random.default_rng(1).standard_normal((3, 5, 8)).astype(np.float32)):
        (got,) = session.run(None, {"input": batch})
        with chainrule.no_grad():
            expected = model(chainrule.tensor(batch)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_cross_attention_exports_too(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")

    class CrossAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(8, 2, batch_first=True, kdim=6, vdim=6)
            self.memory = nn.Parameter(chainrule.randn(1, 4, 6))

        def forward(self, x):
            memory = self.memory.expand(x.shape[0], 4, 6)
            return self.attention(x, memory, memory, need_weights=False)[0]
    chainrule.manual_seed(1)
    model = CrossAttention()
    x = np.random.default_rng(2).standard_normal((2, 3, 8)).astype(np.float32)
    path = chainrule.onnx.export(model, chainrule.tensor(x), str(tmp_path / "cross.onnx"),
                                 dynamic_batch=False)
    (got,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
        None, {"input": x})
    with chainrule.no_grad():
        np.testing.assert_allclose(got, model(chainrule.tensor(x)).numpy(), rtol=1e-4,
                                   atol=1e-5)


@pytest.mark.parametrize("call, error, match", [
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), errors.ArgumentError,
     "relu/gelu"),
    (lambda: nn.Transformer(8, 2, 1, 1, 16)(chainrule.ones(5, 2, 8), chainrule.ones(4, 3, 8)),
     errors.ShapeError, "batch number"),
    (lambda: nn.Transformer(8, 2, 1, 1, 16)(chainrule.ones(5, 2, 8), chainrule.ones(4, 2, 6)),
     errors.ShapeError, "d_model=8"),
    (lambda: nn.TransformerEncoderLayer(8, 2)(chainrule.ones(5, 2, 8), is_causal=True),
     errors.ArgumentError, "attn_mask"),
])
def test_transformer_errors_name_the_problem(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_causal_mask_is_detected_when_is_causal_is_none():
    from chainrule.nn.transformer import _detect_is_causal_mask
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    assert _detect_is_causal_mask(mask, None, 4)
    assert _detect_is_causal_mask(chainrule.tensor(np.triu(np.ones((4, 4), bool), 1)), None, 4)
    assert not _detect_is_causal_mask(chainrule.zeros(4, 4), None, 4)
    assert not _detect_is_causal_mask(mask, False, 4)
