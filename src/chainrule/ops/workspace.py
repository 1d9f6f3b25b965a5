"""Reusable memory for the large arrays of convolution, pooling and batch normalisation.

A training step of a convolutional network makes the same large arrays, of the same sizes,
every step (im2col matrices, layer outputs, gradients). Taken fresh from the allocator each
time, they are pages the kernel must map and zero again: about a third of a LeNet step.
The workspace keeps those buffers and hands them out again.

A buffer is free when nothing but the workspace refers to it: every array handed out is a
view of its buffer, and a view keeps its buffer referenced for as long as it (or any view of
it: a saved tensor, ``.numpy()``, a slice) lives. So a buffer is never handed out twice while
anything can still read it, whatever the graph keeps or the user holds on to; there is no
"release" to call and nothing to get wrong.

The bound: the workspace holds at most ``limit()`` bytes (256 MiB unless ``set_limit`` says
otherwise). When a new size does not fit, free buffers are dropped, least recently used
first; when still nothing fits, the array is an ordinary one that the workspace does not
keep. Arrays under 64 KiB are never kept (the allocator serves those without new pages).
Only the NumPy backend uses it (CuPy has its own memory pool).

>>> from chainrule.ops import workspace
>>> a = workspace.empty((256, 256), "float32")
>>> a.shape, workspace.held_bytes() >= a.nbytes
((256, 256), True)
>>> del a
>>> workspace.empty((256, 256), "float32").shape     # the same buffer, handed out again
(256, 256)
"""
import math
import sys
import threading

import numpy

from .. import backend

MIN_BYTES = 64 * 1024
_DEFAULT_LIMIT = 256 * 1024 * 1024

# a free buffer is referenced by its size's list, by the loop variable that looks at it and
# by getrefcount's own argument: three references, nothing else
_FREE_REFCOUNT = 3


class Workspace:
    """Buffers by size in bytes; see the module docstring for when one is free."""

    def __init__(self, limit_bytes=_DEFAULT_LIMIT):
        self.limit_bytes = limit_bytes
        self.by_size = {}           # nbytes -> [uint8 buffer, ...]
        self.last_use = {}          # id(buffer) -> tick of its last hand-out
        self.total = 0
        self.tick = 0
        self.lock = threading.Lock()

    def take(self, nbytes):
        """A uint8 buffer of ``nbytes`` that nothing else refers to (kept or not)."""
        with self.lock:
            self.tick += 1
            buffers = self.by_size.get(nbytes)
            if buffers is not None:
                for buffer in buffers:
                    if sys.getrefcount(buffer) == _FREE_REFCOUNT:
                        self.last_use[id(buffer)] = self.tick
                        return buffer
            if self.total + nbytes > self.limit_bytes:
                self._evict(self.total + nbytes - self.limit_bytes)
                if self.total + nbytes > self.limit_bytes:
                    return numpy.empty(nbytes, dtype=numpy.uint8)
            buffer = numpy.empty(nbytes, dtype=numpy.uint8)
            self.by_size.setdefault(nbytes, []).append(buffer)
            self.last_use[id(buffer)] = self.tick
            self.total += nbytes
            return buffer

    def _evict(self, wanted):
        """Drop free buffers, least recently used first, until ``wanted`` bytes are gone."""
        free = []
        for size, buffers in self.by_size.items():
            for buffer in buffers:
                if sys.getrefcount(buffer) == _FREE_REFCOUNT:
                    free.append((self.last_use[id(buffer)], size, id(buffer)))
        for _, size, key in sorted(free):
            if wanted <= 0:
                break
            buffers = self.by_size[size]
            buffers[:] = [b for b in buffers if id(b) != key]
            if not buffers:
                del self.by_size[size]
            del self.last_use[key]
            self.total -= size
            wanted -= size

    def clear(self):
        """Forget every buffer (arrays still in use stay valid: they keep their memory)."""
        with self.lock:
            self.by_size.clear()
            self.last_use.clear()
            self.total = 0


_workspace = Workspace()


def empty(shape, dtype):
    """An uninitialised array, in reused memory when it is large (NumPy backend)."""
    if not isinstance(dtype, numpy.dtype):
        dtype = numpy.dtype(backend.numpy_dtype(dtype))
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES or backend.name != "numpy":
        return backend.xp.empty(shape, dtype=dtype)
    return _workspace.take(nbytes).view(dtype).reshape(shape)


def zeros(shape, dtype):
    """A zero-filled array, in reused memory when it is large."""
    if backend.name != "numpy":
        return backend.xp.zeros(shape, dtype=dtype)
    array = empty(shape, dtype)
    array.fill(0)
    return array


def held_bytes():
    """Bytes the workspace holds now (in use or free); never more than ``limit()``."""
    return _workspace.total


def limit():
    """The most bytes the workspace keeps."""
    return _workspace.limit_bytes


def set_limit(nbytes):
    """Keep at most ``nbytes`` (0 turns the reuse off); free buffers over it are dropped."""
    with _workspace.lock:
        _workspace.limit_bytes = int(nbytes)
        if _workspace.total > _workspace.limit_bytes:
            _workspace._evict(_workspace.total - _workspace.limit_bytes)


def clear():
    """Give every kept buffer back to the allocator (arrays in use stay valid)."""
    _workspace.clear()
