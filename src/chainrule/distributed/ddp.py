"""DistributedDataParallel: one model replica per process, gradients averaged after backward.

Parameters and buffers are broadcast from rank 0 at the start. During backward, each
parameter's gradient is copied into a bucket (a flat buffer of many small gradients) as soon
as it is accumulated; a full bucket is all-reduced with a non-blocking MPI call while the
rest of the backward pass runs. When the last gradient has arrived, the buckets are waited
for, averaged and written back, so every replica takes the same optimizer step.

BatchNorm statistics stay per replica (as in PyTorch's default): each process normalises its
own batch and keeps its own running statistics; rank 0's are the ones saved in checkpoints.
``convert_sync_batchnorm(model)`` opts in to statistics over the global batch.
"""
import contextlib

import numpy

from .. import backend
from ..nn.module import Module
from ..tensor import Tensor
from . import runtime


class _Bucket:
    def __init__(self, params, dtype):
        self.params = params
        self.offsets, total = [], 0
        for p in params:
            self.offsets.append((total, total + p._data.size))
            total += p._data.size
        self.buffer = numpy.zeros(total, dtype=dtype)
        self.ready, self.request = 0, None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over MPI.

    >>> import chainrule
    >>> from chainrule.distributed import DistributedDataParallel
    >>> model = DistributedDataParallel(chainrule.nn.Linear(2, 1))   # a world of one here
    >>> model(chainrule.ones(3, 2)).shape
    (3, 1)
    """

    def __init__(self, module, bucket_cap_mb=25):
        super().__init__()
        self.module = module
        self._runtime = runtime.init()
        self._sync = True
        self._buckets = []
        self._pending = 0
        self.allreduce_seconds = 0.0
        self._broadcast_state()
        if self._runtime.world_size > 1:
            self._build_buckets(bucket_cap_mb * 2**20)

    def _broadcast_state(self):
        for t in list(self.module.parameters()) + list(self.module.buffers()):
            runtime.broadcast(t, 0)

    def _build_buckets(self, cap_bytes):
        params = [p for p in self.module.parameters() if p.requires_grad]
        current, size = [], 0
        for p in reversed(params):                # backward meets the last layers first
            current.append(p)
            size += p._data.nbytes
            if size >= cap_bytes:
                self._buckets.append(_Bucket(current, p._data.dtype))
                current, size = [], 0
        if current:
            self._buckets.append(_Bucket(current, current[0]._data.dtype))
        self._slot, self._hook_handles = {}, []
        for bucket in self._buckets:
            for index, p in enumerate(bucket.params):
                self._slot[id(p)] = (bucket, index)
                self._hook_handles.append(p.register_post_accumulate_grad_hook(self._on_grad))
        self._pending = len(self._slot)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Accumulate gradients locally (no all-reduce) inside this block, e.g. for gradient
        accumulation; the next backward outside it synchronises the accumulated sum."""
        previous, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = previous

    def _on_grad(self, param):
        if not self._sync:
            return
        bucket, index = self._slot[id(param)]
        start, end = bucket.offsets[index]
        bucket.buffer[start:end] = backend.to_numpy(param.grad._data).reshape(-1)
        bucket.ready += 1
        if bucket.ready == len(bucket.params):
            MPI = self._runtime.MPI
            bucket.request = self._runtime.comm.Iallreduce(MPI.IN_PLACE, bucket.buffer,
                                                           op=MPI.SUM)
        self._pending -= 1
        if self._pending == 0:
            self._finish()

    def _finish(self):
        import time
        started = time.perf_counter()
        scale = 1.0 / self._runtime.world_size
        for bucket in self._buckets:
            if bucket.request is not None:
                bucket.request.Wait()
            bucket.buffer *= scale
            for p, (start, end) in zip(bucket.params, bucket.offsets):
                p.grad = Tensor._make(backend.xp.asarray(
                    bucket.buffer[start:end].reshape(p.shape).copy()), None)
            bucket.ready, bucket.request = 0, None
        self._pending = len(self._slot)
        self.allreduce_seconds += time.perf_counter() - started

    def synchronize(self):
        """Average any gradients not yet averaged (parameters that got no gradient this step
        count as zero). Safe to call always; ``fit`` calls it before each optimizer step."""
        if self._runtime.world_size == 1 or self._pending == len(self._slot):
            return
        for bucket in self._buckets:
            if bucket.request is None:
                for index, p in enumerate(bucket.params):
                    start, end = bucket.offsets[index]
                    if p.grad is None:
                        bucket.buffer[start:end] = 0
                MPI = self._runtime.MPI
                bucket.request = self._runtime.comm.Iallreduce(MPI.IN_PLACE, bucket.buffer,
                                                               op=MPI.SUM)
        self._finish()

    def state_dict(self):
        return self.module.state_dict()

    def load_state_dict(self, state_dict, strict=True):
        return self.module.load_state_dict(state_dict, strict)

    def close(self):
        """Remove the gradient hooks (the model can then be used on its own again)."""
        for handle in getattr(self, "_hook_handles", ()):
            handle.remove()
        self._hook_handles = []
