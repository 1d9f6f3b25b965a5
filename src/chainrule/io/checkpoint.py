"""Checkpoints: state_dicts and whole training states in safetensors files.

Tensors go into the safetensors body under PyTorch's state_dict names (``0.weight``,
``layers.1.bias``), so weights move between chainrule and PyTorch in both directions.
Everything else — step counters, hyper-parameters, RNG states, the History — is JSON in
the file's metadata. Nothing is pickled; loading never executes code.

Loading trusts nothing in the file: the format is checked by ``safetensors_format``, and
every part of a training state (model weights, optimizer, scheduler, data loader, RNG,
History) is checked against the object it is loaded into *before* any of them is changed
(``checkpoint_state``), so a failed load leaves everything as it was. A model described in
a checkpoint is only built after its description has been checked against the tensors in
the same file and a memory budget (:func:`model_from_description`). Every failure is a
:class:`CheckpointError` naming the file and the field.

>>> import chainrule, tempfile, os
>>> model = chainrule.nn.Linear(2, 1)
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> _ = chainrule.save(model.state_dict(), path)
>>> sorted(chainrule.load(path))
['bias', 'weight']
"""
import json
import numbers
import os
import re

import numpy

from .. import backend
from ..device import CPU, as_device, check_usable, device
from ..errors import CheckpointError
from ..generator import default_generator
from ..models import MODELS
from ..tensor import Tensor
from . import checkpoint_state, model_description, safetensors_format
from .model_description import MAX_MODEL_BYTES
from .safetensors_format import remove_stale_temp_files  # noqa: F401  (part of this API)

FORMAT = "chainrule-checkpoint-1"


def save(state_dict, path):
    """Save a state_dict (name -> Tensor or array) to a safetensors file, atomically."""
    arrays = {}
    for name, value in state_dict.items():
        arrays[name] = backend.to_numpy(value._data if isinstance(value, Tensor) else
                                        numpy.asarray(value))
    return safetensors_format.write(path, arrays, {"format": "chainrule-state-dict"})


def load(path, map_location=None, weights_only=True):
    """Load a safetensors file as a state_dict of Tensors (any safetensors file will do).

    ``map_location`` puts the tensors on a device, as ``torch.load``'s: a device or its name
    (``"cpu"``, ``"cuda:0"``), a dict from saved locations to devices (a file holds no
    locations — every tensor is saved from host memory — so its ``"cpu"`` entry applies, if
    any), or a function ``f(tensor, "cpu")`` whose result (unless None) is used. Tensors saved
    from a GPU load on the CPU by default. ``weights_only`` is accepted for PyTorch's
    signature; a safetensors file holds only tensors anyway.

    >>> import chainrule, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> _ = chainrule.save({"w": chainrule.ones(2)}, path)
    >>> chainrule.load(path, map_location="cpu")["w"].device
    device(type='cpu')
    """
    arrays, _ = safetensors_format.read(path)
    tensors = {name: Tensor(backend.xp.asarray(array)) for name, array in arrays.items()}
    return _mapped(tensors, map_location)


def _mapped(tensors, map_location):
    """The tensors of a loaded file on the device ``map_location`` asks for."""
    if map_location is None:
        return tensors
    if callable(map_location) and not isinstance(map_location, (str, device)):
        return {name: _called(map_location, t) for name, t in tensors.items()}
    if isinstance(map_location, dict):
        map_location = map_location.get("cpu", map_location.get(CPU))
        if map_location is None:
            return tensors
    target = check_usable(as_device(map_location, "load(map_location=)"))
    return {name: t.to(target) for name, t in tensors.items()}


def _called(function, tensor):
    result = function(tensor, "cpu")
    return tensor if result is None else result


# ---------------------------------------------------------------- encoding nested state

