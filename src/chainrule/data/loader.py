"""DataLoader: batches from a dataset, shuffled reproducibly, in this process or in workers.

The arguments, their defaults and their checks are PyTorch's, so code written for
``torch.utils.data.DataLoader`` runs unchanged; chainrule adds ``transform`` (applied to
every sample) and ``state_dict()`` for an exact resume.

Shuffling draws each epoch's order from ``generator`` (default: a child of the global
generator, seeded when the loader is made), so the order is reproducible from
``chainrule.manual_seed`` and restorable from ``state_dict()``. With ``num_workers=N`` the
order is drawn the same way in the main process, so the batches are the same as with
``num_workers=0`` (see :mod:`chainrule.data.workers` for processes, seeds and failures).
``pin_memory`` is accepted and has no effect: there is no accelerator memory to pin.
"""
import itertools
import multiprocessing

import numpy

from ..errors import ArgumentError
from ..generator import Generator, default_generator
from .collate import default_collate, default_convert
from .combined import IterableDataset
from .fetch import IterableFetcher, MapFetcher
from .samplers import BatchSampler, RandomSampler, SequentialSampler
from .workers import WorkerPool, default_context

__all__ = ["DataLoader", "default_collate", "default_convert"]


def _context(value):
    if value is None:
        return default_context()
    if isinstance(value, str):
        try:
            return multiprocessing.get_context(value)
        except ValueError:
            raise ArgumentError(f"DataLoader: unknown multiprocessing_context {value!r}; "
                                f"choose from "
                                f"{', '.join(multiprocessing.get_all_start_methods())}") \
                from None
    return value


