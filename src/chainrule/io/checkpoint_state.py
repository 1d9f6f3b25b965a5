"""Checking the training state inside a checkpoint before any of it is loaded.

A checkpoint's optimizer, scheduler, data-loader, RNG and History state is untrusted data.
Each ``check_*`` function compares the saved state with the object it is meant for — the
keys it has, the types of its hyper-parameters, the shapes and dtypes of its per-parameter
arrays, the number of param groups — and returns a clean copy ready for ``load_state_dict``,
or raises a :class:`CheckpointError` naming the file and the field. Nothing is changed
until every part has passed, so a failed load leaves the model and optimizer as they were.

>>> import chainrule
>>> opt = chainrule.optim.SGD(chainrule.nn.Linear(2, 1).parameters(), lr=0.1)
>>> saved = opt.state_dict()
>>> saved["state"] = {-1: {"momentum_buffer": None}}
>>> check_optimizer("c.safetensors", opt, saved, "SGD")
Traceback (most recent call last):
...
chainrule.errors.CheckpointError: c.safetensors: optimizer state key -1 names no parameter
(the optimizer has 2, numbered 0 to 1)
"""
import inspect
import math
import numbers
import re

import numpy

from ..errors import CheckpointError
from ..generator import Generator
from ..optim import OPTIMIZERS
from ..tensor import Tensor

# ---------------------------------------------------------------- values like a template


def like(value, template, where, finite=True):
    """``value`` checked to have the kind of ``template`` (recursively: same keys, same
    lengths, numbers for numbers, arrays of the same shape and dtype kind); tuples and lists
    become the template's kind. Numbers must be finite unless ``finite`` is False."""
    if isinstance(template, bool) or isinstance(template, numpy.bool_):
        if not isinstance(value, (bool, numpy.bool_)):
            _wrong(where, "true or false", value)
        return bool(value)
    if isinstance(template, numbers.Real):
        return real_number(value, where, finite)
    if isinstance(template, str):
        if not isinstance(value, str):
            _wrong(where, "a string", value)
        return value
    if template is None:
        if not (value is None or isinstance(value, (str, bool, numbers.Real))):
            _wrong(where, "a number, a string or null", value)
        return value
    if isinstance(template, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(template):
            _wrong(where, f"a list of {len(template)}", value)
        items = [like(v, t, f"{where}[{i}]", finite)
                 for i, (v, t) in enumerate(zip(value, template))]
        return tuple(items) if isinstance(template, tuple) else items
    if isinstance(template, dict):
        if not isinstance(value, dict):
            _wrong(where, "a mapping", value)
        same_keys(value, template, where)
        return {k: like(value[k], t, f"{where}[{k!r}]", finite) for k, t in template.items()}
    if isinstance(template, numpy.ndarray):
        if not isinstance(value, numpy.ndarray) or value.shape != template.shape or \
                value.dtype.kind != template.dtype.kind:
            _wrong(where, f"an array of shape {template.shape} and dtype {template.dtype}",
                   value)
        return value
    raise CheckpointError(f"{where}: cannot check a value like {type(template).__name__}")


def same_keys(value, template, where):
    """The keys of mapping ``value`` must be those of ``template``."""
    missing = [k for k in template if k not in value]
    unknown = [k for k in value if k not in template]
    if missing or unknown:
        _keys_do_not_fit(where, missing, unknown)


def _keys_do_not_fit(where, missing, unknown):
    parts = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + \
            ([f"unknown {', '.join(map(repr, unknown[:5]))}"] if unknown else [])
    raise CheckpointError(f"{where}: keys do not fit ({'; '.join(parts)})")


def real_number(value, where, finite=True):
    """A real (non-bool) number; finite unless ``finite`` is False."""
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, numbers.Real):
        _wrong(where, "a number", value)
    if finite and not math.isfinite(value):
        _wrong(where, "a finite number", value)
    return value


