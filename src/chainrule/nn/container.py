"""Containers: Sequential, ModuleList, ModuleDict; and the rearranging layers Unflatten (the
inverse of Flatten) and ChannelShuffle."""
from collections import OrderedDict

from . import functional as F
from .activation import ReLU
from .conv import Conv1d, Conv2d
from .linear import Linear
from .module import Module
from ..errors import ArgumentTypeError


class Sequential(Module):
    """Apply modules in order; children are named 0, 1, 2, ... (or by an OrderedDict).

    A Linear, Conv1d or Conv2d followed by a ReLU (neither with forward hooks) runs as one
    node (LinearReLU, ConvReLU): the same values and gradients, one pass and one array fewer
    (docs/pytorch.md).

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
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            module = modules[i]
            if i + 1 < len(modules) and _runs_with_relu(module, modules[i + 1]):
                x = module.forward_relu(x)    # one node: nothing else sees the layer's output
                i += 2
            else:
                x = module(x)
                i += 1
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


#: the layers whose forward_relu runs them and a following ReLU as one node
_WITH_RELU = (Linear, Conv1d, Conv2d)


def _runs_with_relu(first, second):
    """Whether ``first`` then ``second`` can run as one node (LinearReLU, ConvReLU): exactly
    a Linear, Conv1d or Conv2d and a ReLU (not subclasses, which may compute something
    else), with no forward hooks to see the layer's output or the ReLU's input."""
    return type(first) in _WITH_RELU and type(second) is ReLU and \
        not first.__dict__.get("_forward_hooks") and not second.__dict__.get("_forward_hooks")


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


# ================================================================ issue 19: vocabulary gaps
# ParameterList and ParameterDict, with PyTorch's registration, names and repr
from ..errors import ArgumentError, IndexOutOfRangeError  # noqa: E402
from ..tensor import Tensor  # noqa: E402
from .parameter import Parameter  # noqa: E402


def _as_parameter(value):
    """A tensor is registered as a Parameter (PyTorch wraps plain tensors); other objects
    are kept as they are, unregistered."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value.detach())
    return value


def _assign(module, name, value):
    """``setattr`` that keeps a replaced parameter's place in the registry (PyTorch's
    state_dict order)."""
    if isinstance(value, Parameter) and name in module._parameters:
        module._parameters[name] = value
    else:
        setattr(module, name, value)


def _describe(value):
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(n) for n in value.shape)
        device = f" ({value.device})" if value.is_cuda else ""
        return kind, size, device
    return None


def _container_repr(module, lines):
    """PyTorch's layout: ``Name()``, ``Name(<one line>)``, or one line per entry."""
    name = type(module).__name__
    if not lines:
        return name + "()"
    if len(lines) == 1:
        return f"{name}({lines[0]})"
    return name + "(\n  " + "\n  ".join(lines) + "\n)"


class ParameterList(Module):
    """A list of parameters, registered under the names "0", "1", ... (tensors are wrapped
    as Parameters; other objects are held, unregistered, as in PyTorch).

    >>> import chainrule
    >>> params = ParameterList([chainrule.zeros(2, 3), chainrule.zeros(3)])
    >>> [name for name, _ in params.named_parameters()]
    ['0', '1']
    >>> params
    ParameterList(
        (0): Parameter containing: [torch.float32 of size 2x3]
        (1): Parameter containing: [torch.float32 of size 3]
    )
    """

    def __init__(self, values=None):
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self += values

    def _index(self, index):
        if isinstance(index, bool) or not hasattr(index, "__index__"):
            raise ArgumentTypeError(f"ParameterList indices must be integers or slices, not "
                                    f"{type(index).__name__}")
        index = index.__index__()
        if not -self._size <= index < self._size:
            raise IndexOutOfRangeError(f"ParameterList: index {index} is out of range for a "
                                       f"list of {self._size}")
        return str(index % self._size)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ParameterList(list(self)[index])
        return getattr(self, self._index(index))

    def __setitem__(self, index, value):
        _assign(self, self._index(index), _as_parameter(value))

    def __len__(self):
        return self._size

    def __iter__(self):
        return iter(getattr(self, str(i)) for i in range(self._size))

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value):
        """Add one value at the end (a tensor becomes a registered Parameter)."""
        object.__setattr__(self, "_size", self._size + 1)
        setattr(self, str(self._size - 1), _as_parameter(value))
        return self

    def extend(self, values):
        """Append each of ``values`` (any iterable, not a lone tensor)."""
        if isinstance(values, Tensor) or not hasattr(values, "__iter__"):
            raise ArgumentTypeError(f"ParameterList.extend should be called with an iterable, "
                                    f"but got {type(values).__name__}")
        for value in values:
            self.append(value)
        return self

    def extra_repr(self):
        lines = []
        for i, value in enumerate(self):
            lines.append(f"  ({i}): " + _entry(value))
        return "\n".join(lines)

    def __repr__(self):
        text = self.extra_repr()
        return _container_repr(self, text.split("\n") if text else [])

    def __call__(self, *args, **kwargs):
        raise ArgumentError("ParameterList should not be called")


