"""Checking a model description read from a checkpoint before the model is built.

``chainrule train --out`` stores how to rebuild its model next to the weights:
``{"model": {"type": "mlp", "in_features": 64, "hidden": [128], ...}, "input_shape": ...}``.
A file can lie about that, and building the model would allocate whatever it asks for. So
the description is checked first, from the header alone: every option of the right type and
range, the parameter tensors it implies computed (names and shapes, without allocating) and
compared with those stored in the same file, their size held against a memory budget, and the
input shape and standardisation statistics checked. Only then is the model built.

>>> check_config("m.safetensors", "mlp", {"in_features": 4, "hidden": [8], "out_features": 2})
{'in_features': 4, 'hidden': [8], 'out_features': 2, 'activation': 'relu', 'dropout': 0.0,
 'batch_norm': False}
>>> dict(described_tensors("mlp", {"in_features": 4, "hidden": [8], "out_features": 2,
...                                "activation": "relu", "dropout": 0.0, "batch_norm": False}))
{'1.weight': ((8, 4), 4), '1.bias': ((8,), 4), '3.weight': ((2, 8), 4), '3.bias': ((2,), 4)}
"""
import inspect
import math
import numbers

import numpy

from ..errors import CheckpointError
from ..models import MODELS
from ..nn.activation import ACTIVATIONS

#: what evaluate/predict/export may allocate for one model by default
MAX_MODEL_BYTES = 2 * 2**30
_FLOAT, _INT64 = 4, 8            # bytes of a float32 parameter and of a step counter
_SLACK = 1000                    # described tensors beyond those stored, before giving up


# ---------------------------------------------------------------- options

def _positive(value, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise CheckpointError(f"{where}: expected a positive integer, got {value!r}")
    return int(value)


def _counts(value, where, low):
    if not isinstance(value, (list, tuple)):
        raise CheckpointError(f"{where}: expected a list of integers, got {_short(value)}")
    checked = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, numbers.Integral) or item < low:
            raise CheckpointError(f"{where}[{i}]: expected an integer >= {low}, got "
                                  f"{_short(item)}")
        checked.append(int(item))
    return checked


def _widths(value, where):
    return _counts(value, where, 1)


def _blocks(value, where):
    return _counts(value, where, 0)


def _activation(value, where):
    if not isinstance(value, str) or value not in ACTIVATIONS:
        raise CheckpointError(f"{where}: unknown activation {_short(value)} (known: "
                              f"{', '.join(ACTIVATIONS)})")
    return value


