"""ONNX export: trace a model's forward pass and write each recorded op as ONNX nodes.

Supported: Linear, matmul, elementwise arithmetic, the activations, softmax/log_softmax,
reshape/flatten/permute, sums and means, concatenation, and the composite layers built from
them (LayerNorm, BatchNorm in eval mode, Dropout in eval mode). An op without an ONNX
mapping raises an error that names it.
"""
import math
import warnings

import numpy

from .. import backend
from ..autograd.engine import enable_grad, topological_order
from ..errors import ArgumentError
from ..nn.parameter import Parameter
from ..tensor import Tensor


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
    def __init__(self, helper, numpy_helper, dtype):
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
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


def _emit(b, fn, x, batch):
    """ONNX nodes for one chainrule Function; ``x`` are the input names. Returns the output."""
    name = type(fn).__name__
    simple = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Neg": "Neg",
              "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Abs": "Abs", "Sin": "Sin",
              "Cos": "Cos", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "ReLU": "Relu",
              "Maximum": "Max", "Minimum": "Min", "MatMul": "MatMul", "Erf": "Erf",
              "Clone": "Identity", "Pow": "Pow"}
    if name in simple:
        return b.node(simple[name], x)
    if name == "Linear":
        out = b.node("MatMul", [x[0], b.node("Transpose", [x[1]], perm=[1, 0])])
        return b.node("Add", [out, x[2]]) if len(x) == 3 else out
    if name == "PowScalar":
        return b.node("Pow", [x[0], b.scalar(fn.exponent)])
    if name == "Rsqrt":
        return b.node("Reciprocal", [b.node("Sqrt", x)])
    if name == "LeakyReLU":
        return b.node("LeakyRelu", x, alpha=float(fn.negative_slope))
    if name == "ELU":
        return b.node("Elu", x, alpha=float(fn.alpha))
    if name == "SiLU":
        return b.node("Mul", [x[0], b.node("Sigmoid", x)])
    if name == "Softplus":
        scaled = b.node("Mul", [x[0], b.scalar(fn.beta)])
        soft = b.node("Div", [b.node("Softplus", [scaled]), b.scalar(fn.beta)])
        return b.node("Where", [b.node("Greater", [scaled, b.scalar(fn.threshold)]), x[0], soft])
    if name == "GELU":
        if fn.approximate == "tanh":
            cube = b.node("Mul", [b.node("Mul", [x[0], x[0]]), x[0]])
            inner = b.node("Mul", [b.node("Add", [x[0], b.node("Mul", [cube, b.scalar(0.044715)])]),
                                   b.scalar(math.sqrt(2 / math.pi))])
            half = b.node("Mul", [x[0], b.scalar(0.5)])
            return b.node("Mul", [half, b.node("Add", [b.scalar(1.0), b.node("Tanh", [inner])])])
        phi = b.node("Add", [b.scalar(1.0), b.node("Erf", [b.node("Div", [x[0], b.scalar(
            math.sqrt(2.0))])])])
        return b.node("Mul", [b.node("Mul", [x[0], b.scalar(0.5)]), phi])
    if name == "Softmax":
        return b.node("Softmax", x, axis=int(fn.axis))
    if name == "LogSoftmax":
        return b.node("LogSoftmax", x, axis=int(fn.axis))
    if name == "Reshape":
        shape = list(fn.shape)
        in_shape = fn.inputs[0].shape
        if batch and shape and in_shape and shape[0] == in_shape[0]:
            shape[0] = 0                       # ONNX: copy the (dynamic) batch dimension
        return b.node("Reshape", [x[0], b.ints(shape)])
    if name == "Permute":
        return b.node("Transpose", x, perm=list(fn.axes))
    if name in ("Sum", "Mean"):
        axes = list(fn.axes) if fn.axes is not None else list(range(fn.inputs[0].ndim))
        op = "ReduceSum" if name == "Sum" else "ReduceMean"
        if op == "ReduceSum":
            return b.node(op, [x[0], b.ints(axes)], keepdims=int(fn.keepdims))
        return b.node(op, x, axes=axes, keepdims=int(fn.keepdims))
    if name in ("Max", "Min"):
        axes = list(fn.axes) if fn.axes is not None else list(range(fn.inputs[0].ndim))
        return b.node("ReduceMax" if name == "Max" else "ReduceMin", x, axes=axes,
                      keepdims=int(fn.keepdims))
    if name == "Concatenate":
        return b.node("Concat", x, axis=int(fn.axis))
    if name == "BroadcastTo":
        shape = list(fn.shape)
        in_shape = fn.inputs[0].shape
        if batch and len(shape) == len(in_shape) and shape and shape[0] == in_shape[0]:
            shape[0] = 1                       # Expand keeps the (dynamic) batch dimension
        return b.node("Expand", [x[0], b.ints(shape)])
    if name == "Clamp":
        low = b.scalar(-numpy.inf if fn.low is None else fn.low)
        high = b.scalar(numpy.inf if fn.high is None else fn.high)
        return b.node("Clip", [x[0], low, high])
    if name == "Cast":
        from onnx import helper
        return b.node("Cast", x, to=helper.np_dtype_to_tensor_dtype(numpy.dtype(fn.dtype)))
    if name in ("Conv", "ConvInputGrad"):
        geo = fn.geometry
        top, bottom, left, right = geo.padding
        attrs = dict(strides=list(geo.stride), dilations=list(geo.dilation), group=geo.groups,
                     pads=[top, left, bottom, right],
                     kernel_shape=list(fn.inputs[1].shape[2:]))
        if name == "Conv":
            return b.node("Conv", x, **attrs)
        attrs["output_shape"] = list(fn.x_hw)
        return b.node("ConvTranspose", x, **attrs)
    if name in ("MaxPool", "AvgPool"):
        geo = fn.geometry
        (ph, pw) = geo.padding
        attrs = dict(kernel_shape=list(geo.kernel), strides=list(geo.stride),
                     pads=[ph, pw, ph, pw])
        if name == "MaxPool":
            return b.node("MaxPool", x, **attrs)
        return b.node("AveragePool", x, count_include_pad=1, **attrs)
    if name == "Einsum":
        return b.node("Einsum", x, equation=",".join(fn.in_subs) + "->" + fn.out_sub)
    export = getattr(fn, "to_onnx", None)
    if export is not None:
        return export(b, x, batch)
    raise UnsupportedOpError(f"ONNX export: op {name} is not supported yet (used in the "
                             "model's forward pass)")


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
    x = Tensor._make(x.data, None).requires_grad_(True)   # so every op on it is recorded
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
    dtype = backend.to_numpy(x.data).dtype
    b = _Builder(helper, numpy_helper, dtype)
    param_names = {id(p): n for n, p in model.named_parameters()}
    names = {id(x): input_name}
    results = {}
    for fn in reversed(topological_order([out.grad_fn])):
        inputs = []
        for t, edge in zip(fn.inputs, fn.edges):
            if edge is not None:
                inputs.append(results[edge])
            elif id(t) in names:
                inputs.append(names[id(t)])
            else:
                label = param_names.get(id(t)) if isinstance(t, Parameter) else None
                names[id(t)] = b.constant(backend.to_numpy(t.data), label)
                inputs.append(names[id(t)])
        results[fn] = _emit(b, fn, inputs, dynamic_batch)
    b.nodes.append(helper.make_node("Identity", [results[out.grad_fn]], [output_name]))
    elem = helper.np_dtype_to_tensor_dtype(dtype)
    in_shape = ["batch" if dynamic_batch and i == 0 else n for i, n in enumerate(x.shape)]
    out_shape = ["batch" if dynamic_batch and i == 0 else n for i, n in enumerate(out.shape)]
    graph = helper.make_graph(b.nodes, type(model).__name__,
                              [helper.make_tensor_value_info(input_name, elem, in_shape)],
                              [helper.make_tensor_value_info(output_name, elem, out_shape)],
                              b.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="chainrule")
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, path)
    return path
