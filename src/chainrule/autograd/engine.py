"""The backward pass: reverse topological order, the chain rule, gradient accumulation.

Also home of the two global switches: grad mode (``no_grad`` / ``enable_grad``) and
anomaly mode (``detect_anomaly``). Both are plain attributes of :data:`grad_state`.
Ordering and backward are iterative, so graphs of any depth work without recursion.
"""
import functools
import os
import sys

from ..errors import AnomalyError, ArgumentTypeError, GraphError, ShapeError


class _GradState:
    __slots__ = ("enabled", "anomaly", "inplace_count")

    def __init__(self):
        self.enabled = True
        self.anomaly = False
        self.inplace_count = 0       # bumped by every in-place change: lets backward skip
        #                              version checks when nothing was changed in place


grad_state = _GradState()

#: id(leaf tensor) -> [hook(tensor)], called after the leaf's .grad is updated by backward
#: (PyTorch's post-accumulate-grad hooks; DistributedDataParallel uses them to start
#: all-reduces while the rest of the backward pass runs).
post_accumulate_hooks = {}


class _GradModeContext:
    """Base of no_grad/enable_grad: a context manager that is also a decorator."""

    mode = True

    def __enter__(self):
        self._previous = grad_state.enabled
        grad_state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        grad_state.enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Context manager and decorator: ops inside record no graph (inference, optimizer steps).

    >>> import chainrule
    >>> w = chainrule.tensor(1.0, requires_grad=True)
    >>> with chainrule.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradModeContext):
    """Context manager and decorator: re-enable graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """``with set_grad_enabled(False):`` — grad mode chosen by a flag."""

    def __init__(self, mode):
        self.mode = bool(mode)

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_grad_enabled():
    return grad_state.enabled


# ---------------------------------------------------------------- ordering

def topological_order(roots):
    """Functions reachable from ``roots`` (grad_fns), each after every function that uses it."""
    order, visited = [], set()
    stack = [(fn, False) for fn in roots]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        if fn in visited:
            continue
        if fn.released:
            raise GraphError(
                f"{fn.op_name()}: trying to backward through the graph a second time (its saved "
                "values were freed after the first backward); call backward(retain_graph=True) "
                "the first time if you need to backward twice")
        visited.add(fn)
        stack.append((fn, True))
        for child in fn.edges:
            if child is not None and child not in visited:
                stack.append((child, False))
    order.reverse()
    return order


# ---------------------------------------------------------------- backward

def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (see ``Tensor.backward``)."""
    tensors, grads = _roots_and_grads(tensors, grad_tensors, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    targets = None if inputs is None else {id(t): t for t in _as_tuple(inputs)}
    _run(tensors, grads, retain_graph, create_graph, targets, capture=None)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return d(outputs)/d(inputs) as a tuple, without touching any ``.grad``.

    >>> import chainrule
    >>> x = chainrule.tensor(3.0, requires_grad=True)
    >>> (dy,) = chainrule.autograd.grad(x ** 3, x, create_graph=True)   # 3x^2 = 27
    >>> (d2y,) = chainrule.autograd.grad(dy, x)                        # 6x = 18
    >>> dy.item(), d2y.item()
    (27.0, 18.0)
    """
    outputs, grads = _roots_and_grads(outputs, grad_outputs, "grad")
    inputs = _as_tuple(inputs)
    for t in inputs:
        if not t.requires_grad:
            raise GraphError(f"grad: input of shape {t.shape} does not require grad; "
                             "create it with requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    capture = {id(t): None for t in inputs}
    _run(outputs, grads, retain_graph, create_graph, None, capture, inputs)
    result = []
    for i, t in enumerate(inputs):
        g = capture[id(t)]
        if g is None and not allow_unused:
            raise GraphError(f"grad: input {i} (shape {t.shape}) was not used to compute the "
                             "outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result)


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _roots_and_grads(tensors, grad_tensors, who):
    from ..tensor import Tensor, ones_like_tensor
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    grad_tensors = _as_tuple(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise GraphError(f"{who}: got {len(tensors)} outputs but {len(grad_tensors)} gradients")
    grads = []
    for t, g in zip(tensors, grad_tensors):
        if not isinstance(t, Tensor):
            raise ArgumentTypeError(f"{who}: expected a Tensor, got {type(t).__name__}")
        if not t.requires_grad:
            raise GraphError(f"{who}: the tensor (shape {t.shape}) does not require grad and has "
                             "no grad_fn: did you create its inputs with requires_grad=True, or "
                             "compute it under no_grad()?")
        if g is None:
            if t.data.size != 1:
                raise GraphError(
                    f"{who}: grad can be implicitly created only for scalar outputs, but the "
                    f"output has shape {t.shape}; reduce it first (loss.sum() or loss.mean()) or "
                    "pass gradient= with the same shape")
            g = ones_like_tensor(t)
        elif not isinstance(g, Tensor):
            from ..tensor import tensor
            g = tensor(g, dtype=t.dtype)
        if g.shape != t.shape:
            raise ShapeError(f"{who}: gradient has shape {g.shape} but the output has shape "
                             f"{t.shape}")
        grads.append(g)
    return tensors, grads


def _run(roots, root_grads, retain_graph, create_graph, targets, capture, capture_inputs=()):
    """The backward pass itself. ``capture`` (id -> grad) collects grads for autograd.grad."""
    pending = {}
    leaf_roots = []
    for t, g in zip(roots, root_grads):
        if t.grad_fn is None:
            leaf_roots.append((t, g))
        else:
            _add_pending(pending, t.grad_fn, g)
    # non-leaf capture targets: their gradient is what arrives at their grad_fn
    capture_fns = {}
    if capture is not None:
        for t in capture_inputs:
            if t.grad_fn is not None:
                capture_fns[t.grad_fn] = id(t)
    previous = grad_state.enabled
    grad_state.enabled = create_graph
    try:
        for t, g in leaf_roots:
            _deliver_to_leaf(t, g, create_graph, capture, targets)
        order = topological_order([fn for fn in pending]) if pending else []
        for fn in order:
            gy = pending.pop(fn, None)
            if gy is None:
                continue
            if fn.output_hooks:
                gy = _run_hooks(fn.output_hooks, gy)
            if capture_fns:
                key = capture_fns.get(fn)
                if key is not None:
                    capture[key] = gy if capture[key] is None else capture[key] + gy
            _backward_one(fn, gy, pending, create_graph, capture, targets)
            if not retain_graph:
                fn.release()
    finally:
        grad_state.enabled = previous


def _backward_one(fn, gy, pending, create_graph, capture, targets):
    fn.check_versions()
    if grad_state.anomaly:
        # check the gradients this node produces, not the ops inside its backward formula,
        # so the error names the node (Sqrt), not a helper op (Div)
        grad_state.anomaly = False
        try:
            grads = fn.backward(gy)
        finally:
            grad_state.anomaly = True
    else:
        grads = fn.backward(gy)
    if not isinstance(grads, tuple):
        grads = (grads,)
    inputs = fn.inputs
    if len(grads) != len(inputs):
        raise GraphError(f"{fn.op_name()}: backward returned {len(grads)} gradients for "
                         f"{len(inputs)} inputs")
    for t, child, g in zip(inputs, fn.edges, grads):
        if g is None or not t.requires_grad:
            continue
        if g.data.dtype != t.data.dtype:
            g = g.to(t.data.dtype)
        if g.data.shape != t.data.shape:
            raise ShapeError(f"{fn.op_name()}: backward produced a gradient of shape "
                             f"{g.shape} for an input of shape {t.shape}")
        if grad_state.anomaly:
            check_backward(fn, g)
        if child is None:
            _deliver_to_leaf(t, g, create_graph, capture, targets)
        else:
            _add_pending(pending, child, g)


def _add_pending(pending, fn, g):
    previous = pending.get(fn)
    pending[fn] = g if previous is None else previous + g


def _deliver_to_leaf(t, g, create_graph, capture, targets):
    if t._hooks:
        g = _run_hooks(t._hooks, g)
    if capture is not None:
        key = id(t)
        if key in capture:
            capture[key] = g if capture[key] is None else capture[key] + g
        return
    if targets is not None and id(t) not in targets:
        return
    if not create_graph:
        # a fresh, graph-free Tensor object. Its array may be shared with another leaf's
        # grad (a + b gives both the same upstream array), so chainrule never edits a
        # .grad array in place: optimizers and clipping write new arrays.
        g = _fresh(g)
    t.grad = g if t.grad is None else t.grad + g
    if post_accumulate_hooks:
        for hook in post_accumulate_hooks.get(id(t), ()):
            hook(t)


def _fresh(g):
    from ..tensor import Tensor
    return Tensor._make(g.data, None)


def _run_hooks(hooks, g):
    for hook in hooks:
        result = hook(g)
        if result is not None:
            g = result
    return g


# ---------------------------------------------------------------- anomaly mode

class detect_anomaly:
    """Check every op's output and every backward gradient for NaN/inf.

    The first one found raises :class:`~chainrule.errors.AnomalyError` naming the op, its
    input shapes and value ranges, and the line of your code that created the node.
    Creation lines are captured only inside this mode, so normal runs pay nothing.

    >>> import chainrule
    >>> x = chainrule.tensor([0.0, 1.0], requires_grad=True)
    >>> with chainrule.autograd.detect_anomaly():
    ...     try:
    ...         chainrule.log(x)
    ...     except chainrule.AnomalyError as error:
    ...         print(str(error).split(":")[0])
    Log produced -inf in its forward output
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._previous = grad_state.anomaly
        grad_state.anomaly = self.check_nan
        return self

    def __exit__(self, *exc):
        grad_state.anomaly = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_frame():
    """'file:line in function' of the innermost frame outside chainrule's own code."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIR):
            return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return "<unknown>"


def _bad_kind(array):
    from .. import backend
    xp = backend.xp
    if array.dtype.kind not in "fc":
        return None
    if xp.isnan(array).any():
        return "NaN"
    if xp.isposinf(array).any():
        return "inf"
    if xp.isneginf(array).any():
        return "-inf"
    return None


def _describe_inputs(inputs):
    parts = []
    for i, t in enumerate(inputs):
        data = t.data
        if data.size and data.dtype.kind in "fiub":
            parts.append(f"input {i}: shape {t.shape}, range [{data.min():.4g}, {data.max():.4g}]")
        else:
            parts.append(f"input {i}: shape {t.shape}")
    return "; ".join(parts)


def check_forward(fn, inputs, out):
    kind = _bad_kind(out)
    if kind is not None:
        raise AnomalyError(f"{fn.op_name()} produced {kind} in its forward output: "
                           f"{_describe_inputs(inputs)}; created at {user_frame()}")


def check_backward(fn, g):
    kind = _bad_kind(g.data)
    if kind is not None:
        where = fn.created_at or "<created outside detect_anomaly>"
        raise AnomalyError(f"{fn.op_name()} produced {kind} in its backward gradient: "
                           f"{_describe_inputs(fn.inputs)}; the node was created at {where}")