def _probability(value, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not 0 <= value < 1:
        raise CheckpointError(f"{where}: expected a dropout rate in [0, 1), got "
                              f"{_short(value)}")
    return float(value)


def _flag(value, where):
    if not isinstance(value, bool):
        raise CheckpointError(f"{where}: expected true or false, got {_short(value)}")
    return value


#: model type -> option -> check; the options are those of the model's constructor
FIELDS = {
    "mlp": {"in_features": _positive, "hidden": _widths, "out_features": _positive,
            "activation": _activation, "dropout": _probability, "batch_norm": _flag},
    "lenet": {"in_channels": _positive, "num_classes": _positive, "image_size": _positive},
    "resnet": {"in_channels": _positive, "num_classes": _positive, "blocks": _blocks,
               "width": _positive},
}


def check_config(path, kind, config, constructor=None):
    """The options of a ``kind`` model, each checked (CheckpointError naming the option
    otherwise); options left out take the constructor's defaults."""
    fields = FIELDS[kind]
    where = f"{path}: model description"
    if not isinstance(config, dict):
        raise CheckpointError(f"{where}: expected a mapping of options, got {_short(config)}")
    unknown = [k for k in config if k not in fields]
    if unknown:
        raise CheckpointError(f"{where}: unknown option(s) {', '.join(map(repr, unknown))} "
                              f"for a {kind} model (its options: {', '.join(fields)})")
    given = dict(_constructor_defaults(constructor or MODELS[kind], fields), **config)
    missing = [k for k in fields if k not in given]
    if missing:
        raise CheckpointError(f"{where}: missing option(s) {', '.join(missing)}")
    return {k: check(given[k], f"{where} option {k!r}") for k, check in fields.items()}


def _constructor_defaults(constructor, fields):
    signature = inspect.signature(constructor)
    return {k: p.default for k, p in signature.parameters.items()
            if k in fields and p.default is not inspect.Parameter.empty}


# ---------------------------------------------------------------- tensors a model would have

def _linear(index, fan_in, fan_out):
    yield f"{index}.weight", ((fan_out, fan_in), _FLOAT)
    yield f"{index}.bias", ((fan_out,), _FLOAT)


def _batch_norm(prefix, channels):
    for name in ("weight", "bias", "running_mean", "running_var"):
        yield f"{prefix}.{name}", ((channels,), _FLOAT)
    yield f"{prefix}.num_batches_tracked", ((), _INT64)


def _conv(name, out_channels, in_channels, kernel):
    yield name, ((out_channels, in_channels, kernel, kernel), _FLOAT)


def _mlp(c):
    index, width = 1, c["in_features"]      # 0 is Flatten
    for size in c["hidden"]:
        yield from _linear(index, width, size)
        index += 1
        if c["batch_norm"]:
            yield from _batch_norm(index, size)
            index += 1
        index += 2 if c["dropout"] else 1    # the activation (and Dropout)
        width = size
    yield from _linear(index, width, c["out_features"])


def lenet_flat_features(image_size):
    """Features after LeNet-5's two conv(5)+pool(2) stages for square images of
    ``image_size`` (small images are zero-padded, as in LeNet5), or None if too small."""
    pad1, pad2 = (2 if image_size < 32 else 0), (2 if image_size < 16 else 0)
    side = (image_size + 2 * pad1 - 4) // 2
    if side < 1:
        return None
    side = (side + 2 * pad2 - 4) // 2
    return 16 * side * side if side >= 1 else None


def _lenet(c):
    flat = lenet_flat_features(c["image_size"])
    yield from _conv("0.weight", 6, c["in_channels"], 5)
    yield "0.bias", ((6,), _FLOAT)
    yield from _conv("3.weight", 16, 6, 5)
    yield "3.bias", ((16,), _FLOAT)
    yield from _linear(7, flat, 120)
    yield from _linear(9, 120, 84)
    yield from _linear(11, 84, c["num_classes"])


def _resnet(c):
    width = c["width"]
    yield from _conv("0.weight", width, c["in_channels"], 3)
    yield from _batch_norm("1", width)
    index, channels = 3, width
    for stage, count in enumerate(c["blocks"]):
        if not count:
            continue
        out = width * 2 ** stage
        for i in range(count):
            stride = 2 if stage and i == 0 else 1
            yield from _conv(f"{index}.conv1.weight", out, channels, 3)
            yield from _batch_norm(f"{index}.bn1", out)
            yield from _conv(f"{index}.conv2.weight", out, out, 3)
            yield from _batch_norm(f"{index}.bn2", out)
            if stride != 1 or channels != out:
                yield from _conv(f"{index}.shortcut.0.weight", out, channels, 1)
                yield from _batch_norm(f"{index}.shortcut.1", out)
            index += 1
            channels = out
    yield from _linear(index + 2, channels, c["num_classes"])   # after pooling, Flatten


#: model type -> the (name, (shape, itemsize)) of every tensor in its state_dict, in order
TENSORS = {"mlp": _mlp, "lenet": _lenet, "resnet": _resnet}


def described_tensors(kind, config):
    """Iterate over (state_dict name, (shape, bytes per element)) of a ``kind`` model built
    from ``config`` — computed, nothing allocated."""
    return TENSORS[kind](config)


# ---------------------------------------------------------------- against the file

def check_against_file(path, kind, config, entries, max_bytes=MAX_MODEL_BYTES):
    """The tensors the description implies must be those stored under ``model.`` in the
    file (``entries``: name -> TensorEntry), and fit in ``max_bytes``."""
    if kind == "lenet" and lenet_flat_features(config["image_size"]) is None:
        raise CheckpointError(f"{path}: model description option 'image_size': "
                              f"{config['image_size']} is too small for LeNet5")
    stored = {name[len("model."):]: entry for name, entry in entries.items()
              if name.startswith("model.")}
    described, total = {}, 0
    for name, (shape, itemsize) in described_tensors(kind, config):
        if len(described) >= len(stored) + _SLACK:       # bounds the work on any description
            raise CheckpointError(f"{path}: the {kind} model description implies more "
                                  f"than {len(described)} tensors; the file stores "
                                  f"{len(stored)}")
        described[name] = shape
        total += math.prod(shape) * itemsize
    if total > max_bytes:
        raise CheckpointError(f"{path}: the {kind} model description asks for "
                              f"{_gib(total)} of parameters, more than the "
                              f"{_gib(max_bytes)} allowed (max_bytes)")
    problems = [f"model.{n}: described {s}, stored {stored[n].shape}"
                for n, s in described.items() if n in stored and stored[n].shape != s]
    problems += [f"model.{n}: described {s}, not stored" for n, s in described.items()
                 if n not in stored]
    problems += [f"model.{n}: stored {e.shape}, not described" for n, e in stored.items()
                 if n not in described]
    if problems:
        shown = "; ".join(problems[:4]) + (f"; and {len(problems) - 4} more"
                                           if len(problems) > 4 else "")
        raise CheckpointError(f"{path}: the model description does not fit the tensors "
                              f"stored in the file: {shown}")
    return total


def check_inputs(path, description, kind, config, max_bytes=MAX_MODEL_BYTES):
    """``input_shape`` and ``feature_mean``/``feature_std`` of a description, if given:
    an input the model takes, of a size that fits the budget; finite statistics, std != 0."""
    shape = description.get("input_shape")
    if shape is not None:
        where = f"{path}: model description 'input_shape'"
        shape = [_positive(n, f"{where}[{i}]") for i, n in enumerate(_list(shape, where))]
        expected = _input_shape(kind, config, shape)
        if expected is not None and tuple(shape[1:]) != expected:
            raise CheckpointError(f"{where}: {shape} does not fit the {kind} model, which "
                                  f"takes samples of shape {expected}")
        if math.prod(shape) * _FLOAT > max_bytes:
            raise CheckpointError(f"{where}: {shape} is larger than the {_gib(max_bytes)} "
                                  "allowed")
    for key in ("feature_mean", "feature_std"):
        value = description.get(key)
        if value is None:
            continue
        where = f"{path}: model description {key!r}"
        try:
            array = numpy.asarray(value)
        except (ValueError, TypeError):
            raise CheckpointError(f"{where}: expected numbers") from None
        if array.dtype.kind not in "iuf" or not numpy.isfinite(array).all():
            raise CheckpointError(f"{where}: expected finite real numbers")
        if key == "feature_std" and (array == 0).any():
            raise CheckpointError(f"{where}: a standard deviation of 0")
        if shape is not None:
            try:
                numpy.broadcast_shapes(array.shape, tuple(shape[1:]))
            except ValueError:
                raise CheckpointError(f"{where}: shape {array.shape} does not fit samples "
                                      f"of shape {tuple(shape[1:])}") from None


def _input_shape(kind, config, shape):
    if kind == "mlp":
        return tuple(shape[1:]) if math.prod(shape[1:]) == config["in_features"] else \
            (config["in_features"],)
    if kind == "lenet":
        return (config["in_channels"], config["image_size"], config["image_size"])
    if len(shape) == 4 and shape[1] == config["in_channels"]:
        return tuple(shape[1:])
    return (config["in_channels"], "H", "W")


def _list(value, where):
    if not isinstance(value, (list, tuple)):
        raise CheckpointError(f"{where}: expected a list of integers, got {_short(value)}")
    return value


def _gib(n):
    return f"{n / 2**30:.3g} GiB"


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."
