"""Random sampling with PyTorch's signatures: multinomial, bernoulli, normal, poisson, and the
values the in-place fills (``normal_``, ``uniform_``, ``random_``, ...) write.

Every draw comes from a :class:`~chainrule.generator.Generator` (the global one that
``chainrule.manual_seed`` seeds, or ``generator=``), on the CPU; the result is moved to the
device of the input. The numbers differ from PyTorch's (another generator) but the
distributions, shapes, dtypes, errors and gradients are PyTorch's: a sample depends on its
parameters only through the distribution, so, as in PyTorch, its gradient with respect to
them is zero (``normal`` is not reparameterised; write ``mean + std * randn_like(std)`` for
that).

>>> import chainrule
>>> _ = chainrule.manual_seed(0)
>>> chainrule.multinomial(chainrule.tensor([0.0, 1.0, 0.0]), 1).tolist()
[1]
>>> chainrule.bernoulli(chainrule.tensor([0.0, 1.0])).tolist()
[0.0, 1.0]
"""
import numpy

from .. import backend
from ..autograd.function import Function
from ..device import CPU, device_of, mixed_devices, move_array
from ..errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError
from ..generator import default_generator
from ..tensor_base import TensorBase
from ._util import broadcast_check, require_tensor


class Sampled(Function):
    """A sample drawn from a distribution whose parameters are the inputs: the value is
    drawn before the call; the gradient with respect to every parameter is zero (PyTorch's
    derivative of normal, bernoulli and poisson)."""

    def __init__(self, sample):
        self.sample = sample

    def forward(self, *parameters):
        self.shapes = [(p.shape, p.dtype) for p in parameters]
        return self.sample

    def backward(self, gy):
        xp = backend.namespace_of(gy._data)
        zeros = [gy._make(xp.zeros(shape, dtype=dtype), None) if wanted else None
                 for (shape, dtype), wanted in zip(self.shapes, self.needs_input_grad)]
        return zeros[0] if len(zeros) == 1 else tuple(zeros)


def _rng(generator):
    return (generator or default_generator).numpy


def _host(t):
    return backend.to_numpy(t._data)


def _placed(array, like):
    """A CPU sample moved to the device of the array ``like``."""
    target = device_of(like)
    return array if target is CPU else move_array(array, target)


def _floating_input(t, op):
    require_tensor(t, op)
    if not backend.is_floating(t._data.dtype):
        raise DTypeError(f"{op}: needs a floating-point input, got {t.dtype}")
    return t


# ---------------------------------------------------------------- multinomial

def multinomial(input, num_samples, replacement=False, *, generator=None):  # noqa: A002
    """``num_samples`` category indices per row of ``input`` (1-d or 2-d non-negative
    weights, which need not sum to 1), int64, as ``torch.multinomial``. Without
    ``replacement`` each row's samples are distinct (the categories of zero weight come last,
    once the others are used up).

    >>> import chainrule
    >>> _ = chainrule.manual_seed(0)
    >>> chainrule.multinomial(chainrule.tensor([[1.0, 0.0], [0.0, 1.0]]), 2).tolist()
    [[0, 1], [1, 0]]
    """
    probabilities = _floating_input(input, "multinomial")
    if probabilities.ndim not in (1, 2):
        raise ShapeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape "
                         f"{probabilities.shape}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, numpy.integer)):
        raise ArgumentTypeError(f"multinomial: num_samples must be an int, got "
                                f"{type(num_samples).__name__}")
    categories = probabilities.shape[-1]
    if num_samples <= 0:
        raise ArgumentError(f"multinomial: cannot sample n_sample <= 0 samples (got "
                            f"{num_samples})")
    if not replacement and num_samples > categories:
        raise ArgumentError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) "
                            f"samples without replacement ({num_samples} > {categories})")
    weights = _host(probabilities).astype(numpy.float64).reshape(-1, categories)
    rows = weights.shape[0]
    if rows and (not numpy.isfinite(weights).all() or (weights < 0).any()):
        raise ArgumentError("multinomial: probability tensor contains either inf, nan or "
                            "element < 0")
    if rows and (weights.sum(axis=1) <= 0).any():
        raise ArgumentError("multinomial: invalid multinomial distribution (sum of "
                            "probabilities <= 0)")
    rng = _rng(generator)
    if replacement:
        indices = _with_replacement(weights, num_samples, rng)
    else:
        indices = _without_replacement(weights, num_samples, rng)
    indices = indices.reshape(probabilities.shape[:-1] + (num_samples,))
    return probabilities._make(_placed(indices, probabilities._data), None)


