"""Every op family, the main layers, the losses and every optimizer's step, run with arrays
from ``array_api_strict`` (the array API's strict reference implementation) as the backend.

Each case runs twice on the same inputs, once on NumPy and once under
``backend.use("array_api_strict")``, and must give the same values and gradients; under the
strict backend every result and gradient must still be a strict array (no silent trip through
NumPy). A strict array refuses anything outside the standard (NumPy-only functions, array
methods such as ``a.reshape``, NumPy scalars, fancy ``__setitem__``), so a passing case
proves the op is backend-clean; what the standard lacks goes through
:mod:`chainrule.backend_helpers`.

Excluded (see ``EXCLUDED`` below, with reasons): kept short on purpose.
"""
import numpy as np
import pytest

import chainrule
import chainrule.nn.functional as F
from chainrule import backend, nn, optim

strict = pytest.importorskip("array_api_strict")

# Fast paths compare an array's dtype with NumPy dtypes (``dtype in (float32, float64)``);
# a strict dtype compares unequal (with this warning), so they fall back to the general
# path. A branch taken wrongly would show as a value mismatch with the NumPy run below.
pytestmark = pytest.mark.filterwarnings(
    "ignore:You are comparing a array_api_strict dtype:UserWarning")

#: what the strict run leaves out, with the reason (keep this list short)
EXCLUDED = {
    "float16/bfloat16": "the array API standard has no float16 or bfloat16 dtype: the strict "
                        "run uses float64 (and float32/int64 where an op makes them)",
    "ops/pool_nd.py (max pooling with padding, dilation, ceil_mode, indices; 1-d/3-d "
    "pooling)": "new N-d pooling module still written with NumPy-only calls (pad, "
                "copyto(where=), out=, bincount): it should move to backend_helpers "
                "(pad, into) and the standard; its case below is an expected failure until then",
    "optim.Newton": "solves its small dense system with numpy.linalg in float64 on the host "
                    "(a CPU method by design; see tests/backend/test_no_direct_numpy.py)",
}

#: cases that run but are expected to fail under strict arrays (non-strict xfail: they pass
#: once the code is backend-clean), each named in EXCLUDED
KNOWN_GAPS = {"max_pool2d_overlap": "ops/pool_nd.py uses NumPy-only calls (see EXCLUDED)"}


def _rng_inputs(specs, seed):
    rng = np.random.default_rng(seed)
    arrays = []
    for spec in specs:
        if isinstance(spec, tuple):                      # a float64 shape
            arrays.append(("float", rng.standard_normal(spec)))
        else:                                            # an explicit array
            arrays.append(("fixed", np.asarray(spec)))
    return arrays


def _run(fn, specs, seed=0):
    """Values of ``fn`` and the gradients of every float input (as NumPy arrays)."""
    inputs = []
    for kind, array in _rng_inputs(specs, seed):
        t = chainrule.tensor(array)
        if kind == "float":
            t.requires_grad_()
        inputs.append(t)
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    outs = [o for o in outs if isinstance(o, chainrule.Tensor)]
    floats = [o for o in outs if o.dtype.kind == "f" and o.requires_grad]
    if floats:
        total = sum((o * o).sum() for o in floats)          # a non-uniform upstream grad
        total.backward()
    grads = [t.grad for t in inputs if t.requires_grad]
    return outs, grads


def _as_numpy(tensors):
    return [None if t is None else backend.to_numpy(t._data) for t in tensors]


def _compare(fn, specs, atol=1e-8):
    reference_outs, reference_grads = _run(fn, specs)
    expected = _as_numpy(reference_outs), _as_numpy(reference_grads)
    backend.use("array_api_strict")
    try:
        outs, grads = _run(fn, specs)
        for t in outs + [g for g in grads if g is not None]:
            assert backend.backend_strict.is_strict_array(t._data), \
                f"a result left the strict backend: {type(t._data)}"
        got = _as_numpy(outs), _as_numpy(grads)
    finally:
        backend.use("numpy")
    for e, g in zip(expected[0] + expected[1], got[0] + got[1]):
        if e is None:
            assert g is None
            continue
        np.testing.assert_allclose(g, e, atol=atol, rtol=1e-7)


A, B, M = (3, 4), (4,), (4, 5)
POS = [[0.5, 1.5, 2.0], [1.2, 0.7, 3.0]]                  # positive float inputs
LABELS = [1, 0, 3]

