"""Containers: Sequential, ModuleList, ModuleDict; and the rearranging layers Unflatten (the
inverse of Flatten) and ChannelShuffle."""
from collections import OrderedDict

from . import functional as F
from .module import Module
from ..errors import ArgumentTypeError


class Sequential(Module):
    """Apply modules in order; children are named 0, 1, 2, ... (or by an OrderedDict).

    >>> import chainrule.nn as nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                if not isinstance(module, Module):
                    raise ArgumentTypeError(f"Sequential: item {i} is a {type(module).__name__}, "
                                            "not a Module")
                self.add_module(str(i), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered.

    >>> import chainrule.nn as nn
    >>> layers = ModuleList([nn.Linear(2, 2), nn.Linear(2, 1)])
    >>> len(list(layers.parameters()))
    4
    """

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        return ModuleList(modules[index]) if isinstance(index, slice) else modules[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules whose parameters are registered.

    >>> import chainrule.nn as nn
    >>> heads = ModuleDict({"a": nn.Linear(2, 1)})
    >>> [name for name, _ in heads.named_parameters()]
    ['a.weight', 'a.bias']
    """

    def __init__(self, modules=None):
        super().__init__()
        for name, module in (modules or {}).items():
            self[name] = module

    def __setitem__(self, name, module):
        self.add_module(name, module)

    def __getitem__(self, name):
        return self._modules[name]

    def __contains__(self, name):
        return name in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


class Unflatten(Module):
    """Expand dimension ``dim`` into ``unflattened_size`` (one entry may be -1): the inverse
    of Flatten.

    >>> import chainrule
    >>> Unflatten(1, (2, 3))(chainrule.zeros(4, 6)).shape
    (4, 2, 3)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if isinstance(dim, str):
            raise ArgumentTypeError("Unflatten: named dimensions are not supported; give dim as "
                                    "an int")
        if not isinstance(unflattened_size, (tuple, list)) or \
                not all(isinstance(size, int) for size in unflattened_size):
            raise ArgumentTypeError(f"Unflatten: unflattened_size must be a tuple of ints, got "
                                    f"{unflattened_size!r}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class ChannelShuffle(Module):
    """Interleave the channels of (N, C, ...) input from ``groups`` groups (ShuffleNet).

    >>> import chainrule
    >>> ChannelShuffle(2)(chainrule.arange(4.0).reshape(1, 4, 1)).flatten().tolist()
    [0.0, 2.0, 1.0, 3.0]
    """

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"