def _with_replacement(weights, num_samples, rng):
    """Inverse-CDF sampling: a uniform draw below each row's normalised running sum (the
    division by the total makes the last value exactly 1, so a draw never runs past it)."""
    result = numpy.empty((weights.shape[0], num_samples), dtype=numpy.int64)
    for row, w in enumerate(weights):
        cdf = numpy.cumsum(w)
        cdf /= cdf[-1]
        result[row] = numpy.searchsorted(cdf, rng.random(num_samples), side="right")
    return numpy.minimum(result, weights.shape[1] - 1)


def _without_replacement(weights, num_samples, rng):
    """Exponential races: category i finishes at time E_i / w_i; the first ``num_samples``
    to finish are a weighted sample without replacement (PyTorch's own method: the top-k of
    w / E). Zero weights never finish, and come last in index order."""
    keys = weights / rng.standard_exponential(weights.shape)
    order = numpy.argsort(-keys, axis=1, kind="stable")
    return order[:, :num_samples].astype(numpy.int64)


# ---------------------------------------------------------------- bernoulli, poisson

def bernoulli(input, p=None, *, generator=None):   # noqa: A002
    """0/1 draws: each element is 1 with probability ``input`` (or with the number ``p`` for
    every element), in the input's dtype, as ``torch.bernoulli``.

    >>> import chainrule
    >>> chainrule.bernoulli(chainrule.zeros(3), p=1.0).tolist()
    [1.0, 1.0, 1.0]
    """
    x = _floating_input(input, "bernoulli")
    if p is None:
        probability = _host(x).astype(numpy.float64)
        if probability.size and not ((probability >= 0) & (probability <= 1)).all():
            raise ArgumentError("bernoulli: every probability must lie in [0, 1]")
    else:
        probability = _probability(p, "bernoulli")
    draw = numpy.asarray(_rng(generator).random(x.shape) < probability).astype(x._data.dtype)
    return _sample(draw, x)


def _probability(p, op):
    if isinstance(p, TensorBase):
        raise ArgumentTypeError(f"{op}: p must be a number here (give the probabilities as "
                                "the input tensor instead)")
    p = float(p)
    if not 0 <= p <= 1:
        raise ArgumentError(f"{op}: p must lie in [0, 1], got {p}")
    return p


def poisson(input, generator=None):                # noqa: A002
    """Poisson draws with rates ``input`` (non-negative, floating), in the input's dtype, as
    ``torch.poisson``.

    >>> import chainrule
    >>> chainrule.poisson(chainrule.zeros(2)).tolist()
    [0.0, 0.0]
    """
    rates = _floating_input(input, "poisson")
    values = _host(rates).astype(numpy.float64)
    if values.size and not (values >= 0).all():
        raise ArgumentError("poisson: invalid Poisson rate, expected rate to be non-negative")
    if values.size and not (values <= _LARGEST_RATE).all():
        raise ArgumentError(f"poisson: a rate of {values.max():g} is too large to draw from "
                            f"(at most {_LARGEST_RATE:g}; PyTorch returns garbage there)")
    draw = numpy.asarray(_rng(generator).poisson(values)).astype(rates._data.dtype)
    return _sample(draw, rates)


#: NumPy's largest Poisson rate (its draws are int64 counts)
_LARGEST_RATE = 9.2e18