OPS = {
    # elementwise
    "add": (lambda a, b: a + b, [A, B]),
    "sub_mul_div": (lambda a, b: (a - b) * a / (b * b + 1), [A, B]),
    "scalar_ops": (lambda a: 2.0 * a - 1 + a / 3 + a ** 2, [A]),
    "exp_log": (lambda a: (a.exp() + 1).log(), [A]),
    "sqrt_abs": (lambda a: (a.abs() + 1).sqrt(), [A]),
    "sin_cos_tanh": (lambda a: a.sin() * a.cos() + a.tanh(), [A]),
    "pow_tensor": (lambda p, e: p ** e, [POS, (2, 3)]),
    "maximum_minimum": (lambda a, b: chainrule.maximum(a, b) + chainrule.minimum(a, b),
                        [A, B]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [A]),
    "where": (lambda a, b: chainrule.where(a > 0, a, b), [A, B]),
    "sigmoid_func": (lambda a: chainrule.sigmoid(a), [A]),
    "comparison": (lambda a, b: ((a > b) | (a == b)).to(chainrule.float64) * a, [A, B]),
    # reductions
    "sum_axis": (lambda a: a.sum(dim=1), [A]),
    "mean": (lambda a: a.mean(dim=0, keepdim=True), [A]),
    "var_std": (lambda a: a.var(dim=1) + a.std(), [A]),
    "max_min": (lambda a: a.max(dim=1).values + a.min(), [A]),
    "amax": (lambda a: a.amax(dim=0), [A]),
    "prod": (lambda a: a.prod(dim=1), [A]),
    "logsumexp": (lambda a: a.logsumexp(dim=1), [A]),
    "argmax": (lambda a: a.argmax(dim=1), [A]),
    "norm": (lambda a: a.norm(), [A]),
    "cumsum": (lambda a: a.cumsum(dim=1), [A]),
    "cumprod": (lambda a: a.cumprod(dim=1), [A]),
    "sort_topk": (lambda a: a.sort(dim=1).values + a.topk(4, dim=1).values, [A]),
    "median_kth": (lambda a: a.median(dim=1).values, [A]),
    # shape
    "reshape_view": (lambda a: a.reshape(4, 3).view(2, 6), [A]),
    "transpose_permute": (lambda a: a.t().unsqueeze(0).permute(2, 0, 1), [A]),
    "cat_stack": (lambda a, b: chainrule.cat([a, a], dim=0) + chainrule.stack([b] * 6)[0],
                  [A, B]),
    "squeeze_expand": (lambda a: a.unsqueeze(1).expand(3, 2, 4).squeeze(), [A]),
    "flip": (lambda a: a.flip(0), [A]),
    "split_chunk": (lambda a: a.split(2, dim=1)[1] + a.chunk(2, dim=1)[0], [A]),
    "flatten": (lambda a: a.flatten(), [A]),
    # indexing
    "slice": (lambda a: a[1:, ::2], [A]),
    "int_index": (lambda a: a[1], [A]),
    "tensor_index": (lambda a, i: a[i], [A, [2, 0, 2]]),
    "bool_mask": (lambda a: a[a > 0], [A]),
    "gather": (lambda a, i: a.gather(1, i), [A, [[0, 1], [3, 3], [2, 0]]]),
    "index_select": (lambda a, i: a.index_select(0, i), [A, [2, 0, 2]]),
    "masked_fill": (lambda a: a.masked_fill(a > 0.5, 0.0), [A]),
    "setitem_slice": (lambda a, b: _assigned(a, b), [A, B]),
    "scatter_add": (lambda a, i, v: a.scatter_add(1, i, v),
                    [A, [[0, 1], [3, 3], [2, 0]], (3, 2)]),
    "index_add": (lambda a, i, v: a.index_add(0, i, v), [A, [2, 0, 2], (3, 4)]),
    "take_along_dim": (lambda a, i: chainrule.take_along_dim(a, i, dim=1),
                       [A, [[0, 1], [3, 3], [2, 0]]]),
    # matmul / linalg
    "matmul": (lambda a, m: a @ m, [A, M]),
    "batched_matmul": (lambda a, b: chainrule.matmul(a, b), [(2, 3, 4), (2, 4, 2)]),
    "mv_dot": (lambda a, v: a.mv(v) + v.dot(v), [A, B]),
    "einsum": (lambda a, m: chainrule.einsum("ij,jk->ik", a, m), [A, M]),
    "linear_bias": (lambda x, w, b: F.linear(x, w, b), [A, (2, 4), (2,)]),
    "inverse_det": (lambda s: chainrule.linalg.inv(s @ s.mT + chainrule.eye(3).double())
                    + chainrule.linalg.det(s @ s.mT).sum(), [(3, 3)]),
    # activations
    "relu": (lambda a: F.relu(a), [A]),
    "leaky_gelu_silu": (lambda a: F.leaky_relu(a, 0.1) + F.gelu(a) + F.silu(a), [A]),
    "softmax": (lambda a: F.softmax(a, dim=1), [A]),
    "log_softmax": (lambda a: F.log_softmax(a, dim=1), [A]),
    "elu_softplus": (lambda a: F.elu(a) + F.softplus(a), [A]),
    "hardtanh_relu6": (lambda a: F.hardtanh(a) + F.relu6(a) + F.hardswish(a), [A]),
    "mish_selu": (lambda a: F.mish(a) + F.selu(a) + F.logsigmoid(a), [A]),
    "erf_special": (lambda a: chainrule.erf(a) + chainrule.special.erfc(a), [A]),
    "dropout_train": (lambda x: _seeded(lambda: F.dropout(x, 0.5, training=True)), [A]),
    # losses
    "mse": (lambda a, b: F.mse_loss(a, b), [A, A]),
    "l1_smooth": (lambda a, b: F.l1_loss(a, b) + F.smooth_l1_loss(a, b), [A, A]),
    "cross_entropy": (lambda a, y: F.cross_entropy(a, y), [A, [1, 0, 3]]),
    "nll": (lambda a, y: F.nll_loss(F.log_softmax(a, dim=1), y), [A, [1, 0, 3]]),
    "bce": (lambda a, t: F.binary_cross_entropy(chainrule.sigmoid(a), t),
            [A, np.full(A, 0.25)]),
    "bce_logits": (lambda a, t: F.binary_cross_entropy_with_logits(a, t),
                   [A, np.full(A, 0.75)]),
    "cross_entropy_weighted": (lambda a, w, y: F.cross_entropy(a, y, weight=w.abs(),
                                                               ignore_index=0,
                                                               label_smoothing=0.1),
                               [A, B, [1, 0, 3]]),
    "cross_entropy_probs": (lambda a, t: F.cross_entropy(a, F.softmax(t, dim=1)), [A, A]),
    "huber_kl": (lambda a, b: F.huber_loss(a, b) + F.kl_div(F.log_softmax(a, dim=1),
                                                            F.softmax(b, dim=1),
                                                            reduction="batchmean"), [A, A]),
    "nll_2d": (lambda a, y: F.nll_loss(F.log_softmax(a, dim=1), y),
               [(2, 3, 2, 2), [[[0, 1], [2, 2]], [[1, 0], [0, 2]]]]),
    # conv / pool
    "conv2d": (lambda x, w: F.conv2d(x, w, padding=1), [(2, 3, 5, 5), (4, 3, 3, 3)]),
    "conv2d_stride": (lambda x, w: F.conv2d(x, w, stride=2), [(1, 2, 6, 6), (3, 2, 2, 2)]),
    "conv1d": (lambda x, w: F.conv1d(x, w), [(2, 3, 7), (2, 3, 3)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [(2, 3, 4, 4)]),
    "max_pool2d_overlap": (lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
                           [(2, 2, 5, 5)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), [(2, 3, 4, 4)]),
    "avg_pool2d_padded": (lambda x: F.avg_pool2d(x, 3, stride=1, padding=1), [(1, 2, 4, 4)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), [(2, 2, 5, 5)]),
    "global_avg_pool": (lambda x: F.adaptive_avg_pool2d(x, 1), [(2, 3, 5, 5)]),
    "conv2d_groups_dilation": (lambda x, w: F.conv2d(x, w, groups=2, dilation=2, padding=2),
                               [(1, 4, 6, 6), (4, 2, 3, 3)]),
    "conv_transpose2d": (lambda x, w: F.conv_transpose2d(x, w, stride=2),
                         [(1, 3, 3, 3), (3, 2, 2, 2)]),
    "conv1x1": (lambda x, w: F.conv2d(x, w), [(2, 3, 4, 4), (5, 3, 1, 1)]),
    # norms
    "layer_norm": (lambda x: F.layer_norm(x, (4,)), [A]),
    "layer_norm_affine": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [A, (4,), (4,)]),
    "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), [A]),
    "batch_norm": (lambda x: F.batch_norm(x, None, None, training=True), [(4, 3)]),
    "group_norm": (lambda x: F.group_norm(x, 2), [(2, 4, 3)]),
    "instance_norm": (lambda x: F.instance_norm(x), [(2, 3, 4)]),
    "dropout_eval": (lambda x: F.dropout(x, 0.5, training=False), [A]),
}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_GAPS[n], strict=False))
    if n in KNOWN_GAPS else n for n in sorted(OPS)])
