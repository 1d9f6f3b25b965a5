"""The deprecated weight normalisation of PyTorch's ``torch.nn.utils.weight_norm``: the
weight becomes ``weight_g * weight_v / ||weight_v||`` with ``weight_g`` and ``weight_v``
parameters of the module itself (state_dict keys ``weight_g``, ``weight_v``), recomputed at
each read. New code should use :func:`chainrule.nn.utils.parametrizations.weight_norm`.

>>> import warnings, chainrule
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     layer = weight_norm(chainrule.nn.Linear(3, 2))
>>> list(layer.state_dict()), type(layer).__name__
(['bias', 'weight_g', 'weight_v'], 'Linear')
"""
import warnings

from ...errors import ArgumentError, GraphError
from ...tensor import Tensor
from ..parameter import Parameter
from .parametrizations import norm_except_dim


def _normalized(module, name):
    g, v = getattr(module, name + "_g"), getattr(module, name + "_v")
    return v * (g / norm_except_dim(v, 2, module._weight_norm_dims[name]))


def _property(name):
    return property(lambda module: _normalized(module, name),
                    doc=f"``{name}`` = {name}_g * {name}_v / ||{name}_v||")


def weight_norm(module, name="weight", dim=0):
    """Split ``module.<name>`` into a magnitude ``<name>_g`` (norms over every dimension but
    ``dim``; one norm with ``dim=None``) and a direction ``<name>_v``. Deprecated, as in
    PyTorch. Returns the module."""
    warnings.warn("`chainrule.nn.utils.weight_norm` is deprecated in favor of "
                  "`chainrule.nn.utils.parametrizations.weight_norm`.", FutureWarning,
                  stacklevel=2)
    dims = module.__dict__.get("_weight_norm_dims", {})
    if name in dims:
        raise GraphError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    weight = module._parameters.get(name)
    if not isinstance(weight, Tensor):
        raise ArgumentError(f"weight_norm: module {type(module).__name__} has no parameter "
                            f"{name!r}")
    dim = -1 if dim is None else (dim + weight.ndim if dim < -1 else dim)
    if "_weight_norm_dims" not in module.__dict__:
        cls = type(module)
        object.__setattr__(module, "__class__", type(cls.__name__, (cls,),
                                                     {"_before_weight_norm": cls}))
        object.__setattr__(module, "_weight_norm_dims", dims)
    del module._parameters[name]
    magnitude = norm_except_dim(weight, 2, dim).detach()
    module.register_parameter(name + "_g", Parameter(Tensor._make(magnitude._data.copy(), None)))
    module.register_parameter(name + "_v", Parameter(Tensor._make(weight._data, None)))
    dims[name] = dim
    setattr(type(module), name, _property(name))
    return module


def remove_weight_norm(module, name="weight"):
    """Undo :func:`weight_norm`: ``<name>`` is a parameter again, with its current value.

    >>> import warnings, chainrule
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     layer = remove_weight_norm(weight_norm(chainrule.nn.Linear(3, 2)))
    >>> list(layer.state_dict()), type(layer) is chainrule.nn.Linear
    (['bias', 'weight'], True)
    """
    dims = module.__dict__.get("_weight_norm_dims", {})
    if name not in dims:
        raise ArgumentError(f"weight_norm of {name!r} not found in {type(module).__name__}")
    value = _normalized(module, name).detach()
    cls = type(module)
    delattr(cls, name)
    del dims[name]
    del module._parameters[name + "_g"], module._parameters[name + "_v"]
    module.register_parameter(name, Parameter(Tensor._make(value._data.copy(), None)))
    if not dims:
        object.__setattr__(module, "__class__", cls._before_weight_norm)
        del module.__dict__["_weight_norm_dims"]
    return module
