"""Module: the base class of every layer and model.

Assigning a Parameter, a Module or a buffer to an attribute registers it, so
``parameters()``, ``state_dict()`` and ``train()/eval()`` find it without any bookkeeping
by the user — exactly as in PyTorch.

>>> import chainrule
>>> class Line(chainrule.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.w0 = chainrule.nn.Parameter(chainrule.zeros(1))
...         self.w1 = chainrule.nn.Parameter(chainrule.zeros(1))
...     def forward(self, x):
...         return self.w0 + self.w1 * x
>>> [name for name, _ in Line().named_parameters()]
['w0', 'w1']
"""
import warnings
from collections import OrderedDict, namedtuple

import numpy

from .. import _html
from .. import backend
from ..autograd.grad_mode import is_grad_enabled
from ..device import check_usable, device as _device, move_array, parse_to, same_place
from ..dtypes import LEGACY_DTYPES, as_dtype, channels_last, laid_out
from ..errors import ArgumentError, DTypeError, ShapeError
from ..tensor import Tensor
from .parameter import Parameter


class Module:
    """Base class for layers and models: subclass it and write ``forward``.

    >>> import chainrule
    >>> model = chainrule.nn.Sequential(chainrule.nn.Linear(2, 1))
    >>> model.eval().training
    False
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("call super().__init__() at the start of your Module's "
                                 "__init__, before assigning attributes")
        _check_replacement(self, name, value)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter) or (value is None and name in self._parameters):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        # (only names not in the instance dict get here: parameters, buffers, submodules;
        # a layer's forward reads its weight this way on every call)
        state = self.__dict__
        parameters = state.get("_parameters")
        if parameters is not None and name in parameters:
            return parameters[name]
        for registry in ("_buffers", "_modules"):
            values = state.get(registry)
            if values is not None and name in values:
                return values[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor):
        """A tensor that is part of the state (saved, loaded) but not trained, e.g. running means."""
        names = self.__dict__.setdefault("_buffer_names", set())
        names.add(name)
        self._buffers[name] = tensor
        self.__dict__.pop(name, None)

    def register_parameter(self, name, param):
        if param is None:
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name, module):
        self._modules[str(name)] = module

    # ------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], numpy.ndarray):     # accept arrays, as PyTorch users
            args = (Tensor(args[0]),) + args[1:]            # expect of their data
        output = self.forward(*args, **kwargs)
        hooks = self.__dict__.get("_forward_hooks")
        if hooks:
            for hook in list(hooks.values()):
                result = hook(self, args, output)
                if result is not None:
                    output = result
        return output

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward; returns a handle with
        ``remove()``. A returned value replaces the output."""
        hooks = self.__dict__.setdefault("_forward_hooks", {})
        key = max(hooks, default=-1) + 1
        hooks[key] = hook
        return _RemovableHandle(hooks, key)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix="", memo=None):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named(self, registry, prefix, recurse):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        yield from self._named("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        yield from self._named("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only=False):
        return sum(p.numel() for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------ modes
    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor._make(backend.namespace_of(p.grad._data).zeros_like(
                    p.grad._data), None)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs):
        """Move and/or cast every parameter and buffer in place (the Parameter objects stay
        the same, so an optimizer made before keeps working), as PyTorch's ``Module.to``:
        ``to(device)``, ``to(dtype)`` (floating ones only), ``to(device, dtype)``,
        ``to(tensor)``, ``to(memory_format=chainrule.channels_last)``.

        >>> import chainrule
        >>> model = chainrule.nn.Linear(2, 1)
        >>> model.to("cpu") is model, model.to(chainrule.float64).weight.dtype
        (True, dtype('float64'))
        """
        target, dtype, _, _, fmt = parse_to(args, kwargs, "Module.to")
        if dtype is not None and not backend.is_floating(dtype):
            raise DTypeError(f"Module.to only accepts floating point dtypes, but got desired "
                             f"dtype={dtype}")
        check_usable(target)
        layout = fmt if fmt is channels_last else None
        return self._convert(lambda array: array if not backend.is_floating(array.dtype)
                             else backend.namespace_of(array).astype(array, dtype),
                             dtype is not None, target, layout)

    def _convert(self, cast, casting, target, layout=None):
        """Apply ``cast`` to the arrays of every parameter, gradient and buffer (when
        ``casting``), then move them to ``target`` (when given)."""
        for t in list(self.parameters()) + list(self.buffers()):
            for holder in (t, t.grad):
                if holder is None:
                    continue
                array = cast(holder._data) if casting else holder._data
                if target is not None and not same_place(array, target):
                    array = move_array(array, target)
                if layout is not None and array.ndim == 4:
                    array = laid_out(array, layout)
                if array is not holder._data:
                    holder._data = array
        return self

    def cuda(self, device=None):
        """Move every parameter and buffer to the GPU (needs CuPy and a GPU)."""
        target = _device("cuda") if device is None else _device(device)
        if target.type != "cuda":
            raise ArgumentError(f"Module.cuda: expected a CUDA device, got {target}")
        return self.to(target)

    def cpu(self):
        return self.to("cpu")

    def float(self):
        return self.to(numpy.float32)

    def double(self):
        return self.to(numpy.float64)

    def half(self):
        return self.to(numpy.float16)

    def bfloat16(self):
        return self.to(backend.bfloat16)

    def type(self, dst_type):
        """Cast every parameter and buffer, integer ones too, to ``dst_type`` (a dtype or a
        legacy type such as ``chainrule.DoubleTensor``), as PyTorch's ``Module.type``."""
        name = getattr(dst_type, "__name__", dst_type) if not isinstance(dst_type, str) \
            else dst_type
        short = name.rpartition(".")[2] if isinstance(name, str) else None
        dtype = LEGACY_DTYPES[short] if short in LEGACY_DTYPES else as_dtype(dst_type,
                                                                              "Module.type")
        return self._convert(lambda array: array.astype(dtype), True, None)

    # ------------------------------------------------------------ state
    def state_dict(self):
        """Parameters and buffers by PyTorch-style dotted names (``0.weight``, ``layers.1.bias``)."""
        return OrderedDict((name, value.detach()) for name, value in self._state_tensors())

    def _state_tensors(self):
        """(name, tensor) of every parameter and buffer under each name it has: a tensor
        shared by two modules (tied weights) appears under both, as in PyTorch."""
        for prefix, module in self.named_modules():
            for registry in (module._parameters, module._buffers):
                for name, value in registry.items():
                    if value is not None:
                        yield (f"{prefix}.{name}" if prefix else name), value

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into this module's tensors. With ``strict``, any missing, unexpected
        or mis-shaped key is an error that lists them by name."""
        own = dict(self._state_tensors())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                shape = tuple(value.shape)
                if shape != target.shape:
                    mismatched.append(f"{key}: checkpoint {shape} vs model {target.shape}")
        problems = []
        if mismatched:
            problems.append("mis-shaped keys: " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise ShapeError(f"load_state_dict into {type(self).__name__}: " + " | ".join(problems))
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                xp = backend.namespace_of(target._data)
                array = value._data if isinstance(value, Tensor) else value
                target._data[...] = xp.astype(xp.asarray(array), target._data.dtype, copy=False)
                target._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing
    def warn_if_eval_while_recording(self, x):
        """Dropout and BatchNorm behave differently in eval mode: if one is in eval mode while
        a graph is being recorded, the user has probably forgotten model.train() (warned once)."""
        if self.training or getattr(self, "_warned_eval", False):
            return
        if is_grad_enabled() and (getattr(x, "requires_grad", False) or
                                  any(p.requires_grad for p in self.parameters())):
            object.__setattr__(self, "_warned_eval", True)
            warnings.warn(f"{type(self).__name__} is in eval mode while gradients are being "
                          "recorded: if you are training, call model.train() first; if you are "
                          "evaluating, wrap it in chainrule.no_grad()", stacklevel=3)

    def extra_repr(self):
        return ""

    def _repr_html_(self):
        """Jupyter's view: the layers that hold parameters (or have no sub-layers), their
        settings, parameter shapes and counts, and the totals.

        >>> import chainrule
        >>> "total parameters: 3" in chainrule.nn.Linear(2, 1)._repr_html_()
        True
        """
        rows = []
        for name, module in self.named_modules():
            own = [(n, p) for n, p in module._parameters.items() if p is not None]
            if own or not module._modules:
                shapes = ", ".join(f"{n} {tuple(p.shape)}" for n, p in own)
                rows.append([name or "(self)", type(module).__name__, module.extra_repr(),
                             shapes, f"{sum(p.numel() for _, p in own):,}"])
        total, trainable = self.num_parameters(), self.num_parameters(trainable_only=True)
        mode = "training" if self.training else "eval"
        return _html.table(["layer", "type", "settings", "parameters", "count"], rows,
                           caption=f"{type(self).__name__} ({mode} mode)",
                           footer=f"total parameters: {total:,} ({trainable:,} trainable)")

    def __repr__(self):
        lines = []
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns, as PyTorch's named tuple of the same name."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def on_device(module, device):
    """``module`` with its parameters and buffers on ``device`` (None leaves them where they
    were made): the ``device=`` argument of the layers, as PyTorch's factory keyword.

    >>> import chainrule
    >>> on_device(chainrule.nn.Linear(2, 1), "cpu").weight.device
    device(type='cpu')
    """
    return module if device is None else module.to(device)


def _check_replacement(module, name, value):
    """PyTorch's rule: a registered parameter can only be replaced by a Parameter or None
    (``m.weight = m.weight * 2`` would otherwise silently stop training it)."""
    if name in module._parameters and not (value is None or isinstance(value, Parameter)):
        raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                        "(chainrule.nn.Parameter or None expected); to change its values use "
                        f"'with chainrule.no_grad(): module.{name}.copy_(...)'")
    if name in module._modules and not (value is None or isinstance(value, Module)):
        raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                        "(chainrule.nn.Module or None expected)")
    if name in module._buffers and not (value is None or isinstance(value, Tensor)):
        raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                        "(a Tensor or None expected)")


class _RemovableHandle:
    def __init__(self, hooks, key):
        self.hooks, self.key = hooks, key

    def remove(self):
        self.hooks.pop(self.key, None)
