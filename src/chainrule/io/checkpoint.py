"""Checkpoints: state_dicts and whole training states in safetensors files.

Tensors go into the safetensors body under PyTorch's state_dict names (``0.weight``,
``layers.1.bias``), so weights move between chainrule and PyTorch in both directions.
Everything else — step counters, hyper-parameters, RNG states, the History — is JSON in
the file's metadata. Nothing is pickled; loading never executes code.

>>> import chainrule, tempfile, os
>>> model = chainrule.nn.Linear(2, 1)
>>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
>>> _ = chainrule.save(model.state_dict(), path)
>>> sorted(chainrule.load(path))
['bias', 'weight']
"""
import json
import os
import re

import numpy

from .. import backend
from ..errors import CheckpointError, ShapeError
from ..generator import default_generator
from ..tensor import Tensor
from . import safetensors_format

FORMAT = "chainrule-checkpoint-1"


def save(state_dict, path):
    """Save a state_dict (name -> Tensor or array) to a safetensors file, atomically."""
    arrays = {}
    for name, value in state_dict.items():
        arrays[name] = backend.to_numpy(value._data if isinstance(value, Tensor) else
                                        numpy.asarray(value))
    return safetensors_format.write(path, arrays, {"format": "chainrule-state-dict"})


def load(path):
    """Load a safetensors file as a state_dict of Tensors (any safetensors file will do)."""
    arrays, _ = safetensors_format.read(path)
    return {name: Tensor(backend.xp.asarray(array)) for name, array in arrays.items()}


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


def _decode(value, arrays):
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if isinstance(value, dict):
        if "__tensor__" in value:
            return arrays[value["__tensor__"]]
        if "__tuple__" in value:
            return tuple(_decode(v, arrays) for v in value["__tuple__"])
        if "__float__" in value:
            return float(value["__float__"])
        if "__dict__" in value:
            return {_hashable(_decode(k, arrays)): _decode(v, arrays)
                    for k, v in value["__dict__"]}
    return value


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


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
    if scheduler is not None:
        state["scheduler"] = _encode(scheduler.state_dict(), "scheduler", arrays)
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
                    restore_rng=True):
    """Restore what ``save_checkpoint`` wrote into the given objects; returns a dict with
    ``epoch``, ``step``, ``history`` (a History or None) and ``extra``."""
    arrays, metadata = safetensors_format.read(path)
    try:
        state = json.loads(metadata["chainrule"])
        if state.get("format") != FORMAT:
            raise KeyError("format")
    except (KeyError, ValueError):
        raise CheckpointError(f"{path}: a safetensors file, but not a chainrule training "
                              "checkpoint (use chainrule.load for plain state_dicts)") from None
    if model is not None:
        weights = {k[len("model."):]: v for k, v in arrays.items() if k.startswith("model.")}
        try:
            model.load_state_dict(weights)
        except ShapeError as error:
            raise CheckpointError(f"{path}: does not fit the model — {error}") from None
    try:
        if optimizer is not None and "optimizer" in state:
            optimizer.load_state_dict(_decode(state["optimizer"], arrays))
        if scheduler is not None and "scheduler" in state:
            scheduler.load_state_dict(_decode(state["scheduler"], arrays))
        if loader is not None and "loader" in state:
            loader.load_state_dict(state["loader"])
        if restore_rng and "rng" in state:
            default_generator.set_state(state["rng"])
    except (KeyError, ValueError, TypeError, IndexError) as error:
        raise CheckpointError(f"{path}: its optimizer/scheduler/loader state does not fit: "
                              f"{error}") from None
    history = None
    if state.get("history") is not None:
        from ..train.history import History
        history = History.from_dict(state["history"])
    return {"epoch": state.get("epoch"), "step": state.get("step"), "history": history,
            "extra": _decode(state.get("extra"), arrays)}


# ---------------------------------------------------------------- the fit callback

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


def _callback_base():
    from ..train.callbacks import Callback
    return Callback


class ModelCheckpoint(_callback_base()):
    """Save the training state every ``every`` epochs into ``directory`` (keeping the last
    ``keep_last``) and ``best.safetensors`` by ``monitor``; with ``resume=True``, continue
    from the newest checkpoint there, bit-identically to a run that was never interrupted.
    """

    def __init__(self, directory, every=1, keep_last=3, monitor="val_loss", mode="auto",
                 resume=False, extra=None):
        self.directory, self.every, self.keep_last = directory, max(1, int(every)), keep_last
        self.monitor, self.resume, self.extra = monitor, resume, extra
        self.mode = mode if mode != "auto" else ("min" if "loss" in monitor else "max")
        self.best = None
        self.resume_epoch = 1

    def on_train_begin(self, trainer):
        if not self.resume:
            return
        found = checkpoints_in(self.directory)
        if not found:
            return
        epoch, path = found[-1]
        restored = load_checkpoint(path, trainer.model, trainer.optimizer,
                                   getattr(trainer, "scheduler", None), trainer.loader)
        if restored["history"] is not None:
            trainer.history.__dict__.update(restored["history"].__dict__)
        trainer.step_count = restored["step"] or 0
        self.best = (restored["extra"] or {}).get("best") if isinstance(restored["extra"],
                                                                        dict) else None
        self.resume_epoch = epoch + 1

    def on_epoch_end(self, trainer, epoch, logs):
        if not trainer.is_main:
            return
        extra = dict(self.extra or {})
        value = logs.get(self.monitor, logs.get("loss"))
        improved = value is not None and (self.best is None or (
            value < self.best if self.mode == "min" else value > self.best))
        if improved:
            self.best = value
        extra["best"] = self.best
        kwargs = dict(model=trainer.model, optimizer=trainer.optimizer,
                      scheduler=getattr(trainer, "scheduler", None), epoch=epoch,
                      step=trainer.step_count, history=trainer.history, loader=trainer.loader,
                      extra=extra)
        if epoch % self.every == 0 or trainer.should_stop or epoch == trainer.epochs:
            save_checkpoint(os.path.join(self.directory, f"epoch-{epoch:04d}.safetensors"),
                            **kwargs)
            if self.keep_last:
                for _, old in checkpoints_in(self.directory)[:-self.keep_last]:
                    os.unlink(old)
        if improved:
            save_checkpoint(os.path.join(self.directory, "best.safetensors"), **kwargs)
