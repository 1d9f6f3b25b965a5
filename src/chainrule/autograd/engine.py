"""The backward pass: the chain rule in one loop.

``backward()`` visits the graph's nodes in reverse topological order: a node runs once every node
that uses its output has passed it its share. For each node it takes the total gradient that arrived at its output
(upstream), asks the node's backward rule for upstream × local derivative for each input,
sums a broadcast gradient back to the input's shape, and adds it to what that input has
received so far. A leaf is a node too: when its turn comes its total is complete, so its
hooks run once, its ``.grad`` is stored (an owned, writeable array), and its
post-accumulate-grad hooks run once. Ordering is iterative, so graphs of any depth work.

>>> import chainrule
>>> w = chainrule.tensor(1.0, requires_grad=True)
>>> loss = (w * 1.0 - 2.0) ** 2
>>> loss.backward()
>>> w.grad.item()
-2.0
"""
from .. import backend, backend_helpers
from ..errors import ArgumentTypeError, GraphError, ShapeError
from ..tensor_base import TensorBase
from . import anomaly
from .broadcast import can_sum_to, sum_to
from .function import Function, edge_of
from .grad_mode import state


# ---------------------------------------------------------------- ordering

def topological_order(roots):
    """Nodes reachable from ``roots`` (grad_fns and leaf tensors), each one after every node
    that uses it."""
    order, visited = [], set()
    stack = [(node, False) for node in roots]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        if isinstance(node, Function):
            for child in node.edges:
                if child is not None and child not in visited:
                    stack.append((child, False))
    order.reverse()
    return order


def count_users(roots):
    """For every node reachable from ``roots``: how many edges point to it (its users; 0 for
    a root no other node uses)."""
    users = dict.fromkeys(roots, 0)      # (a root is walked from the start, not again)
    stack = list(users)
    while stack:
        node = stack.pop()
        if not isinstance(node, Function):          # a leaf among the roots
            continue
        for child in node.edges:
            if child is not None:
                count = users.get(child)
                if count is None:        # first time seen: walk on below it
                    users[child] = 1
                    if isinstance(child, Function):
                        stack.append(child)
                else:
                    users[child] = count + 1
    return users


# ---------------------------------------------------------------- public entry points

