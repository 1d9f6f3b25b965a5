"""Attention: softmax(q kᵀ · scale + mask) v as one node.

* :func:`scaled_dot_product_attention` is PyTorch's ``F.scaled_dot_product_attention``
  (any batch dimensions, bool or additive float masks, ``is_causal``, ``scale``, dropout on
  the weights, grouped-query attention).
* :func:`attention_heads` is the core of multi-head attention: the projections go in as a
  Linear leaves them, heads merged — ``(N, L, c·E)`` (or ``(L, N, c·E)``) with ``c`` of
  q, k, v packed side by side — and the result comes out merged again, so a layer records one
  node for what would be reshape, transpose, split, attention, transpose and reshape.

Both compute on arrays. Forward: the scores S = scale · q kᵀ + mask, P = softmax(S) (a row
whose keys are all masked gives zeros, as PyTorch's), dropout on P, out = P v. Backward is
the closed form (D the dropout scale, 1 without dropout)

    gv = (P∘D)ᵀ g,   gP = (g vᵀ)∘D,   gS = P ∘ (gP − rowsum(gP ∘ P)),
    gq = scale · gS k,   gk = scale · gSᵀ q,   gmask = gS.

When the backward pass is itself recorded (``create_graph=True``) the same formula is written
with chainrule ops, P recomputed from the saved q and k, so second derivatives are exact.
"""
import math
import warnings

from .. import backend, backend_helpers
from ..autograd.broadcast import broadcast_shapes
from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..generator import default_generator
from ..tensor_base import TensorBase
from ._util import require_tensor
from .activation import softmax
from .linalg import linear, matmul
from .shape import concatenate, pad, permute, reshape, stack

_CAUSAL = {}


def causal_mask_array(queries, keys, dtype):
    """0 where key j <= query i, -inf above (top-left aligned, PyTorch's ``is_causal``);
    cached, read-only."""
    cache_key = (queries, keys, str(dtype), backend.name)
    mask = _CAUSAL.get(cache_key)
    if mask is None:
        xp = backend.xp
        below = xp.arange(keys)[None, :] <= xp.arange(queries)[:, None]      # tri(q, k)
        mask = xp.where(below, xp.zeros((), dtype=dtype), -math.inf)
        if len(_CAUSAL) > 64:
            _CAUSAL.clear()
        _CAUSAL[cache_key] = mask
    return mask


def safe_softmax_array(scores):
    """Softmax over the last axis, in place; a row of only -inf (every key masked) gives
    zeros instead of NaN, as PyTorch's attention does."""
    xp = backend.xp
    if scores.shape[-1] == 0:
        return scores
    peak = xp.max(scores, axis=-1, keepdims=True)
    dead = peak == -math.inf
    any_dead = bool(xp.any(dead))
    if any_dead:
        peak[dead] = 0
    scores -= peak
    backend_helpers.into(scores, xp.exp, scores)
    total = xp.sum(scores, axis=-1, keepdims=True)
    if any_dead:
        total[dead] = 1
    scores /= total
    return scores


class SafeSoftmax(Function):
    """Softmax over the last axis that gives zeros for rows of only -inf (PyTorch's
    ``_safe_softmax``); its backward is softmax's, y (g - sum(g y)), from the saved output."""

    def forward(self, x):
        y = safe_softmax_array(backend_helpers.contiguous_copy(x))
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved_tensors
        return y * (gy - (gy * y).sum(dim=-1, keepdim=True))


def _keep_scale(shape, dtype, p, generator):
    """Inverted-dropout factors: 0 with probability p, 1 / (1 - p) otherwise."""
    rng = (generator or default_generator).numpy
    if p >= 1:
        return backend.xp.zeros(shape, dtype=dtype)
    keep = rng.random(shape) >= p
    return backend.xp.asarray(keep * (1.0 / (1.0 - p)), dtype=dtype)


def _combine(constant, mask):
    if constant is None:
        return mask
    return constant if mask is None else constant + mask


def attend(q, k, v, scale, additive, dropout_p=0.0, generator=None):
    """(out, P, dropout factors or None) of attention on arrays."""
    xp = backend.xp
    scores = q @ xp.matrix_transpose(k)
    scores *= scale
    if additive is not None:
        if broadcast_shapes(scores.shape, additive.shape) == scores.shape:
            scores += additive
        else:
            scores = scores + additive
    weights = safe_softmax_array(scores)
    keep = None
    if dropout_p > 0:
        keep = _keep_scale(weights.shape, weights.dtype, dropout_p, generator)
        return (weights * keep) @ v, weights, keep
    return weights @ v, weights, keep