class DataLoader:
    """Iterate over a dataset in batches, optionally loading them in worker processes.

    >>> import chainrule
    >>> from chainrule.data import TensorDataset, DataLoader
    >>> ds = TensorDataset(chainrule.arange(10).float(), chainrule.arange(10))
    >>> [tuple(x.shape) for x, y in DataLoader(ds, batch_size=4)]
    [(4,), (4,), (2,)]
    >>> loader = DataLoader(ds, batch_size=5, shuffle=True, num_workers=2)
    >>> sorted(int(i) for _, y in loader for i in y.tolist())
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True, transform=None):
        self._check_workers(num_workers, timeout, prefetch_factor, persistent_workers)
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            self._check_iterable(shuffle, sampler, batch_sampler)
        elif hasattr(dataset, "__len__") and len(dataset) == 0:
            raise ArgumentError("DataLoader: the dataset is empty")
        shuffle = bool(shuffle)
        if batch_size is not None and (not isinstance(batch_size, (int, numpy.integer)) or
                                       isinstance(batch_size, bool) or batch_size < 1):
            raise ArgumentError(f"DataLoader: batch_size must be a positive integer or None, "
                                f"got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ArgumentError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ArgumentError("DataLoader: batch_sampler option is mutually exclusive "
                                    "with batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ArgumentError("DataLoader: batch_size=None option disables auto-batching "
                                "and is mutually exclusive with drop_last")
        self.dataset, self.num_workers = dataset, num_workers
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.generator = generator or Generator(default_generator.spawn_seed())
        if sampler is None and not iterable:
            sampler = RandomSampler(dataset, generator=self.generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_sampler is None and self.batch_size is not None and not iterable:
            batch_sampler = BatchSampler(sampler, self.batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn or (default_convert if self.batch_size is None and
                                         batch_sampler is None else default_collate)
        self.transform = transform
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        self.timeout, self.worker_init_fn = timeout, worker_init_fn
        self.multiprocessing_context = _context(multiprocessing_context) if num_workers else \
            multiprocessing_context
        self.prefetch_factor = (2 if prefetch_factor is None else prefetch_factor) \
            if num_workers else None
        self.persistent_workers, self.in_order = persistent_workers, in_order
        self.epoch = 0
        self._pool = None

    @staticmethod
    def _check_workers(num_workers, timeout, prefetch_factor, persistent_workers):
        if not isinstance(num_workers, (int, numpy.integer)) or num_workers < 0:
            raise ArgumentError("DataLoader: num_workers option should be non-negative; use "
                                f"num_workers=0 to disable multiprocessing (got {num_workers!r})")
        if timeout < 0:
            raise ArgumentError(f"DataLoader: timeout option should be non-negative, got "
                                f"{timeout}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ArgumentError("DataLoader: prefetch_factor option could only be specified "
                                "in multiprocessing. let num_workers > 0 to enable "
                                "multiprocessing, otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and (not isinstance(prefetch_factor, int) or
                                            prefetch_factor < 1):
            raise ArgumentError(f"DataLoader: prefetch_factor must be a positive integer, got "
                                f"{prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ArgumentError("DataLoader: persistent_workers option needs num_workers > 0")

    @staticmethod
    def _check_iterable(shuffle, sampler, batch_sampler):
        for name, value, allowed in (("shuffle", shuffle, (None, False)),
                                     ("sampler", sampler, (None,)),
                                     ("batch_sampler", batch_sampler, (None,))):
            if value not in allowed:
                raise ArgumentError(f"DataLoader with IterableDataset: expected unspecified "
                                    f"{name} option, but got {name}={value!r}")

    # ------------------------------------------------------------ sizes and state
    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or \
            (self.batch_size is not None and isinstance(self.dataset, IterableDataset))

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def state_dict(self):
        """The epoch count and the generator's state: ``load_state_dict`` of it makes the
        next epoch's order (and workers' seeds) the ones an uninterrupted run would see."""
        return {"epoch": self.epoch, "generator": self.generator.get_state()}

    def load_state_dict(self, state):
        self.epoch = state["epoch"]
        self.generator.set_state(state["generator"])

    # ------------------------------------------------------------ iteration
    def _index_batches(self):
        """One epoch's work items: an index array per batch (or one index per sample without
        auto-collation); for an iterable dataset, an endless supply of None."""
        if isinstance(self.dataset, IterableDataset):
            return itertools.repeat(None)
        if isinstance(self.batch_sampler, BatchSampler):
            return self.batch_sampler.index_batches()
        if self.batch_sampler is not None:
            return (numpy.asarray(list(b), dtype=numpy.int64) for b in self.batch_sampler)
        return iter(self.sampler)

    def _fetch_args(self):
        args = (self._auto_collation, self.collate_fn, self.transform)
        if isinstance(self.dataset, IterableDataset):
            args += (self.batch_size, self.drop_last)
        return args

    def _base_seed(self):
        """This epoch's worker base seed, derived without drawing from the generator (so the
        shuffled order does not depend on ``num_workers``)."""
        entropy = [self.generator.initial_seed() & (2**63 - 1), self.epoch]
        return int(numpy.random.SeedSequence(entropy).generate_state(1, numpy.uint64)[0] >> 1)

    def __iter__(self):
        if self.num_workers == 0:
            return self._in_this_process()
        return self._in_workers()

    def _in_this_process(self):
        work = self._index_batches()
        self.epoch += 1
        if isinstance(self.dataset, IterableDataset):
            fetch = IterableFetcher(self.dataset, *self._fetch_args())
            while True:
                try:
                    batch = fetch()
                except StopIteration:
                    return
                yield batch
        fetch = MapFetcher(self.dataset, *self._fetch_args())
        for indices in work:
            yield fetch(indices)

    def _in_workers(self):
        work = self._index_batches()
        self.epoch += 1
        pool = self._pool
        if pool is None or not pool.alive:
            kind = "iterable" if isinstance(self.dataset, IterableDataset) else "map"
            pool = WorkerPool(self.dataset, kind, self._fetch_args(), self.num_workers,
                              self._base_seed(), self.worker_init_fn,
                              self.multiprocessing_context)
            if self.persistent_workers:
                self._pool = pool
        completed = False
        try:
            yield from pool.batches(work, self.prefetch_factor, self.timeout, self.in_order)
            completed = True
        finally:
            # persistent workers outlive a completed epoch only: after an error, a break or
            # Ctrl-C the next epoch starts fresh ones
            if not (self.persistent_workers and completed):
                pool.shutdown()
                self._pool = None

    def __repr__(self):
        return (f"DataLoader(dataset={type(self.dataset).__name__}, batch_size="
                f"{self.batch_size}, shuffle={self.shuffle}, num_workers={self.num_workers})")

