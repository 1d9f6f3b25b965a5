"""Tensor: an n-d array plus what autograd needs (grad, requires_grad, grad_fn).

Nothing clever happens here: every method and operator hands over to an op in
``chainrule.ops``, which records the graph. The data model (the array, version counters,
views) is :class:`~chainrule.tensor_base.TensorBase`; ``Tensor.data`` is, as in PyTorch, a
tensor sharing the same memory that autograd does not track, and ``numpy()`` gives the
array itself.

>>> import chainrule
>>> w = chainrule.tensor(1.0, requires_grad=True, name="w")
>>> loss = (w * 1.0 - 2.0) ** 2          # the seeds' linear model at x=1, y=2
>>> loss.backward()
>>> w.grad.item()
-2.0
"""
import weakref

import numpy

from . import backend, backend_helpers
from .autograd import engine
from .autograd.broadcast import sum_to
from .autograd.function import edge_of
from .autograd.grad_mode import state
from .errors import (ArgumentError, ArgumentTypeError, DeviceError, DTypeError, GraphError,
                     IndexOutOfRangeError, ReadOnlyError, ShapeError)
from .ops import activation, arithmetic, indexing, linalg, reduction, shape
from .ops import construction, triangular
from .ops import elementwise, logical, special
from .ops import decompositions
from .ops import cumulative, scattering, sorting
from . import device as _device, dtypes as _dtypes
from .ops import sampling
from .ops._util import check_fits, wrapped_integer
from .tensor_base import TensorBase, check_supported, to_array
from .tensor_protocols import TensorProtocols

_new = object.__new__
_ndarray = numpy.ndarray
_NO_DATA = object()     # Tensor() without data: an empty tensor, as torch.Tensor()


def _legacy_arguments(data, dtype, requires_grad, name, sizes):
    """``torch.Tensor``'s legacy forms: ``Tensor(2, 3)`` (sizes: zeros of the default float
    dtype), ``Tensor()`` (empty) and ``Tensor([1, 2])`` (a list: the default float dtype
    unless ``dtype`` says otherwise). Returns the arguments for the ordinary path."""
    if data is _NO_DATA:
        return numpy.zeros(0, dtype=backend.default_float), dtype, requires_grad, name
    if isinstance(data, (list, tuple)):
        return data, backend.default_float if dtype is None else dtype, requires_grad, name
    given = [v for v in (dtype, requires_grad, name) if v is not None and v is not False]
    positional = [data] + given + list(sizes)
    if any(type(n) is not int for n in positional):
        raise ArgumentTypeError(f"Tensor(): sizes must all be ints, got {tuple(positional)}")
    if any(n < 0 for n in positional):
        raise ArgumentError(f"Tensor(): trying to create a tensor with negative dimension: "
                            f"{tuple(positional)}")
    return numpy.zeros(tuple(positional), dtype=backend.default_float), None, False, None


