"""PyTorch's names for chainrule's MPI data parallelism: ``init_process_group`` and friends
over :mod:`chainrule.distributed.runtime`, and ``torch.nn.parallel.DistributedDataParallel``'s
constructor over :class:`chainrule.distributed.DistributedDataParallel`.

The world is the one ``mpiexec`` starts (one process without it); ``init_process_group``
joins it and checks any ``world_size``/``rank`` given against it. Backends ``"mpi"`` and
``"gloo"`` (and None) all mean MPI; ``"nccl"`` needs GPUs and is refused.

>>> from chainrule import distributed
>>> distributed.init_process_group("gloo")
>>> distributed.is_initialized(), distributed.get_rank(), distributed.get_world_size()
(True, 0, 1)
>>> distributed.destroy_process_group()
"""
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ArgumentError, ConfigError
from ..nn.module import Module
from . import ddp, runtime

_BACKENDS = (None, "mpi", "gloo", "cpu:gloo")
_state = {"initialized": False}


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the MPI world (PyTorch's signature). ``timeout`` bounds every collective;
    ``world_size`` and ``rank``, when given, must be MPI's (launch with ``mpiexec -n N``)."""
    if _state["initialized"]:
        raise ConfigError("init_process_group: trying to initialize the default process group "
                          "twice! (call destroy_process_group() first)")
    if backend not in _BACKENDS:
        raise ArgumentError(f"init_process_group: backend {backend!r} is not available: "
                            "chainrule's processes talk over MPI; use backend='gloo' or 'mpi'")
    world = runtime.init(timeout)
    for name, given, actual in (("world_size", world_size, world.world_size),
                                ("rank", rank, world.rank)):
        if given is not None and given != -1 and given != actual:
            raise ConfigError(f"init_process_group: {name}={given} but MPI started this process "
                              f"with {name} {actual}; launch with mpiexec -n <world_size>")
    _state["initialized"] = True


def destroy_process_group(group=None):
    """Leave the default process group (the MPI world itself lasts until the process ends)."""
    _check_group(group, "destroy_process_group")
    _state["initialized"] = False


def is_initialized():
    """Whether init_process_group has been called (and not undone)."""
    return _state["initialized"]


def is_available():
    """Always True: without MPI, chainrule runs a world of one."""
    return True


def get_rank(group=None):
    """This process's rank in the default group."""
    _require_initialized("get_rank", group)
    return runtime.rank()


def get_world_size(group=None):
    """The number of processes in the default group."""
    _require_initialized("get_world_size", group)
    return runtime.world_size()


def _check_group(group, op):
    if group is not None:
        raise ArgumentError(f"{op}: only the default process group (group=None) exists")


def _require_initialized(op, group):
    _check_group(group, op)
    if not _state["initialized"]:
        raise ConfigError("Default process group has not been initialized, please make sure to "
                          "call init_process_group.")


class DistributedDataParallel(ddp.DistributedDataParallel):
    """PyTorch's DistributedDataParallel constructor over chainrule's: CPU modules only
    (``device_ids`` None), the default process group, and rank 0's buffers broadcast before
    each forward that records a graph (``broadcast_buffers``, PyTorch's default). Options
    about GPU memory and graph capture are accepted with their defaults. Unlike
    ``chainrule.distributed.DistributedDataParallel`` (whose state_dict is the wrapped
    module's), the state_dict keys carry PyTorch's ``module.`` prefix.

    >>> import chainrule
    >>> model = chainrule.nn.parallel.DistributedDataParallel(chainrule.nn.Linear(2, 1))
    >>> list(model.state_dict())
    ['module.weight', 'module.bias']
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, init_sync=True, process_group=None,
                 bucket_cap_mb=None, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False):
        if device_ids or output_device is not None:
            raise ArgumentError("DistributedDataParallel: device_ids and output_device are for "
                                "GPU modules; chainrule runs on CPUs, one process per rank: "
                                "leave them None")
        for name, value in (("process_group", process_group), ("device_mesh", device_mesh),
                            ("mixed_precision", mixed_precision),
                            ("delay_all_reduce_named_params", delay_all_reduce_named_params),
                            ("param_to_hook_all_reduce", param_to_hook_all_reduce)):
            if value is not None:
                raise ArgumentError(f"DistributedDataParallel: {name} is not supported; leave "
                                    "it None")
        super().__init__(module, bucket_cap_mb)
        self.broadcast_buffers, self.dim = broadcast_buffers, dim
        self.find_unused_parameters = find_unused_parameters

    state_dict = Module.state_dict                  # PyTorch's keys: module.<name>
    load_state_dict = Module.load_state_dict

    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and is_grad_enabled() and runtime.world_size() > 1:
            for buffer in self.module.buffers():
                runtime.broadcast(buffer, 0)
        return self.module(*args, **kwargs)