def _sample(draw, *parameters):
    """The drawn array (on the CPU) as the output of a Sampled node of ``parameters``."""
    first = parameters[0]
    return Sampled(_placed(draw, first._data))(*parameters)


# ---------------------------------------------------------------- normal

def normal(mean, std=1.0, *, generator=None):
    """Normal samples with a tensor mean or std, as ``torch.normal``:
    ``normal(mean_tensor, std_tensor)`` (broadcast together), ``normal(mean_tensor,
    std=1.0)`` and ``normal(mean, std_tensor)``; the dtype is the mean tensor's (else the std
    tensor's). ``chainrule.normal(mean, std, size)`` with two numbers is a factory
    (:func:`chainrule.creation.normal`).

    >>> import chainrule
    >>> normal(chainrule.zeros(2), 0.0).tolist()
    [0.0, 0.0]
    """
    mean_is_tensor, std_is_tensor = isinstance(mean, TensorBase), isinstance(std, TensorBase)
    tensors = [t for t in (mean, std) if isinstance(t, TensorBase)]
    if not tensors:
        raise ArgumentTypeError("normal(mean, std) with two numbers needs a size: "
                                "normal(mean, std, size) (or give mean or std as a tensor)")
    for t in tensors:
        _floating_input(t, "normal")
    if mean_is_tensor and std_is_tensor:
        shape = broadcast_check(mean, std, "normal")
        if type(mean._data) is not type(std._data):
            raise mixed_devices("normal", mean._data, std._data)
    else:
        shape = tensors[0].shape
    out_dtype = (mean if mean_is_tensor else std)._data.dtype
    std_values = _host(std) if std_is_tensor else check_std(std, "normal")
    if std_is_tensor and std_values.size and std_values.min() < 0:
        raise ArgumentError(f"normal expects std >= 0.0, but found std {std_values.min():g}")
    mean_values = _host(mean) if mean_is_tensor else float(mean)
    draw = mean_values + std_values * _rng(generator).standard_normal(shape)
    return _sample(numpy.asarray(draw).astype(out_dtype), *tensors)


def check_std(std, op):
    """A standard deviation given as a number: a float >= 0."""
    std = float(std)
    if not std >= 0:
        raise ArgumentError(f"{op} expects std >= 0.0, but found std {std:g}")
    return std


# ---------------------------------------------------------------- the in-place fills

def fill_values(kind, shape, dtype, generator=None, **parameters):
    """The array an in-place random fill writes (``Tensor.normal_`` and its kin), drawn on
    the CPU in ``dtype``: ``kind`` is normal, uniform, exponential, log_normal, cauchy,
    geometric, bernoulli or random (``from_``/``to`` integers)."""
    rng = _rng(generator)
    draw = _FILLS[kind]
    return draw(rng, shape, dtype, **parameters)


def _normal_fill(rng, shape, dtype, mean=0.0, std=1.0):
    std = check_std(std, "normal_")
    return (mean + std * rng.standard_normal(shape)).astype(dtype)


def _uniform_fill(rng, shape, dtype, low=0.0, high=1.0):
    if not low <= high:
        raise ArgumentError(f"uniform_ expects to return a [from, to) range, but found "
                            f"from={low:g} > to={high:g}")
    return (low + (high - low) * rng.random(shape)).astype(dtype)


def _exponential_fill(rng, shape, dtype, lambd=1.0):
    if not lambd > 0:
        raise ArgumentError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    return (rng.standard_exponential(shape) / lambd).astype(dtype)


def _log_normal_fill(rng, shape, dtype, mean=1.0, std=2.0):
    if not std > 0:
        raise ArgumentError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    return numpy.exp(mean + std * rng.standard_normal(shape)).astype(dtype)


def _cauchy_fill(rng, shape, dtype, median=0.0, sigma=1.0):
    if not sigma > 0:
        raise ArgumentError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    return (median + sigma * rng.standard_cauchy(shape)).astype(dtype)