def count(value, where, low=0):
    """An integer >= ``low`` (a step or epoch counter)."""
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, numbers.Integral) \
            or value < low:
        _wrong(where, f"an integer >= {low}", value)
    return int(value)


def _wrong(where, expected, value):
    raise CheckpointError(f"{where}: expected {expected}, got {_describe(value)}")


def _describe(value):
    if isinstance(value, numpy.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:60] + '...'}"


# ---------------------------------------------------------------- optimizers

#: options a learning-rate schedule adds to its optimizer's param groups
SCHEDULER_OPTIONS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")

#: per-parameter arrays the built-in update rules keep: same shape as the parameter
MOMENTS = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq", "exp_inf", "momentum_buffer",
           "square_avg", "grad_avg", "sum"}
#: those of them that hold magnitudes (a negative one would make the next step NaN)
MAGNITUDES = {"exp_avg_sq", "max_exp_avg_sq", "exp_inf", "square_avg", "sum"}
_BUILT_IN = tuple(OPTIMIZERS.values())


def _state_keys(name, group):
    """(required, allowed) per-parameter state keys of a built-in optimizer, else None."""
    if name in ("Adam", "AdamW"):
        required = {"step", "exp_avg", "exp_avg_sq"} | (
            {"max_exp_avg_sq"} if group.get("amsgrad") else set())
        return required, required | {"max_exp_avg_sq"}
    if name == "Adamax":
        return {"step", "exp_avg", "exp_inf"}, {"step", "exp_avg", "exp_inf"}
    if name == "RMSprop":
        required = {"step", "square_avg"} | (
            {"momentum_buffer"} if group.get("momentum") else set()) | (
            {"grad_avg"} if group.get("centered") else set())
        return required, required | {"momentum_buffer", "grad_avg"}
    if name == "Adagrad":
        return {"step", "sum"}, {"step", "sum"}
    if name in ("SGD", "GD"):
        return set(), {"momentum_buffer"}
    return None


_INTEGER = re.compile(r"^[+-]?[0-9]{1,18}$")

#: optimizers that keep one state for all parameters, on the first one
_WHOLE_MODEL_STATE = {
    "LBFGS": ({"func_evals", "n_iter"}, {"func_evals", "n_iter", "d", "t", "old_dirs",
                                          "old_stps", "ro", "H_diag", "prev_flat_grad",
                                          "prev_loss"}),
    "Newton": ({"damping", "n_iter"}, {"damping", "n_iter", "last_step"}),
}


def check_optimizer(path, optimizer, saved, saved_class=None):
    """A copy of the saved optimizer state_dict that ``optimizer.load_state_dict`` can take
    without failing or changing anything on the way; CheckpointError otherwise."""
    name = type(optimizer).__name__
    where = f"{path}: optimizer state"
    if saved_class is not None and saved_class != name:
        raise CheckpointError(f"{path}: the checkpoint holds the state of a {saved_class} "
                              f"optimizer, but the optimizer here is a {name}: resume with "
                              f"{saved_class}, or start a new run")
    if not isinstance(saved, dict):
        _wrong(where, "a mapping", saved)
    same_keys(saved, {"state": 0, "param_groups": 0}, where)
    groups = _check_groups(path, optimizer, saved["param_groups"], saved_class)
    params = [p for g in optimizer.param_groups for p in g["params"]]
    state = _check_state(path, optimizer, saved["state"], params)
    return {"state": state, "param_groups": groups}