def test_op_matches_numpy(name):
    fn, specs = OPS[name]
    _compare(fn, specs)


def _seeded(fn):
    chainrule.manual_seed(0)
    return fn()


def _assigned(a, b):
    out = a * 1
    out[1:, :] = b * 2
    return out


LAYERS = {
    "Linear": (lambda: nn.Linear(4, 3), (5, 4)),
    "Conv2d": (lambda: nn.Conv2d(2, 3, 3, padding=1), (2, 2, 5, 5)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(4), (5, 4)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(2), (3, 2, 3, 3)),
    "LayerNorm": (lambda: nn.LayerNorm(4), (5, 4)),
    "MultiheadAttention": (lambda: _SelfAttention(), (2, 3, 4)),
    "LSTM": (lambda: nn.LSTM(4, 3, batch_first=True), (2, 3, 4)),
    "GRU": (lambda: nn.GRU(4, 3, batch_first=True), (2, 3, 4)),
    "RNN_bidirectional": (lambda: nn.RNN(4, 3, bidirectional=True), (3, 2, 4)),
    "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0,
                                                                   batch_first=True),
                                (2, 3, 4)),
    "GroupNorm": (lambda: nn.GroupNorm(2, 4), (2, 4, 3)),
    "ConvPoolNet": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2),
                                          nn.Flatten(), nn.Linear(8, 3)), (2, 1, 6, 6)),
    "Sequential_MLP": (lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)),
                       (5, 4)),
}


