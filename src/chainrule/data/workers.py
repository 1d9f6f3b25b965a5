"""Worker processes for ``DataLoader(num_workers=N)``.

The main process draws the batches' indices (so the order is the one ``num_workers=0``
gives) and hands them out round-robin, at most ``prefetch_factor`` per worker ahead; each
worker fetches and collates its batches with the same code as the main process and sends
them back; the main process yields them in order.

* **Processes.** Started with ``fork`` where the platform has it (Linux: fast, and the
  dataset need not be picklable; big arrays are shared copy-on-write), ``spawn`` elsewhere;
  ``multiprocessing_context`` chooses another (then the dataset, collate_fn, transform and
  worker_init_fn must be picklable).
* **Randomness**, as in PyTorch: each iteration draws a base seed (from the loader's
  generator's seed and the epoch, so it is reproducible); worker ``i`` seeds chainrule's
  global generator and Python's ``random`` with ``base_seed + i`` and NumPy's legacy global
  state from both. Random augmentation therefore differs between worker counts (as in
  PyTorch) but repeats exactly for the same seed and ``num_workers``.
* **Failures.** An exception in a worker is re-raised in the main process, with its type
  when it can be, naming the worker, the sample index and the original traceback. A worker
  that dies (killed by a signal, out of memory) is a :class:`WorkerError` within
  ``POLL_SECONDS``, never a hang: the main process waits on the workers' pipes *and* on their
  process handles. Workers ignore SIGINT (Ctrl-C reaches the main process, which stops
  them) and exit by themselves if the main process disappears.
* **Shutdown**, at the end of an epoch (or when the loader is collected, for persistent
  workers), on an error, on ``break`` and on Ctrl-C: the workers are told to stop, their
  pipes closed, and a worker that does not exit within ``SHUTDOWN_SECONDS`` is terminated.

>>> get_worker_info() is None          # in the main process
True
"""
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import random
import signal
import sys
import time
import traceback
import weakref
from multiprocessing.reduction import ForkingPickler

import numpy

from .. import backend
from ..errors import ChainruleError
from ..generator import manual_seed
from ..tensor import Tensor
from .fetch import IterableFetcher, MapFetcher

POLL_SECONDS = 0.2          # how often a waiting side checks that the other is still alive
SHUTDOWN_SECONDS = 1.0      # how long workers get to exit before they are terminated


class WorkerError(ChainruleError, RuntimeError):
    """A DataLoader worker process died, timed out or failed in a way that has no better
    exception type; the message names the worker and what it was doing."""


class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker: ``id``, ``num_workers``,
    ``seed`` and the worker's copy of the ``dataset``."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={type(self.dataset).__name__})")


#: set in a worker process only (the one piece of per-process state this module has)
_worker_info = None


def get_worker_info():
    """In a DataLoader worker: its :class:`WorkerInfo`; in the main process: None.

    Use it to split an IterableDataset between workers, or to seed per worker.

    >>> print(get_worker_info())
    None
    """
    return _worker_info


def default_context():
    """fork where available (not macOS, where it is unsafe), else spawn."""
    if sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


# ---------------------------------------------------------------- moving tensors between processes

def _rebuild_tensor(array):
    return Tensor._make(array, None)


def _reduce_tensor(tensor):
    return _rebuild_tensor, (backend.to_numpy(tensor._data),)


# a Tensor crosses a process boundary as its array (no graph, no hooks)
ForkingPickler.register(Tensor, _reduce_tensor)


class _EndOfStream:
    """A worker's iterable dataset is exhausted."""