def attend_backward(g, q, k, v, weights, keep, scale, need):
    """Gradients (q, k, v, scores) of attention on arrays; ``need`` says which (4 flags)."""
    need_q, need_k, need_v, need_scores = need
    xp = backend.xp
    dropped = weights if keep is None else weights * keep
    gv = xp.matrix_transpose(dropped) @ g if need_v else None
    gq = gk = gs = None
    if need_q or need_k or need_scores:
        gs = g @ xp.matrix_transpose(v)
        if keep is not None:
            gs *= keep
        gs -= xp.sum(gs * weights, axis=-1, keepdims=True)
        gs *= weights
        if need_q:
            gq = gs @ k
            gq *= scale
        if need_k:
            gk = xp.matrix_transpose(gs) @ q
            gk *= scale
    return gq, gk, gv, gs


def recorded_gradients(g, q, k, v, mask, constant, keep, scale, need):
    """The same gradients as :func:`attend_backward`, written with chainrule ops (P
    recomputed from q and k), so that they can be differentiated again."""
    need_q, need_k, need_v, need_scores = need
    scores = matmul(q, k.mT) * scale
    if constant is not None:
        scores = scores + q._make(constant, None)
    if mask is not None:
        scores = scores + mask
    weights = SafeSoftmax()(scores)
    dropped = weights if keep is None else weights * keep
    gv = matmul(dropped.mT, g) if need_v else None
    gq = gk = gs = None
    if need_q or need_k or need_scores:
        gp = matmul(g, v.mT)
        if keep is not None:
            gp = gp * keep
        gs = weights * (gp - (gp * weights).sum(dim=-1, keepdim=True))
        gq = matmul(gs, k) * scale if need_q else None
        gk = matmul(gs.mT, q) * scale if need_k else None
    return gq, gk, gv, gs


class ScaledDotProductAttention(Function):
    """Kept as a gate for speed and memory: one node that keeps only the attention weights
    besides its inputs, instead of matmul, scale, mask, softmax, dropout and matmul.

    Inputs q (..., L, E), k (..., S, E), v (..., S, Ev) and, optionally, a float mask that
    broadcasts against the scores (..., L, S); ``constant_mask`` is an additive array that
    needs no gradient (a bool mask as 0/-inf, or the causal mask).
    """

    def __init__(self, scale, constant_mask=None, dropout_p=0.0, generator=None):
        self.scale, self.constant_mask = scale, constant_mask
        self.dropout_p, self.generator = dropout_p, generator

    def forward(self, q, k, v, *mask):
        mask = mask[0] if mask else None
        out, weights, keep = attend(q, k, v, self.scale, _combine(self.constant_mask, mask),
                                    self.dropout_p, self.generator)
        if True in self.needs_input_grad:
            self.save_for_backward(q, k, v, mask, weights, keep)
        return out

    def backward(self, gy):
        q, k, v, mask, weights, keep = self.saved_tensors
        need = tuple(self.needs_input_grad) + (False,) * (4 - len(self.needs_input_grad))
        if state.enabled:
            grads = recorded_gradients(gy, q, k, v, mask, self.constant_mask, keep,
                                       self.scale, need)
        else:
            grads = attend_backward(gy._data, q._data, k._data, v._data, weights._data,
                                    None if keep is None else keep._data, self.scale, need)
            grads = tuple(None if g is None else gy._make(g, None) for g in grads)
        return tuple(g if wanted else None for g, wanted in zip(grads, self.needs_input_grad))

    def to_onnx(self, b, names, dynamic_batch):
        mask = names[3] if len(names) > 3 else None
        return _onnx_attention(b, names[0], names[1], names[2], len(self.inputs[1].shape),
                               self.scale, self.constant_mask, mask)


def _onnx_attention(b, q, k, v, k_rank, scale, constant, mask):
    perm = list(range(k_rank - 2)) + [k_rank - 1, k_rank - 2]
    scores = b.node("MatMul", [q, b.node("Transpose", [k], perm=perm)])
    scores = b.node("Mul", [scores, b.scalar(scale)])
    if constant is not None:
        scores = b.node("Add", [scores, b.constant(backend.to_numpy(constant).astype(b.dtype))])
    if mask is not None:
        scores = b.node("Add", [scores, mask])
    weights = b.node("Softmax", [scores], axis=-1)
    return b.node("MatMul", [weights, v])


