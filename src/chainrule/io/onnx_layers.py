"""ONNX exporters of the recurrent, embedding and normalisation layers (merged into
``onnx.EXPORTERS``).

* Recurrent layers. A layer direction is traced as a Linear (the input projection of every
  step) and one scan node; each scan becomes one ONNX ``RNN``, ``LSTM`` or ``GRU`` node
  whose input is that projection: ``W`` is the permutation from PyTorch's gate order to
  ONNX's (LSTM i f g o -> i o f c, GRU r z n -> z r h, with ``linear_before_reset=1``, the
  reset gate applied after W_hn as PyTorch's), so ``X W^T`` reorders the gates exactly (a
  product by ones and zeros), ``R`` and the recurrent bias are PyTorch's rows reordered.
  Layers, directions and batch_first are the ops around the scans (Concat, Transpose).
  An initial state that is a constant zero (none given) is left out, ONNX's default; any
  other is ``initial_h`` / ``initial_c``. An LSTM scan's output holds every step's h and c:
  ONNX gives every h but only the last c, so the c of the other steps is NaN, and reading
  it through indexing (which nn.LSTM never does) is refused at export time. Refused with an
  ArgumentError: LSTM ``proj_size`` (ONNX's LSTM has no projection) and packed sequences.
* Indexing ``x[...]`` with ints, slices, None and Ellipsis: ``Slice``, ``Squeeze``,
  ``Unsqueeze``; constant padding: ``Pad``.
* Embedding: ``Gather`` of rows; the indices are the graph's input when the model looks up
  its (integer) input directly, a constant otherwise (position ids built inside the model).
* Batch-statistics normalisation (what ``instance_norm`` records, on its (1, N*C, ...)
  fold): ``InstanceNormalization``; with a batch larger than one, the same formula from
  ReduceMean. InstanceNorm's running-statistics path and LocalResponseNorm are compositions
  of ops that export already (ONNX's ``LRN`` centres an even-sized window one channel
  further on than PyTorch, so the composition is the faithful export).
"""
import numpy

from .. import backend
from ..errors import ArgumentError
from ..ops import embedding, indexing, norm, recurrent, shape


# ---------------------------------------------------------------- indexing

def _expand_index(index, shape):
    """The basic index as one entry per input axis (int or slice) plus the output positions
    of its None entries; ArgumentError for what has no Slice (integer arrays, masks)."""
    items = list(index) if isinstance(index, tuple) else [index]
    for item in items:
        if isinstance(item, bool) or not (item is None or item is Ellipsis or isinstance(
                item, (slice, int, numpy.integer))):
            raise ArgumentError(f"ONNX export: indexing with {type(item).__name__} (an array "
                                "or mask index) is not supported yet")
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis)
    per_axis, new_axes, out_axis = [], [], 0
    for item in items:
        if item is Ellipsis:
            spread = len(shape) - consumed
            per_axis += [slice(None)] * spread
            out_axis += spread
            consumed = len(shape)        # a second Ellipsis (the appended one) adds nothing
        elif item is None:
            new_axes.append(out_axis)
            out_axis += 1
        else:
            per_axis.append(item)
            out_axis += 0 if isinstance(item, (int, numpy.integer)) else 1
    per_axis += [slice(None)] * (len(shape) - len(per_axis))
    return per_axis, new_axes


def _steps_selected(item, n):
    if isinstance(item, slice):
        return range(*item.indices(n))
    return [int(item) % n]


def _getitem(b, fn, x, batch):
    shape = fn.inputs[0].shape
    per_axis, new_axes = _expand_index(fn.index, shape)
    if isinstance(fn.inputs[0].grad_fn, recurrent.LSTMScan):
        _check_lstm_read(fn.inputs[0].grad_fn, per_axis, shape)
    starts, ends, axes, steps, dropped = [], [], [], [], []
    for axis, (item, n) in enumerate(zip(per_axis, shape)):
        if isinstance(item, slice):
            start, stop, step = item.indices(n)
            if (start, stop, step) == (0, n, 1):
                continue
            if step < 0 and stop < 0:
                stop = -(2 ** 63)                  # before the first element
            starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
        else:
            i = int(item) % n
            starts.append(i), ends.append(i + 1), axes.append(axis), steps.append(1)
            dropped.append(axis)
    out = x[0]
    if axes:
        out = b.node("Slice", [out, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])
    if dropped:
        out = b.node("Squeeze", [out, b.ints(dropped)])
    if new_axes:
        out = b.node("Unsqueeze", [out, b.ints(new_axes)])
    if out == x[0]:
        out = b.node("Identity", [out])
    return out


