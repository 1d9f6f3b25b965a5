"""ONNX export: trace a model's forward pass and write each recorded op as ONNX nodes.

Supported: Linear, matmul, elementwise arithmetic, the activations, softmax/log_softmax,
reshape/flatten/permute, sums and means, concatenation, and the composite layers built from
them (LayerNorm, BatchNorm in eval mode, Dropout in eval mode); the recurrent layers,
Embedding (from an integer input), instance norm and basic indexing (``onnx_layers``). An op
without an ONNX mapping raises an error that names it.
"""
import math
import warnings

import numpy

from .. import backend
from ..autograd.grad_mode import enable_grad
from ..autograd import broadcast
from ..autograd.engine import topological_order
from ..autograd.function import Function
from ..errors import ArgumentError
from ..ops import activation, arithmetic, conv, linalg, pool, reduction, shape
from ..nn.parameter import Parameter
from ..tensor import Tensor
from . import onnx_elementwise, onnx_layers, onnx_pooling


class UnsupportedOpError(ArgumentError):
    """The model uses an op that has no ONNX export yet."""


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as error:
        raise ImportError("ONNX export needs onnx: pip install 'chainrule[io]'") from error
    return onnx, helper, numpy_helper


class _Builder:
    def __init__(self, helper, numpy_helper, dtype, opset):
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
        self.opset = opset                      # what exporters may use (LayerNormalization: 17)
        self.nodes, self.initializers, self.count = [], [], 0

    def fresh(self, hint="t"):
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, array, name=None):
        name = name or self.fresh("const")
        self.initializers.append(self.numpy_helper.from_array(numpy.asarray(array), name))
        return name

    def scalar(self, value, dtype=None):
        return self.constant(numpy.asarray(value, dtype=dtype or self.dtype))

    def ints(self, values):
        return self.constant(numpy.asarray(values, dtype=numpy.int64))

    def node(self, op, inputs, output=None, **attrs):
        output = output or self.fresh(op.lower())
        self.nodes.append(self.helper.make_node(op, list(inputs), [output], **attrs))
        return output


def _same(onnx_op):
    """An op that maps one-to-one onto an ONNX node of the same inputs."""
    def emit(b, fn, x, batch):
        return b.node(onnx_op, x)
    return emit


def _linear(b, fn, x, batch):
    out = b.node("MatMul", [x[0], b.node("Transpose", [x[1]], perm=[1, 0])])
    return b.node("Add", [out, x[2]]) if len(x) == 3 else out


def _linear_relu(b, fn, x, batch):
    return b.node("Relu", [_linear(b, fn, x, batch)])


def _pow_scalar(b, fn, x, batch):
    return b.node("Pow", [x[0], b.scalar(fn.exponent)])


def _leaky_relu(b, fn, x, batch):
    return b.node("LeakyRelu", x, alpha=float(fn.negative_slope))


def _elu(b, fn, x, batch):
    return b.node("Elu", x, alpha=float(fn.alpha))


def _softplus(b, fn, x, batch):
    scaled = b.node("Mul", [x[0], b.scalar(fn.beta)])
    soft = b.node("Div", [b.node("Softplus", [scaled]), b.scalar(fn.beta)])
    return b.node("Where", [b.node("Greater", [scaled, b.scalar(fn.threshold)]), x[0], soft])


def _gelu(b, fn, x, batch):
    if fn.approximate == "tanh":
        cube = b.node("Mul", [b.node("Mul", [x[0], x[0]]), x[0]])
        inner = b.node("Mul", [b.node("Add", [x[0], b.node("Mul", [cube, b.scalar(0.044715)])]),
                               b.scalar(math.sqrt(2 / math.pi))])
        half = b.node("Mul", [x[0], b.scalar(0.5)])
        return b.node("Mul", [half, b.node("Add", [b.scalar(1.0), b.node("Tanh", [inner])])])
    phi = b.node("Add", [b.scalar(1.0), b.node("Erf", [b.node("Div", [x[0], b.scalar(
        math.sqrt(2.0))])])])
    return b.node("Mul", [b.node("Mul", [x[0], b.scalar(0.5)]), phi])


def _softmax(onnx_op):
    def emit(b, fn, x, batch):
        return b.node(onnx_op, x, axis=int(fn.axis))
    return emit


def _reshape(b, fn, x, batch):
    shape = list(fn.shape)
    in_shape = fn.inputs[0].shape
    if batch and shape and in_shape and shape[0] == in_shape[0]:
        shape[0] = 0                       # ONNX: copy the (dynamic) batch dimension
    return b.node("Reshape", [x[0], b.ints(shape)])


