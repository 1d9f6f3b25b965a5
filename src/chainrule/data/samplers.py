"""Samplers: which sample indices a DataLoader visits, in which order (PyTorch's samplers).

Random samplers draw from a chainrule :class:`~chainrule.generator.Generator`: the one
given, or — as PyTorch does with its global generator — a fresh one seeded from the global
generator at each iteration, so orders are reproducible from ``chainrule.manual_seed``.
The streams are NumPy's (PCG64), so the orders differ from PyTorch's for the same seed;
everything else (lengths, replacement, argument checks) follows PyTorch.

>>> list(BatchSampler(SequentialSampler(range(7)), batch_size=3, drop_last=False))
[[0, 1, 2], [3, 4, 5], [6]]
"""
import itertools

import numpy

from ..errors import ArgumentError, ArgumentTypeError
from ..generator import Generator, default_generator


def _positive_int(value, name):
    if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or value <= 0:
        raise ArgumentError(f"{name} should be a positive integer value, but got "
                            f"{name}={value!r}")
    return int(value)


def _boolean(value, name, error=ArgumentError):
    if not isinstance(value, bool):
        raise error(f"{name} should be a boolean value, but got {name}={value!r}")
    return value


def _rng(generator):
    """The NumPy generator to draw one iteration's indices from."""
    if generator is None:
        return Generator(default_generator.spawn_seed()).numpy
    return generator.numpy


class Sampler:
    """Base class: ``__iter__`` yields indices (``__len__`` optional).

    >>> class Evens(Sampler):
    ...     def __init__(self, n): self.n = n
    ...     def __iter__(self): return iter(range(0, self.n, 2))
    >>> list(Evens(5))
    [0, 2, 4]
    """

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1.

    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def order(self):
        """This iteration's indices as an array (what the DataLoader slices batches from)."""
        return numpy.arange(len(self.data_source))

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation each iteration; with ``replacement``, ``num_samples`` independent
    draws; without, ``num_samples`` may exceed the dataset (whole permutations, then part).

    >>> sorted(RandomSampler(range(5), generator=Generator(0)))
    [0, 1, 2, 3, 4]
    >>> len(list(RandomSampler(range(5), replacement=True, num_samples=12)))
    12
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _boolean(replacement, "replacement", ArgumentTypeError)  # as PyTorch
        self._num_samples = None if num_samples is None else \
            _positive_int(num_samples, "num_samples")
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def order(self):
        n, rng = len(self.data_source), _rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, self.num_samples)
        whole, part = divmod(self.num_samples, n)
        permutations = [rng.permutation(n) for _ in range(whole)]
        if part:
            permutations.append(rng.permutation(n)[:part])
        return numpy.concatenate(permutations) if permutations else numpy.arange(0)

    def __iter__(self):
        return iter(self.order().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order each iteration.

    >>> sorted(SubsetRandomSampler([7, 3, 5]))
    [3, 5, 7]
    """

    def __init__(self, indices, generator=None):
        self.indices, self.generator = indices, generator

    def order(self):
        permutation = _rng(self.generator).permutation(len(self.indices))
        return numpy.asarray([self.indices[i] for i in permutation], dtype=numpy.int64)

    def __iter__(self):
        return iter(self.order().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (with
    replacement by default; without, each index at most once).

    >>> sampler = WeightedRandomSampler([0.0, 1.0, 0.0], num_samples=4)
    >>> list(sampler)
    [1, 1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        self.num_samples = _positive_int(num_samples, "num_samples")
        self.replacement = _boolean(replacement, "replacement")
        weights = numpy.asarray(weights.numpy() if hasattr(weights, "numpy") else weights,
                                dtype=numpy.float64)
        if weights.ndim != 1:
            raise ArgumentError(f"weights should be a 1d sequence but given weights have "
                                f"shape {weights.shape}")
        if not numpy.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ArgumentError("WeightedRandomSampler: weights must be finite, non-negative "
                                "and not all zero")
        if not replacement and self.num_samples > numpy.count_nonzero(weights):
            raise ArgumentError(f"WeightedRandomSampler: cannot draw {self.num_samples} "
                                f"samples without replacement from "
                                f"{numpy.count_nonzero(weights)} non-zero weights")
        self.weights, self.generator = weights, generator

    def order(self):
        return _rng(self.generator).choice(len(self.weights), self.num_samples,
                                           replace=self.replacement,
                                           p=self.weights / self.weights.sum())

    def __iter__(self):
        return iter(self.order().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group another sampler's indices into lists of ``batch_size``.

    >>> list(BatchSampler(range(5), batch_size=2, drop_last=True))
    [[0, 1], [2, 3]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        self.sampler = sampler
        self.batch_size = _positive_int(batch_size, "batch_size")
        self.drop_last = _boolean(drop_last, "drop_last")

    def index_batches(self):
        """This iteration's batches as index arrays (sliced from the sampler's ``order()``
        when it has one: no per-index Python work)."""
        if hasattr(self.sampler, "order"):
            order, size = self.sampler.order(), self.batch_size
            stop = len(order) - len(order) % size if self.drop_last else len(order)
            return (order[i:i + size] for i in range(0, stop, size))
        return (numpy.asarray(batch, dtype=numpy.int64) for batch in self)

    def __iter__(self):
        if hasattr(self.sampler, "order"):
            return (batch.tolist() for batch in self.index_batches())
        return self._grouped(iter(self.sampler))

    def _grouped(self, indices):
        batch = list(itertools.islice(indices, self.batch_size))
        while batch:
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch
            batch = list(itertools.islice(indices, self.batch_size))

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)