def _check_lstm_read(scan, per_axis, shape):
    """The c half of an exported LSTM scan is known at its last step only."""
    length, _, width = shape
    proj = scan.inputs[1].shape[-1]
    columns = _steps_selected(per_axis[2], width)
    steps = _steps_selected(per_axis[0], length)
    last = 0 if scan.reverse else length - 1
    if any(c >= proj for c in columns) and any(t != last for t in steps):
        raise ArgumentError("ONNX export: this model reads an LSTM's cell state c at a step "
                            "other than the last; ONNX's LSTM gives the last c only")


def _constant_pad(b, fn, x, batch):
    befores = [int(before) for before, _ in fn.pad_width]
    afters = [int(after) for _, after in fn.pad_width]
    return b.node("Pad", [x[0], b.ints(befores + afters), b.scalar(fn.value)], mode="constant")


# ---------------------------------------------------------------- recurrent scans

#: ONNX's gate order, as the index of each of its gates in PyTorch's order.
_ONNX_GATES = {recurrent.RNNScan: [0], recurrent.LSTMScan: [0, 3, 1, 2],
               recurrent.GRUScan: [1, 0, 2]}
_ONNX_OP = {recurrent.RNNScan: "RNN", recurrent.LSTMScan: "LSTM", recurrent.GRUScan: "GRU"}


def _gate_rows(order, hidden):
    return numpy.concatenate([numpy.arange(g * hidden, (g + 1) * hidden) for g in order])


def _is_zero_constant(t):
    return t.grad_fn is None and not t.requires_grad and not backend.to_numpy(t._data).any()


def _scan(b, fn, x, batch):
    kind = type(fn)
    if fn.mask is not None:
        raise ArgumentError("ONNX export: a recurrent layer over a PackedSequence (sequences "
                            "of different lengths) is not supported; export a padded batch")
    if kind is recurrent.LSTMScan and fn._passed[5]:
        raise ArgumentError("ONNX export: LSTM with proj_size > 0 is not supported (ONNX's "
                            "LSTM operator has no projection); use proj_size=0")
    xproj, h0 = fn.inputs[0], fn.inputs[1]
    w_at = 3 if kind is recurrent.LSTMScan else 2
    hidden = fn.inputs[w_at].shape[1]
    rows = _gate_rows(_ONNX_GATES[kind], hidden)
    reorder = b.ints(rows)

    def onnx_order(name):                     # PyTorch's gate rows in ONNX's order, (1, ...)
        return b.node("Unsqueeze", [b.node("Gather", [name, reorder], axis=0), b.ints([0])])

    zeros = b.constant(numpy.zeros((1, len(rows)), dtype=b.dtype))
    bias = (b.node("Concat", [zeros, onnx_order(x[w_at + 1])], axis=1)
            if len(fn.inputs) > w_at + 1 else None)
    permutation = numpy.eye(len(rows), dtype=b.dtype)[rows]
    inputs = [x[0], b.constant(permutation[None]), onnx_order(x[w_at]), bias or "", ""]
    states = [(h0, x[1])] + ([(fn.inputs[2], x[2])] if kind is recurrent.LSTMScan else [])
    for state, name in states:
        inputs.append("" if _is_zero_constant(state) else
                      b.node("Unsqueeze", [name, b.ints([0])]))
    while inputs[-1] == "":
        inputs.pop()
    attrs = dict(hidden_size=hidden, direction="reverse" if fn.reverse else "forward")
    if kind is recurrent.RNNScan:
        attrs["activations"] = ["Tanh" if fn.nonlinearity == "tanh" else "Relu"]
    if kind is recurrent.GRUScan:
        attrs["linear_before_reset"] = 1
    outputs = [b.fresh("y")] + ([b.fresh("y_h"), b.fresh("y_c")]
                                if kind is recurrent.LSTMScan else [])
    b.nodes.append(b.helper.make_node(_ONNX_OP[kind], inputs, outputs, **attrs))
    every_h = b.node("Squeeze", [outputs[0], b.ints([1])])
    if kind is not recurrent.LSTMScan:
        return every_h
    return b.node("Concat", [every_h, _last_c_only(b, outputs[2], xproj.shape[0],
                                                   fn.reverse)], axis=-1)