def _permute(b, fn, x, batch):
    return b.node("Transpose", x, perm=list(fn.axes))


def _axes(fn):
    return list(fn.axes) if fn.axes is not None else list(range(fn.inputs[0].ndim))


def _sum(b, fn, x, batch):
    return b.node("ReduceSum", [x[0], b.ints(_axes(fn))], keepdims=int(fn.keepdims))


def _extreme(onnx_op):
    def emit(b, fn, x, batch):
        return b.node(onnx_op, x, axes=_axes(fn), keepdims=int(fn.keepdims))
    return emit


def _concatenate(b, fn, x, batch):
    return b.node("Concat", x, axis=int(fn.axis))


def _broadcast_to(b, fn, x, batch):
    shape = list(fn.shape)
    in_shape = fn.inputs[0].shape
    if batch and len(shape) == len(in_shape) and shape and shape[0] == in_shape[0]:
        shape[0] = 1                       # Expand keeps the (dynamic) batch dimension
    return b.node("Expand", [x[0], b.ints(shape)])


def _clamp(b, fn, x, batch):
    low = b.scalar(-numpy.inf if fn.low is None else fn.low)
    high = b.scalar(numpy.inf if fn.high is None else fn.high)
    return b.node("Clip", [x[0], low, high])


def _cast(b, fn, x, batch):
    from onnx import helper
    return b.node("Cast", x, to=helper.np_dtype_to_tensor_dtype(numpy.dtype(fn.dtype)))


def _where(b, fn, x, batch):
    condition = b.constant(numpy.asarray(backend.to_numpy(fn.condition), dtype=bool))
    return b.node("Where", [condition, x[0], x[1]])


def _conv(b, fn, x, batch):
    geo = fn.geometry
    top, bottom, left, right = geo.padding
    attrs = dict(strides=list(geo.stride), dilations=list(geo.dilation), group=geo.groups,
                 pads=[top, left, bottom, right], kernel_shape=list(fn.inputs[1].shape[2:]))
    if isinstance(fn, conv.Conv):
        return b.node("Conv", x, **attrs)
    attrs["output_shape"] = list(fn.x_hw)
    return b.node("ConvTranspose", x, **attrs)


def _conv_relu(b, fn, x, batch):
    return b.node("Relu", [_conv(b, fn, x, batch)])


def _pool(b, fn, x, batch):
    geo = fn.geometry
    (ph, pw) = geo.padding
    attrs = dict(kernel_shape=list(geo.kernel), strides=list(geo.stride), pads=[ph, pw, ph, pw])
    if isinstance(fn, pool.MaxPool):
        return b.node("MaxPool", x, **attrs)
    return b.node("AveragePool", x, count_include_pad=1, **attrs)


def _einsum(b, fn, x, batch):
    return b.node("Einsum", x, equation=",".join(fn.in_subs) + "->" + fn.out_sub)


#: Function class -> how to write it as ONNX nodes. Ops outside chainrule's own set can
#: define a ``to_onnx(builder, input_names, dynamic_batch)`` method instead.
EXPORTERS = {
    arithmetic.Add: _same("Add"), arithmetic.Sub: _same("Sub"), arithmetic.Mul: _same("Mul"),
    arithmetic.Div: _same("Div"), arithmetic.Neg: _same("Neg"), arithmetic.Exp: _same("Exp"),
    arithmetic.Log: _same("Log"), arithmetic.Sqrt: _same("Sqrt"), arithmetic.Abs: _same("Abs"),
    arithmetic.Sin: _same("Sin"), arithmetic.Cos: _same("Cos"), arithmetic.Erf: _same("Erf"),
    arithmetic.Sign: _same("Sign"), arithmetic.Pow: _same("Pow"),
    arithmetic.Maximum: _same("Max"), arithmetic.Minimum: _same("Min"),
    arithmetic.PowScalar: _pow_scalar, arithmetic.Clamp: _clamp, arithmetic.Where: _where,
    activation.Sigmoid: _same("Sigmoid"), activation.Tanh: _same("Tanh"),
    activation.ReLU: _same("Relu"), activation.LeakyReLU: _leaky_relu, activation.ELU: _elu,
    activation.GELU: _gelu, activation.Softplus: _softplus,
    activation.Softmax: _softmax("Softmax"), activation.LogSoftmax: _softmax("LogSoftmax"),
    linalg.MatMul: _same("MatMul"), linalg.Linear: _linear, linalg.LinearReLU: _linear_relu,
    linalg.Einsum: _einsum,
    shape.Reshape: _reshape, shape.Permute: _permute, shape.Concatenate: _concatenate,
    shape.Clone: _same("Identity"), shape.Cast: _cast, broadcast.BroadcastTo: _broadcast_to,
    reduction.Sum: _sum, reduction.Amax: _extreme("ReduceMax"),
    reduction.Amin: _extreme("ReduceMin"),
    conv.Conv: _conv, conv.ConvReLU: _conv_relu, conv.ConvInputGrad: _conv,
    pool.MaxPool: _pool, pool.AvgPool: _pool,
}
EXPORTERS.update(onnx_elementwise.EXPORTERS)     # issue 19.1: tan, floor, remainder, ...
EXPORTERS.update(onnx_pooling.EXPORTERS)         # issue 20.3: pooling options, pixel shuffle
EXPORTERS.update(onnx_layers.EXPORTERS)          # issue 20: RNN/LSTM/GRU, Embedding, indexing