# ---------------------------------------------------------------- multi-head core

class AttentionHeads(Function):
    """Kept as a gate for speed: multi-head attention between projections whose heads are
    merged, as one node (the head split and merge are array views and one copy each).

    The inputs are the projections, each ``(N, L, c·E)`` (``batch_first``) or
    ``(L, N, c·E)``, holding ``c`` of q, k, v side by side (``chunks``: (3,) for a packed
    self-attention projection, (1, 2) for a query and a packed key/value, (1, 1, 1)), then
    optionally a float mask broadcasting against the scores (N, H, L, S). The output is
    ``(N, L, E)`` (or ``(L, N, E)``).
    """

    def __init__(self, num_heads, chunks, batch_first, constant_mask=None, dropout_p=0.0,
                 generator=None):
        self.num_heads, self.chunks, self.batch_first = num_heads, chunks, batch_first
        self.constant_mask, self.dropout_p, self.generator = constant_mask, dropout_p, generator

    def _split(self, x, count):
        """(N, L, c·E) -> c arrays (N, H, L, D), views of one contiguous copy."""
        heads = self.num_heads
        if self.batch_first:
            n, length = x.shape[:2]
            order = (2, 0, 3, 1, 4)
        else:
            length, n = x.shape[:2]
            order = (2, 1, 3, 0, 4)
        size = x.shape[2] // (count * heads)
        xp = backend.xp
        split = backend_helpers.contiguous_copy(xp.permute_dims(
            xp.reshape(x, (x.shape[0], x.shape[1], count, heads, size)), order))
        return [split[i, ...] for i in range(split.shape[0])]

    def _merge(self, heads_array):
        """c arrays (N, H, L, D) stacked as (c, N, H, L, D) -> (N, L, c·E) (or (L, N, c·E))."""
        c, n, heads, length, size = heads_array.shape
        order = (1, 3, 0, 2, 4) if self.batch_first else (3, 1, 0, 2, 4)
        merged = backend.xp.permute_dims(heads_array, order)
        outer = (n, length) if self.batch_first else (length, n)
        return backend.xp.reshape(backend_helpers.contiguous_copy(merged),
                                  outer + (c * heads * size,))

    def forward(self, *arrays):
        count = len(self.chunks)
        projections, mask = arrays[:count], (arrays[count] if len(arrays) > count else None)
        heads = []
        for x, chunks in zip(projections, self.chunks):
            heads.extend(self._split(x, chunks))
        q, k, v = heads
        self.scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
        out, weights, keep = attend(q, k, v, self.scale, _combine(self.constant_mask, mask),
                                    self.dropout_p, self.generator)
        if True in self.needs_input_grad:
            self.save_for_backward(*projections, mask, q, k, v, weights, keep)
        return self._merge(out[None, ...])

    def backward(self, gy):
        count = len(self.chunks)
        saved = self.saved_tensors
        projections, mask = saved[:count], saved[count]
        q, k, v, weights, keep = saved[count + 1:]
        need = self.needs_input_grad
        owner = [i for i, c in enumerate(self.chunks) for _ in range(c)]   # q, k, v -> input
        wanted = tuple(need[i] for i in owner) + (len(need) > count and need[count],)
        if state.enabled:
            return self._recorded_backward(gy, projections, mask, keep, wanted, owner)
        (g,) = self._split(gy._data, 1)
        grads = attend_backward(g, q._data, k._data, v._data, weights._data,
                                None if keep is None else keep._data, self.scale, wanted)
        result = []
        for i, chunks in enumerate(self.chunks):
            if not need[i]:
                result.append(None)
                continue
            parts = [grads[j] for j in range(3) if owner[j] == i]
            result.append(gy._make(self._merge(backend.xp.stack(parts)), None))
        if len(need) > count:
            result.append(gy._make(grads[3], None) if need[count] else None)
        return tuple(result)

    def _recorded_backward(self, gy, projections, mask, keep, wanted, owner):
        heads = []
        for x, chunks in zip(projections, self.chunks):
            heads.extend(self._split_recorded(x, chunks))
        (g,) = self._split_recorded(gy, 1)
        grads = recorded_gradients(g, *heads, mask, self.constant_mask, keep, self.scale,
                                   wanted)
        result = []
        need = self.needs_input_grad
        for i, chunks in enumerate(self.chunks):
            parts = [grads[j] for j in range(3) if owner[j] == i]
            result.append(self._merge_recorded(stack(parts)) if need[i] else None)
        if len(need) > len(self.chunks):
            result.append(grads[3] if need[-1] else None)
        return tuple(result)

    def _split_recorded(self, x, count):
        heads = self.num_heads
        size = x.shape[2] // (count * heads)
        order = (2, 0, 3, 1, 4) if self.batch_first else (2, 1, 3, 0, 4)
        split = permute(reshape(x, x.shape[0], x.shape[1], count, heads, size), *order)
        return [split[i] for i in range(count)]

    def _merge_recorded(self, stacked):
        c, n, heads, length, size = stacked.shape
        order = (1, 3, 0, 2, 4) if self.batch_first else (3, 1, 0, 2, 4)
        outer = (n, length) if self.batch_first else (length, n)
        return reshape(permute(stacked, *order), *outer, c * heads * size)

    def to_onnx(self, b, names, dynamic_batch):
        count = len(self.chunks)
        heads = []
        for name, x, chunks in zip(names, self.inputs, self.chunks):
            size = x.shape[2] // (chunks * self.num_heads)
            shaped = b.node("Reshape", [name, b.ints([0, 0, chunks, self.num_heads, size])])
            order = [2, 0, 3, 1, 4] if self.batch_first else [2, 1, 3, 0, 4]
            moved = b.node("Transpose", [shaped], perm=order)
            for i in range(chunks):
                heads.append(b.node("Gather", [moved, b.ints(i)], axis=0))
        mask = names[count] if len(names) > count else None
        out = _onnx_attention(b, *heads, 4, self.scale, self.constant_mask, mask)
        order = [0, 2, 1, 3] if self.batch_first else [2, 0, 1, 3]
        moved = b.node("Transpose", [out], perm=order)
        return b.node("Reshape", [moved, b.ints([0, 0, -1])])