def _check_groups(path, optimizer, saved_groups, saved_class):
    name = type(optimizer).__name__
    where = f"{path}: optimizer param_groups"
    if not isinstance(saved_groups, (list, tuple)):
        _wrong(where, "a list", saved_groups)
    if len(saved_groups) != len(optimizer.param_groups):
        raise CheckpointError(f"{where}: {len(saved_groups)} param groups saved, "
                              f"{len(optimizer.param_groups)} in this {name}")
    groups, first = [], 0
    for i, (saved, group) in enumerate(zip(saved_groups, optimizer.param_groups)):
        at = f"{where}[{i}]"
        if not isinstance(saved, dict):
            _wrong(at, "a mapping", saved)
        template = {k: v for k, v in group.items() if k != "params"}
        options = {k for k in saved if k != "params"} - set(SCHEDULER_OPTIONS)
        own = set(template) - set(SCHEDULER_OPTIONS)
        if saved_class is None and options != own:
            raise CheckpointError(f"{path}: the optimizer state was saved by another kind of "
                                  f"optimizer (options {', '.join(sorted(map(str, options)))}; "
                                  f"this {name} has {', '.join(sorted(own))})")
        # the options a schedule adds may be on either side (made before the load or not)
        missing = [k for k in template if k not in saved and k not in SCHEDULER_OPTIONS]
        missing += [] if "params" in saved else ["params"]
        unknown = [k for k in saved if k not in template and k != "params" and
                   k not in SCHEDULER_OPTIONS]
        if missing or unknown:
            _keys_do_not_fit(at, missing, unknown)
        entry = {k: like(saved[k], template.get(k, 0.0), f"{at}[{k!r}]")
                 for k in saved if k != "params"}
        for key in ("lr", "initial_lr"):
            if key in entry and entry[key] < 0:
                _wrong(f"{at}[{key!r}]", "a rate >= 0", entry[key])
        expected = list(range(first, first + len(group["params"])))
        ids = saved["params"]
        if not isinstance(ids, (list, tuple)) or len(ids) != len(expected) or \
                any(not _is_int(n) or n != e for n, e in zip(ids, expected)):
            raise CheckpointError(f"{at}['params']: expected the parameter numbers "
                                  f"{_range_text(expected)} (this group holds "
                                  f"{len(expected)} parameters), got {_describe(ids)}")
        _check_options(at, optimizer, entry)
        entry["params"] = expected
        groups.append(entry)
        first += len(expected)
    return groups


def _check_options(at, optimizer, options):
    """A built-in optimizer must accept the saved options: its constructor checks them
    (on a scratch parameter, so nothing real is touched)."""
    cls = type(optimizer)
    if cls not in _BUILT_IN:
        return
    accepted = inspect.signature(cls).parameters
    scratch = Tensor(numpy.zeros(1, numpy.float32), requires_grad=True)
    try:
        cls([scratch], **{k: v for k, v in options.items() if k in accepted and k != "params"})
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{at}: the saved options do not make a valid {cls.__name__} "
                              f"({error})") from None


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, numpy.bool_))


def _range_text(numbers_):
    return f"{numbers_[0]}..{numbers_[-1]}" if numbers_ else "(none)"


def _check_state(path, optimizer, saved_state, params):
    name = type(optimizer).__name__
    if not isinstance(saved_state, dict):
        _wrong(f"{path}: optimizer state", "a mapping", saved_state)
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    state = {}
    for key, values in saved_state.items():
        index = _parameter_index(path, key, len(params))
        if index in state:
            raise CheckpointError(f"{path}: optimizer state key {key!r} names parameter "
                                  f"{index} a second time")
        at = f"{path}: optimizer state[{key!r}]"
        if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
            _wrong(at, "a mapping of names to values", values)
        param = params[index]
        if name in _WHOLE_MODEL_STATE:
            state[index] = _check_whole_model_state(at, name, index, values, params)
        else:
            state[index] = _check_parameter_state(at, name, values, param,
                                                  group_of[id(param)])
    return state


def _parameter_index(path, key, n):
    if isinstance(key, str) and _INTEGER.match(key):
        key_number = int(key)
    elif isinstance(key, numbers.Integral) and not isinstance(key, (bool, numpy.bool_)):
        key_number = int(key)
    else:
        raise CheckpointError(f"{path}: optimizer state key {key!r} is not a parameter "
                              "number")
    if not 0 <= key_number < n:
        raise CheckpointError(f"{path}: optimizer state key {key!r} names no parameter (the "
                              f"optimizer has {n}, numbered 0 to {n - 1})")
    return key_number