def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into every leaf's ``.grad`` (see ``Tensor.backward``).
    With ``inputs``, only those tensors (leaves or not) get their ``.grad`` accumulated."""
    tensors, grads = _roots_and_grads(tensors, grad_tensors, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    targets = None
    if inputs is not None:
        targets = _as_tuple(inputs)
        if not targets:
            raise GraphError("backward: inputs= is an empty sequence")
    _Pass(retain_graph, create_graph, targets, capture=False).run(tensors, grads)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
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
        if not isinstance(t, TensorBase):
            raise ArgumentTypeError(f"grad: inputs must be tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise GraphError(f"grad: input of shape {t.shape} does not require grad; "
                             "create it with requires_grad=True")
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    found = _Pass(retain_graph, create_graph, inputs, capture=True).run(outputs, grads)
    result = []
    for i, t in enumerate(inputs):
        g = found.get(t)
        if g is None:
            if not allow_unused:
                raise GraphError(f"grad: input {i} (shape {t.shape}) was not used to compute "
                                 "the outputs; pass allow_unused=True to get None for it")
            if materialize_grads:
                g = t._make(t._data * 0, None)
        result.append(g)
    return tuple(result)


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _roots_and_grads(tensors, grad_tensors, who):
    if grad_tensors is None and isinstance(tensors, TensorBase) and tensors.requires_grad \
            and tensors._data.size == 1:            # loss.backward(): the common case
        return (tensors,), [tensors._make(backend_helpers.ones_like(tensors._data), None)]
    tensors = _as_tuple(tensors)
    if grad_tensors is None:
        grad_tensors = (None,) * len(tensors)
    grad_tensors = _as_tuple(grad_tensors)
    if len(grad_tensors) != len(tensors):
        raise GraphError(f"{who}: got {len(tensors)} outputs but {len(grad_tensors)} gradients")
    grads = []
    for t, g in zip(tensors, grad_tensors):
        if not isinstance(t, TensorBase):
            raise ArgumentTypeError(f"{who}: expected a Tensor, got {type(t).__name__}")
        if not t.requires_grad:
            raise GraphError(f"{who}: the tensor (shape {t.shape}) does not require grad and has "
                             "no grad_fn: did you create its inputs with requires_grad=True, or "
                             "compute it under no_grad()?")
        if g is None:
            if t._data.size != 1:
                raise GraphError(
                    f"{who}: grad can be implicitly created only for scalar outputs, but the "
                    f"output has shape {t.shape}; reduce it first (loss.sum() or loss.mean()) or "
                    "pass gradient= with the same shape")
            g = t._make(backend_helpers.ones_like(t._data), None)
        elif not isinstance(g, TensorBase):
            g = t._make(backend.xp.asarray(g, dtype=t.dtype), None)
        if g.shape != t.shape:
            raise ShapeError(f"{who}: gradient has shape {g.shape} but the output has shape "
                             f"{t.shape}")
        grads.append(g)
    return tensors, grads


# ---------------------------------------------------------------- the pass

class _Pass:
    """One backward pass. ``targets``: the tensors whose gradient is wanted (None: every
    leaf). ``capture``: return those gradients (autograd.grad) instead of storing ``.grad``."""

    def __init__(self, retain_graph, create_graph, targets, capture):
        self.retain_graph, self.create_graph = retain_graph, create_graph
        self.capture = capture
        self.found = {}          # target tensor -> its gradient (capture mode)
        self.target_nodes = None
        if targets is not None:
            # a non-leaf target's gradient is the total arriving at its grad_fn
            self.target_nodes = {edge_of(t) if t.grad_fn is not None else t: t
                                 for t in targets}
        self.not_owned = set()   # ids of arrays a .grad may not take without a copy
        self.tracer = None       # state.tracer, read once per pass

    def run(self, roots, root_grads):
        pending = {}
        for t, g in zip(roots, root_grads):
            self.not_owned.add(id(g._data))   # the caller may keep it
            node = edge_of(t)
            pending[node] = g if node not in pending else _add(pending[node], g, False)
        users = count_users(pending)
        needed = self._needed(list(pending)) if self.target_nodes is not None else None
        checking, tracer = state.anomaly, state.tracer
        self.tracer = tracer
        create_graph, retain_graph = self.create_graph, self.retain_graph
        plain_leaves = needed is None and tracer is None and not self.capture
        previous = state.enabled
        state.enabled = create_graph
        try:
            # a node is ready once every node that uses its output has passed it its share
            ready = []
            for node in pending:
                if not users[node]:
                    ready.append(node)
            next_ready, now_ready, take = ready.pop, ready.append, pending.pop
            while ready:
                node = next_ready()
                upstream = take(node, None)
                if not isinstance(node, Function):
                    if upstream is None:
                        continue
                    if plain_leaves and node._hooks is None:     # loss.backward()'s leaves
                        self._accumulate_leaf(node, upstream)
                    elif needed is None or node in needed:
                        self._at_leaf(node, upstream)
                    continue
                edges = node.edges
                if upstream is None or (needed is not None and node not in needed):
                    _one_user_less(edges, users, ready)     # nothing to pass on
                    continue
                if node.watched or needed is not None:
                    upstream = self._at_output(node, upstream)
                # the chain rule: each input gets upstream × its local derivative ...
                grads = _call_backward(node, upstream) if checking else node.backward(upstream)
                if type(grads) is not tuple:
                    grads = (grads,)
                if len(grads) != len(edges):
                    raise _arity_error(node, grads)
                # (input_shapes None: every input with an edge has the output's shape)
                shapes = node.input_shapes or (upstream._data.shape,) * len(grads)
                for shape, edge, g in zip(shapes, edges, grads):
                    if edge is None:
                        continue
                    if g is not None:
                        if g._data.shape != shape:       # ... summed over broadcasting ...
                            g = _sum_back(node, g, shape)
                        if checking:
                            anomaly.check_backward(node, g)
                        total = pending.get(edge)        # ... and over every use
                        pending[edge] = g if total is None else _add(total, g, create_graph)
                    left = users[edge] - 1      # the input has heard from one more user
                    users[edge] = left
                    if not left:
                        now_ready(edge)
                if tracer is not None:
                    tracer.on_node(node, upstream, _passed(node, shapes, grads))
                if not retain_graph:
                    node.release()
        finally:
            state.enabled = previous
        return self.found

    def _needed(self, roots):
        """Nodes from which a target can be reached: the only ones worth running."""
        needed = set()
        for node in reversed(topological_order(roots)):      # leaves first
            if node in self.target_nodes or (isinstance(node, Function) and any(
                    edge in needed for edge in node.edges if edge is not None)):
                needed.add(node)
        return needed

    def _at_output(self, fn, upstream):
        """Before a node's rule runs: its output's hooks, retain_grad, a grad() target."""
        if fn.output_hooks:
            upstream = self._hooked(fn.output_hooks, upstream)
        if fn.retained is not None:
            self._retain(fn, upstream)
        if self.target_nodes is not None and fn in self.target_nodes:
            self._deliver_target(self.target_nodes[fn], upstream)
        return upstream

    def _at_leaf(self, leaf, g):
        if leaf._hooks:
            g = self._hooked(leaf._hooks, g)
        if self.tracer is not None:
            self.tracer.on_leaf(leaf, g)
        if self.target_nodes is None and not self.capture:    # loss.backward(): the common case
            self._accumulate_leaf(leaf, g)
        elif self.target_nodes is None or leaf in self.target_nodes:
            self._deliver_target(leaf, g)

    def _deliver_target(self, t, g):
        if self.capture:
            self.found[t] = g
        elif t.grad_fn is None:
            self._accumulate_leaf(t, g)
        else:                                   # backward(inputs=[non-leaf])
            self._accumulate(t, g)

    def _accumulate_leaf(self, leaf, g):
        """Accumulate a leaf's total into its .grad, then run its post-accumulate hooks."""
        self._accumulate(leaf, g)
        if leaf._post_hooks:
            for hook in list(leaf._post_hooks):
                hook(leaf)

    def _accumulate(self, t, g):
        """Add ``g`` into ``t.grad``: in place when t.grad is an array of its own (as
        PyTorch's AccumulateGrad), recorded when create_graph is on."""
        if self.create_graph:
            t.grad = g if t.grad is None else t.grad + g
            return
        current = t.grad
        if current is None:         # a .grad is contiguous, writeable and shared with no one
            array = g._data
            not_owned = self.not_owned
            if id(array) in not_owned or not backend_helpers.owns_contiguous(array):
                array = backend_helpers.contiguous_copy(array)
            not_owned.add(id(array))
            t.grad = t._make(array, None)
        elif current.grad_fn is None and backend_helpers.is_writeable(current._data):
            current._data += g._data
            current._bump_version()
        else:
            t.grad = t._make(current._data + g._data, None)

    def _hooked(self, hooks, g):
        for hook in list(hooks):
            self.not_owned.add(id(g._data))
            result = hook(g)
            if result is not None:
                if not isinstance(result, TensorBase) or result.shape != g.shape:
                    raise GraphError(f"a tensor hook must return None or a tensor of shape "
                                     f"{g.shape}, got {result!r:.80}")
                g = result
        self.not_owned.add(id(g._data))
        return g

    def _retain(self, fn, g):
        tensor = fn.retained()
        if tensor is None or (self.target_nodes is not None and fn in self.target_nodes):
            return
        self.not_owned.add(id(g._data))
        if self.create_graph:
            tensor.grad = g if tensor.grad is None else tensor.grad + g
        else:
            total = g._data.copy() if tensor.grad is None else tensor.grad._data + g._data
            tensor.grad = tensor._make(total, None)
            self.not_owned.add(id(total))


