"""Parametrizations, as PyTorch's ``torch.nn.utils.parametrize``: a module's tensor (say
``weight``) becomes a function of other tensors, recomputed at every access.

``register_parametrization(module, "weight", P())`` moves the weight's value into
``module.parametrizations.weight.original`` (or ``original0``, ``original1``, ... when
``P.right_inverse`` returns several tensors) and gives the module a class of its own,
``Parametrized<Class>``, whose ``weight`` is a property returning ``P(*originals)``. The
state_dict keys are PyTorch's, so parametrized weights load both ways. Assigning
``module.weight = value`` stores ``P.right_inverse(value)`` in the originals.

>>> import chainrule
>>> class Symmetric(chainrule.nn.Module):
...     def forward(self, x):
...         return x.triu() + x.triu(1).transpose(0, 1)
>>> layer = register_parametrization(chainrule.nn.Linear(3, 3), "weight", Symmetric())
>>> w = layer.weight
>>> bool((w == w.T).all()), type(layer).__name__
(True, 'ParametrizedLinear')
"""
from ...autograd.grad_mode import no_grad
from ...errors import ArgumentError, ShapeError
from ...tensor import Tensor
from ..container import ModuleDict, ModuleList
from ..module import Module
from ..parameter import Parameter


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, with the original tensor(s)
    they are computed from (``original``, or ``original0``, ``original1``, ...)."""

    def __init__(self, modules, original, unsafe=False):
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = _right_inverse(self, original)
        self.is_tensor = isinstance(new, Tensor)
        if self.is_tensor:
            if new.dtype != original.dtype:
                raise ArgumentError("register_parametrization: when right_inverse returns one "
                                    "tensor, it may not change the dtype")
            with no_grad():
                original.copy_(new)           # the same Parameter object: optimizers keep it
            _register(self, "original", original, original)
        else:
            for i, value in enumerate(new):
                _register(self, f"original{i}", value, original)
        self.ntensors = 1 if self.is_tensor else len(new)
        if not unsafe:
            _check_consistent(self, original)

    def originals(self):
        if self.is_tensor:
            return [self.original]
        return [getattr(self, f"original{i}") for i in range(self.ntensors)]

    def right_inverse(self, value):
        """Store ``value`` in the originals (through each right_inverse, last to first)."""
        with no_grad():
            new = _right_inverse(self, value)
            if self.is_tensor:
                self.original.copy_(new)
            else:
                if len(new) != self.ntensors:
                    raise ArgumentError(f"right_inverse returned {len(new)} tensors, expected "
                                        f"{self.ntensors}")
                for target, part in zip(self.originals(), new):
                    target.copy_(part)

    def forward(self):
        modules = list(self)
        x = modules[0](*self.originals())
        for module in modules[1:]:
            x = module(x)
        return x


def _right_inverse(parametrizations, value):
    for module in reversed(list(parametrizations)):
        inverse = getattr(module, "right_inverse", None)
        if inverse is not None:
            value = inverse(value)
    return value


def _register(holder, name, value, like):
    """A Parameter when the tensor being parametrized was one (same requires_grad), else a
    buffer."""
    if isinstance(like, Parameter):
        if not isinstance(value, Parameter):
            value = Parameter(Tensor._make(value.detach()._data.copy(), None),
                              requires_grad=like.requires_grad)
        setattr(holder, name, value)
    else:
        holder.register_buffer(name, value)


def _check_consistent(parametrizations, original):
    value = parametrizations()
    if value.shape != original.shape or value.dtype != original.dtype:
        raise ShapeError(f"register_parametrization: the parametrization turns a tensor of "
                         f"shape {original.shape} ({original.dtype}) into one of shape "
                         f"{value.shape} ({value.dtype}); pass unsafe=True if that is meant")


def _parametrized_class(cls):
    """A subclass of the module's own class, made for this one module (its parametrized
    tensors are properties of it, so other instances are not touched), as PyTorch's."""
    return type(f"Parametrized{cls.__name__}", (cls,),
                {"__setattr__": _setattr, "_original_class": cls})