def _last_c_only(b, y_c, length, reverse):
    """(T, B, H): the last c at the scan's last step, NaN at the others (ONNX has no more)."""
    marks = numpy.full((length, 1, 1), numpy.nan, dtype=b.dtype)
    marks[0 if reverse else -1] = 1
    spread = b.node("Expand", [y_c, b.ints([length, 1, 1])])
    return b.node("Mul", [spread, b.constant(marks)])


# ---------------------------------------------------------------- embedding, normalisation

def _embedding(b, fn, x, batch):
    source = getattr(b, "graph_input", None)
    if source is not None and fn.indices is source[0]:
        indices = source[1]
    elif source is not None and numpy.shares_memory(backend.to_numpy(fn.indices),
                                                    backend.to_numpy(source[0])):
        raise ArgumentError("ONNX export: the embedding looks up a reshaped or sliced view of "
                            "the integer input, which is not traced; look up the input itself")
    else:
        indices = b.constant(numpy.asarray(backend.to_numpy(fn.indices), dtype=numpy.int64))
    return b.node("Gather", [x[0], indices], axis=0)


def _batch_statistics_norm(b, fn, x, batch):
    """BatchNorm with the batch's own statistics (what instance_norm records)."""
    shape = fn.inputs[0].shape
    channels = shape[1]
    weight = x[1] if fn.has_weight else None
    bias = x[-1] if fn.has_bias else None
    if len(shape) >= 3 and shape[0] == 1:
        scale = weight or b.constant(numpy.ones(channels, dtype=b.dtype))
        shift = bias or b.constant(numpy.zeros(channels, dtype=b.dtype))
        return b.node("InstanceNormalization", [x[0], scale, shift], epsilon=float(fn.eps))
    axes = [0] + list(range(2, len(shape)))
    centered = b.node("Sub", [x[0], b.node("ReduceMean", [x[0]], axes=axes, keepdims=1)])
    var = b.node("ReduceMean", [b.node("Mul", [centered, centered])], axes=axes, keepdims=1)
    out = b.node("Div", [centered, b.node("Sqrt", [b.node("Add", [var, b.scalar(fn.eps)])])])
    per_channel = b.ints([channels] + [1] * (len(shape) - 2))
    if weight is not None:
        out = b.node("Mul", [out, b.node("Reshape", [weight, per_channel])])
    if bias is not None:
        out = b.node("Add", [out, b.node("Reshape", [bias, per_channel])])
    return out


def _layer_norm(b, fn, x, batch):
    """LayerNorm as ONNX's LayerNormalization (opset 17 on), normalised over the last
    ``fn.axes`` axes (a missing weight is ones); before opset 17, as its formula."""
    shape = fn.inputs[0].shape
    affine_shape = shape[len(shape) - fn.axes:]
    if b.opset < 17:
        axes = list(range(len(shape) - fn.axes, len(shape)))
        centered = b.node("Sub", [x[0], b.node("ReduceMean", [x[0]], axes=axes, keepdims=1)])
        var = b.node("ReduceMean", [b.node("Mul", [centered, centered])], axes=axes, keepdims=1)
        out = b.node("Div", [centered, b.node("Sqrt", [b.node("Add", [var, b.scalar(fn.eps)])])])
        if fn.has_weight:
            out = b.node("Mul", [out, x[1]])
        return b.node("Add", [out, x[-1]]) if fn.has_bias else out
    scale = x[1] if fn.has_weight else b.constant(numpy.ones(affine_shape, dtype=b.dtype))
    inputs = [x[0], scale] + ([x[-1]] if fn.has_bias else [])
    return b.node("LayerNormalization", inputs, axis=-fn.axes, epsilon=float(fn.eps))


EXPORTERS = {
    norm.LayerNorm: _layer_norm,
    indexing.GetItem: _getitem, recurrent.RNNScan: _scan, recurrent.LSTMScan: _scan,
    recurrent.GRUScan: _scan, embedding.Embedding: _embedding,
    norm.BatchNorm: _batch_statistics_norm, shape.Pad: _constant_pad,
}