class _SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.MultiheadAttention(4, 2, batch_first=True)

    def forward(self, x):
        return self.attention(x, x, x)[0]


def _layer_case(make, shape):
    """The layer's output and the gradients of its input and every parameter."""
    def fn(x):
        chainrule.manual_seed(0)
        layer = make().to(chainrule.float64)
        out = layer(x)
        out = out[0] if isinstance(out, tuple) else out
        (out * out).sum().backward()
        return [out.detach()] + [p.grad for p in layer.parameters()]
    return fn, [shape]


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_numpy(name):
    fn, specs = _layer_case(*LAYERS[name])
    _compare(fn, specs)


def test_embedding_matches_numpy():
    def fn(ids):
        chainrule.manual_seed(0)
        layer = nn.Embedding(6, 3).to(chainrule.float64)
        out = layer(ids)
        (out * out).sum().backward()
        return [out.detach(), layer.weight.grad]
    _compare(fn, [[[1, 4, 4], [0, 5, 1]]])


OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adam": lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    "AdamW": lambda p: optim.AdamW(p, lr=0.01),
    "Adamax": lambda p: optim.Adamax(p, lr=0.01),
    "NAdam": lambda p: optim.NAdam(p, lr=0.01),
    "RAdam": lambda p: optim.RAdam(p, lr=0.01),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1),
    "Adadelta": lambda p: optim.Adadelta(p),
    "ASGD": lambda p: optim.ASGD(p, lr=0.01),
    "Rprop": lambda p: optim.Rprop(p, lr=0.01),
    "LBFGS": lambda p: optim.LBFGS(p, lr=0.5, max_iter=4),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_step_matches_numpy(name):
    def fn(w0, x, y):
        chainrule.manual_seed(0)
        weight = nn.Parameter(w0.detach().clone())
        opt = OPTIMIZERS[name]([weight])

        def closure():
            opt.zero_grad()
            loss = F.mse_loss(x.detach() @ weight, y.detach())
            loss.backward()
            return loss
        for _ in range(3):
            opt.step(closure)
        return [weight.detach()]
    _compare(fn, [(4, 2), (5, 4), (5, 2)])


def _training_run(use_fit):
    """A few steps of training on a DataLoader (shuffled, with a scheduler): by hand, or
    through fit / evaluate / predict. Returns the final weight and predictions."""
    chainrule.manual_seed(0)
    x = chainrule.tensor(np.random.default_rng(0).standard_normal((8, 4)))
    y = chainrule.tensor(np.array([0, 1, 2, 1, 0, 2, 1, 0]))
    loader = chainrule.utils.data.DataLoader(chainrule.utils.data.TensorDataset(x, y),
                                             batch_size=4, shuffle=True)
    model = nn.Linear(4, 3).to(chainrule.float64)
    opt = optim.Adam(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    if use_fit:
        chainrule.fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=2, scheduler=scheduler,
                      val_data=loader)
        chainrule.evaluate(model, nn.CrossEntropyLoss(), loader)
        out = chainrule.predict(model, loader)
    else:
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
            scheduler.step()
        out = model(x)
    return model.weight, out


@pytest.mark.parametrize("use_fit", [False, True], ids=["loop", "fit"])
def test_training_with_dataloader_and_scheduler_matches_numpy(use_fit):
    """Collation (a TensorDataset sliced in one go), zero_grad, the optimizer, a scheduler,
    and fit/evaluate/predict all stay on the strict backend."""
    expected = [backend.to_numpy(t._data) for t in _training_run(use_fit)]
    backend.use("array_api_strict")
    try:
        got = _training_run(use_fit)
        for t in got:
            assert backend.backend_strict.is_strict_array(t._data)
        got = [backend.to_numpy(t._data) for t in got]
    finally:
        backend.use("numpy")
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, atol=1e-10)
