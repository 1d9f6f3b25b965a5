"""TensorBoard logging from ``fit``: the model graph, loss, metrics, learning rate, weight and
gradient histograms, hyper-parameters with the final metrics and input images, one
sub-directory per run, in a log dir that ``tensorboard --logdir`` reads.

The graph is chainrule's own: one forward pass of the model records Function nodes; walking
from the output's ``grad_fn`` through each node's inputs gives a GraphDef (the protos
tensorboardX ships) in which every op sits inside the module that ran it
(``ResNet/BasicBlock[3]/Conv2d[conv1]/Conv2d_0``) and parameters carry their state_dict names.

>>> import chainrule
>>> model = chainrule.nn.Sequential(chainrule.nn.Linear(3, 2), chainrule.nn.ReLU())
>>> graph = model_graph(model, chainrule.zeros(1, 3))
>>> [(node.name, node.op) for node in graph.node][-3:]
[('Sequential/Linear[0]/Linear_0', 'Linear'), ('Sequential/ReLU[1]/ReLU_0', 'ReLU'), ('output', 'Output')]
"""
import datetime
import os
import warnings

import numpy

from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad
from ..callback import Callback
from ..data.collate import default_collate
from ..data.combined import IterableDataset
from ..generator import get_rng_state, set_rng_state
from ..tensor import Tensor

#: Function attributes that are graph bookkeeping, not the op's parameters
_BOOKKEEPING = {"inputs", "edges", "needs_input_grad", "output_hooks", "retained",
                "created_at", "released"}


def _protos():
    try:
        from tensorboardX.proto import attr_value_pb2, graph_pb2, node_def_pb2, \
            tensor_shape_pb2, versions_pb2
    except ImportError as error:
        raise ImportError("TensorBoard logging needs tensorboardX: "
                          "pip install 'chainrule[logging]'") from error
    return attr_value_pb2, graph_pb2, node_def_pb2, tensor_shape_pb2, versions_pb2


# ---------------------------------------------------------------- chainrule graph -> GraphDef

def _sources(fn):
    """What feeds each input of ``fn``: the node that made it at call time, or the tensor
    itself (a leaf, or an input that needed no gradient)."""
    edges = fn.edges or (None,) * len(fn.inputs)
    return [edge if edge is not None else tensor for edge, tensor in zip(edges, fn.inputs)]