def _one_user_less(edges, users, ready):
    for child in edges:
        if child is not None:
            left = users[child] - 1
            users[child] = left
            if not left:
                ready.append(child)


def _passed(fn, shapes, grads):
    """What a node passed to each input (None where it has no edge), summed back to the
    input's shape as the loop does (computed again here, only when explain traces, so that
    the loop keeps no list per node)."""
    return tuple(None if edge is None or g is None else
                 g if g._data.shape == shape else sum_to(g, shape)
                 for shape, edge, g in zip(shapes, fn.edges, grads))


def _call_backward(fn, upstream):
    """fn.backward in anomaly mode: the checks look at the gradients this node produces, not
    at the ops inside its backward formula, so the error names the node (Sqrt), not a helper
    op (Div)."""
    state.anomaly = False
    try:
        return fn.backward(upstream)
    finally:
        state.anomaly = True


def _arity_error(fn, grads):
    return GraphError(f"{fn.op_name()}: backward returned {len(grads)} gradients for "
                      f"{len(fn.edges)} inputs")


def _sum_back(fn, g, shape):
    if not can_sum_to(g._data.shape, shape):
        raise GraphError(f"internal error in {fn.op_name()}.backward: it returned a gradient of "
                         f"shape {g.shape} for an input of shape {shape}, which is not a "
                         "broadcast of it")
    return sum_to(g, shape)


def _add(previous, g, create_graph):
    """Sum two contributions to the same node (a new array: the sum is owned by no one)."""
    if create_graph:
        return previous + g
    return previous._make(previous._data + g._data, None)
