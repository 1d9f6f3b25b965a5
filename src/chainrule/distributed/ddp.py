"""DistributedDataParallel: one model replica per process, gradients averaged after backward.

Parameters and buffers are broadcast from rank 0 at the start. During backward, each
parameter's gradient is copied into a bucket (a flat buffer of many small gradients) as soon
as it is accumulated (a post-accumulate-grad hook, which fires once per backward even for a
weight used in several places); a full bucket is all-reduced with a non-blocking MPI call
while the rest of the backward pass runs. When the last gradient has arrived, the buckets
are waited for, averaged and written back, so every replica takes the same optimizer step.

Buckets: with ``bucket_cap_mb=None`` (the default) a model is cut into about four buckets
(each 64 KiB to 25 MiB), so that even a small model has reductions in flight while its
backward pass goes on; PyTorch's fixed 25 MB (``bucket_cap_mb=25``) puts a small model in
a single bucket, which can only start once backward has finished. ``stats()`` tells how
much of the reduction time was hidden behind backward.

BatchNorm statistics stay per replica (as in PyTorch's default): each process normalises its
own batch and keeps its own running statistics; rank 0's are the ones saved in checkpoints.
``convert_sync_batchnorm(model)`` opts in to statistics over the global batch.
"""
import contextlib
import time

import numpy

from .. import backend
from ..errors import ArgumentError
from ..nn.module import Module
from ..tensor import Tensor
from . import runtime

MIN_AUTO_BUCKET = 64 * 2**10
MAX_BUCKET = 25 * 2**20