def _encode(value, key, arrays):
    """JSON-able form of ``value``; arrays go to ``arrays`` and are referenced by key."""
    if isinstance(value, Tensor):
        value = value._data
    if isinstance(value, numpy.ndarray) or type(value).__module__.startswith("cupy"):
        arrays[key] = backend.to_numpy(value)
        return {"__tensor__": key}
    if isinstance(value, numpy.generic):
        return value.item()
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, f"{key}.k{i}", arrays),
                              _encode(v, f"{key}.{i}", arrays)]
                             for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, float) and not numpy.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(f"cannot store a {type(value).__name__} at {key!r} in a checkpoint "
                          "(only tensors, numbers, strings and containers of them)")


_MARKERS = ("__tensor__", "__tuple__", "__float__", "__dict__")


def _decode(value, arrays, where="extra"):
    """The value ``_encode`` wrote, every marker checked: CheckpointError at ``where``."""
    if isinstance(value, list):            # (scalars pass as they are: no label built)
        return [_decode(v, arrays, f"{where}[{i}]") if isinstance(v, (list, dict)) else v
                for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    marker = [k for k in _MARKERS if k in value]
    if not marker:
        return value                             # a plain JSON object, stored as it is
    if len(value) != 1:
        raise CheckpointError(f"{where}: an encoded {marker[0]} with other keys beside it "
                              f"({', '.join(sorted(map(repr, value)))})")
    inner = value[marker[0]]
    if marker[0] == "__tensor__":
        if not isinstance(inner, str) or inner not in arrays:
            raise CheckpointError(f"{where}: refers to tensor {inner!r}, which the file does "
                                  "not hold")
        return arrays[inner]
    if marker[0] == "__float__":
        return _decode_float(inner, where)
    if not isinstance(inner, list):
        raise CheckpointError(f"{where}: {marker[0]} must hold a list, got "
                              f"{type(inner).__name__}")
    if marker[0] == "__tuple__":
        return tuple(_decode(v, arrays, f"{where}[{i}]") for i, v in enumerate(inner))
    return _decode_dict(inner, arrays, where)


def _decode_float(text, where):
    try:
        if isinstance(text, str) and len(text) < 40:
            return float(text)
    except ValueError:
        pass
    raise CheckpointError(f"{where}: {text!r} is not a number")


def _decode_dict(pairs, arrays, where):
    result = {}
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise CheckpointError(f"{where}[{i}]: expected a [key, value] pair")
        key = _hashable(_decode(pair[0], arrays, f"{where}[{i}] key"), f"{where}[{i}] key")
        if key in result:
            raise CheckpointError(f"{where}: the key {key!r} appears twice")
        result[key] = _decode(pair[1], arrays, f"{where}[{key!r}]")
    return result


def _hashable(key, where):
    if isinstance(key, list):
        key = tuple(key)
    if isinstance(key, tuple):
        return tuple(_hashable(k, where) for k in key)
    if key is None or isinstance(key, (str, numbers.Real)):
        return key
    raise CheckpointError(f"{where}: a {type(key).__name__} cannot be a key")


class _Unread:
    """Stands for a tensor of the file that has not been read (checking a description)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<tensor {self.name!r}>"


# ---------------------------------------------------------------- training state

def save_checkpoint(path, model=None, optimizer=None, scheduler=None, epoch=None, step=None,
                    history=None, rng=True, loader=None, extra=None):
    """Save a whole training state atomically: model and optimizer tensors in the body;
    counters, hyper-parameters, scheduler, History, RNG and data-loader state as JSON.

    >>> import chainrule, os, tempfile
    >>> model = chainrule.nn.Linear(2, 1)
    >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "c.safetensors"), model=model, epoch=3)
    >>> load_checkpoint(path, model)["epoch"]
    3
    """
    arrays, state = {}, {"format": FORMAT, "epoch": epoch, "step": step}
    if model is not None:
        for name, value in model.state_dict().items():
            arrays["model." + name] = backend.to_numpy(value._data)
    if optimizer is not None:
        state["optimizer"] = _encode(optimizer.state_dict(), "optimizer", arrays)
        state["optimizer_class"] = type(optimizer).__name__
    if scheduler is not None:
        state["scheduler"] = _encode(checkpoint_state.scheduler_state(scheduler), "scheduler",
                                     arrays)
        state["scheduler_class"] = type(scheduler).__name__
    if history is not None:
        state["history"] = history.to_dict()
    if rng:
        state["rng"] = default_generator.get_state()
    if loader is not None:
        state["loader"] = loader.state_dict()
    if extra is not None:
        state["extra"] = _encode(extra, "extra", arrays)
    return safetensors_format.write(path, arrays, {"chainrule": json.dumps(state)})


def load_checkpoint(path, model=None, optimizer=None, scheduler=None, loader=None,
                    restore_rng=True, history=None):
    """Restore what ``save_checkpoint`` wrote into the given objects (``history`` too, if
    given); returns a dict with ``epoch``, ``step``, ``history`` (the History given, else the
    saved history as a dict, or None) and ``extra``.

    Everything is checked before anything is changed: on a CheckpointError the model,
    optimizer, scheduler, loader, History and random generator are as they were.

    >>> import chainrule, os, tempfile
    >>> model = chainrule.nn.Linear(2, 1)
    >>> opt = chainrule.optim.Adam(model.parameters())
    >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "c.safetensors"), model, opt)
    >>> load_checkpoint(path, model, chainrule.optim.SGD(model.parameters()))
    Traceback (most recent call last):
    ...
    chainrule.errors.CheckpointError: ...: the checkpoint holds the state of a Adam optimizer,
    but the optimizer here is a SGD: resume with Adam, or start a new run
    """
    arrays, metadata = safetensors_format.read(path)
    state = _training_state(path, metadata)
    changes, result = _check_all(path, state, arrays, model, optimizer, scheduler, loader,
                                 restore_rng, history)
    for change, value in changes:
        change(value)
    return result


def _training_state(path, metadata):
    """The parsed JSON training state of a checkpoint's metadata."""
    text = metadata.get("chainrule")
    state = None
    if text is not None:
        state = safetensors_format.parse_json(text, f"{path}: training state")
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: a safetensors file, but not a chainrule training "
                              "checkpoint (use chainrule.load for plain state_dicts)")
    return state