def _postorder(root):
    """Every node reachable from ``root``, each after all the nodes that feed it."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if isinstance(node, Function):
            stack.extend((source, False) for source in reversed(_sources(node))
                         if id(source) not in seen)
    return order


def _shape_attr(protos, shape):
    attr_value_pb2, _, _, tensor_shape_pb2, _ = protos
    dims = [tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in shape]
    return attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(
        shape=[tensor_shape_pb2.TensorShapeProto(dim=dims)]))


def _op_parameters(fn):
    """The op's small settings (stride, axis, ...), for the node's attribute panel."""
    found = {k: v for k, v in getattr(fn, "__dict__", {}).items() if not k.startswith("_") and
             k not in _BOOKKEEPING and isinstance(v, (bool, int, float, str, tuple))}
    return ", ".join(f"{k}={v!r}" for k, v in sorted(found.items()))[:500]


def graph_def(output, scopes=None, names=None, inputs=()):
    """A TensorBoard GraphDef of the graph that produced ``output``.

    ``scopes`` maps ``id(node)`` to a name scope (``Model/Linear[0]``), ``names`` maps
    ``id(tensor)`` to a leaf's node name and ``inputs`` are the tensors fed to the model
    (drawn as Input nodes); all are optional. Unnamed leaves are constants, placed in the
    scope of the op that reads them.

    >>> import chainrule
    >>> w = chainrule.tensor([1.0, 2.0], requires_grad=True)
    >>> [node.op for node in graph_def((w * 3.0).sum()).node]
    ['Parameter', 'Constant', 'Mul', 'Sum', 'Output']
    >>> graph_def((w * 3.0).sum()).node[1].name
    'constant_0'
    """
    protos = _protos()
    attr_value_pb2, graph_pb2, node_def_pb2, _, versions_pb2 = protos
    scopes, names = scopes or {}, names or {}
    root = output.grad_fn if output.grad_fn is not None else output
    order = _postorder(root)
    shapes = {id(output.grad_fn): output.shape} if output.grad_fn is not None else {}
    for node in order:
        if isinstance(node, Function):
            for source, tensor in zip(_sources(node), node.inputs):
                shapes.setdefault(id(source), tensor.shape)
    node_names, counts, nodes = {}, {}, []

    def unique(base):
        counts[base] = counts.get(base, -1) + 1
        return f"{base}_{counts[base]}"

    reader_scope = {}
    input_names = {id(t): f"input_{i}" if i else "input" for i, t in enumerate(inputs)}
    for node in order:
        if isinstance(node, Function):
            for source in _sources(node):
                reader_scope.setdefault(id(source), scopes.get(id(node)))
    for node in order:
        if isinstance(node, Function):
            scope = scopes.get(id(node))
            op = type(node).__name__
            name = unique(f"{scope}/{op}" if scope else op)
            sources = [node_names[id(s)] for s in _sources(node)]
            attrs = {"attr": attr_value_pb2.AttrValue(s=_op_parameters(node).encode())}
        else:
            sources = []
            op = "Input" if id(node) in input_names else \
                "Parameter" if node.requires_grad else "Constant"
            if id(node) in names or id(node) in input_names:
                name = names.get(id(node)) or input_names[id(node)]
            else:
                scope = reader_scope.get(id(node))
                name = unique(f"{scope}/{op.lower()}" if scope else op.lower())
            attrs = {"dtype": attr_value_pb2.AttrValue(s=str(node.dtype).encode())}
        if id(node) in shapes:
            attrs["_output_shapes"] = _shape_attr(protos, shapes[id(node)])
        node_names[id(node)] = name
        nodes.append(node_def_pb2.NodeDef(name=name, op=op, input=sources, attr=attrs))
    nodes.append(node_def_pb2.NodeDef(name="output", op="Output", input=[node_names[id(root)]],
                                      attr={"_output_shapes": _shape_attr(protos,
                                                                          output.shape)}))
    return graph_pb2.GraphDef(node=nodes, versions=versions_pb2.VersionDef(producer=22))


def _module_scopes(model):
    """id(module) -> its name scope: ``ResNet/BasicBlock[3]/Conv2d[conv1]``."""
    modules = dict(model.named_modules())
    scopes = {}
    for path, module in modules.items():
        parts, prefix = [type(model).__name__], []
        for part in path.split(".") if path else []:
            prefix.append(part)
            parts.append(f"{type(modules['.'.join(prefix)]).__name__}[{part}]")
        scopes[id(module)] = "/".join(parts)
    return scopes


def _tensors_in(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    return []


def model_graph(model, example_input):
    """The GraphDef of one forward pass of ``model`` on ``example_input``, each op inside
    the scope of the innermost module that created it, leaves named as in ``state_dict``.

    The pass runs in eval mode (no running statistics change, no dropout draw) and leaves
    the model's mode and every random generator as they were.
    """
    scope_of, claimed, handles = _module_scopes(model), {}, []

    def claim(module, args, output):
        """Give this module every unclaimed node between its inputs and its output (hooks
        run innermost module first, so a node ends up in the deepest module that ran it)."""
        stop = {id(t.grad_fn) for t in _tensors_in(args) if t.grad_fn is not None}
        stack = [t.grad_fn for t in _tensors_in(output) if t.grad_fn is not None]
        seen = set()
        while stack:
            fn = stack.pop()
            if id(fn) in stop or id(fn) in seen:
                continue
            seen.add(id(fn))
            claimed.setdefault(id(fn), scope_of[id(module)])
            stack.extend(s for s in _sources(fn) if isinstance(s, Function))

    for _, module in model.named_modules():
        handles.append(module.register_forward_hook(claim))
    was_training, rng = model.training, get_rng_state()
    try:
        model.eval()
        with enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            output = model(example_input)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
        set_rng_state(rng)
    outputs = _tensors_in(output)
    if not outputs:
        raise TypeError(f"model_graph: {type(model).__name__} returned no tensor")
    modules = dict(model.named_modules())
    names = {}
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        owner, _, short = name.rpartition(".")
        names[id(tensor)] = f"{scope_of[id(modules[owner])]}/{short}"
    inputs = _tensors_in(example_input)
    return graph_def(outputs[0], claimed, names, inputs)


# ---------------------------------------------------------------- the fit callback

def _first_samples(dataset, count):
    """The first ``count`` samples, leaving every random generator as it was (a dataset's
    random augmentation must not shift the training run's random stream)."""
    if isinstance(dataset, IterableDataset) or not hasattr(dataset, "__getitem__"):
        return []
    rng = get_rng_state()
    try:
        return [dataset[i] for i in range(min(count, len(dataset)))]
    finally:
        set_rng_state(rng)


def _example_inputs(dataset, count):
    """The inputs of the first ``count`` samples as one batch Tensor, or None when the
    samples are not (inputs, ...) with array-like inputs."""
    samples = _first_samples(dataset, count)
    if not samples:
        return None
    try:
        batch = default_collate(samples)
    except (TypeError, ValueError):
        return None
    batch = batch[0] if isinstance(batch, (list, tuple)) else batch
    return batch if isinstance(batch, Tensor) else None


def _as_image_batch(inputs):
    """(N, C, H, W) images in [0, 1] (each scaled to its own range), or None when the
    inputs are not images."""
    array = numpy.asarray(inputs._data if isinstance(inputs, Tensor) else inputs,
                          dtype=numpy.float32)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or array.shape[1] not in (1, 3) or min(array.shape[2:]) < 4:
        return None
    low = array.min(axis=(1, 2, 3), keepdims=True)
    span = array.max(axis=(1, 2, 3), keepdims=True) - low
    return (array - low) / numpy.where(span > 0, span, 1)


def _scalar_hparams(trainer):
    optimizer, loader = trainer.optimizer, trainer.loader
    values = {"model": type(trainer.model).__name__, "optimizer": type(optimizer).__name__,
              "epochs": trainer.epochs, "batch_size": getattr(loader, "batch_size", None),
              "parameters": sum(p.numel() for p in trainer.model.parameters())}
    for key, value in optimizer.param_groups[0].items():
        if key != "params" and isinstance(value, (bool, int, float, str)):
            values[key] = value
    return {k: v for k, v in values.items() if v is not None}


class TensorBoardLogger(Callback):
    """A ``fit`` callback writing TensorBoard event files with tensorboardX.

    Each fit writes a run of its own: ``log_dir/<run_name>`` (default: the start time, made
    unique), so ``tensorboard --logdir log_dir`` compares runs side by side.

    * Graphs: the model's graph from one forward pass on the first training sample.
    * Scalars: ``train/loss_step`` and ``train/lr_step`` per step; ``train/<metric>``,
      ``val/<metric>`` and ``lr`` per epoch.
    * Histograms ``weights/<name>`` and ``grads/<name>`` of every parameter, every
      ``histogram_every`` epochs, or every ``histogram_every_steps`` optimizer steps.
    * HParams: the optimizer's settings, batch size, epochs, model and ``hparams`` given
      here, with the final epoch's metrics (``hparam/<metric>``).
    * Images: the first ``images`` training inputs, for image tasks (N, C, H, W).
    * Text: the model's repr.

    >>> import tempfile
    >>> logger = TensorBoardLogger(tempfile.mkdtemp(), run_name="baseline")
    >>> logger.histogram_every
    1
    """

    def __init__(self, log_dir, histogram_every=1, flush_secs=10, *, run_name=None,
                 histogram_every_steps=None, hparams=None, images=16, graph=True):
        try:
            from tensorboardX import SummaryWriter
        except ImportError as error:
            raise ImportError("TensorBoard logging needs tensorboardX: "
                              "pip install 'chainrule[logging]'") from error
        self.log_dir, self.run_name = log_dir, run_name
        self.histogram_every, self.histogram_every_steps = histogram_every, histogram_every_steps
        self.hparams, self.images, self.graph = dict(hparams or {}), images, graph
        self._writer_class, self.flush_secs = SummaryWriter, flush_secs
        self.writer = self.run_dir = None

    def _new_run_dir(self):
        name = self.run_name or datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        path, k = os.path.join(self.log_dir, name), 1
        while self.run_name is None and os.path.exists(path):
            k += 1
            path = os.path.join(self.log_dir, f"{name}-{k}")
        return path

    def on_train_begin(self, trainer):
        if not trainer.is_main:
            return
        self.run_dir = self._new_run_dir()
        self.writer = self._writer_class(self.run_dir, flush_secs=self.flush_secs)
        self.writer.add_text("model", "<pre>" + repr(trainer.model) + "</pre>", 0)
        self._hparams = {**_scalar_hparams(trainer), **self.hparams}
        inputs = _example_inputs(trainer.loader.dataset, max(self.images, 1))
        if inputs is None:
            return
        if self.graph:
            self._log_graph(trainer.model, Tensor._make(inputs._data[:1], None))
        images = _as_image_batch(inputs) if self.images else None
        if images is not None:
            self.writer.add_images("images/inputs", images[:self.images], 0)

    def _log_graph(self, model, example):
        from tensorboardX.proto import event_pb2
        try:
            graph = model_graph(model, example)
        except Exception as error:  # noqa: BLE001 - a model the walk cannot follow
            warnings.warn(f"TensorBoardLogger: no graph for {type(model).__name__} "
                          f"({type(error).__name__}: {error})", stacklevel=3)
            return
        self.writer._get_file_writer().add_event(
            event_pb2.Event(graph_def=graph.SerializeToString()))

    def _log_histograms(self, model, step):
        for name, p in model.named_parameters():
            self.writer.add_histogram(f"weights/{name}", p.numpy(), step)
            if p.grad is not None:
                self.writer.add_histogram(f"grads/{name}", p.grad.numpy(), step)

    def on_batch_end(self, trainer, step, loss):
        if self.writer is None:
            return
        self.writer.add_scalar("train/loss_step", loss, step)
        self.writer.add_scalar("train/lr_step",
                               float(trainer.optimizer.param_groups[0].get("lr", 0.0)), step)
        if self.histogram_every_steps and step % self.histogram_every_steps == 0:
            self._log_histograms(trainer.model, step)

    def on_epoch_end(self, trainer, epoch, logs):
        if self.writer is None:
            return
        for key, value in logs.items():
            if key == "epoch" or not isinstance(value, (int, float)):
                continue
            tag = "lr" if key == "lr" else (f"val/{key[4:]}" if key.startswith("val_") else
                                            f"train/{key}")
            self.writer.add_scalar(tag, value, epoch)
        if not self.histogram_every_steps and self.histogram_every and \
                epoch % self.histogram_every == 0:
            self._log_histograms(trainer.model, epoch)
        self.writer.flush()

    def on_train_end(self, trainer):
        if self.writer is None:
            return
        final = trainer.history.epochs[-1] if trainer.history.epochs else {}
        metrics = {f"hparam/{k}": float(v) for k, v in final.items()
                   if k not in ("epoch", "lr") and isinstance(v, (int, float))}
        self._log_hparams(metrics, trainer.step_count)
        self.writer.close()
        self.writer = None

    def _log_hparams(self, metrics, step):
        """The HParams plugin's three summaries and the metrics, in this run's directory
        (tensorboardX's add_hparams would start another run)."""
        from tensorboardX.summary import hparams
        file_writer = self.writer._get_file_writer()
        for summary in hparams(self._hparams, metrics):
            file_writer.add_summary(summary)
        for tag, value in metrics.items():
            self.writer.add_scalar(tag, value, step)