class Tensor(TensorProtocols, TensorBase):
    """An n-dimensional array that can record the operations applied to it.

    Create tensors with :func:`chainrule.tensor` and the other factories. Floating tensors
    may set ``requires_grad=True``; integer and bool tensors (labels, indices, masks) never
    get gradients.
    """

    __slots__ = ()
    __hash__ = object.__hash__  # == is elementwise, identity still hashes

    def __init__(self, data=_NO_DATA, dtype=None, requires_grad=False, name=None, *sizes):
        if type(data) is int or data is _NO_DATA or isinstance(data, (list, tuple)):
            data, dtype, requires_grad, name = _legacy_arguments(data, dtype, requires_grad,
                                                                 name, sizes)
        self._data = to_array(data, dtype)
        self.grad_fn = None
        self.requires_grad = False
        self._version_counter = self._view = None
        if name is not None:
            self.name = name
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data, grad_fn):
        """Fast internal constructor: no conversion, no checks (but a NumPy scalar, which
        ufuncs return for 0-d inputs, becomes a 0-d array, so that it can be written)."""
        if type(data) is not _ndarray and isinstance(data, numpy.generic):
            data = numpy.asarray(data)
        t = _new(Tensor)
        t._data = data
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t._version_counter = t._view = None
        return t

    # ------------------------------------------------------------ attributes
    @property
    def T(self):
        return shape.permute(self, *reversed(range(self._data.ndim)))

    @property
    def mT(self):
        return shape.swapaxes(self, -1, -2)

    def size(self, dim=None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def dim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return backend.is_floating(self._data.dtype)

    def __len__(self):
        if self._data.ndim == 0:
            raise ArgumentTypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # ------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate: accumulate d(self)/d(leaf) into the ``.grad`` of every leaf.

        ``gradient`` is needed when self is not a scalar (it is the upstream gradient).
        The graph's saved values are freed afterwards unless ``retain_graph=True``; with
        ``create_graph=True`` the backward pass is recorded too, for higher derivatives.
        """
        engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self):
        """The same data, cut from the graph (shares memory and the version counter, like
        PyTorch: an in-place change of either is seen by autograd)."""
        t = Tensor._make(self._data, None)
        t._version_counter = self._counter()
        return t

    def detach_(self):
        if self._view is not None:
            raise GraphError("detach_() on a view: use detach() (a new tensor) instead")
        self.grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor after backward (accumulated, as a leaf's)."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise GraphError("retain_grad() on a tensor that does not require grad")
            return self
        self.grad_fn.retained = weakref.ref(self)
        self.grad_fn.watched = True
        return self

    @property
    def retains_grad(self):
        return self.grad_fn is not None and self.grad_fn.retained is not None and \
            self.grad_fn.retained() is self

    def register_hook(self, hook):
        """Call ``hook(grad)`` once per backward with this tensor's total gradient; a returned
        Tensor replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise GraphError("register_hook on a tensor that does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self.grad_fn.output_hooks is None:
                self.grad_fn.output_hooks = []
                self.grad_fn.watched = True
            hooks = self.grad_fn.output_hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` once per backward, after this leaf's ``.grad`` was updated
        (PyTorch's name; DistributedDataParallel starts its all-reduces from here)."""
        if self.grad_fn is not None:
            raise GraphError("post accumulate grad hooks cannot be registered on non-leaf "
                             "tensors")
        if not self.requires_grad:
            raise GraphError("register_post_accumulate_grad_hook on a tensor that does not "
                             "require grad")
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return _HookHandle(self._post_hooks, hook)

    # ------------------------------------------------------------ conversion
    def numpy(self):
        """The data as a NumPy array (shares memory on the CPU). Unlike PyTorch this works on
        a tensor that requires grad too (see docs/pytorch.md): learners look at weights."""
        return backend.to_numpy(self._data)

    def item(self):
        if self._data.size != 1:
            raise ArgumentError(f"item(): only one-element tensors can be converted to Python "
                                f"scalars, this one has shape {self.shape}")
        return backend_helpers.to_scalar(self._data)

    def tolist(self):
        return backend.to_numpy(self._data).tolist()

    def float(self):
        return shape.cast(self, numpy.float32)

    def double(self):
        return shape.cast(self, numpy.float64)

    def half(self):
        return shape.cast(self, numpy.float16)

    def long(self):
        return shape.cast(self, numpy.int64)

    def int(self):
        return shape.cast(self, numpy.int32)

    def bool(self):
        return shape.cast(self, numpy.bool_)

    def type_as(self, other):
        return shape.cast(self, other.dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if backend.kind(self._data.dtype) not in "iu":
            raise ArgumentTypeError(
                f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ArgumentError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                                "use .any() or .all()")
        return bool(self._data)

    def __repr__(self):
        values = backend.to_numpy(self._data)
        if backend.is_bfloat16(values.dtype):        # NumPy prints bfloat16 1.0 as "1"
            values = values.astype(numpy.float32)
        body = numpy.array2string(values, precision=4, separator=", ", prefix="tensor(")
        extras = []
        if self._data.dtype not in (numpy.float32, numpy.int64, numpy.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ------------------------------------------------------------ operators
    __add__ = arithmetic.add
    __sub__ = arithmetic.sub
    __mul__ = arithmetic.mul
    __truediv__ = arithmetic.div
    __pow__ = arithmetic.pow
    __matmul__ = linalg.matmul
    __neg__ = arithmetic.neg
    __abs__ = arithmetic.abs
    __getitem__ = indexing.getitem

    def __radd__(self, other):
        return arithmetic.add(other, self)

    def __rsub__(self, other):
        return arithmetic.sub(other, self)

    def __rmul__(self, other):
        return arithmetic.mul(other, self)

    def __rtruediv__(self, other):
        return arithmetic.div(other, self)

    def __rpow__(self, other):
        return arithmetic.pow(other, self)

    def __rmatmul__(self, other):
        return linalg.matmul(other, self)

    def __pos__(self):
        return self

    def __lt__(self, other):
        return arithmetic.lt(self, other)

    def __le__(self, other):
        return arithmetic.le(self, other)

    def __gt__(self, other):
        return arithmetic.gt(self, other)

    def __ge__(self, other):
        return arithmetic.ge(self, other)

    def __eq__(self, other):
        return arithmetic.eq(self, other)

    def __ne__(self, other):
        return arithmetic.ne(self, other)

    # ------------------------------------------------------------ methods (one op each)
    add = arithmetic.add
    sub = subtract = arithmetic.sub
    mul = multiply = arithmetic.mul
    div = divide = arithmetic.div
    pow = arithmetic.pow
    neg = arithmetic.neg
    exp = arithmetic.exp
    log = arithmetic.log
    log1p = arithmetic.log1p
    sqrt = arithmetic.sqrt
    rsqrt = arithmetic.rsqrt
    abs = arithmetic.abs
    sign = arithmetic.sign
    sin = arithmetic.sin
    cos = arithmetic.cos
    maximum = arithmetic.maximum
    minimum = arithmetic.minimum
    clamp = clip = arithmetic.clamp
    square = arithmetic.square
    reciprocal = arithmetic.reciprocal
    erf = arithmetic.erf
    eq = arithmetic.eq
    ne = arithmetic.ne
    lt = arithmetic.lt
    le = arithmetic.le
    gt = arithmetic.gt
    ge = arithmetic.ge

    sigmoid = activation.sigmoid
    tanh = activation.tanh
    relu = activation.relu
    softmax = activation.softmax
    log_softmax = activation.log_softmax

    sum = reduction.sum
    mean = reduction.mean
    max = reduction.max
    min = reduction.min
    amax = reduction.amax
    amin = reduction.amin
    prod = reduction.prod
    logsumexp = reduction.logsumexp
    var = reduction.var
    std = reduction.std
    norm = reduction.norm
    argmax = reduction.argmax
    argmin = reduction.argmin
    all = reduction.all
    any = reduction.any

    reshape = view = shape.reshape
    permute = shape.permute
    transpose = shape.transpose
    swapaxes = shape.swapaxes
    flatten = shape.flatten
    squeeze = shape.squeeze
    unsqueeze = shape.unsqueeze
    expand = shape.expand
    broadcast_to = shape.broadcast_to
    flip = shape.flip
    tile = shape.tile
    sum_to = sum_to
    split = shape.split
    chunk = shape.chunk
    contiguous = shape.contiguous

    gather = indexing.gather
    index_select = indexing.index_select
    take_along_axis = indexing.take_along_axis

    matmul = linalg.matmul
    dot = linalg.dot
    outer = linalg.outer

    # ---- elementwise, logical and bitwise (issue 19.1)
    __floordiv__ = elementwise.floor_divide
    __mod__ = elementwise.remainder
    __and__ = __rand__ = logical.bitwise_and
    __or__ = __ror__ = logical.bitwise_or
    __xor__ = __rxor__ = logical.bitwise_xor
    __invert__ = logical.bitwise_not
    __lshift__ = logical.bitwise_left_shift
    __rshift__ = logical.bitwise_right_shift

    def __rfloordiv__(self, other):
        return elementwise.floor_divide(other, self)

    def __rmod__(self, other):
        return elementwise.remainder(other, self)

    def __rlshift__(self, other):
        return logical.bitwise_left_shift(other, self)

    def __rrshift__(self, other):
        return logical.bitwise_right_shift(other, self)

    floor_divide = elementwise.floor_divide
    remainder = elementwise.remainder
    fmod = elementwise.fmod
    true_divide = arithmetic.true_divide
    floor = elementwise.floor
    ceil = elementwise.ceil
    round = elementwise.round
    trunc = fix = elementwise.trunc
    frac = elementwise.frac
    sgn = arithmetic.sign
    tan = elementwise.tan
    asin = arcsin = elementwise.asin
    acos = arccos = elementwise.acos
    atan = arctan = elementwise.atan
    atan2 = arctan2 = elementwise.atan2
    sinh = elementwise.sinh
    cosh = elementwise.cosh
    asinh = arcsinh = elementwise.asinh
    acosh = arccosh = elementwise.acosh
    atanh = arctanh = elementwise.atanh
    sinc = elementwise.sinc
    log2 = elementwise.log2
    log10 = elementwise.log10
    exp2 = elementwise.exp2
    expm1 = elementwise.expm1
    xlogy = elementwise.xlogy
    logit = elementwise.logit
    erfc = special.erfc
    erfinv = special.erfinv
    lgamma = special.lgamma
    digamma = special.digamma
    lerp = elementwise.lerp
    copysign = elementwise.copysign
    logaddexp = elementwise.logaddexp
    logaddexp2 = elementwise.logaddexp2
    hypot = elementwise.hypot
    float_power = elementwise.float_power
    nan_to_num = elementwise.nan_to_num
    clamp_min = arithmetic.clamp_min
    clamp_max = arithmetic.clamp_max
    isnan = logical.isnan
    isinf = logical.isinf
    isfinite = logical.isfinite
    isposinf = logical.isposinf
    isneginf = logical.isneginf
    signbit = logical.signbit
    isclose = logical.isclose
    allclose = logical.allclose
    equal = logical.equal
    logical_and = logical.logical_and
    logical_or = logical.logical_or
    logical_xor = logical.logical_xor
    logical_not = logical.logical_not
    bitwise_and = logical.bitwise_and
    bitwise_or = logical.bitwise_or
    bitwise_xor = logical.bitwise_xor
    bitwise_not = logical.bitwise_not
    bitwise_left_shift = logical.bitwise_left_shift
    bitwise_right_shift = logical.bitwise_right_shift

    def polygamma(self, n):
        return special.polygamma(n, self)

    def polygamma_(self, n):
        return self._inplace(special.polygamma_of, n)

    def divide_(self, other, *, rounding_mode=None):
        return self.div_(other, rounding_mode=rounding_mode)

    def clip_(self, min=None, max=None):
        return self.clamp_(min, max)

    def float_power_(self, exponent):
        if self._data.dtype != numpy.float64:
            raise DTypeError(f"float_power_: the base has dtype {self.dtype} but the result "
                             "is float64 (as in PyTorch); convert it with .double() first")
        return self._inplace(elementwise.float_power, exponent)

    def _inplace_op(op):            # noqa: N805  (builds the in-place method of an op)
        def method(self, *args, **options):
            if not options:
                return self._inplace(op, *args)

            def with_options(x, *rest):
                return op(x, *rest, **options)
            with_options.__name__ = op.__name__
            return self._inplace(with_options, *args)
        method.__name__ = op.__name__ + "_"
        method.__doc__ = f"In-place :func:`{op.__name__}`: self holds the result."
        return method

    floor_divide_ = __ifloordiv__ = _inplace_op(elementwise.floor_divide)
    remainder_ = __imod__ = _inplace_op(elementwise.remainder)
    fmod_ = _inplace_op(elementwise.fmod)
    true_divide_ = _inplace_op(arithmetic.true_divide)
    floor_ = _inplace_op(elementwise.floor)
    ceil_ = _inplace_op(elementwise.ceil)
    round_ = _inplace_op(elementwise.round)
    trunc_ = fix_ = _inplace_op(elementwise.trunc)
    frac_ = _inplace_op(elementwise.frac)
    sign_ = sgn_ = _inplace_op(arithmetic.sign)
    abs_ = _inplace_op(arithmetic.abs)
    sin_ = _inplace_op(arithmetic.sin)
    cos_ = _inplace_op(arithmetic.cos)
    sqrt_ = _inplace_op(arithmetic.sqrt)
    rsqrt_ = _inplace_op(arithmetic.rsqrt)
    log_ = _inplace_op(arithmetic.log)
    log1p_ = _inplace_op(arithmetic.log1p)
    erf_ = _inplace_op(arithmetic.erf)
    square_ = _inplace_op(arithmetic.square)
    reciprocal_ = _inplace_op(arithmetic.reciprocal)
    tan_ = _inplace_op(elementwise.tan)
    asin_ = arcsin_ = _inplace_op(elementwise.asin)
    acos_ = arccos_ = _inplace_op(elementwise.acos)
    atan_ = arctan_ = _inplace_op(elementwise.atan)
    atan2_ = arctan2_ = _inplace_op(elementwise.atan2)
    sinh_ = _inplace_op(elementwise.sinh)
    cosh_ = _inplace_op(elementwise.cosh)
    asinh_ = arcsinh_ = _inplace_op(elementwise.asinh)
    acosh_ = arccosh_ = _inplace_op(elementwise.acosh)
    atanh_ = arctanh_ = _inplace_op(elementwise.atanh)
    sinc_ = _inplace_op(elementwise.sinc)
    log2_ = _inplace_op(elementwise.log2)
    log10_ = _inplace_op(elementwise.log10)
    exp2_ = _inplace_op(elementwise.exp2)
    expm1_ = _inplace_op(elementwise.expm1)
    xlogy_ = _inplace_op(elementwise.xlogy)
    logit_ = _inplace_op(elementwise.logit)
    erfc_ = _inplace_op(special.erfc)
    erfinv_ = _inplace_op(special.erfinv)
    lgamma_ = _inplace_op(special.lgamma)
    digamma_ = _inplace_op(special.digamma)
    lerp_ = _inplace_op(elementwise.lerp)
    copysign_ = _inplace_op(elementwise.copysign)
    hypot_ = _inplace_op(elementwise.hypot)
    nan_to_num_ = _inplace_op(elementwise.nan_to_num)
    clamp_min_ = _inplace_op(arithmetic.clamp_min)
    clamp_max_ = _inplace_op(arithmetic.clamp_max)
    logical_and_ = _inplace_op(logical.logical_and)
    logical_or_ = _inplace_op(logical.logical_or)
    logical_xor_ = _inplace_op(logical.logical_xor)
    logical_not_ = _inplace_op(logical.logical_not)
    bitwise_and_ = __iand__ = _inplace_op(logical.bitwise_and)
    bitwise_or_ = __ior__ = _inplace_op(logical.bitwise_or)
    bitwise_xor_ = __ixor__ = _inplace_op(logical.bitwise_xor)
    bitwise_not_ = _inplace_op(logical.bitwise_not)
    bitwise_left_shift_ = __ilshift__ = _inplace_op(logical.bitwise_left_shift)
    bitwise_right_shift_ = __irshift__ = _inplace_op(logical.bitwise_right_shift)
    del _inplace_op

    # ---- cumulative, sorting, scatter/gather and masks (issue 19.2-3)
    cumsum = cumulative.cumsum
    cumprod = cumulative.cumprod
    cummax = cumulative.cummax
    cummin = cumulative.cummin
    logcumsumexp = cumulative.logcumsumexp
    diff = cumulative.diff
    sort = sorting.sort
    argsort = sorting.argsort
    msort = sorting.msort
    topk = sorting.topk
    kthvalue = sorting.kthvalue
    median = sorting.median
    nanmedian = sorting.nanmedian
    mode = sorting.mode
    unique = sorting.unique
    unique_consecutive = sorting.unique_consecutive
    scatter = scattering.scatter
    scatter_add = scattering.scatter_add
    scatter_reduce = scattering.scatter_reduce
    index_add = scattering.index_add
    index_copy = scattering.index_copy
    index_fill = scattering.index_fill
    index_put = scattering.index_put
    masked_fill = scattering.masked_fill
    masked_select = scattering.masked_select
    masked_scatter = scattering.masked_scatter
    nonzero = scattering.nonzero
    argwhere = scattering.argwhere
    take = scattering.take
    take_along_dim = scattering.take_along_dim
    put = scattering.put

    def where(self, condition, other):
        """``where(condition, self, other)``."""
        return arithmetic.where(condition, self, other)

    def _writes(op):                # noqa: N805  (builds the in-place method of an op)
        def method(self, *args, **options):
            def with_options(x, *rest):
                return op(x, *rest, **options)
            with_options.__name__ = op.__name__
            return self._inplace(with_options, *args)
        method.__name__ = op.__name__ + "_"
        method.__doc__ = f"In-place :func:`{op.__name__}`: self holds the result."
        return method

    cumsum_ = _writes(cumulative.cumsum)
    cumprod_ = _writes(cumulative.cumprod)
    scatter_ = _writes(scattering.scatter)
    scatter_add_ = _writes(scattering.scatter_add)
    scatter_reduce_ = _writes(scattering.scatter_reduce)
    index_add_ = _writes(scattering.index_add)
    index_copy_ = _writes(scattering.index_copy)
    index_fill_ = _writes(scattering.index_fill)
    index_put_ = _writes(scattering.index_put)
    masked_fill_ = _writes(scattering.masked_fill)
    masked_scatter_ = _writes(scattering.masked_scatter)
    put_ = _writes(scattering.put)
    del _writes


    # ---- shape and construction (issue 19.4)
    tril = triangular.tril
    triu = triangular.triu
    diag = triangular.diag
    diagonal = triangular.diagonal
    diag_embed = triangular.diag_embed
    diagflat = triangular.diagflat
    trace = triangular.trace
    ravel = shape.ravel
    fliplr = shape.fliplr
    flipud = shape.flipud
    roll = shape.roll
    rot90 = shape.rot90
    movedim = moveaxis = shape.movedim
    swapdims = shape.swapdims
    unflatten = shape.unflatten
    narrow = shape.narrow
    select = shape.select
    unbind = shape.unbind
    tensor_split = shape.tensor_split
    hsplit = shape.hsplit
    vsplit = shape.vsplit
    dsplit = shape.dsplit
    unfold = shape.unfold
    repeat = shape.repeat
    repeat_interleave = construction.repeat_interleave

    def tril_(self, diagonal=0):
        return self._inplace(triangular.tril, diagonal)

    def triu_(self, diagonal=0):
        return self._inplace(triangular.triu, diagonal)


    # ---- reductions and linear algebra (issue 19.5-6)
    aminmax = reduction.aminmax
    nansum = reduction.nansum
    nanmean = reduction.nanmean
    count_nonzero = reduction.count_nonzero
    quantile = reduction.quantile
    nanquantile = reduction.nanquantile
    det = decompositions.det
    inverse = decompositions.inverse
    logdet = decompositions.logdet
    slogdet = decompositions.torch_slogdet
    cholesky_solve = decompositions.cholesky_solve
    pinverse = decompositions.pinverse
    matrix_power = decompositions.matrix_power
    svd = decompositions.torch_svd
    cross = linalg.cross
    mm = linalg.mm
    bmm = linalg.bmm
    mv = linalg.mv
    vdot = linalg.vdot
    inner = linalg.inner
    kron = linalg.kron
    addmm = linalg.addmm
    addmv = linalg.addmv
    baddbmm = linalg.baddbmm
    addbmm = linalg.addbmm
    addr = linalg.addr
    matrix_exp = decompositions.matrix_exp

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        return self._inplace(_with_scales(linalg.addmm, beta, alpha), mat1, mat2)

    def addmv_(self, mat, vec, *, beta=1, alpha=1):
        return self._inplace(_with_scales(linalg.addmv, beta, alpha), mat, vec)

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return self._inplace(_with_scales(linalg.baddbmm, beta, alpha), batch1, batch2)

    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return self._inplace(_with_scales(linalg.addbmm, beta, alpha), batch1, batch2)

    def addr_(self, vec1, vec2, *, beta=1, alpha=1):
        return self._inplace(_with_scales(linalg.addr, beta, alpha), vec1, vec2)

    # ---- dtypes, devices and PyTorch idioms (issue 19.7)

    def view_as(self, other):
        return shape.reshape(self, other.shape)

    def expand_as(self, other):
        return shape.expand(self, other.shape)

    def reshape_as(self, other):
        return shape.reshape(self, other.shape)

    def is_contiguous(self, memory_format=_dtypes.contiguous_format):
        """Whether the memory is laid out as ``memory_format`` (row-major by default; False
        for a channels-last format of another rank, as PyTorch)."""
        if not isinstance(memory_format, _dtypes.memory_format):
            _dtypes.check_memory_format(memory_format, self._data.ndim, "is_contiguous")
        return _dtypes.is_laid_out(self._data, memory_format)

    def contiguous(self, memory_format=_dtypes.contiguous_format):
        """``self`` when its memory already follows ``memory_format``, else a copy that does."""
        if memory_format is _dtypes.contiguous_format:
            return shape.contiguous(self)
        _dtypes.check_memory_format(memory_format, self._data.ndim, "contiguous")
        if _dtypes.is_laid_out(self._data, memory_format):
            return self
        return _dtypes.relayout(self, memory_format, "contiguous")

    def clone(self, *, memory_format=_dtypes.preserve_format):
        """A copy with its own memory (differentiable), laid out as ``memory_format``."""
        if memory_format is _dtypes.preserve_format and backend_helpers.is_c_contiguous(
                self._data):
            return shape.clone(self)
        return _dtypes.relayout(self, memory_format, "clone")

    def t(self):
        """The transpose of a matrix; a 0-d or 1-d tensor is returned as it is."""
        if self._data.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                             f"{self._data.ndim}D")
        return shape.transpose(self, 0, 1) if self._data.ndim == 2 else self

    def ndimension(self):
        return self._data.ndim

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return int(self._data.nbytes)

    def stride(self, dim=None):
        """Elements (not bytes) to step in memory along each dimension."""
        itemsize = self._data.itemsize
        strides = tuple(s // itemsize for s in self._data.strides)
        if dim is None:
            return strides
        ndim = len(strides)
        if isinstance(dim, bool) or not isinstance(dim, (int, numpy.integer)):
            raise ArgumentTypeError(f"stride(): dim must be an int, got {type(dim).__name__}")
        if ndim == 0:
            raise IndexOutOfRangeError(f"stride(): dimension specified as {dim} but tensor "
                                       "has no dimensions")
        if not -ndim <= dim < ndim:
            raise IndexOutOfRangeError(f"stride(): dimension out of range (expected to be in "
                                       f"range of [{-ndim}, {ndim - 1}], but got {dim})")
        return strides[dim]

    def data_ptr(self):
        """The address of the first element."""
        data = self._data
        return int(data.ctypes.data) if isinstance(data, _ndarray) else int(data.data.ptr)

    def is_same_size(self, other):
        return self._data.shape == other._data.shape

    def is_complex(self):
        return False                          # chainrule holds no complex numbers

    def is_signed(self):
        return backend.kind(self._data.dtype) == "i" or backend.is_floating(self._data.dtype)

    # dtypes
    def bfloat16(self):
        return shape.cast(self, backend.bfloat16)

    def short(self):
        return shape.cast(self, numpy.int16)

    def char(self):
        return shape.cast(self, numpy.int8)

    def byte(self):
        return shape.cast(self, numpy.uint8)

    def astype(self, dtype):
        """Cast to ``dtype`` (NumPy's name for ``to(dtype)``)."""
        return shape.cast(self, _dtypes.as_dtype(dtype, "astype"))

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """Without arguments, the legacy type name (``'torch.FloatTensor'``, PyTorch's, so
        that scripts comparing it keep working); with a dtype, a legacy type (class or name)
        the cast to it."""
        if dtype is None:
            prefix = "torch.cuda." if self.is_cuda else "torch."
            return prefix + _dtypes.TYPE_NAMES[self._data.dtype]
        name = dtype if isinstance(dtype, str) else getattr(dtype, "__name__", None)
        if name is not None and name.rpartition(".")[2] in _dtypes.LEGACY_DTYPES:
            target = _dtypes.LEGACY_DTYPES[name.rpartition(".")[2]]
            moved = self.cuda() if ".cuda." in name else self
            return shape.cast(moved, target)
        return shape.cast(self, _dtypes.as_dtype(dtype, "type"))

    # devices
    @property
    def device(self):
        return _device.device_of(self._data)

    @property
    def is_cuda(self):
        return not isinstance(self._data, _ndarray) and backend.is_gpu_array(self._data)

    @property
    def is_cpu(self):
        return not self.is_cuda

    @property
    def is_meta(self):
        return False

    def get_device(self):
        """-1 on the CPU, the GPU's index on a GPU (PyTorch's answer)."""
        index = self.device.index
        return -1 if index is None else index

    def to(self, *args, **kwargs):
        """A tensor on another device and/or of another dtype (``self`` when nothing changes,
        unless ``copy=True``), as ``torch.Tensor.to``: ``to(dtype)``, ``to(device)``,
        ``to(device, dtype)``, ``to(other)`` (its device and dtype), with ``non_blocking``,
        ``copy`` and ``memory_format``. Differentiable: gradients come back in the source's
        dtype, to its device.

        >>> import chainrule
        >>> x = chainrule.ones(2)
        >>> x.to("cpu") is x, x.to("cpu", chainrule.float64).dtype
        (True, dtype('float64'))
        """
        target, dtype, _, copy, fmt = _device.parse_to(args, kwargs, "to")
        result = self
        if dtype is not None and dtype != result._data.dtype:
            result = shape.cast(result, dtype)
        if target is not None:
            result = _device.to_device(result, _device.check_usable(target))
        if fmt is not None and fmt is not _dtypes.preserve_format:
            result = result.contiguous(memory_format=fmt)
        if copy and result is self:
            result = self.clone()
        return result

    def cpu(self, memory_format=_dtypes.preserve_format):
        return _device.to_device(self, _device.CPU)

    def cuda(self, device=None, non_blocking=False, memory_format=_dtypes.preserve_format):
        """This tensor on the GPU (``device``: an index or ``"cuda:N"``; the current one by
        default). Needs CuPy and a GPU; the error says what is missing."""
        target = _device.device("cuda") if device is None else _device.as_device(device, "cuda")
        if target.type != "cuda":
            raise ArgumentError(f"cuda(): expected a CUDA device, got {target}")
        return _device.to_device(self, _device.check_usable(target))

    def pin_memory(self, device=None):
        """Page-locked memory for fast copies to the GPU: as PyTorch, an error where there is
        no GPU; with one, the tensor itself (CuPy copies from ordinary memory)."""
        if not backend.gpu_count():
            raise DeviceError("pin_memory(): pinned memory is for copies to a GPU, and none "
                              f"is available (CUDA needs CuPy and a GPU: {backend.GPU_EXTRA})")
        return self

    def is_pinned(self, device=None):
        return False

    # new tensors like this one (its dtype and device unless told otherwise)
    def _new(self, make, dtype, device, requires_grad):
        dtype = self._data.dtype if dtype is None else _dtypes.as_dtype(dtype, "new_*")
        check_supported(dtype)
        array = make(dtype)
        target = self.device if device is None else _device.check_usable(
            _device.as_device(device, "new_*"))
        if target is not _device.CPU:
            array = _device.move_array(array, target)
        t = self._make(array, None)
        return t.requires_grad_(True) if requires_grad else t

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False):
        shape_ = _size(size, "new_zeros")
        return self._new(lambda d: numpy.zeros(shape_, d), dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False, layout=None,
                 pin_memory=False):
        shape_ = _size(size, "new_ones")
        return self._new(lambda d: numpy.ones(shape_, d), dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False, layout=None,
                  pin_memory=False):
        shape_ = _size(size, "new_empty")
        return self._new(lambda d: numpy.zeros(shape_, d), dtype, device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False,
                 layout=None, pin_memory=False):
        shape_ = _size((size,), "new_full")
        value = fill_value.item() if isinstance(fill_value, TensorBase) else fill_value
        return self._new(lambda d: numpy.full(shape_, value, d), dtype, device, requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False, layout=None,
                   pin_memory=False):
        """A copy of ``data`` (numbers, lists, arrays, tensors) in this tensor's dtype and on
        its device unless told otherwise; not connected to any graph."""
        source = backend.to_numpy(data._data) if isinstance(data, TensorBase) else data
        return self._new(lambda d: numpy.array(source, dtype=d), dtype, device, requires_grad)

    def new(self, *args, **kwargs):
        """The legacy ``x.new(...)``: ``new()`` empty, ``new(2, 3)`` sizes, ``new(data)`` a
        copy of the data, all in this tensor's dtype."""
        if not args:
            return self.new_zeros(0, **kwargs)
        if all(type(a) is int for a in args) or (len(args) == 1 and
                                                 isinstance(args[0], tuple)):
            return self.new_zeros(*args, **kwargs)
        return self.new_tensor(args[0], **kwargs)

    # the methods of operators
    negative = arithmetic.neg
    absolute = arithmetic.abs
    greater = arithmetic.gt
    greater_equal = arithmetic.ge
    less = arithmetic.lt
    less_equal = arithmetic.le
    not_equal = arithmetic.ne

    def positive(self):
        """``+self``: self itself (an error for bool tensors, as PyTorch)."""
        if backend.kind(self._data.dtype) == "b":
            raise DTypeError("positive: the + operator on a bool tensor is not supported; "
                             "use logical_not() or ~ to invert it")
        return self

    def negative_(self):
        return self.neg_()

    def absolute_(self):
        return self.abs_()

    def eq_(self, other):
        return self._inplace(arithmetic.eq, other)

    def ne_(self, other):
        return self._inplace(arithmetic.ne, other)

    def lt_(self, other):
        return self._inplace(arithmetic.lt, other)

    def le_(self, other):
        return self._inplace(arithmetic.le, other)

    def gt_(self, other):
        return self._inplace(arithmetic.gt, other)

    def ge_(self, other):
        return self._inplace(arithmetic.ge, other)

    greater_, greater_equal_, less_, less_equal_, not_equal_ = gt_, ge_, lt_, le_, ne_

    # random sampling
    multinomial = sampling.multinomial
    bernoulli = sampling.bernoulli

    def _fill_random(self, kind, generator, floating=True, **parameters):
        dtype = self._data.dtype
        if floating and not backend.is_floating(dtype):
            raise DTypeError(f"{kind}_: needs a floating-point tensor, got {dtype} (its "
                             "values are not integers)")
        values = sampling.fill_values(kind, self._data.shape, dtype, generator, **parameters)
        if not isinstance(self._data, _ndarray):
            values = _device.move_array(values, self.device)
        constant = Tensor._make(values, None)

        def drawn(target, value):
            return arithmetic.where(backend.namespace_of(target._data).ones(
                target._data.shape, dtype=bool), value, target)
        drawn.__name__ = kind + "_"
        return self._inplace(drawn, constant)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return self._fill_random("normal", generator, mean=float(mean), std=float(std))

    def uniform_(self, a=0.0, b=1.0, *, generator=None, **bounds):
        a, b = bounds.pop("from", a), bounds.pop("to", b)
        return self._fill_random("uniform", generator, low=float(a), high=float(b))

    def exponential_(self, lambd=1.0, *, generator=None):
        return self._fill_random("exponential", generator, lambd=float(lambd))

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        return self._fill_random("log_normal", generator, mean=float(mean), std=float(std))

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        return self._fill_random("cauchy", generator, median=float(median),
                                 sigma=float(sigma))

    def geometric_(self, p, *, generator=None):
        return self._fill_random("geometric", generator, floating=False, p=float(p))

    def bernoulli_(self, p=0.5, *, generator=None):
        if isinstance(p, TensorBase):
            p = backend.to_numpy(p._data).astype(numpy.float64)
        return self._fill_random("bernoulli", generator, floating=False, p=p)

    def random_(self, *bounds, generator=None, **named):
        """Integers in [from, to): ``random_(to)``, ``random_(from, to)``, or PyTorch's
        default range of the dtype with no bounds."""
        if len(bounds) > 2:
            raise ArgumentTypeError("random_(): takes at most two bounds (from, to)")
        low, high = (0, bounds[0]) if len(bounds) == 1 else (bounds + (0, None))[:2]
        low, high = named.pop("from", low), named.pop("to", high)
        return self._fill_random("random", generator, floating=False, low=int(low),
                                 high=None if high is None else int(high))

    # ---- issue 19: vocabulary gaps
    fmax = elementwise.fmax
    fmin = elementwise.fmin
    gcd = elementwise.gcd
    lcm = elementwise.lcm
    heaviside = elementwise.heaviside
    deg2rad = elementwise.deg2rad
    rad2deg = elementwise.rad2deg
    frexp = elementwise.frexp
    ldexp = elementwise.ldexp
    nextafter = elementwise.nextafter
    isreal = elementwise.isreal
    i0 = special.i0
    dist = reduction.dist
    renorm = reduction.renorm
    bincount = reduction.bincount
    histc = reduction.histc
    cov = reduction.cov
    corrcoef = reduction.corrcoef
    select_scatter = scattering.select_scatter
    slice_scatter = scattering.slice_scatter
    diagonal_scatter = scattering.diagonal_scatter

    def multiply_(self, other):
        return self.mul_(other)

    def subtract_(self, other, alpha=1):
        return self.sub_(other, alpha)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return elementwise.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return elementwise.addcdiv(self, tensor1, tensor2, value=value)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._inplace(_with_value(elementwise.addcmul, value), tensor1, tensor2)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._inplace(_with_value(elementwise.addcdiv, value), tensor1, tensor2)

    def gcd_(self, other):
        return self._inplace(elementwise.gcd, other)

    def lcm_(self, other):
        return self._inplace(elementwise.lcm, other)

    def heaviside_(self, values):
        return self._inplace(elementwise.heaviside, values)

    def deg2rad_(self):
        return self._inplace(elementwise.deg2rad)

    def rad2deg_(self):
        return self._inplace(elementwise.rad2deg)

    def ldexp_(self, other):
        return self._inplace(elementwise.ldexp, other)

    def nextafter_(self, other):
        return self._inplace(elementwise.nextafter, other)

    def i0_(self):
        return self._inplace(special.i0)

    def renorm_(self, p, dim, maxnorm):
        return self._inplace(reduction.renorm, p, dim, maxnorm)

    def sum_to_size(self, *size):
        """The sum of this tensor down to ``size`` (which must expand to self's shape)."""
        target = _size(size, "sum_to_size")
        try:
            expandable = numpy.broadcast_shapes(target, self.shape) == self.shape
        except ValueError:
            expandable = False
        if not expandable:
            raise ShapeError(f"sum_to_size: size {list(target)} is not expandable to size "
                             f"{list(self.shape)}")
        return sum_to(self, target)

    def split_with_sizes(self, split_sizes, dim=0):
        """Pieces of the given sizes along ``dim`` (they must add up to its length)."""
        sizes = [int(n) for n in split_sizes]
        if not self.ndim or not -self.ndim <= dim < self.ndim:
            raise IndexOutOfRangeError(f"split_with_sizes: dimension {dim} is out of range for "
                                       f"a tensor of shape {self.shape}")
        length = self.shape[dim]
        if sum(sizes) != length or min(sizes, default=0) < 0:
            raise ShapeError(f"split_with_sizes expects split_sizes to sum exactly to {length} "
                             f"(input tensor's size at dimension {dim}), but got "
                             f"split_sizes={sizes}")
        return shape.split(self, sizes, dim)

    def storage_offset(self):
        """Elements between the start of the memory this tensor shares and its first one."""
        data, root = self._data, self._data
        while getattr(root, "base", None) is not None:
            root = root.base
        if not hasattr(root, "__array_interface__") or not hasattr(data, "__array_interface__"):
            return 0
        start = root.__array_interface__["data"][0]
        return (data.__array_interface__["data"][0] - start) // data.itemsize

    def is_nonzero(self):
        """Whether the single element is non-zero (an error for 0 or several elements)."""
        if self._data.size != 1:
            what = "no values" if self._data.size == 0 else "more than one value"
            raise ArgumentError(f"is_nonzero: Boolean value of Tensor with {what} is "
                                "ambiguous")
        return bool(self._data.reshape(()) != 0)

    def fill_diagonal_(self, fill_value, wrap=False):
        """Write ``fill_value`` on the main diagonal (all dims of equal length for more than
        2-D; with ``wrap`` a tall matrix's diagonal restarts after every N + 1 rows)."""
        if self.ndim < 2:
            raise ShapeError(f"fill_diagonal_: dimensions must be larger than 1, got shape "
                             f"{self.shape}")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise ShapeError(f"fill_diagonal_: all dimensions of input must be of equal length, "
                             f"got shape {self.shape}")
        mask = numpy.zeros(self.shape, dtype=bool)
        length = min(self.shape)
        if self.ndim == 2 and wrap and self.shape[0] > self.shape[1] + 1:
            rows = [r for r in range(self.shape[0]) if r % (self.shape[1] + 1) < self.shape[1]]
            mask[rows, [r % (self.shape[1] + 1) for r in rows]] = True
        else:
            mask[(numpy.arange(length),) * self.ndim] = True
        mask = _device.move_array(mask, self.device) if self.is_cuda else mask
        check_fits(fill_value, self._data.dtype, "fill_diagonal_")

        def fill_diagonal(target, value):
            return arithmetic.where(mask, value, target)
        return self._inplace(fill_diagonal, Tensor._make(
            backend.namespace_of(self._data).asarray(fill_value, dtype=self.dtype), None))

    def _reshape_inplace(self, view_op, *args):
        """squeeze_, t_, transpose_, ...: self becomes ``view_op(self, *args)`` (a view of
        the same memory with another shape), recorded as that view op, as PyTorch does."""
        if _recording(self, ()) and self.grad_fn is None and self._view is None:
            raise GraphError("a leaf tensor that requires grad cannot be changed in place "
                             "while recording: wrap the change in chainrule.no_grad()")
        result = view_op(self, *args)
        self._data = result._data
        if result.grad_fn is not None or self.requires_grad:
            self.grad_fn, self.requires_grad = result.grad_fn, result.requires_grad
        self._view = result._view if self._view is not None else None
        self._bump_version()
        return self

    def squeeze_(self, dim=None):
        return self._reshape_inplace(shape.squeeze, dim)

    def unsqueeze_(self, dim):
        return self._reshape_inplace(shape.unsqueeze, dim)

    def t_(self):
        return self._reshape_inplace(Tensor.t)

    def transpose_(self, dim0, dim1):
        return self._reshape_inplace(shape.transpose, dim0, dim1)

    swapaxes_ = swapdims_ = transpose_

    # ------------------------------------------------------------ in place
    def _inplace(self, op, *args):
        """Make self hold ``op(self, *args)``, bumping the version counter.

        Outside recording this writes into self's memory. While recording, as in PyTorch,
        self becomes the output of a new node whose input is self's old value, and the
        result is written into self's own memory (so views of self see it); a view changed
        in place rewrites its base's history instead. Any node that saved self for backward
        notices the new version and refuses.
        """
        if not _recording(self, args):
            result = op(self, *args)
            _write_into(self, result, op)
        elif self._view is not None:
            self._inplace_on_view(op, args)
        else:
            if self.grad_fn is None and self.requires_grad:
                raise GraphError("a leaf tensor that requires grad cannot be changed in place "
                                 "while recording: wrap the update in chainrule.no_grad()")
            old = self._old_value()
            result = op(old, *args)
            node = result.grad_fn
            if node is not None and node.saves(old):
                old._data = old._data.copy()      # the node must keep the value before
            _write_into(self, result, op)
            self.grad_fn, self.requires_grad = node, result.requires_grad
            self._bump_version()
            if node is not None:
                node.adopt_output(self)
            return self
        self._bump_version()
        return self

    def _old_value(self):
        old = Tensor._make(self._data, engine_edge_fn(self))
        old.requires_grad = self.requires_grad
        return old

    def _inplace_on_view(self, op, args):
        view = self._view
        base = view.base
        if base.grad_fn is None and base.requires_grad:
            raise GraphError("a view of a leaf tensor that requires grad is being changed in "
                             "place while recording: wrap the change in chainrule.no_grad(), "
                             "or clone() the leaf first")
        old = self._old_value()
        new_value = op(old, *args)
        node = new_value.grad_fn
        if node is not None and node.saves(old):
            old._data = old._data.copy()
        base._inplace(indexing.write_through_view, view.view_fn, new_value)
        refreshed = _replay_view(view.view_fn, base)
        self.grad_fn, self.requires_grad = refreshed.grad_fn, refreshed.requires_grad
        view.version = self._version

    def _inplace_arithmetic(self, ufunc, op, other):
        """add_/sub_/mul_/div_: write into self's array when nothing is recorded (the fast
        path of every optimizer step), else go through :meth:`_inplace`."""
        integer_division = ufunc is backend.xp.true_divide and backend.kind(self._data.dtype) != "f"
        if _recording(self, (other,)) or integer_division:
            return self._inplace(op, other)
        other_data = other._data if isinstance(other, TensorBase) else other
        if type(other) is int and backend.kind(self._data.dtype) in "iu":
            other_data = wrapped_integer(other, self._data.dtype)     # as PyTorch: int8 += 300
        if not self._data.flags.writeable:
            raise ReadOnlyError(_read_only_message(self, ufunc.__name__))
        try:
            ufunc(self._data, other_data, out=self._data)
        except TypeError:
            raise DTypeError(f"in-place {ufunc.__name__}: the result cannot be stored in this "
                             f"{self.dtype} tensor; use an out-of-place op or convert it "
                             "first") from None
        except ValueError:
            other_shape = getattr(other_data, "shape", ())
            raise ShapeError(f"in-place {ufunc.__name__}: a tensor of shape {other_shape} does "
                             f"not broadcast to this tensor's shape {self.shape}") from None
        self._bump_version()
        return self

    def add_(self, other, alpha=1):
        other = other * alpha if alpha != 1 else other
        return self._inplace_arithmetic(backend.xp.add, arithmetic.add, other)

    def sub_(self, other, alpha=1):
        other = other * alpha if alpha != 1 else other
        return self._inplace_arithmetic(backend.xp.subtract, arithmetic.sub, other)

    def mul_(self, other):
        return self._inplace_arithmetic(backend.xp.multiply, arithmetic.mul, other)

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            def div(x, y):
                return arithmetic.div(x, y, rounding_mode=rounding_mode)
            return self._inplace(div, other)
        return self._inplace_arithmetic(backend.xp.true_divide, arithmetic.div, other)

    def pow_(self, exponent):
        return self._inplace(arithmetic.pow, exponent)

    def clamp_(self, min=None, max=None):
        return self._inplace(arithmetic.clamp, min, max)

    def relu_(self):
        return self._inplace(activation.relu)

    def sigmoid_(self):
        return self._inplace(activation.sigmoid)

    def tanh_(self):
        return self._inplace(activation.tanh)

    def exp_(self):
        return self._inplace(arithmetic.exp)

    def neg_(self):
        return self._inplace(arithmetic.neg)

    def copy_(self, source):
        source = source if isinstance(source, TensorBase) else Tensor(source, dtype=self.dtype)
        return self._inplace(_copied_into, source)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        return self._inplace(_filled, value)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def __setitem__(self, index, value):
        if _recording(self, (value,)):
            self._inplace(indexing.setitem, index, value)
        else:
            indexing.assign(self, index, value)
            self._bump_version()


def _with_value(op, value):
    """addcmul/addcdiv with ``value`` fixed, for the in-place forms (issue 19)."""
    def scaled(x, a, b):
        return op(x, a, b, value=value)
    scaled.__name__ = op.__name__
    return scaled


def _with_scales(op, beta, alpha):
    """``op`` (addmm, addr, ...) with its beta and alpha fixed, for the in-place forms."""
    def scaled(x, a, b):
        return op(x, a, b, beta=beta, alpha=alpha)
    scaled.__name__ = op.__name__
    return scaled


def _size(size, op):
    """A size given as ints or as one sequence, checked: non-negative ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, (bool, float)) or not isinstance(n, (int, numpy.integer)):
            raise ArgumentTypeError(f"{op}: a size must be a sequence of ints, got {size!r}")
        if n < 0:
            raise ArgumentError(f"{op}: a tensor's size cannot be negative, got {size!r}")
    return tuple(int(n) for n in size)


def engine_edge_fn(tensor):
    """The grad_fn a tensor's gradient goes to right now (a stale view refreshed first)."""
    edge = edge_of(tensor)
    return edge if edge is not tensor else None


def _replay_view(view_fn, base):
    previous = state.enabled
    state.enabled = True
    try:
        return view_fn(base)
    finally:
        state.enabled = previous


def _recording(tensor, args):
    if not state.enabled:
        return False
    if tensor.requires_grad:
        return True
    for a in args:
        if isinstance(a, TensorBase) and a.requires_grad:
            return True
    return False


def _write_into(target, result, op):
    """Copy an in-place op's result into the target's own memory."""
    name = getattr(op, "__name__", "op")
    if result.shape != target.shape:
        raise ShapeError(f"in-place {name}: the result has shape {result.shape}, which does not "
                         f"fit this tensor's shape {target.shape}")
    if result._data is target._data:
        return
    if not backend_helpers.is_writeable(target._data):
        raise ReadOnlyError(_read_only_message(target, name))
    if result.dtype != target.dtype and not numpy.can_cast(
            result.dtype, target.dtype, casting="same_kind"):
        raise DTypeError(f"in-place {name}: a {result.dtype} result cannot be stored in this "
                         f"{target.dtype} tensor; use an out-of-place op or convert it first")
    backend_helpers.copy_into(target._data, result._data)


def _read_only_message(tensor, name):
    return (f"in-place {name} on a tensor of shape {tensor.shape} whose memory is read-only "
            "(an expand()/broadcast_to() view, where several elements share one memory "
            "location, or a read-only array): clone() it before changing it in place")


def _copied_into(target, source):
    return shape.cast(source, target.dtype).broadcast_to(target.shape)


def _filled(target, value):
    """The value ``value`` everywhere, still connected to target (with zero gradient)."""
    check_fits(value, target._data.dtype, "fill_")
    constant = Tensor._make(backend.xp.full(target.shape, value, dtype=target.dtype), None)
    return arithmetic.where(backend.xp.ones(target.shape, dtype=bool), constant, target)


class _HookHandle:
    __slots__ = ("hooks", "hook")

    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)
