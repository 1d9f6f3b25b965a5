"""Optimizer: the base of every update rule (param_groups, state, zero_grad, step).

An update rule subclasses :class:`Optimizer` and writes ``update(param, grad, group, state)``
on raw arrays; the base class runs it under ``no_grad`` for every parameter that has a
gradient, writing into the parameter's array in place (no new allocations per step).
"""
import warnings

import numpy

from .. import backend, backend_helpers
from ..autograd.grad_mode import enable_grad, no_grad
from ..errors import ArgumentError, ArgumentTypeError, ConfigError
from ..tensor import Tensor


class Optimizer:
    """Base class. ``params`` is an iterable of tensors or of dicts (param groups).

    >>> import chainrule
    >>> w = chainrule.tensor([1.0], requires_grad=True)
    >>> opt = chainrule.optim.SGD([w], lr=0.1)
    >>> (w * 2).sum().backward(); opt.step()
    >>> round(w.item(), 6)
    0.8
    """

    #: True for optimizers whose closure must return the loss *with* its graph, and not call
    #: backward itself (Newton differentiates the loss twice).
    closure_needs_graph = False

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        if hasattr(params, "named_parameters"):
            raise ArgumentTypeError(f"{type(self).__name__} needs the parameters, not the model: "
                                    f"pass model.parameters() instead of the "
                                    f"{type(params).__name__} itself")
        if isinstance(params, Tensor):
            raise ArgumentTypeError("params must be an iterable of tensors (e.g. model.parameters()), "
                                    "not a single tensor: wrap it in a list")
        params = list(params)
        if not params:
            raise ArgumentError(f"{type(self).__name__} got an empty parameter list: does the "
                                "model have parameters (and did you pass model.parameters())?")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)
        self._warned_no_grad = False

    def add_param_group(self, group):
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise ArgumentTypeError(f"{type(self).__name__}: parameters must be tensors, got "
                                        f"{type(p).__name__}")
            if not p.is_leaf:
                raise ArgumentError(f"{type(self).__name__}: can't optimize a non-leaf tensor "
                                    f"(shape {p.shape}); optimize the leaves it was computed from")
            if id(p) in seen:
                raise ArgumentError(f"{type(self).__name__}: a parameter appears in more than one "
                                    "param group")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        group["params"] = params
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: ``.grad = None`` (the default), or with ``set_to_none=False``
        zero each ``.grad`` in place, as PyTorch does (a recorded gradient, from
        create_graph, is replaced by a zero tensor instead)."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if set_to_none or grad is None:
                    if grad is not None:
                        p.grad = None
                elif grad.grad_fn is None and backend_helpers.is_writeable(grad._data):
                    grad._data[...] = 0
                    grad._bump_version()
                else:
                    p.grad = Tensor._make(backend.namespace_of(grad._data).zeros_like(
                        grad._data), None)

    def step(self, closure=None):
        """One update of every parameter with a gradient. ``closure`` re-evaluates the loss
        (calling backward) and its value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        any_grad = False
        with no_grad():
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    any_grad = True
                    self.update_group(params, group)
        if not any_grad and not self._warned_no_grad:
            self._warned_no_grad = True
            warnings.warn(f"{type(self).__name__}.step() found no gradients: call "
                          "loss.backward() before optimizer.step()", stacklevel=2)
        return loss

    def update_group(self, params, group):
        """Update ``params`` (the tensors of ``group`` that have a gradient) in place: by
        default ``update`` on each one's arrays and a version bump. A rule may override it
        to treat the whole list at once."""
        states = self.state
        update = self.update
        for p in params:
            state = states.get(p)
            if state is None:
                state = states[p] = {}
            update(p._data, p.grad._data, group, state)
            p._bump_version()

    def update(self, param, grad, group, state):
        raise NotImplementedError

    # ------------------------------------------------------------ state
    def _index(self):
        return {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}

    def state_dict(self):
        """{"state": {param index: {name: array or number}}, "param_groups": [...]} as PyTorch."""
        index = self._index()
        state = {}
        for p, values in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {k: (v.copy() if isinstance(v, numpy.ndarray) else v)
                                       for k, v in values.items()}
        groups = []
        for group in self.param_groups:
            entry = {k: v for k, v in group.items() if k != "params"}
            entry["params"] = [index[id(p)] for p in group["params"]]
            groups.append(entry)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ConfigError(f"{type(self).__name__}.load_state_dict: {len(groups)} param "
                              f"groups saved, {len(self.param_groups)} here")
        params = [p for g in self.param_groups for p in g["params"]]
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ConfigError(f"{type(self).__name__}.load_state_dict: a param group "
                                  f"holds {len(saved['params'])} parameters in the saved "
                                  f"state but {len(group['params'])} here")
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for key, values in state_dict["state"].items():
            p = params[int(key)]
            restored = {}
            for name, value in values.items():
                if isinstance(value, Tensor):
                    value = value._data
                if isinstance(value, numpy.ndarray):
                    if value.shape == p.shape:
                        value = value.astype(p._data.dtype, copy=True)
                    else:
                        value = value.copy()
                restored[name] = value
            self.state[p] = restored

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"