def _check_parameter_state(at, name, values, param, group):
    keys = _state_keys(name, group)
    if keys is not None:
        required, allowed = keys
        missing, unknown = sorted(required - set(values)), sorted(set(values) - allowed)
        if missing or unknown:
            raise CheckpointError(f"{at}: {name} state needs {', '.join(sorted(required))}"
                                  + (f"; missing {', '.join(missing)}" if missing else "")
                                  + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    checked = {}
    for key, value in values.items():
        where = f"{at}[{key!r}]"
        if key in MOMENTS and not (key == "momentum_buffer" and value is None):
            if not isinstance(value, numpy.ndarray) or value.shape != param.shape or \
                    value.dtype.kind != "f":
                _wrong(where, f"a floating-point array of the parameter's shape "
                              f"{param.shape}", value)
            if not numpy.isfinite(value).all():
                raise CheckpointError(f"{where}: holds NaN or inf")
            if key in MAGNITUDES and (value < 0).any():
                raise CheckpointError(f"{where}: holds negative values, which {name} never "
                                      "stores")
        elif key == "step":
            value = _step(value, where)
        else:
            _plain_value(value, where)
        checked[key] = value
    return checked


def _step(value, where):
    if isinstance(value, numpy.ndarray):
        if value.shape != () or value.dtype.kind not in "iuf":
            _wrong(where, "a step count", value)
        value = value.item()
    if real_number(value, where) < 0 or value != int(value):
        _wrong(where, "a whole step count >= 0", value)
    return value


def _check_whole_model_state(at, name, index, values, params):
    if index != 0:
        raise CheckpointError(f"{at}: {name} keeps its state on parameter 0 only")
    required, allowed = _WHOLE_MODEL_STATE[name]
    missing, unknown = sorted(required - set(values)), sorted(set(values) - allowed)
    if missing or unknown:
        raise CheckpointError(f"{at}: {name} state needs {', '.join(sorted(required))}"
                              + (f"; missing {', '.join(missing)}" if missing else "")
                              + (f"; unknown {', '.join(unknown)}" if unknown else ""))
    size = sum(int(p._data.size) for p in params)
    checked = {}
    for key, value in values.items():
        where = f"{at}[{key!r}]"
        if key in ("func_evals", "n_iter"):
            value = count(value, where)
        elif key in ("d", "prev_flat_grad"):
            if value is not None:
                _flat(value, size, where)
        elif key in ("old_dirs", "old_stps"):
            if not isinstance(value, (list, tuple)):
                _wrong(where, "a list of arrays", value)
            value = [_flat(v, size, f"{where}[{i}]") for i, v in enumerate(value)]
        elif key == "ro":
            if not isinstance(value, (list, tuple)):
                _wrong(where, "a list of numbers", value)
            value = [real_number(v, f"{where}[{i}]") for i, v in enumerate(value)]
        elif key == "damping":
            if real_number(value, where) <= 0:
                _wrong(where, "a damping > 0", value)
        elif value is not None:
            real_number(value, where)
        checked[key] = value
    if name == "LBFGS":
        lengths = {k: len(checked[k]) for k in ("old_dirs", "old_stps", "ro") if k in checked}
        if len(set(lengths.values())) > 1:
            raise CheckpointError(f"{at}: old_dirs, old_stps and ro must be equally long, "
                                  f"got {lengths}")
    return checked


def _flat(value, size, where):
    if not isinstance(value, numpy.ndarray) or value.shape != (size,) or \
            value.dtype.kind != "f":
        _wrong(where, f"a floating-point array of shape ({size},)", value)
    return value


def _plain_value(value, where, depth=0):
    """Numbers, strings, None, arrays of numbers, and lists of them."""
    if value is None or isinstance(value, (str, bool, numbers.Real)):
        return
    if isinstance(value, numpy.ndarray):
        if value.dtype.kind not in "biuf":
            _wrong(where, "an array of numbers", value)
        return
    if isinstance(value, (list, tuple)) and depth < 8:
        for i, item in enumerate(value):
            _plain_value(item, f"{where}[{i}]", depth + 1)
        return
    _wrong(where, "a number, string, array or list of them", value)


# ---------------------------------------------------------------- scheduler, loader, RNG

def check_scheduler(path, scheduler, saved, saved_class=None):
    """A copy of the saved scheduler state that fits ``scheduler`` (same keys, values of
    the same kinds); functions (lr lambdas, annealing) are not saved and stay as built."""
    name = type(scheduler).__name__
    if saved_class is not None and saved_class != name:
        raise CheckpointError(f"{path}: the checkpoint holds the state of a {saved_class} "
                              f"scheduler, but the scheduler here is a {name}")
    template = scheduler_state(scheduler)
    where = f"{path}: scheduler state"
    if not isinstance(saved, dict):
        _wrong(where, "a mapping", saved)
    same_keys(saved, template, where)
    checked = {k: like(saved[k], t, f"{where}[{k!r}]", finite=k != "best")
               for k, t in template.items()}
    if "last_epoch" in checked:
        count(checked["last_epoch"], f"{where}['last_epoch']", low=-1)
    return checked


def scheduler_state(scheduler):
    """The scheduler's state_dict without its functions (they cannot be stored)."""
    return {k: v for k, v in scheduler.state_dict().items() if not callable(v)}


def check_generator_state(state, where):
    """A random generator state that ``Generator.set_state`` accepts (tried on a scratch
    generator, so the real one is untouched)."""
    checked = like(state, Generator(0).get_state(), where)
    try:
        Generator(0).set_state(checked)
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise CheckpointError(f"{where}: not a valid generator state ({error})") from None
    return checked


def check_loader(path, loader, saved):
    """A copy of the saved data-loader state (epoch and shuffling generator)."""
    where = f"{path}: loader state"
    template = loader.state_dict()
    if not isinstance(saved, dict):
        _wrong(where, "a mapping", saved)
    same_keys(saved, template, where)
    checked = {}
    for key, value in saved.items():
        if key == "generator":
            checked[key] = check_generator_state(value, f"{where}['generator']")
        elif key == "epoch":
            checked[key] = count(value, f"{where}['epoch']")
        else:
            checked[key] = like(value, template[key], f"{where}[{key!r}]")
    return checked


# ---------------------------------------------------------------- History and counters

def check_history(path, saved):
    """The saved History as a dict History.load_state_dict accepts: lists of rows (dicts
    of names to numbers, strings or lists of numbers) and a stop reason."""
    where = f"{path}: history"
    if not isinstance(saved, dict):
        _wrong(where, "a mapping", saved)
    unknown = [k for k in saved if k not in ("steps", "epochs", "params", "stop_reason")]
    if unknown:
        raise CheckpointError(f"{where}: unknown keys {', '.join(map(repr, unknown[:5]))}")
    checked = {}
    for table in ("steps", "epochs", "params"):
        rows = saved.get(table, [])
        if not isinstance(rows, list):
            _wrong(f"{where}[{table!r}]", "a list of rows", rows)
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or not all(isinstance(k, str) for k in row):
                _wrong(f"{where}[{table!r}][{i}]", "a mapping of column names to values", row)
            for key, value in row.items():
                if not (value is None or isinstance(value, (str, bool, numbers.Real))):
                    _plain_value(value, f"{where}[{table!r}][{i}][{key!r}]")
        checked[table] = rows
    reason = saved.get("stop_reason")
    if reason is not None and not isinstance(reason, str):
        _wrong(f"{where}['stop_reason']", "a string or null", reason)
    checked["stop_reason"] = reason
    return checked


def check_counter(path, value, name):
    """An epoch or step counter: an integer >= 0, or None."""
    return None if value is None else count(value, f"{path}: {name}")
