"""Tensor: an n-d array plus what autograd needs (grad, requires_grad, grad_fn).

Nothing clever happens here: arithmetic and methods hand over to the ops in
``chainrule.ops``, which record the graph. ``Tensor.data`` is the raw backend array
(NumPy or CuPy), so chainrule stays hackable with plain array code.

>>> import chainrule
>>> w = chainrule.tensor(1.0, requires_grad=True, name="w")
>>> loss = (w * 1.0 - 2.0) ** 2          # the seeds' linear model at x=1, y=2
>>> loss.backward()
>>> w.grad.item()
-2.0
"""
import weakref

import numpy

from . import backend
from .errors import ArgumentError, ArgumentTypeError, DTypeError, GraphError, ShapeError


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Create tensors with :func:`chainrule.tensor` and the other factories. Floating tensors
    may set ``requires_grad=True``; integer and bool tensors (labels, indices, masks) never
    get gradients.
    """

    __slots__ = ("data", "grad", "grad_fn", "requires_grad", "name", "_version", "_hooks",
                 "__weakref__")
    __array_ufunc__ = None      # make NumPy defer to Tensor's reflected operators
    __hash__ = object.__hash__  # == is elementwise, identity still hashes

    def __init__(self, data, dtype=None, requires_grad=False, name=None):
        self.data = to_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self.requires_grad = False
        self.name = name
        self._version = 0
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, grad_fn):
        """Fast internal constructor: no conversion, no checks."""
        t = _new(cls)
        t.data = data
        t.grad = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t.name = None
        t._version = 0
        t._hooks = None
        return t

    # ------------------------------------------------------------ attributes
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def T(self):
        return self.permute(*reversed(range(self.data.ndim)))

    @property
    def mT(self):
        return self.swapaxes(-1, -2)

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self):
        return self.data.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.data.ndim == 0:
            raise ArgumentTypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # ------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(f"only floating-point tensors can require gradients, but this one "
                             f"is {self.dtype}; convert it first: x.to(chainrule.float32)")
        if not requires_grad and self.grad_fn is not None:
            raise GraphError("requires_grad_(False) on a non-leaf tensor: use detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate: accumulate d(self)/d(leaf) into the ``.grad`` of every leaf.

        ``gradient`` is needed when self is not a scalar (it is the upstream gradient).
        The graph is freed afterwards unless ``retain_graph=True``; with
        ``create_graph=True`` the backward pass is recorded too, for higher derivatives.
        """
        _engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self):
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._make(self.data, None)

    def detach_(self):
        self.grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self.grad_fn is None:
            return self
        me = weakref.ref(self)

        def keep(grad):
            target = me()
            if target is not None:
                target.grad = grad if target.grad is None else target.grad + grad
        self.register_hook(keep)
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise GraphError("register_hook on a tensor that does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self.grad_fn.output_hooks is None:
                self.grad_fn.output_hooks = []
            hooks = self.grad_fn.output_hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    # ------------------------------------------------------------ conversion
    def numpy(self):
        """The data as a NumPy array (shares memory on the CPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.data.size != 1:
            raise ArgumentError(f"item(): only one-element tensors can be converted to Python "
                                f"scalars, this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def to(self, dtype):
        """Cast to ``dtype`` (differentiable between floating dtypes)."""
        return _cast(self, dtype)

    astype = to

    def float(self):
        return self.to(numpy.float32)

    def double(self):
        return self.to(numpy.float64)

    def long(self):
        return self.to(numpy.int64)

    def int(self):
        return self.to(numpy.int32)

    def bool(self):
        return self.to(numpy.bool_)

    def clone(self):
        return _clone(self)

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu":
            raise ArgumentTypeError(
                f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ArgumentError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                                "use .any() or .all()")
        return bool(self.data)

    def __repr__(self):
        body = numpy.array2string(self.numpy(), precision=4, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype not in (numpy.float32, numpy.int64, numpy.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ------------------------------------------------------------ in place
    def _inplace(self, op, *args):
        """Make self hold ``op(self, *args)``, bumping the version counter.

        Outside recording this writes into self's array. While recording, self becomes
        the output of a new node whose input is the old value, as in PyTorch; any node
        that saved self for backward will then notice the changed version and refuse.
        """
        recording = _engine.grad_state.enabled and (
            self.requires_grad or any(getattr(a, "requires_grad", False) for a in args))
        if not recording:
            result = op(self, *args)
            if result.data.shape != self.data.shape:
                raise ShapeError(f"in-place {op.__name__} would change the shape {self.shape} "
                                 f"to {result.shape}")
            self.data[...] = result.data
        elif self.grad_fn is None and self.requires_grad:
            raise GraphError("a leaf tensor that requires grad cannot be changed in place while "
                             "recording: wrap the update in chainrule.no_grad()")
        else:
            old = Tensor._make(self.data, self.grad_fn)
            old.requires_grad = self.requires_grad
            result = op(old, *args)
            self.data, self.grad_fn = result.data, result.grad_fn
            self.requires_grad = result.requires_grad
        self._bump_version()
        return self

    def _bump_version(self):
        self._version += 1
        _engine.grad_state.inplace_count += 1

    def _inplace_arithmetic(self, ufunc, op, other):
        """add_/sub_/mul_/div_: write into self's array when nothing is recorded (the fast
        path of every optimizer step), else go through :meth:`_inplace`."""
        recording = _engine.grad_state.enabled and (
            self.requires_grad or getattr(other, "requires_grad", False))
        integer_division = ufunc is backend.xp.true_divide and self.data.dtype.kind != "f"
        if recording or integer_division:
            return self._inplace(op, other)
        try:
            ufunc(self.data, other.data if isinstance(other, Tensor) else other, out=self.data)
        except TypeError:
            raise DTypeError(f"in-place {ufunc.__name__}: the result cannot be stored in this "
                             f"{self.dtype} tensor; use an out-of-place op or convert it "
                             "first") from None
        except ValueError as error:
            raise ShapeError(f"in-place {ufunc.__name__} on a tensor of shape {self.shape}: "
                             f"{error}") from None
        self._bump_version()
        return self

    def add_(self, other, alpha=1):
        other = other * alpha if alpha != 1 else other
        return self._inplace_arithmetic(backend.xp.add, _ops.add, other)

    def sub_(self, other, alpha=1):
        other = other * alpha if alpha != 1 else other
        return self._inplace_arithmetic(backend.xp.subtract, _ops.sub, other)

    def mul_(self, other):
        return self._inplace_arithmetic(backend.xp.multiply, _ops.mul, other)

    def div_(self, other):
        return self._inplace_arithmetic(backend.xp.true_divide, _ops.div, other)

    def clamp_(self, min=None, max=None):
        return self._inplace(_ops.clamp, min, max)

    def copy_(self, source):
        source = source if isinstance(source, Tensor) else Tensor(source, dtype=self.dtype)
        return self._inplace(_copy_into, source)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return self._inplace(_filled, value)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __setitem__(self, index, value):
        self._inplace(_setitem, index, value)


def _copy_into(target, source):
    return source.to(target.dtype).broadcast_to(target.shape)


def _filled(target, value):
    """The value ``value`` everywhere, still connected to target (with zero gradient)."""
    constant = Tensor._make(backend.xp.full(target.shape, value, dtype=target.dtype), None)
    return _ops.where(backend.xp.ones(target.shape, dtype=bool), constant, target)


class _HookHandle:
    __slots__ = ("hooks", "hook")

    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


_new = object.__new__


def to_array(data, dtype=None):
    """Convert Python numbers, lists, NumPy arrays or Tensors to a backend array.

    Python floats become float32 (PyTorch's default); arrays keep their dtype unless
    ``dtype`` says otherwise.
    """
    xp = backend.xp
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        dtype = numpy.dtype(dtype)
        _check_supported(dtype)
        return xp.asarray(data, dtype=dtype)
    if isinstance(data, (numpy.ndarray, numpy.generic)) or type(data).__module__.startswith("cupy"):
        array = xp.asarray(data)
    else:
        array = xp.asarray(data)
        if array.dtype.kind == "f":
            array = array.astype(backend.default_float)
        elif array.dtype.kind == "i":
            array = array.astype(numpy.int64)
    _check_supported(array.dtype)
    return array


def _check_supported(dtype):
    if dtype.kind not in "fiub":
        raise DTypeError(f"unsupported dtype {dtype}: chainrule tensors hold floating, integer "
                         "or bool data")


def ones_like_tensor(t):
    return Tensor._make(backend.xp.ones_like(t.data), None)


from .autograd import engine as _engine  # noqa: E402  (the engine needs Tensor defined)
from .ops.shape import cast as _cast, clone as _clone  # noqa: E402
from .ops.indexing import setitem as _setitem  # noqa: E402
from . import ops as _ops  # noqa: E402
from .ops import methods as _methods  # noqa: E402,F401  (attaches the op methods)