def _check_all(path, state, arrays, model, optimizer, scheduler, loader, restore_rng,
               history):
    """Check every part that will be loaded; returns the (load function, checked value)
    pairs to apply and the result of load_checkpoint. Changes nothing."""
    check = checkpoint_state
    changes = []
    result = {"epoch": check.check_counter(path, state.get("epoch"), "epoch"),
              "step": check.check_counter(path, state.get("step"), "step")}
    if model is not None:
        changes.append((model.load_state_dict, _model_weights(path, model, arrays)))
    if optimizer is not None and "optimizer" in state:
        saved = _decode(state["optimizer"], arrays, f"{path}: optimizer state")
        changes.append((optimizer.load_state_dict, check.check_optimizer(
            path, optimizer, saved, _class_name(path, state, "optimizer_class"))))
    if scheduler is not None and "scheduler" in state:
        saved = _decode(state["scheduler"], arrays, f"{path}: scheduler state")
        changes.append((scheduler.load_state_dict, check.check_scheduler(
            path, scheduler, saved, _class_name(path, state, "scheduler_class"))))
    if loader is not None and "loader" in state and hasattr(loader, "load_state_dict"):
        changes.append((loader.load_state_dict, check.check_loader(path, loader,
                                                                   state["loader"])))
    if restore_rng and "rng" in state:
        changes.append((default_generator.set_state,
                        check.check_generator_state(state["rng"], f"{path}: rng state")))
    saved_history = state.get("history")
    if saved_history is not None:
        saved_history = check.check_history(path, saved_history)
        if history is not None:
            changes.append((history.load_state_dict, saved_history))
    result["history"] = history if history is not None else saved_history
    result["extra"] = _decode(state.get("extra"), arrays, f"{path}: extra")
    return changes, result


