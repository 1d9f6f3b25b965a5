"""The MPI runtime: rank, world size and collectives on tensors, through mpi4py.

A single process without MPI (or without mpiexec) is a world of size 1, so the same script
runs anywhere. Collectives use mpi4py's buffer (upper-case) calls on contiguous arrays — no
pickling on the hot path.

>>> from chainrule import distributed
>>> distributed.init().world_size >= 1
True
"""
import sys

import numpy

from .. import backend
from ..errors import ArgumentError
from ..tensor import Tensor


class _Runtime:
    def __init__(self):
        self.comm, self.rank, self.world_size, self.MPI = None, 0, 1, None


_runtime = None


def init():
    """Start (or join) the MPI world; safe to call more than once. Returns the runtime."""
    global _runtime
    if _runtime is not None:
        return _runtime
    _runtime = _Runtime()
    try:
        from mpi4py import MPI
    except ImportError:
        return _runtime                        # no MPI: a world of one
    _runtime.MPI, _runtime.comm = MPI, MPI.COMM_WORLD
    _runtime.rank, _runtime.world_size = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
    if _runtime.world_size > 1:
        _abort_on_uncaught_exception()
    return _runtime


def _abort_on_uncaught_exception():
    """A rank that dies with an exception takes the whole job down (no rank left waiting
    forever in a collective): print the error, then MPI_Abort with code 1."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.write(f"chainrule.distributed: rank {_runtime.rank} failed; aborting the "
                         "job\n")
        sys.stderr.flush()
        _runtime.comm.Abort(1)
    sys.excepthook = hook


def rank():
    return init().rank


def world_size():
    return init().world_size


def is_main():
    return init().rank == 0


def is_distributed():
    return init().world_size > 1


def barrier():
    runtime = init()
    if runtime.world_size > 1:
        runtime.comm.Barrier()


def _array(tensor):
    data = tensor._data if isinstance(tensor, Tensor) else tensor
    return backend.to_numpy(data)


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
    runtime.comm.Allreduce(runtime.MPI.IN_PLACE, array, op=runtime.MPI.SUM)
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
    runtime.comm.Bcast(array, root=root)
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
    runtime.comm.Allgather(array, out)
    return [Tensor(backend.xp.asarray(part)) for part in out]


def all_gather_objects(value):
    """Gather small Python objects (epoch metrics, variable-length arrays); pickles, so it is
    for once-per-epoch bookkeeping, never for the training step."""
    runtime = init()
    if runtime.world_size == 1:
        return [value]
    return runtime.comm.allgather(value)


def _store(tensor, array):
    if isinstance(tensor, Tensor):
        if tensor._data is not array:
            tensor._data[...] = backend.xp.asarray(array)
        tensor._bump_version()
    elif tensor is not array:
        tensor[...] = array