def _entry(value, legacy=False):
    described = _describe(value)
    if described is None:
        return f"Object of type: {type(value).__name__}"
    kind, size, device = described
    dtype = value.type() if legacy else f"torch.{value.dtype.name}"
    return f"{kind} containing: [{dtype} of size {size}{device}]"


class ParameterDict(Module):
    """A dict of parameters, registered under their (string) keys; a plain dict's entries
    are added in sorted key order, an OrderedDict's or ParameterDict's in their own (as in
    PyTorch).

    >>> import chainrule
    >>> params = ParameterDict({"w": chainrule.zeros(2), "b": chainrule.zeros(1)})
    >>> list(params.keys()), [name for name, _ in params.named_parameters()]
    (['b', 'w'], ['b', 'w'])
    """

    def __init__(self, parameters=None):
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    @staticmethod
    def _check_key(key):
        if not isinstance(key, str):
            raise ArgumentTypeError(f"Index given to ParameterDict cannot be used as a key as "
                                    f"it is not a string (type is '{type(key).__name__}')")

    def __getitem__(self, key):
        self._check_key(key)
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key, value):
        self._check_key(key)
        self._keys[key] = None
        _assign(self, key, _as_parameter(value))

    def __delitem__(self, key):
        self._check_key(key)
        del self._keys[key]
        delattr(self, key)

    def __contains__(self, key):
        return key in self._keys

    def __len__(self):
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(list(self._keys))

    def keys(self):
        return list(self._keys)

    def values(self):
        return [self[k] for k in self._keys]

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def get(self, key, default=None):
        return self[key] if key in self else default

    def pop(self, key):
        value = self[key]
        del self[key]
        return value

    def popitem(self):
        key = next(reversed(self._keys))
        return key, self.pop(key)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self):
        for key in list(self._keys):
            del self[key]

    def copy(self):
        return ParameterDict(OrderedDict(self.items()))

    def fromkeys(self, keys, default=None):
        return ParameterDict(OrderedDict((k, default) for k in keys))

    def update(self, values):
        """Add or replace entries from a mapping or an iterable of (key, value) pairs."""
        if isinstance(values, (OrderedDict, ParameterDict)):
            pairs = list(values.items())
        elif isinstance(values, dict):
            pairs = sorted(values.items())
        elif hasattr(values, "__iter__") and not isinstance(values, (str, Tensor)):
            pairs = []
            for j, pair in enumerate(values):
                if not hasattr(pair, "__len__") or len(pair) != 2:
                    raise ArgumentError(f"ParameterDict update sequence element #{j} should "
                                        "be a (key, value) pair")
                pairs.append(tuple(pair))
        else:
            raise ArgumentTypeError(f"ParametersDict.update should be called with an iterable "
                                    f"of key/value pairs, but got {type(values).__name__}")
        for key, value in pairs:
            self[key] = value
        return None

    def __or__(self, other):
        merged = self.copy()
        merged.update(other)
        return merged

    def __ior__(self, other):
        self.update(other)
        return self

    def extra_repr(self):
        return "\n".join(f"  ({k}): " + _entry(v, legacy=True) for k, v in self.items())

    def __repr__(self):
        text = self.extra_repr()
        return _container_repr(self, text.split("\n") if text else [])

    def __call__(self, *args, **kwargs):
        raise ArgumentError("ParameterDict should not be called")
