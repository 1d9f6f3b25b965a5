"""Data-parallel training across processes and machines over MPI (``chainrule[distributed]``).

Run with ``mpiexec -n 4 python train.py`` (or ``mpiexec -n 4 chainrule train --distributed``).
"""
from .ddp import DistributedDataParallel  # noqa: F401
from .runtime import (all_gather, all_gather_objects, all_reduce, barrier, broadcast,  # noqa
                      init, is_distributed, is_main, rank, world_size)
from .sampler import DistributedSampler  # noqa: F401
from .sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm  # noqa: F401,E402
