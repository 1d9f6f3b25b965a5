"""Data-parallel training across processes and machines over MPI (``chainrule[distributed]``).

Run with ``mpiexec -n 4 python train.py`` (or ``mpiexec -n 4 chainrule train --distributed``).
Collectives time out after 10 minutes (``init(timeout=...)`` or the environment variable
CHAINRULE_DISTRIBUTED_TIMEOUT, in seconds) and the ranks of a job end together.
"""
from .ddp import DistributedDataParallel  # noqa: F401
from .runtime import (abort, all_gather, all_gather_objects, all_reduce, barrier,  # noqa
                      broadcast, init, is_distributed, is_main, rank, world_size)
from .sampler import DistributedSampler  # noqa: F401
from .sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm  # noqa: F401,E402
from .pytorch_names import (destroy_process_group, get_rank, get_world_size,  # noqa: F401,E402
                            init_process_group, is_available, is_initialized)
from . import pytorch_names as _pytorch_names  # noqa: E402
from ..nn import parallel as _parallel  # noqa: E402

# PyTorch's torch.nn.parallel.DistributedDataParallel is this package's DDP with PyTorch's
# constructor; nn cannot import distributed (which builds on it), so it is installed from here.
_parallel.DistributedDataParallel = _pytorch_names.DistributedDataParallel