class WeightRows(Function):
    """Rows ``start:stop`` of a weight or bias (the q, k or v part of a packed projection);
    backward pads the gradient with zeros back to the full rows. A gate of its own so that
    ONNX export can write it as a Slice."""

    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def forward(self, w):
        self.rows = w.shape[0]
        return w[self.start:self.stop, ...]

    def backward(self, gy):
        widths = [(self.start, self.rows - self.stop)] + [(0, 0)] * (gy.ndim - 1)
        return pad(gy, widths)

    def to_onnx(self, b, names, dynamic_batch):
        return b.node("Slice", [names[0], b.ints([self.start]), b.ints([self.stop]),
                                b.ints([0])])


def weight_rows(w, start, stop):
    """``w[start:stop]`` as one node that ONNX export understands."""
    if w is None:
        return None
    return WeightRows(start, stop)(w)


def attention_heads(projections, chunks, num_heads, batch_first=True, mask=None,
                    is_causal=False, dropout_p=0.0, generator=None):
    """Multi-head attention of projected inputs (see :class:`AttentionHeads`); ``mask`` is
    None, an additive array (no gradient) or a float Tensor broadcasting against the scores
    (N, H, L, S).

    >>> import chainrule
    >>> qkv = chainrule.randn(2, 5, 3 * 8)          # a packed projection, batch first
    >>> attention_heads([qkv], (3,), num_heads=2, is_causal=True).shape
    (2, 5, 8)
    """
    x = projections[0]
    sequence_axis = 1 if batch_first else 0
    queries = x.shape[sequence_axis]
    keys = projections[-1].shape[sequence_axis]
    constant = None
    if is_causal:
        constant = causal_mask_array(queries, keys, x._data.dtype)
    inputs = list(projections)
    if isinstance(mask, TensorBase):
        inputs.append(mask)
    elif mask is not None:
        constant = _combine(constant, mask)
    return AttentionHeads(num_heads, tuple(chunks), batch_first, constant, dropout_p,
                          generator)(*inputs)


# ---------------------------------------------------------------- functional form

