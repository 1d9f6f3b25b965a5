"""``chainrule.nn.parallel``: PyTorch's data-parallel wrappers.

There are no GPUs to spread a batch over, so ``DataParallel`` runs its module as PyTorch's
does on a machine without them: directly, keeping it as ``.module`` (state_dict keys get the
``module.`` prefix). ``DistributedDataParallel`` is chainrule's MPI data parallelism
(:mod:`chainrule.distributed`) under PyTorch's name and constructor; the distributed package
installs it here when it loads, as it builds on this package (and loads on first use of the
name: ``import chainrule`` loads neither package until asked).
"""
import importlib

from ..errors import ArgumentError
from .module import Module


class DataParallel(Module):
    """Run ``module`` on the batch as it is (no devices to scatter it to), as PyTorch's
    DataParallel without GPUs; ``device_ids`` and ``output_device`` are accepted and unused.

    >>> import chainrule
    >>> model = DataParallel(chainrule.nn.Linear(2, 1))
    >>> model(chainrule.ones(3, 2)).shape, list(model.state_dict())
    ((3, 1), ['module.weight', 'module.bias'])
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise ArgumentError(f"DataParallel: expected a Module, got {type(module).__name__}")
        self.module = module
        self.device_ids, self.output_device, self.dim = [], None, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """The functional DataParallel: ``module(*inputs, **module_kwargs)`` (no devices).

    >>> import chainrule
    >>> data_parallel(chainrule.nn.Identity(), chainrule.ones(2)).tolist()
    [1.0, 1.0]
    """
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))


def __getattr__(attribute):
    """``DistributedDataParallel``: loading chainrule.distributed installs it in this module."""
    if attribute == "DistributedDataParallel":
        importlib.import_module("chainrule.distributed")
        return globals()[attribute]
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")
