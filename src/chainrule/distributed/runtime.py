"""The MPI runtime: rank, world size and collectives on tensors, through mpi4py.

A single process without MPI (or without mpiexec) is a world of size 1, so the same script
runs anywhere. Collectives use mpi4py's buffer (upper-case) calls on contiguous arrays — no
pickling on the hot path.

Every collective is a non-blocking MPI call waited for with a deadline, and the ranks of a
job end together (see :mod:`chainrule.distributed.liveness`): a rank that fails, leaves
early or freezes is named and the job is aborted, instead of the others waiting forever.

>>> from chainrule import distributed
>>> distributed.init().world_size >= 1
True
"""
import pickle

import numpy

from .. import backend
from ..errors import ArgumentError
from ..tensor import Tensor
from .liveness import Liveness, timeout_seconds


class _Runtime:
    def __init__(self):
        self.comm, self.rank, self.world_size, self.MPI = None, 0, 1, None
        self.liveness = None
        self.timeout = timeout_seconds()


_runtime = None


def init(timeout=None):
    """Start (or join) the MPI world; safe to call more than once. Returns the runtime.

    ``timeout``: how long any collective may wait for the other ranks before the job is
    aborted naming the ranks that did not arrive, in seconds or as a ``datetime.timedelta``
    (default: the environment variable CHAINRULE_DISTRIBUTED_TIMEOUT, else 10 minutes).
    Call ``init`` first thing in a distributed script, so that a rank failing early ends
    the job too.

    >>> init(timeout=60).timeout
    60.0
    """
    global _runtime
    if _runtime is None:
        _runtime = _start()
    if timeout is not None:
        _runtime.timeout = timeout_seconds(timeout)
        if _runtime.liveness is not None:
            _runtime.liveness.timeout = _runtime.timeout
    return _runtime


def _start():
    runtime = _Runtime()
    try:
        from mpi4py import MPI
    except ImportError:
        return runtime                         # no MPI: a world of one
    runtime.MPI, runtime.comm = MPI, MPI.COMM_WORLD
    runtime.rank, runtime.world_size = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
    if runtime.world_size > 1:
        runtime.liveness = Liveness(MPI, MPI.COMM_WORLD, runtime.timeout)
        runtime.liveness.install()
    return runtime


def rank():
    return init().rank


def world_size():
    return init().world_size


def is_main():
    return init().rank == 0


def is_distributed():
    return init().world_size > 1


def abort(code=1, message=None):
    """End every process of the job now (MPI_Abort), printing ``message`` (naming this rank)
    first. In a world of one this is ``sys.exit(code)``."""
    runtime = init()
    if runtime.liveness is None:
        raise SystemExit(code)
    runtime.liveness.abort(message or f"rank {runtime.rank} stopped with exit code {code}",
                           code)


class Pending:
    """A started collective; ``wait()`` blocks until it is done (or the deadline passes)."""

    def __init__(self, request, what, number):
        self.request, self.what, self.number = request, what, number

    def done(self):
        """Whether it has completed (also moves MPI's progress along)."""
        return self.request is None or bool(self.request.Test())

    def wait(self):
        if self.request is not None:
            _runtime.liveness.wait(self.request, self.what, self.number)
            self.request = None


def _start_collective(what, start):
    """Number the collective, start it with ``start()`` (an MPI request), return Pending."""
    runtime = init()
    number = runtime.liveness.begin()
    return Pending(start(runtime.comm, runtime.MPI), what, number)


def barrier():
    if init().world_size > 1:
        _start_collective("barrier", lambda comm, MPI: comm.Ibarrier()).wait()


def _array(tensor):
    data = tensor._data if isinstance(tensor, Tensor) else tensor
    return backend.to_numpy(data)


def start_all_reduce(array, what="all_reduce"):
    """Begin summing a contiguous NumPy array across ranks in place; returns a Pending to
    ``wait()`` for (DistributedDataParallel overlaps these with the backward pass)."""
    return _start_collective(what, lambda comm, MPI: comm.Iallreduce(MPI.IN_PLACE, array,
                                                                     op=MPI.SUM))


def all_reduce(tensor, op="sum"):
    """Sum (or average, ``op="mean"``) a tensor across ranks, in place; returns it.

    >>> import chainrule
    >>> all_reduce(chainrule.ones(2), op="mean").tolist()        # a world of one here
    [1.0, 1.0]
    """
    if op not in ("sum", "mean"):
        raise ArgumentError(f"all_reduce: op must be 'sum' or 'mean', got {op!r}")
    runtime = init()
    if runtime.world_size == 1:
        return tensor
    array = numpy.ascontiguousarray(_array(tensor))
    start_all_reduce(array).wait()
    if op == "mean":
        array /= runtime.world_size
    _store(tensor, array)
    return tensor


def broadcast(tensor, root=0):
    """Copy rank ``root``'s values into every rank's tensor, in place; returns it.

    >>> import chainrule
    >>> broadcast(chainrule.ones(2)).tolist()
    [1.0, 1.0]
    """
    runtime = init()
    if runtime.world_size == 1:
        return tensor
    array = numpy.ascontiguousarray(_array(tensor))
    _start_collective("broadcast", lambda comm, MPI: comm.Ibcast(array, root=root)).wait()
    _store(tensor, array)
    return tensor


def all_gather(tensor):
    """Every rank's tensor (same shape everywhere), as a list ordered by rank.

    >>> import chainrule
    >>> len(all_gather(chainrule.ones(2))) == world_size()
    True
    """
    runtime = init()
    array = numpy.ascontiguousarray(_array(tensor))
    if runtime.world_size == 1:
        return [Tensor(array.copy())]
    out = numpy.empty((runtime.world_size,) + array.shape, dtype=array.dtype)
    _start_collective("all_gather", lambda comm, MPI: comm.Iallgather(array, out)).wait()
    return [Tensor(backend.xp.asarray(part)) for part in out]


def all_gather_objects(value):
    """Gather small Python objects (epoch metrics, variable-length arrays); pickles, so it is
    for once-per-epoch bookkeeping, never for the training step.

    >>> all_gather_objects({"loss": 0.5})          # a world of one here
    [{'loss': 0.5}]
    """
    runtime = init()
    if runtime.world_size == 1:
        return [value]
    data = numpy.frombuffer(pickle.dumps(value), dtype=numpy.uint8)
    sizes = numpy.zeros(runtime.world_size, dtype=numpy.int64)
    mine = numpy.array([data.size], dtype=numpy.int64)
    _start_collective("all_gather_objects (sizes)",
                      lambda comm, MPI: comm.Iallgather(mine, sizes)).wait()
    offsets = numpy.concatenate([[0], numpy.cumsum(sizes)[:-1]])
    gathered = numpy.empty(int(sizes.sum()), dtype=numpy.uint8)
    spec = [gathered, (sizes.tolist(), offsets.tolist()), runtime.MPI.BYTE]
    _start_collective("all_gather_objects",
                      lambda comm, MPI: comm.Iallgatherv(data, spec)).wait()
    return [pickle.loads(gathered[o:o + s].tobytes()) for o, s in zip(offsets, sizes)]


def _store(tensor, array):
    if isinstance(tensor, Tensor):
        if tensor._data is not array:
            tensor._data[...] = backend.xp.asarray(array)
        tensor._bump_version()
    elif tensor is not array:
        tensor[...] = array