def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(query keyᵀ · scale + mask) value, PyTorch's F.scaled_dot_product_attention.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); batch dimensions
    broadcast. ``attn_mask``: bool (True = may attend) or float (added to the scores),
    broadcasting against (..., L, S); ``is_causal``: query i attends keys 0..i (top-left
    aligned); ``scale`` defaults to 1/sqrt(E). A query whose keys are all masked gets zeros.
    Dropout on the weights is applied whenever ``dropout_p > 0`` (as in PyTorch: pass
    ``dropout_p=p if training else 0``). ``enable_gqa``: key/value may have fewer heads (dim
    -3) than query, each shared by a group of query heads.

    >>> import chainrule
    >>> q = chainrule.randn(2, 4, 3, 8)
    >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
    (2, 4, 3, 8)
    """
    op = "scaled_dot_product_attention"
    query, key, value = (require_tensor(t, op, name) for t, name in
                         ((query, "query"), (key, "key"), (value, "value")))
    _check_attention_inputs(query, key, value, op)
    if not 0 <= dropout_p <= 1:
        raise ArgumentError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise ArgumentError(f"{op}: an explicit attn_mask should not be set when "
                            "is_causal=True (the causal mask is built from the shapes)")
    if enable_gqa:
        key, value = _repeat_kv_heads(query, key, value, op)
    length, keys = query.shape[-2], key.shape[-2]
    batch = _batch_shape(query, key, value, op)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    dtype = query._data.dtype
    constant, inputs = None, [query, key, value]
    if is_causal:
        constant = causal_mask_array(length, keys, dtype)
    elif attn_mask is not None:
        mask = _attention_mask(attn_mask, batch + (length, keys), dtype, op)
        if isinstance(mask, TensorBase):
            inputs.append(mask)
        else:
            constant = mask
    return ScaledDotProductAttention(scale, constant, float(dropout_p))(*inputs)


# ---------------------------------------------------------------- multi-head attention

def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads,
                                 in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn,
                                 dropout_p, out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False):
    """PyTorch's F.multi_head_attention_forward: inputs (L, N, E) (sequence first) or
    unbatched (L, E); returns (output, attention weights or None). Masks as in
    nn.MultiheadAttention: in ``attn_mask`` and ``key_padding_mask`` True means *may not*
    attend; float masks are added to the scores.

    >>> import chainrule
    >>> x = chainrule.randn(5, 2, 8)
    >>> w, b = chainrule.randn(24, 8), chainrule.zeros(24)
    >>> out, weights = multi_head_attention_forward(x, x, x, 8, 2, w, b, None, None, False,
    ...                                             0.0, chainrule.randn(8, 8), None)
    >>> out.shape, weights.shape
    ((5, 2, 8), (2, 5, 5))
    """
    if static_k is not None or static_v is not None:
        raise ArgumentError("multi_head_attention_forward: static_k/static_v are not "
                            "supported (see docs/pytorch.md, Attention)")
    weights = dict(in_proj_weight=in_proj_weight, in_proj_bias=in_proj_bias,
                   q_proj_weight=q_proj_weight, k_proj_weight=k_proj_weight,
                   v_proj_weight=v_proj_weight, bias_k=bias_k, bias_v=bias_v,
                   out_proj_weight=out_proj_weight, out_proj_bias=out_proj_bias)
    return multi_head_attention(query, key, value, embed_dim_to_check, num_heads, weights,
                                add_zero_attn, dropout_p if training else 0.0,
                                key_padding_mask, need_weights, attn_mask,
                                average_attn_weights, is_causal, use_separate_proj_weight,
                                batch_first=False)


def multi_head_attention(query, key, value, embed_dim, num_heads, weights, add_zero_attn,
                         dropout_p, key_padding_mask, need_weights, attn_mask,
                         average_attn_weights, is_causal, separate, batch_first,
                         generator=None):
    """The work of :func:`multi_head_attention_forward` for either layout (``batch_first``:
    (N, L, E)); ``weights`` maps PyTorch's parameter names to tensors (or None)."""
    op = "MultiheadAttention"
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads, op)
    if not batched:
        query, key, value = (t.unsqueeze(1) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
        batch_first = False
    seq_axis = 1 if batch_first else 0
    length, keys = query.shape[seq_axis], key.shape[seq_axis]
    batch, width = query.shape[1 - seq_axis], query.shape[2]
    dtype = query._data.dtype
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask,
                                       "attn_mask", dtype, op)
    if is_causal and attn_mask is None:
        raise ArgumentError(f"{op}: is_causal=True is a hint that attn_mask is the causal mask, "
                            "so attn_mask is needed too (Transformer."
                            "generate_square_subsequent_mask makes one)")
    use_causal = is_causal and key_padding_mask is None and not need_weights
    attn_mask = None if use_causal else _canonical_mask(attn_mask, "attn_mask", None, "",
                                                        dtype, op)
    _check_mha_sizes(query, key, value, width, embed_dim, num_heads, separate, op)
    head_dim = width // num_heads
    if attn_mask is not None:
        attn_mask = _mask_3d(attn_mask, batch * num_heads, length, keys, op)
    add_kv = weights.get("bias_k") is not None or add_zero_attn
    if weights.get("bias_k") is None and weights.get("bias_v") is not None or \
            weights.get("bias_k") is not None and weights.get("bias_v") is None:
        raise ArgumentError(f"{op}: bias_k and bias_v come together")
    projections, chunks = _projections(query, key, value, width, weights, separate,
                                       packed=not add_kv and not need_weights)
    if add_kv:
        projections, attn_mask, key_padding_mask = _extend_keys(
            projections, attn_mask, key_padding_mask, weights, add_zero_attn, batch,
            seq_axis)
        keys = projections[1].shape[seq_axis]
    mask = _merged_mask(attn_mask, key_padding_mask, batch, num_heads, length, keys, op)
    if need_weights:
        out, attention = _attention_with_weights(projections, num_heads, head_dim,
                                                 batch_first, mask, dropout_p, generator)
        if average_attn_weights:
            attention = attention.mean(dim=1)
    else:
        if mask is not None and not mask.requires_grad:
            mask = mask._data
        out = attention_heads(projections, chunks, num_heads, batch_first, mask, use_causal,
                              dropout_p, generator)
        attention = None
    out = linear(out, weights["out_proj_weight"], weights.get("out_proj_bias"))
    if not batched:
        out = out.squeeze(1)
        attention = None if attention is None else attention.squeeze(0)
    return out, attention


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads, op):
    """Whether the input is batched (3-D) or not (2-D), after PyTorch's checks."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        require_tensor(t, op, name)
    if query.ndim not in (2, 3):
        raise ShapeError(f"{op}: query should be unbatched 2-D (L, E) or batched 3-D, got "
                         f"shape {query.shape}")
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ShapeError(f"{op}: for a {query.ndim}-D query, key and value must be "
                         f"{query.ndim}-D too, got shapes {key.shape} and {value.shape}")
    batched = query.ndim == 3
    if key_padding_mask is not None and key_padding_mask.ndim != (2 if batched else 1):
        raise ShapeError(f"{op}: key_padding_mask must be {'(N, S)' if batched else '(S,)'} "
                         f"for a {query.ndim}-D query, got shape {key_padding_mask.shape}")
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise ShapeError(f"{op}: attn_mask must be 2-D (L, S) or 3-D (N*num_heads, L, S), "
                             f"got shape {attn_mask.shape}")
        if not batched and attn_mask.ndim == 3 and \
                attn_mask.shape != (num_heads, query.shape[0], key.shape[0]):
            raise ShapeError(f"{op}: a 3-D attn_mask for an unbatched query must have shape "
                             f"{(num_heads, query.shape[0], key.shape[0])}, got "
                             f"{attn_mask.shape}")
    return batched


def _canonical_mask(mask, name, other, other_name, dtype, op):
    """PyTorch's _canonical_mask: a bool mask becomes a float one (-inf where True), a float
    mask is used as it is; other dtypes are refused."""
    if mask is None:
        return None
    require_tensor(mask, op, name)
    kind = backend.kind(mask._data.dtype)
    if kind not in "bf":
        raise DTypeError(f"{op}: {name} must be bool or floating-point, got {mask.dtype}")
    if other is not None and isinstance(other, TensorBase) and other.dtype != mask.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same "
                      "type for both instead.", stacklevel=4)
    if kind == "b":
        zero = backend.xp.zeros((), dtype=dtype)
        return mask._make(backend.xp.where(mask._data, -math.inf, zero), None)
    return mask


def _check_mha_sizes(query, key, value, width, embed_dim, num_heads, separate, op):
    if width != embed_dim:
        raise ShapeError(f"{op}: expected inputs with embed_dim={embed_dim} features, got "
                         f"query of shape {query.shape}")
    if num_heads < 1 or width % num_heads:
        raise ArgumentError(f"{op}: embed_dim {width} is not divisible by num_heads "
                            f"{num_heads}")
    if separate and key.shape[:2] != value.shape[:2]:
        raise ShapeError(f"{op}: key {key.shape} and value {value.shape} must agree in their "
                         "sequence and batch dimensions")
    if not separate and key.shape != value.shape:
        raise ShapeError(f"{op}: key shape {key.shape} does not match value shape "
                         f"{value.shape}")


def _mask_3d(mask, batch_heads, length, keys, op):
    if mask.ndim == 2:
        if mask.shape != (length, keys):
            raise ShapeError(f"{op}: the 2-D attn_mask has shape {mask.shape}, but should be "
                             f"{(length, keys)}")
        return mask.unsqueeze(0)
    if mask.shape != (batch_heads, length, keys):
        raise ShapeError(f"{op}: the 3-D attn_mask has shape {mask.shape}, but should be "
                         f"{(batch_heads, length, keys)}")
    return mask


def _projections(query, key, value, width, weights, separate, packed):
    """The q, k, v projections (heads merged) as few Linear nodes as the inputs allow, and
    how many of q, k, v each holds."""
    w, b = weights.get("in_proj_weight"), weights.get("in_proj_bias")
    bias = [None] * 3 if b is None else [weight_rows(b, i * width, (i + 1) * width)
                                         for i in range(3)]
    if separate:
        ws = [weights.get(n) for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight")]
        if any(x is None for x in ws):
            raise ArgumentError("MultiheadAttention: use_separate_proj_weight needs "
                                "q_proj_weight, k_proj_weight and v_proj_weight")
    else:
        if w is None:
            raise ArgumentError("MultiheadAttention: in_proj_weight is None (pass "
                                "use_separate_proj_weight=True with q/k/v_proj_weight)")
        if packed and query is key and key is value:
            return [linear(query, w, b)], (3,)
        if packed and key is value:
            kv_bias = None if b is None else weight_rows(b, width, 3 * width)
            return [linear(query, weight_rows(w, 0, width), bias[0]),
                    linear(key, weight_rows(w, width, 3 * width), kv_bias)], (1, 2)
        ws = [weight_rows(w, i * width, (i + 1) * width) for i in range(3)]
    return [linear(x, wi, bi) for x, wi, bi in zip((query, key, value), ws, bias)], (1, 1, 1)


def _extend_keys(projections, attn_mask, key_padding_mask, weights, add_zero_attn, batch,
                 seq_axis):
    """bias_k/bias_v appended as one more key and value, then (add_zero_attn) a zero key
    and value; the masks get a column of zeros for each."""
    q, k, v = projections
    shape = (batch, 1, k.shape[2]) if seq_axis == 1 else (1, batch, k.shape[2])
    extra = []
    if weights.get("bias_k") is not None:
        extra.append((weights["bias_k"].reshape(1, 1, -1).expand(*shape),
                      weights["bias_v"].reshape(1, 1, -1).expand(*shape)))
    if add_zero_attn:
        zero = k._make(backend.xp.zeros(shape, dtype=k._data.dtype), None)
        extra.append((zero, zero))
    for bias_k, bias_v in extra:
        k = concatenate([k, bias_k], axis=seq_axis)
        v = concatenate([v, bias_v], axis=seq_axis)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, ((0, 0), (0, 0), (0, 1)))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, ((0, 0), (0, 1)))
    return [q, k, v], attn_mask, key_padding_mask


def _merged_mask(attn_mask, key_padding_mask, batch, heads, length, keys, op):
    """attn_mask (1 or N·H, L, S) and key_padding_mask (N, S) as one additive mask that
    broadcasts against the scores (N, H, L, S)."""
    if key_padding_mask is not None and key_padding_mask.shape != (batch, keys):
        raise ShapeError(f"{op}: key_padding_mask should have shape {(batch, keys)}, got "
                         f"{key_padding_mask.shape}")
    mask = None
    if attn_mask is not None:
        mask = attn_mask.reshape(1, 1, length, keys) if attn_mask.shape[0] == 1 else \
            attn_mask.reshape(batch, heads, length, keys)
    if key_padding_mask is not None:
        padding = key_padding_mask.reshape(batch, 1, 1, keys)
        mask = padding if mask is None else mask + padding
    return mask


def _attention_with_weights(projections, heads, head_dim, batch_first, mask, dropout_p,
                            generator):
    """PyTorch's need_weights path, as a composition of ops (the weights are an output that
    can be differentiated): plain softmax, so a row with every key masked gives NaN, as
    PyTorch's does."""
    split = []
    for x in projections:
        n, length = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
        order = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
        split.append(permute(reshape(x, x.shape[0], x.shape[1], heads, head_dim), *order))
    q, k, v = split
    scores = matmul(q * math.sqrt(1.0 / head_dim), k.mT)
    if mask is not None:
        scores = scores + mask
    weights = softmax(scores, dim=-1)
    dropped = weights
    if dropout_p > 0:
        keep = _keep_scale(weights.shape, weights._data.dtype, dropout_p, generator)
        weights = dropped = weights * weights._make(keep, None)
    out = matmul(dropped, v)                     # (N, H, L, D)
    n, _, length, _ = out.shape
    if batch_first:
        out = reshape(permute(out, 0, 2, 1, 3), n, length, heads * head_dim)
    else:
        out = reshape(permute(out, 2, 0, 1, 3), length, n, heads * head_dim)
    return out, weights


