"""bernoulli, multinomial and poisson (and their method and in-place forms): shapes, dtypes
and errors as torch 2.13's, seeded reproducibility, and distribution sanity at a fixed seed
(the numbers differ from PyTorch's — another generator — the distributions do not)."""
import math

import numpy
import pytest

import chainrule
from chainrule.errors import ArgumentError, ArgumentTypeError, DTypeError, ShapeError


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


DRAWS = {
    "bernoulli": lambda m, x: m.bernoulli(x),
    "bernoulli(p)": lambda m, x: m.bernoulli(x, 0.25),
    "Tensor.bernoulli": lambda m, x: x.bernoulli(),
    "poisson": lambda m, x: m.poisson(x * 4),
    "multinomial": lambda m, x: m.multinomial(x + 0.1, 2),
    "multinomial(replacement)": lambda m, x: m.multinomial(x + 0.1, 7, replacement=True),
    "Tensor.multinomial": lambda m, x: (x + 0.1).multinomial(1),
}
SHAPES = {"bernoulli": [(), (3,), (2, 3), (0, 3), (2, 1, 4)],
          "poisson": [(), (3,), (2, 3), (0, 3)],
          "multinomial": [(4,), (3, 4), (0, 4)]}


def _shapes(name):
    return SHAPES[name.split("(")[0].replace("Tensor.", "")]


@pytest.mark.parametrize("name", sorted(DRAWS))
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_shapes_and_dtypes_match_torch(torch, name, dtype):
    draw = DRAWS[name]
    for shape in _shapes(name):
        values = numpy.full(shape, 0.5, dtype=numpy.float32)
        x = chainrule.tensor(values).to(getattr(chainrule, dtype))
        t = torch.tensor(values).to(getattr(torch, dtype))
        mine, theirs = draw(chainrule, x), draw(torch, t)
        assert mine.shape == tuple(theirs.shape), shape
        assert chainrule.dtypes._name(mine.dtype) == str(theirs.dtype).removeprefix("torch.")
        assert mine.requires_grad is False


def _raises_like_torch(torch, call, error, match):
    with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
        call(torch)
    with pytest.raises(error, match=match):
        call(chainrule)


ERRORS = [
    (lambda m: m.bernoulli(m.ones(3, dtype=m.int64)), DTypeError, "floating"),
    (lambda m: m.bernoulli(m.full((3,), 1.5)), ArgumentError, r"\[0, 1\]"),
    (lambda m: m.bernoulli(m.full((3,), -0.1)), ArgumentError, r"\[0, 1\]"),
    (lambda m: m.bernoulli(m.full((3,), math.nan)), ArgumentError, r"\[0, 1\]"),
    (lambda m: m.bernoulli(m.zeros(3), 1.3), ArgumentError, r"\[0, 1\]"),
    (lambda m: m.zeros(3).bernoulli_(-1.0), ArgumentError, r"\[0, 1\]"),
    (lambda m: m.multinomial(m.tensor([1, 2]), 1), DTypeError, "floating"),
    (lambda m: m.multinomial(m.tensor(1.0), 1), ShapeError, "1 or 2 dim"),
    (lambda m: m.multinomial(m.ones(2, 2, 2), 1), ShapeError, "1 or 2 dim"),
    (lambda m: m.multinomial(m.tensor([1.0, -1.0]), 1), ArgumentError, "element < 0"),
    (lambda m: m.multinomial(m.tensor([1.0, math.inf]), 1), ArgumentError, "inf, nan"),
    (lambda m: m.multinomial(m.tensor([1.0, math.nan]), 1), ArgumentError, "inf, nan"),
    (lambda m: m.multinomial(m.tensor([0.0, 0.0]), 1), ArgumentError, "sum of probabilities"),
    (lambda m: m.multinomial(m.ones(2), 3), ArgumentError, "without replacement"),
    (lambda m: m.multinomial(m.ones(2), 0), ArgumentError, "n_sample <= 0"),
    (lambda m: m.multinomial(m.ones(2), 1.0), ArgumentTypeError, "int"),
    (lambda m: m.poisson(m.ones(3, dtype=m.int64)), DTypeError, "floating"),
    (lambda m: m.poisson(m.tensor([-1.0])), ArgumentError, "non-negative"),
    (lambda m: m.poisson(m.tensor([math.nan])), ArgumentError, "non-negative"),
]


@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_errors_where_torch_raises(torch, index):
    call, error, match = ERRORS[index]
    _raises_like_torch(torch, call, error, match)


def test_poisson_of_an_infinite_rate_is_refused():
    """PyTorch returns -9.2e18 here; NumPy cannot draw it: an error naming the rate."""
    with pytest.raises(ArgumentError, match="too large"):
        chainrule.poisson(chainrule.tensor([math.inf]))


# ---------------------------------------------------------------- reproducibility