class _Bucket:
    def __init__(self, params, dtype):
        self.params = params
        self.offsets, total = [], 0
        for p in params:
            self.offsets.append((total, total + p._data.size))
            total += p._data.size
        self.buffer = numpy.zeros(total, dtype=dtype)
        self.ready, self.pending, self.started_at = 0, None, 0.0
        self.number = 0


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over MPI.

    ``bucket_cap_mb``: the size of a gradient bucket in MiB; ``None`` cuts the model into
    about four buckets so reductions overlap backward (see the module's docstring).

    >>> import chainrule
    >>> from chainrule.distributed import DistributedDataParallel
    >>> model = DistributedDataParallel(chainrule.nn.Linear(2, 1))   # a world of one here
    >>> model(chainrule.ones(3, 2)).shape
    (3, 1)
    """

    def __init__(self, module, bucket_cap_mb=None):
        super().__init__()
        if bucket_cap_mb is not None and not bucket_cap_mb > 0:
            raise ArgumentError(f"DistributedDataParallel: bucket_cap_mb must be positive "
                                f"(or None for automatic buckets), got {bucket_cap_mb!r}")
        self.module = module
        self._runtime = runtime.init()
        self._sync = True
        self._buckets, self._slot = [], {}
        self._pending = 0
        self.reset_stats()
        self._broadcast_state()
        if self._runtime.world_size > 1:
            self._build_buckets(bucket_cap_mb)

    def _broadcast_state(self):
        for t in list(self.module.parameters()) + list(self.module.buffers()):
            runtime.broadcast(t, 0)

    def _build_buckets(self, bucket_cap_mb):
        params = [p for p in self.module.parameters() if p.requires_grad]
        self.bucket_cap_bytes = _bucket_cap(params, bucket_cap_mb)
        current, size = [], 0
        for p in reversed(params):                # backward meets the last layers first
            if current and p._data.dtype != current[0]._data.dtype:
                self._buckets.append(_Bucket(current, current[0]._data.dtype))
                current, size = [], 0
            current.append(p)
            size += p._data.nbytes
            if size >= self.bucket_cap_bytes:
                self._buckets.append(_Bucket(current, p._data.dtype))
                current, size = [], 0
        if current:
            self._buckets.append(_Bucket(current, current[0]._data.dtype))
        self._hook_handles = []
        for number, bucket in enumerate(self._buckets):
            bucket.number = number
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

    # ------------------------------------------------------------ during backward
    def _on_grad(self, param):
        if not self._sync:
            return
        bucket, index = self._slot[id(param)]
        start, end = bucket.offsets[index]
        bucket.buffer[start:end] = backend.to_numpy(param.grad._data).reshape(-1)
        bucket.ready += 1
        if bucket.ready == len(bucket.params):
            self._launch(bucket)
        else:
            self._make_progress()
        self._pending -= 1
        if self._pending == 0:
            self._finish()

    def _launch(self, bucket):
        self._make_progress()
        bucket.started_at = time.perf_counter()
        bucket.pending = runtime.start_all_reduce(bucket.buffer, f"DistributedDataParallel's "
                                                  f"all-reduce of gradient bucket "
                                                  f"{bucket.number}")
        self.allreduce_calls += 1
        self.allreduce_bytes += bucket.buffer.nbytes

    def _make_progress(self):
        """MPI moves a non-blocking reduction along only inside MPI calls: test the ones in
        flight now and then, so they progress (and may finish) while backward runs."""
        for bucket in self._buckets:
            if bucket.pending is not None and bucket.started_at and bucket.pending.done():
                self.allreduce_inflight_seconds += time.perf_counter() - bucket.started_at
                bucket.started_at = 0.0

    def _finish(self):
        started = time.perf_counter()
        scale = 1.0 / self._runtime.world_size
        for bucket in self._buckets:
            if bucket.pending is not None:
                if bucket.started_at:
                    bucket.pending.wait()
                    self.allreduce_inflight_seconds += time.perf_counter() - bucket.started_at
                else:
                    self.overlapped_buckets += 1         # done while backward ran
                    bucket.pending.wait()
            bucket.buffer *= scale
            for p, (start, end) in zip(bucket.params, bucket.offsets):
                p.grad = Tensor._make(backend.xp.asarray(
                    bucket.buffer[start:end].reshape(p.shape).copy()), None)
            bucket.ready, bucket.pending, bucket.started_at = 0, None, 0.0
        self._pending = len(self._slot)
        self.steps += 1
        self.allreduce_seconds += time.perf_counter() - started

    def synchronize(self):
        """Average any gradients not yet averaged (parameters that got no gradient this step
        count as zero). Safe to call always; ``fit`` calls it before each optimizer step."""
        if self._runtime.world_size == 1 or self._pending == len(self._slot):
            return
        for bucket in self._buckets:
            if bucket.pending is None:
                for index, p in enumerate(bucket.params):
                    start, end = bucket.offsets[index]
                    if p.grad is None:
                        bucket.buffer[start:end] = 0
                self._launch(bucket)
        self._finish()

    # ------------------------------------------------------------ what it cost
    def reset_stats(self):
        """Start the counters of ``stats()`` again (e.g. after warm-up steps)."""
        self.steps = 0
        self.allreduce_calls, self.allreduce_bytes = 0, 0
        self.allreduce_seconds = 0.0           # waited after backward (not hidden)
        self.allreduce_inflight_seconds = 0.0  # from each start to its completion seen
        self.overlapped_buckets = 0

    def stats(self):
        """The communication of the steps since ``reset_stats()``: ``allreduce_seconds`` is
        the time the step waited for reductions after backward ended (the part not hidden
        behind backward); ``allreduce_inflight_seconds`` the time from each bucket's start
        to its completion, summed; ``overlapped_buckets`` how many were complete before
        backward ended.

        >>> import chainrule
        >>> DistributedDataParallel(chainrule.nn.Linear(2, 1)).stats()["allreduce_calls"]
        0
        """
        return {"steps": self.steps, "buckets": len(self._buckets),
                "bucket_bytes": [b.buffer.nbytes for b in self._buckets],
                "allreduce_calls": self.allreduce_calls,
                "allreduce_bytes": self.allreduce_bytes,
                "allreduce_seconds": self.allreduce_seconds,
                "allreduce_inflight_seconds": self.allreduce_inflight_seconds,
                "overlapped_buckets": self.overlapped_buckets}

    def state_dict(self):
        return self.module.state_dict()

    def load_state_dict(self, state_dict, strict=True):
        return self.module.load_state_dict(state_dict, strict)

    def close(self):
        """Remove the gradient hooks (the model can then be used on its own again)."""
        for handle in getattr(self, "_hook_handles", ()):
            handle.remove()
        self._hook_handles = []


def _bucket_cap(params, bucket_cap_mb):
    """Bytes per bucket: as given, or a quarter of the model within [64 KiB, 25 MiB]."""
    if bucket_cap_mb is not None:
        return int(bucket_cap_mb * 2**20)
    total = sum(p._data.nbytes for p in params)
    return int(min(MAX_BUCKET, max(MIN_AUTO_BUCKET, total // 4)))