class _Failure:
    """An exception raised in a worker, carried to the main process and re-raised there."""

    def __init__(self, worker_id, error, where):
        self.message = (f"Caught {type(error).__name__} in DataLoader worker {worker_id} "
                        f"{where}.\nOriginal traceback (most recent call last):\n" +
                        "".join(traceback.format_exception(error)[1:]).rstrip())
        self.error_type = type(error)
        try:
            pickle.dumps(self.error_type)
        except Exception:  # noqa: BLE001 - a class defined where the main cannot find it
            self.error_type = None

    def reraise(self):
        error = None
        if self.error_type is not None and self.error_type is not KeyError:
            try:
                error = self.error_type(self.message)
            except Exception:  # noqa: BLE001 - a constructor that wants other arguments
                error = None
        if not isinstance(error, BaseException):
            error = WorkerError(self.message)
        raise error


# ---------------------------------------------------------------- inside a worker

def _seed(base_seed, worker_id):
    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    numpy.random.seed(numpy.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def _worker_loop(kind, dataset, fetch_args, tasks, results, worker_id, num_workers, base_seed,
                 worker_init_fn, parent_pid):
    """Fetch the batches named on ``tasks`` and send them on ``results`` until told to stop
    (a None task), until the main process closes the pipe, or until it disappears."""
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    seed = _seed(base_seed, worker_id)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    failed_init = None
    if worker_init_fn is not None:
        try:
            worker_init_fn(worker_id)
        except Exception as error:  # noqa: BLE001 - reported for every batch it was given
            failed_init = _Failure(worker_id, error, "in worker_init_fn")
    fetcher, fetcher_epoch = None, None
    try:
        while True:
            try:
                task = tasks.get(timeout=POLL_SECONDS * 5)
            except queue.Empty:
                if os.getppid() != parent_pid:
                    return
                continue
            if task is None:
                return
            epoch, batch_index, indices = task
            if fetcher_epoch != epoch and (kind == "iterable" or fetcher is None):
                fetcher = MapFetcher(dataset, *fetch_args[:3]) if kind == "map" else \
                    IterableFetcher(dataset, *fetch_args)
                fetcher_epoch = epoch
            if failed_init is not None:
                payload = failed_init
            else:
                try:
                    payload = fetcher(indices)
                except StopIteration:
                    payload = _EndOfStream()
                except Exception as error:  # noqa: BLE001 - any dataset error is reported
                    payload = _Failure(worker_id, error, fetcher.where(batch_index))
            if not _send(results, (epoch, batch_index, payload), worker_id):
                return
    finally:
        results.close()


def _send(results, message, worker_id):
    """Pickle and send one message; False when the main process has stopped listening."""
    try:
        data = ForkingPickler.dumps(message, pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # noqa: BLE001 - e.g. a sample holding a lock or a file
        data = ForkingPickler.dumps((message[0], message[1], _Failure(
            worker_id, error, f"while sending batch {message[1]} to the main process")))
    try:
        results.send_bytes(bytes(data))
    except OSError:          # the main process closed its end: it is shutting down
        return False
    return True


# ---------------------------------------------------------------- in the main process

class WorkerPool:
    """``num_workers`` processes serving one DataLoader; ``batches()`` runs one epoch."""

    def __init__(self, dataset, kind, fetch_args, num_workers, base_seed, worker_init_fn,
                 context):
        self.num_workers, self.epoch = num_workers, 0
        self.processes, self.tasks, self.readers = [], [], []
        for worker_id in range(num_workers):
            tasks = context.Queue()
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(
                target=_worker_loop, name=f"chainrule-DataLoader-worker-{worker_id}",
                args=(kind, dataset, fetch_args, tasks, writer, worker_id, num_workers,
                      base_seed, worker_init_fn, os.getpid()), daemon=True)
            self.processes.append(process)
            self.tasks.append(tasks)
            self.readers.append(reader)
            try:
                process.start()
            finally:
                writer.close()      # the worker's end: our copy would hide the worker's death
        self._finalizer = weakref.finalize(self, _shutdown, self.processes, self.tasks,
                                           self.readers)

    @property
    def alive(self):
        return self._finalizer.alive

    def shutdown(self):
        self._finalizer()

    def batches(self, index_batches, prefetch_factor, timeout, in_order=True):
        """Yield one epoch's batches (``index_batches``: one index array per batch, or for
        an iterable dataset an endless supply of None)."""
        self.epoch += 1
        epoch, tasks = self.epoch, enumerate(index_batches)
        active = [True] * self.num_workers
        state = {"next_worker": 0, "exhausted": False}
        outstanding, done, next_index = {}, {}, 0

        def dispatch():
            if state["exhausted"]:
                return
            for _ in range(self.num_workers):
                worker = state["next_worker"]
                state["next_worker"] = (worker + 1) % self.num_workers
                if active[worker]:
                    break
            else:
                return
            try:
                index, indices = next(tasks)
            except StopIteration:
                state["exhausted"] = True
                return
            self.tasks[worker].put((epoch, index, indices))
            outstanding[index] = worker

        for _ in range(prefetch_factor * self.num_workers):
            dispatch()
        while outstanding or done:
            if self.epoch != epoch:
                raise WorkerError("this DataLoader iterator was superseded by a newer "
                                  "iter(loader) on the same persistent workers")
            index = next_index if in_order else next(iter(done), None)
            if index not in done:
                self._receive(epoch, outstanding, done, active, timeout)
                continue
            payload = done.pop(index)
            next_index += in_order
            dispatch()                      # keep prefetch_factor batches per worker ahead
            if isinstance(payload, _EndOfStream):
                continue
            if isinstance(payload, _Failure):
                payload.reraise()
            yield payload

    def _receive(self, epoch, outstanding, done, active, timeout):
        """Wait for results (and for any worker's death); store them in ``done``."""
        deadline = time.monotonic() + timeout if timeout else None
        owner = {id(reader): worker for worker, reader in enumerate(self.readers)}
        while True:
            wait = POLL_SECONDS if deadline is None else \
                max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
            sentinels = [p.sentinel for p in self.processes]
            ready = multiprocessing.connection.wait(self.readers + sentinels, wait)
            received = False
            for item in ready:
                worker = owner.get(id(item))
                if worker is None:
                    continue
                try:
                    message_epoch, index, payload = pickle.loads(item.recv_bytes())
                except (EOFError, OSError):
                    raise self._died(worker, outstanding) from None
                if message_epoch != epoch:      # left over from an abandoned iteration
                    continue
                outstanding.pop(index, None)
                done[index] = payload
                received = True
                if isinstance(payload, _EndOfStream):
                    active[worker] = False
            if received:
                return
            for worker, process in enumerate(self.processes):
                if process.exitcode is not None:
                    raise self._died(worker, outstanding)
            if deadline is not None and time.monotonic() >= deadline:
                raise WorkerError(f"DataLoader timed out after {timeout} seconds waiting for "
                                  f"batch {min(outstanding)}")

    def _died(self, worker, outstanding):
        process = self.processes[worker]
        process.join(1.0)
        code = process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            how = f"was killed by signal {name}" + \
                (" (out of memory?)" if -code == signal.SIGKILL else "")
        else:
            how = f"exited unexpectedly with exit code {code}"
        batches = sorted(i for i, w in outstanding.items() if w == worker)
        doing = f" while loading batch {batches[0]}" if batches else ""
        return WorkerError(f"DataLoader worker {worker} (pid {process.pid}) {how}{doing}")


def _shutdown(processes, tasks, readers):
    """Stop the workers: tell them, close their pipes (which also unblocks a worker stuck
    sending), wait a little, then terminate what is left."""
    for queue_ in tasks:
        try:
            queue_.put(None)
        except (OSError, ValueError):
            pass
    for reader in readers:
        reader.close()
    deadline = time.monotonic() + SHUTDOWN_SECONDS
    for process in processes:
        if process.pid is not None:
            process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.pid is not None and process.is_alive():
            process.terminate()
            process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join()
    for queue_ in tasks:
        queue_.cancel_join_thread()
        queue_.close()