SEEDED = {
    "bernoulli": lambda g: chainrule.bernoulli(chainrule.full((50,), 0.5), generator=g),
    "poisson": lambda g: chainrule.poisson(chainrule.full((50,), 3.0), generator=g),
    "multinomial": lambda g: chainrule.multinomial(chainrule.ones(3, 10), 5, generator=g),
    "multinomial(replacement)": lambda g: chainrule.multinomial(chainrule.ones(10), 20, True,
                                                                generator=g),
    "normal": lambda g: chainrule.normal(chainrule.zeros(50), 1.0, generator=g),
}


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seeded_draws_repeat(name):
    draw = SEEDED[name]
    chainrule.manual_seed(7)
    first = draw(None).tolist()
    chainrule.manual_seed(7)
    assert draw(None).tolist() == first                      # the global generator
    assert draw(chainrule.Generator(3)).tolist() == draw(chainrule.Generator(3)).tolist()
    chainrule.manual_seed(8)
    assert draw(None).tolist() != first


# ---------------------------------------------------------------- distributions

def test_bernoulli_frequencies():
    chainrule.manual_seed(0)
    p = numpy.array([0.0, 0.1, 0.5, 0.9, 1.0])
    draws = chainrule.bernoulli(chainrule.tensor(numpy.tile(p, (20000, 1)))).numpy()
    assert set(numpy.unique(draws)) <= {0.0, 1.0}
    frequency = draws.mean(axis=0)
    assert frequency[0] == 0.0 and frequency[-1] == 1.0
    numpy.testing.assert_allclose(frequency, p, atol=4 * math.sqrt(0.25 / 20000))
    assert abs(chainrule.bernoulli(chainrule.zeros(20000), 0.3).numpy().mean() - 0.3) < 0.015


def test_multinomial_with_replacement_frequencies():
    chainrule.manual_seed(0)
    weights = numpy.array([1.0, 0.0, 3.0, 6.0])          # need not sum to 1
    counts = numpy.bincount(chainrule.multinomial(chainrule.tensor(weights), 40000, True)
                            .numpy(), minlength=4)
    expected = 40000 * weights / weights.sum()
    assert counts[1] == 0
    chi_square = ((counts - expected)[expected > 0] ** 2 / expected[expected > 0]).sum()
    assert chi_square < 16.3                             # p = 0.001 for 2 degrees of freedom


def test_multinomial_without_replacement():
    chainrule.manual_seed(0)
    rows = chainrule.multinomial(chainrule.ones(500, 6), 6).numpy()
    assert (numpy.sort(rows, axis=1) == numpy.arange(6)).all()     # each row a permutation
    firsts = numpy.bincount(rows[:, 0], minlength=6)
    assert firsts.min() > 40                               # uniform first picks (~83 each)
    heavy = chainrule.multinomial(chainrule.tensor([[1.0, 100.0, 1.0]] * 400), 1).numpy()
    assert (heavy == 1).mean() > 0.95
    zeros_last = chainrule.multinomial(chainrule.tensor([0.0, 1.0, 0.0, 1.0]), 4).tolist()
    assert sorted(zeros_last[:2]) == [1, 3] and sorted(zeros_last[2:]) == [0, 2]


def test_poisson_moments():
    chainrule.manual_seed(0)
    rates = numpy.array([0.0, 0.5, 4.0, 30.0])
    draws = chainrule.poisson(chainrule.tensor(numpy.tile(rates, (20000, 1)))).numpy()
    assert (draws == numpy.round(draws)).all() and (draws[:, 0] == 0).all()
    numpy.testing.assert_allclose(draws.mean(axis=0)[1:], rates[1:], rtol=0.03)
    numpy.testing.assert_allclose(draws.var(axis=0)[1:], rates[1:], rtol=0.06)


def test_in_place_fills():
    chainrule.manual_seed(0)
    x = chainrule.zeros(20000)
    assert x.bernoulli_(0.25) is x and abs(x.numpy().mean() - 0.25) < 0.015
    probabilities = chainrule.tensor([0.0, 1.0, 1.0])
    assert chainrule.zeros(3).bernoulli_(probabilities).tolist() == [0.0, 1.0, 1.0]


# ---------------------------------------------------------------- gradients

@pytest.mark.parametrize("draw", [lambda x: chainrule.bernoulli(x),
                                  lambda x: chainrule.poisson(x),
                                  lambda x: chainrule.normal(x, 1.0)])
def test_gradients_are_zero_as_torch(torch, draw):
    """A sample depends on its parameters only through the distribution: PyTorch's
    derivative of bernoulli, poisson and normal is zero."""
    x = chainrule.full((3,), 0.5, requires_grad=True)
    (draw(x) * 3).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    t = torch.full((3,), 0.5, requires_grad=True)
    (torch.bernoulli(t) * 3).sum().backward()
    assert t.grad.tolist() == [0.0, 0.0, 0.0]