def _geometric_fill(rng, shape, dtype, p=0.5):
    if not 0 < p < 1:
        raise ArgumentError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    return rng.geometric(p, shape).astype(dtype)


def _bernoulli_fill(rng, shape, dtype, p=0.5):
    if isinstance(p, numpy.ndarray):
        if p.size and not ((p >= 0) & (p <= 1)).all():
            raise ArgumentError("bernoulli_: every probability must lie in [0, 1]")
    else:
        p = _probability(p, "bernoulli_")
    return (rng.random(shape) < p).astype(dtype)


def _random_fill(rng, shape, dtype, low=0, high=None):
    """Integers in [low, high); without ``high``, PyTorch's defaults: [0, 2**mantissa] for
    floating dtypes (every integer they hold exactly), the dtype's whole range for integers,
    either value for bool."""
    if high is None:
        if backend.kind(dtype) == "b":
            high = 2
        elif backend.kind(dtype) in "iu":
            high = int(numpy.iinfo(dtype).max) + 1
        else:
            high = 2 ** (_mantissa_bits(dtype) + 1) + 1
    if not low < high:
        raise ArgumentError(f"random_ expects 'from' to be less than 'to', but got "
                            f"from={low} >= to={high}")
    if backend.kind(dtype) in "iu":
        info = numpy.iinfo(dtype)
        if low < info.min or high - 1 > info.max:
            raise ArgumentError(f"random_: the range [{low}, {high}) does not fit {dtype}")
    return rng.integers(low, high, size=shape, dtype=numpy.int64
                        if high <= 2**63 else numpy.uint64).astype(dtype)


def _mantissa_bits(dtype):
    if backend.is_bfloat16(dtype):
        return 7
    return int(numpy.finfo(dtype).nmant)


_FILLS = {"normal": _normal_fill, "uniform": _uniform_fill, "exponential": _exponential_fill,
          "log_normal": _log_normal_fill, "cauchy": _cauchy_fill,
          "geometric": _geometric_fill, "bernoulli": _bernoulli_fill, "random": _random_fill}


# ================================================================ issue 19: vocabulary gaps
from .activation import softmax as _softmax  # noqa: E402
from .scattering import scatter as _scatter  # noqa: E402


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1, *, generator=None):
    """A sample of the Gumbel-softmax distribution (``F.gumbel_softmax``): softmax((logits +
    g) / tau) with g = -log(Exponential(1)) noise; with ``hard`` the one-hot of its argmax,
    whose gradient is the soft sample's (straight-through). ``eps`` is unused, as in
    PyTorch. The noise comes from chainrule's generator.

    >>> import chainrule
    >>> y = gumbel_softmax(chainrule.zeros(2, 3), hard=True)
    >>> y.sum(dim=-1).tolist()
    [1.0, 1.0]
    """
    require_tensor(logits, "gumbel_softmax", "logits")
    if not backend.is_floating(logits._data.dtype):
        raise DTypeError(f"gumbel_softmax: logits must be floating point, got {logits.dtype}")
    if isinstance(tau, bool) or not isinstance(tau, (int, float, numpy.number)) or tau <= 0:
        raise ArgumentError(f"gumbel_softmax: tau must be a positive number, got {tau!r}")
    dtype = logits._data.dtype
    exponential = _rng(generator).exponential(1.0, logits._data.shape)
    noise = numpy.asarray(-numpy.log(exponential)).astype(dtype)
    gumbels = (logits + logits._make(_placed(noise, logits._data), None)) / tau
    soft = _softmax(gumbels, dim)
    if not hard:
        return soft
    xp = backend.namespace_of(soft._data)
    index = soft._make(xp.argmax(soft._data, axis=dim, keepdims=True), None)
    zeros = soft._make(xp.zeros(soft._data.shape, dtype=dtype), None)
    one_hot = _scatter(zeros, dim, index, 1.0)
    return one_hot - soft.detach() + soft