def _emit(b, fn, x, batch):
    """ONNX nodes for one chainrule Function; ``x`` are the input names. Returns the output."""
    exporter = EXPORTERS.get(type(fn))
    if exporter is not None:
        return exporter(b, fn, x, batch)
    export = getattr(fn, "to_onnx", None)
    if export is not None:
        return export(b, x, batch)
    raise UnsupportedOpError(f"ONNX export: op {fn.op_name()} is not supported yet (used in "
                             "the model's forward pass)")


def export(model, example_input, path, dynamic_batch=True, opset=17, input_name="input",
           output_name="output"):
    """Trace ``model(example_input)`` and write an ONNX model to ``path``; validated with
    ``onnx.checker``. Returns the path.

    >>> import chainrule, tempfile, os
    >>> model = chainrule.models.MLP(4, (8,), 3).eval()
    >>> path = export(model, chainrule.zeros(2, 4), os.path.join(tempfile.mkdtemp(), "m.onnx"))
    >>> path.endswith("m.onnx")
    True
    """
    onnx, helper, numpy_helper = _onnx()
    x = example_input if isinstance(example_input, Tensor) else Tensor(example_input)
    floating = backend.kind(x.dtype) == "f"      # integer input: ids for an Embedding
    x = Tensor._make(x._data, None)
    if floating:
        x.requires_grad_(True)                    # so every op on it is recorded
    was_training = model.training
    model.eval()
    try:
        with enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")       # eval mode while recording is the point here
            out = model(x)
    finally:
        model.train(was_training)
    if out.grad_fn is None:
        raise UnsupportedOpError("ONNX export: the model's output does not depend on its input")
    dtype = backend.to_numpy((x if floating else out)._data).dtype
    b = _Builder(helper, numpy_helper, dtype, opset)
    b.graph_input = (x._data, input_name)        # Embedding looks its indices up here
    param_names = {id(p): n for n, p in model.named_parameters()}
    names = {id(x): input_name}
    results = {}
    for fn in reversed(topological_order([out.grad_fn])):
        if not isinstance(fn, Function):
            continue
        inputs = []
        for t, edge in zip(fn.inputs, fn.edges):
            if edge is not None and edge in results:
                inputs.append(results[edge])
            elif id(t) in names:
                inputs.append(names[id(t)])
            else:
                label = param_names.get(id(t)) if isinstance(t, Parameter) else None
                names[id(t)] = b.constant(backend.to_numpy(t._data), label)
                inputs.append(names[id(t)])
        results[fn] = _emit(b, fn, inputs, dynamic_batch)
    b.nodes.append(helper.make_node("Identity", [results[out.grad_fn]], [output_name]))
    used = {name for node in b.nodes for name in node.input}    # constants an exporter
    b.initializers = [t for t in b.initializers if t.name in used]  # replaced are dropped
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    in_elem = helper.np_dtype_to_tensor_dtype(backend.to_numpy(x._data).dtype)
    in_shape = ["batch" if dynamic_batch and i == 0 else n for i, n in enumerate(x.shape)]
    out_shape = ["batch" if dynamic_batch and i == 0 else n for i, n in enumerate(out.shape)]
    graph = helper.make_graph(b.nodes, type(model).__name__,
                              [helper.make_tensor_value_info(input_name, in_elem, in_shape)],
                              [helper.make_tensor_value_info(output_name, elem, out_shape)],
                              b.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="chainrule")
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, path)
    return path