def _check_attention_inputs(query, key, value, op):
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ShapeError(f"{op}: query, key and value need at least 2 dimensions, got shapes "
                         f"{query.shape}, {key.shape} and {value.shape}")
    dtypes = {query.dtype, key.dtype, value.dtype}
    if len(dtypes) > 1:
        raise DTypeError(f"{op}: query, key and value must have the same dtype, got "
                         f"{query.dtype}, {key.dtype} and {value.dtype}")
    if backend.kind(query._data.dtype) != "f":
        raise DTypeError(f"{op}: needs floating-point query, key and value, got {query.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(f"{op}: query {query.shape} and key {key.shape} must have the same "
                         "last dimension (the embedding size E)")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"{op}: key {key.shape} and value {value.shape} must have the same "
                         "sequence length (dimension -2)")


def _batch_shape(query, key, value, op):
    try:
        return broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ShapeError:
        raise ShapeError(f"{op}: the batch dimensions of query {query.shape}, key {key.shape} "
                         f"and value {value.shape} do not broadcast together") from None


def _repeat_kv_heads(query, key, value, op):
    """Grouped-query attention: each key/value head serves query_heads / kv_heads heads."""
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        raise ShapeError(f"{op}: enable_gqa needs a head dimension (-3) in query, key and "
                         f"value, got shapes {query.shape}, {key.shape} and {value.shape}")
    heads = query.shape[-3]
    result = []
    for t in (key, value):
        kv_heads = t.shape[-3]
        if kv_heads == 0 or heads % kv_heads:
            raise ShapeError(f"{op}: enable_gqa: the {heads} query heads cannot be shared "
                             f"among {kv_heads} key/value heads (shapes {query.shape} and "
                             f"{t.shape})")
        group = heads // kv_heads
        if group > 1:
            shape = t.shape[:-3] + (kv_heads, group) + t.shape[-2:]
            t = reshape(t.unsqueeze(-3).expand(*shape), *t.shape[:-3], heads, *t.shape[-2:])
        result.append(t)
    return result


def _attention_mask(mask, scores_shape, dtype, op):
    """A bool mask -> an additive array (0 where True, -inf where False); a float mask ->
    itself in ``dtype`` (a Tensor, so that a gradient can reach it)."""
    if not isinstance(mask, TensorBase):
        raise ArgumentTypeError(f"{op}: attn_mask must be a Tensor, got {type(mask).__name__}")
    kind = backend.kind(mask._data.dtype)
    if kind not in "bf":
        raise DTypeError(f"{op}: attn_mask must be bool or floating-point, got {mask.dtype}")
    try:
        shape = broadcast_shapes(mask.shape, scores_shape)
    except ShapeError:
        shape = None
    if shape != tuple(scores_shape):
        raise ShapeError(f"{op}: attn_mask of shape {mask.shape} does not broadcast against "
                         f"the attention scores of shape {tuple(scores_shape)}")
    if kind == "b":
        xp = backend.xp
        return xp.where(mask._data, xp.zeros((), dtype=dtype), -math.inf)
    return mask if mask._data.dtype == dtype else mask.to(dtype)


__all__ = ["scaled_dot_product_attention", "attention_heads", "multi_head_attention_forward"]