def _class_name(path, state, key):
    name = state.get(key)
    if name is not None and not isinstance(name, str):
        raise CheckpointError(f"{path}: {key} must be a class name, got {name!r}")
    return name


def _model_weights(path, model, arrays):
    """The ``model.*`` tensors, checked to fit ``model`` exactly (names and shapes)."""
    weights = {k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")}
    own = model.state_dict()
    mismatched = [f"{k}: checkpoint {tuple(weights[k].shape)} vs model {tuple(t.shape)}"
                  for k, t in own.items() if k in weights and
                  tuple(weights[k].shape) != tuple(t.shape)]
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    problems = ((["mis-shaped keys: " + "; ".join(mismatched)] if mismatched else []) +
                (["missing keys: " + ", ".join(missing)] if missing else []) +
                (["unexpected keys: " + ", ".join(unexpected[:10])] if unexpected else []))
    if problems:
        raise CheckpointError(f"{path}: does not fit the model — load_state_dict into "
                              f"{type(model).__name__}: " + " | ".join(problems))
    return weights


# ---------------------------------------------------------------- a model from its description

def model_from_description(path, max_bytes=MAX_MODEL_BYTES):
    """Build the model a checkpoint describes (as ``chainrule train --out`` writes it) and
    load its weights; returns ``(model, description)``.

    The description is checked before anything is allocated: each option of the right type,
    the tensors it implies equal to those stored in the file, and the parameters (and the
    file's tensors) within ``max_bytes`` (2 GiB by default).

    >>> import chainrule, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> model = chainrule.models.MLP(4, (8,), 3)
    >>> _ = save_checkpoint(path, model, extra={"model": {"type": "mlp", **model.config}})
    >>> rebuilt, description = model_from_description(path)
    >>> rebuilt.config == model.config, description["model"]["type"]
    (True, 'mlp')
    """
    with safetensors_format.SafetensorsFile(path) as f:
        state = _training_state(path, f.metadata)
        if f.size - f.data_start > max_bytes:
            raise CheckpointError(f"{path}: holds {f.size - f.data_start} bytes of tensors, "
                                  f"more than the {max_bytes} allowed (max_bytes)")
        kind, config = _described_model(path, state, f.entries)
        model_description.check_against_file(path, kind, config, f.entries, max_bytes)
        arrays = f.read_arrays()
    description = _decode(state.get("extra"), arrays, f"{path}: extra")
    model_description.check_inputs(path, description, kind, config, max_bytes)
    model = MODELS[kind](**config)
    changes, _ = _check_all(path, state, arrays, model, None, None, None, False, None)
    for change, value in changes:
        change(value)
    return model, description


def _described_model(path, state, entries):
    """(model type, checked options) of the description in a checkpoint's ``extra``."""
    unread = {name: _Unread(name) for name in entries}
    description = _decode(state.get("extra"), unread, f"{path}: extra")
    if not isinstance(description, dict) or not isinstance(description.get("model"), dict):
        raise CheckpointError(f"{path}: no model description inside; use the "
                              "model.safetensors that chainrule train --out writes")
    config = dict(description["model"])
    kind = config.pop("type", "mlp")
    if not isinstance(kind, str) or kind not in MODELS:
        raise CheckpointError(f"{path}: model description 'type': unknown model type "
                              f"{kind!r} (known: {', '.join(MODELS)})")
    if kind not in model_description.FIELDS:
        raise CheckpointError(f"{path}: cannot check a description of a {kind} model")
    return kind, model_description.check_config(path, kind, config, MODELS[kind])


# ---------------------------------------------------------------- the checkpoints of a run

_NAME = re.compile(r"^epoch-(\d+)\.safetensors$")


def checkpoints_in(directory):
    """(epoch, path) of every epoch checkpoint in ``directory``, oldest first."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _NAME.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(directory, name)))
    return sorted(found)
