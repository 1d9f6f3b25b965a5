"""Seeded random number generators.

Everything random in chainrule (initialisation, dropout, shuffling, splits, augmentation)
draws from a :class:`Generator`: the global one that :func:`manual_seed` reseeds, or one
passed explicitly. NumPy's and Python's global random state are never touched.

>>> import chainrule
>>> _ = chainrule.manual_seed(0)
>>> a = chainrule.rand(2)
>>> _ = chainrule.manual_seed(0)
>>> bool((chainrule.rand(2) == a).all())
True
"""
import numpy

from . import cuda as _cuda


class Generator:
    """A reproducible stream of random numbers (PCG64), with state that can be saved as JSON.

    >>> g = Generator(42)
    >>> bool(g.numpy.integers(0, 10) == Generator(42).numpy.integers(0, 10))
    True
    """

    __slots__ = ("_numpy", "_seed")

    def __init__(self, seed=0):
        self.manual_seed(seed)

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:                               # (what PCG64 would say on the first draw)
            raise ValueError(f"manual_seed: expected non-negative integer, got {seed}")
        self._seed, self._numpy = seed, None
        return self

    @property
    def numpy(self):
        """The ``numpy.random.Generator`` (PCG64) the draws come from, made on the first one
        (numpy.random costs about 10 ms to import, which ``import chainrule`` need not pay)."""
        if self._numpy is None:
            self._numpy = numpy.random.Generator(numpy.random.PCG64(self._seed))
        return self._numpy

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The generator's state as a JSON-serialisable dict."""
        return {"seed": self._seed, "bit_generator": self.numpy.bit_generator.state}

    def set_state(self, state):
        self._seed = int(state["seed"])
        self.numpy.bit_generator.state = state["bit_generator"]
        return self

    def spawn_seed(self):
        """Draw a seed for a child generator (e.g. one per epoch of a data loader)."""
        return int(self.numpy.integers(0, 2**63 - 1))


default_generator = Generator(0)


def manual_seed(seed):
    """Reseed the global generator (and CuPy's on every GPU, as ``torch.manual_seed`` seeds
    every device); returns it. Same seed, same numbers."""
    _cuda.manual_seed_all(seed)
    return default_generator.manual_seed(seed)


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)