def _setattr(module, name, value):
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if parametrizations is not None and name in parametrizations:
        parametrizations[name].right_inverse(value)
    else:
        Module.__setattr__(module, name, value)


def _property(name):
    def get(module):
        return module.parametrizations[name]()
    return property(get, doc=f"``{name}``, computed from module.parametrizations.{name}")


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` the output of ``parametrization`` (a Module) applied to
    the tensor's original value, kept in ``module.parametrizations.<tensor_name>``. A second
    registration on the same name applies after the first. Returns the module.

    >>> import chainrule
    >>> class Double(chainrule.nn.Module):
    ...     def forward(self, x):
    ...         return x * 2
    >>> layer = register_parametrization(chainrule.nn.Linear(2, 1), "bias", Double())
    >>> sorted(layer.state_dict())
    ['parametrizations.bias.original', 'weight']
    """
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        if not unsafe:
            _check_consistent(module.parametrizations[tensor_name], getattr(module, tensor_name))
        return module
    original = module._parameters.get(tensor_name, module._buffers.get(tensor_name))
    if original is None:
        raise ArgumentError(f"register_parametrization: module {type(module).__name__} has no "
                            f"parameter or buffer named {tensor_name!r}")
    if not is_parametrized(module):
        object.__setattr__(module, "__class__", _parametrized_class(type(module)))
        Module.__setattr__(module, "parametrizations", ModuleDict())
    delattr(module, tensor_name)
    module.parametrizations[tensor_name] = ParametrizationList([parametrization], original,
                                                               unsafe)
    setattr(type(module), tensor_name, _property(tensor_name))
    return module


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` (or its ``tensor_name``) has a parametrization.

    >>> import chainrule
    >>> is_parametrized(chainrule.nn.Linear(2, 2))
    False
    """
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict) or \
            not hasattr(type(module), "_original_class"):
        return False
    return bool(len(parametrizations)) if tensor_name is None else \
        tensor_name in parametrizations


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo the parametrizations of ``tensor_name``: it becomes a plain parameter again,
    holding its current (parametrized) value, or the original with
    ``leave_parametrized=False``. Returns the module.

    >>> import chainrule
    >>> class Double(chainrule.nn.Module):
    ...     def forward(self, x):
    ...         return x * 2
    >>> layer = register_parametrization(chainrule.nn.Linear(2, 1), "bias", Double())
    >>> type(remove_parametrizations(layer, "bias")).__name__
    'Linear'
    """
    if not is_parametrized(module, tensor_name):
        raise ArgumentError(f"remove_parametrizations: module {type(module).__name__} has no "
                            f"parametrization on {tensor_name!r}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                value = parametrizations()
                original.copy_(value)
    else:
        if not leave_parametrized:
            raise ArgumentError("remove_parametrizations: leave_parametrized=False needs a "
                                "parametrization whose right_inverse returns one tensor")
        with no_grad():
            value = parametrizations()
        like = parametrizations.original0
        original = Parameter(Tensor._make(value._data.copy(), None),
                             requires_grad=like.requires_grad) if isinstance(like, Parameter) \
            else value
    cls = type(module)
    delattr(cls, tensor_name)
    del module.parametrizations._modules[tensor_name]
    if isinstance(original, Parameter):
        Module.__setattr__(module, tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    if not len(module.parametrizations):
        delattr(module, "parametrizations")
        object.__setattr__(module, "__class__", cls._original_class)
    return module


def type_before_parametrizations(module):
    """The module's class before any parametrization was registered.

    >>> import chainrule
    >>> type_before_parametrizations(chainrule.nn.Linear(1, 1)).__name__
    'Linear'
    """
    return getattr(type(module), "_original_class", type(module))
