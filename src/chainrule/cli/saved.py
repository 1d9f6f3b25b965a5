"""``chainrule evaluate | predict | export``: use a saved run with no Python written.

The checkpoint carries the run's description: the model's type and configuration, the
dataset and seed, and the preprocessing fitted at training time (scaling, standardisation,
image size), plus the class names. The description is checked field by field, and against
the tensors in the same file and the memory budget, before any model is built; raw inputs
then get exactly the training-time preprocessing.
"""
import csv
import math
import os
import sys

import numpy

from . import common
from ..errors import CheckpointError
from .common import CommandError, check_regular_file
from .inputs import check_output_path, read_samples

LARGEST = 2**24
RUN_FILES = ("use the model.safetensors (or checkpoints/epoch-N.safetensors) that chainrule "
             "train --out writes")


def add_parsers(sub):
    p = sub.add_parser("evaluate", help="evaluate a saved model on a dataset's test split")
    p.add_argument("--checkpoint", required=True, type=common.path,
                   help="model.safetensors (or checkpoints/epoch-N.safetensors) written by "
                        "chainrule train --out")
    p.add_argument("--dataset", type=common.path,
                   help="dataset name or images:PATH (default: the one it was trained on)")
    p.set_defaults(run=run_evaluate)

    p = sub.add_parser("predict", help="predict with a saved model on a .npy or .csv file, or "
                                       "on images")
    p.add_argument("--checkpoint", required=True, type=common.path, help="model.safetensors")
    p.add_argument("--input", required=True, type=common.path,
                   help="data.npy or data.csv, one sample per row with the raw features as "
                        "the dataset ships them (the training-time preprocessing is applied); "
                        "for a model trained on images also an image file or a folder of them")
    p.add_argument("--output", type=common.output_file(".csv"),
                   help="write predictions to this CSV (default: print them)")
    p.set_defaults(run=run_predict)

    p = sub.add_parser("export", help="export a saved model to ONNX")
    p.add_argument("--checkpoint", required=True, type=common.path, help="model.safetensors")
    p.add_argument("--onnx", required=True, type=common.output_file(".onnx"),
                   help="output .onnx file")
    p.set_defaults(run=run_export)


# ---------------------------------------------------------------- the run's description

def _integer(low, high):
    def check(value):
        return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high
    return check


def _integers(low, high, longest):
    def check(value):
        return isinstance(value, (list, tuple)) and 0 < len(value) <= longest and all(
            _integer(low, high)(v) for v in value)
    return check


def _number(low, high):
    def check(value):
        return not isinstance(value, bool) and isinstance(value, (int, float)) and \
            math.isfinite(value) and low <= value < high
    return check


#: model type -> field -> check (the fields the models' configs may hold)
MODEL_FIELDS = {
    "mlp": {"in_features": _integer(1, LARGEST), "hidden": _integers(1, LARGEST, 64),
            "out_features": _integer(1, LARGEST), "dropout": _number(0, 1),
            "activation": lambda v: isinstance(v, str),
            "batch_norm": lambda v: isinstance(v, bool)},
    "lenet": {"in_channels": _integer(1, 64), "num_classes": _integer(1, LARGEST),
              "image_size": _integer(1, 4096)},
    "resnet": {"in_channels": _integer(1, 64), "num_classes": _integer(1, LARGEST),
               "blocks": _integers(1, 64, 8), "width": _integer(1, 4096)},
}


def estimated_parameters(kind, config):
    """About how many parameters a model of this type and configuration has (no allocation).

    >>> estimated_parameters("mlp", {"in_features": 4, "hidden": [8], "out_features": 3})
    67
    """
    if kind == "mlp":
        widths = [config.get("in_features", 1), *config.get("hidden", (128, 128, 128)),
                  config.get("out_features", 10)]
        return sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    channels, classes = config.get("in_channels", 1), config.get("num_classes", 10)
    if kind == "lenet":
        size = config.get("image_size", 32)
        side = max((size + (4 if size < 32 else 0) - 4) // 2, 1)
        side = max((side + (4 if size < 16 else 0) - 4) // 2, 1)
        return channels * 150 + 2422 + (16 * side * side + 1) * 120 + 10164 + 85 * classes
    width = config.get("width", 16)
    total, current = channels * width * 9 + 2 * width, width
    for stage, count in enumerate(config.get("blocks", (2, 2, 2))):
        out = width * 2 ** stage
        for _ in range(count):
            total += current * out * 9 + out * out * 9 + 4 * out + current * out + 2 * out
            current = out
    return total + (current + 1) * classes


def _check_description(path, description, shapes):
    """The description's model fields, checked, and its size against the file's tensors."""
    import chainrule
    from ..nn.activation import ACTIVATIONS
    if not isinstance(description, dict) or not isinstance(description.get("model"), dict):
        raise CommandError(f"{path}: no model description inside", hint=RUN_FILES)
    config = dict(description["model"])
    kind = config.pop("type", "mlp")
    if kind not in MODEL_FIELDS or kind not in chainrule.models.MODELS:
        raise CommandError(f"{path}: unknown model type {str(kind)[:40]!r} in its description")
    for field, value in config.items():
        check = MODEL_FIELDS[kind].get(field)
        if check is None or not check(value):
            raise CommandError(f"{path}: the model description's {field} = "
                               f"{str(value)[:40]!r} is not valid for a {kind}")
    if kind == "mlp" and config.get("activation", "relu") not in ACTIVATIONS:
        raise CommandError(f"{path}: unknown activation {config['activation'][:40]!r} in its "
                           "model description")
    wanted = estimated_parameters(kind, config)
    stored = sum(math.prod(shape) for name, shape in shapes.items() if name.startswith("model."))
    if wanted > 2 * stored + 4096:
        raise CommandError(f"{path}: its model description ({kind}) asks for about "
                           f"{wanted:,} parameters but the file holds {stored:,} model values; "
                           "the file is inconsistent")
    needed = 8 * wanted
    if needed > common.memory_budget():
        raise CommandError(f"{path}: the model would need about {common.gib(needed)}; this "
                           f"machine allows {common.gib(common.memory_budget())}")
    return kind, config


def _tensor_shapes(path):
    from ..io import safetensors_format
    read_header = getattr(safetensors_format, "read_header", None)
    if read_header is not None:
        entries, _ = read_header(path)
        return {name: tuple(entry.shape) for name, entry in entries.items()}
    arrays, _ = safetensors_format.read(path)
    return {name: array.shape for name, array in arrays.items()}


def _preprocessing(path, description, model):
    from ..data.split import Preprocessing
    from ..errors import ChainruleError
    saved = description.get("preprocessing")
    shape = description.get("input_shape")
    try:
        if saved is not None:
            return Preprocessing.from_dict(saved)
        if isinstance(shape, list) and len(shape) > 1:           # runs of older versions
            return Preprocessing(shape[1:], mean=description.get("feature_mean"),
                                 std=description.get("feature_std"))
        return Preprocessing((model.config["in_features"],))
    except (ChainruleError, KeyError, TypeError, ValueError) as error:
        raise CommandError(f"{path}: its preprocessing description is not valid: "
                           f"{error}") from None


def _class_names(path, description, num_outputs):
    names = description.get("class_names")
    if names is None:
        return None
    if not isinstance(names, list) or len(names) != num_outputs or not all(
            isinstance(n, str) and len(n) <= 200 for n in names):
        raise CommandError(f"{path}: its class_names do not match the model's "
                           f"{num_outputs} outputs")
    return names


class SavedRun:
    """A model rebuilt from a checkpoint with what is needed to use it."""

    def __init__(self, path):
        import chainrule
        from ..io.checkpoint import load_checkpoint
        check_regular_file(path, "--checkpoint")
        try:
            shapes = _tensor_shapes(path)
            description = load_checkpoint(path, restore_rng=False)["extra"]
            kind, config = _check_description(path, description, shapes)
            self.model = chainrule.models.MODELS[kind](**config)
            load_checkpoint(path, self.model, restore_rng=False)
        except CheckpointError as error:
            raise CommandError(" ".join(str(error).split()), hint=RUN_FILES) from None
        self.path, self.description = path, description
        self.task = description.get("task", "classification")
        if self.task not in ("classification", "regression"):
            raise CommandError(f"{path}: unknown task {str(self.task)[:40]!r} in its "
                               "description")
        self.preprocessing = _preprocessing(path, description, self.model)
        self.num_outputs = _num_outputs(self.model)
        self.class_names = _class_names(path, description, self.num_outputs)
        self.dataset = description.get("dataset")
        self.seed = description.get("seed", 0)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise CommandError(f"{path}: its seed {str(self.seed)[:40]!r} is not valid")

    def input_shape(self):
        return [1, *self.preprocessing.shape]


def _num_outputs(model):
    config = model.config
    return config.get("out_features", config.get("num_classes", 1))


def restore(path):
    """Model and description from a checkpoint written by ``chainrule train --out``."""
    saved = SavedRun(path)
    return saved.model, saved.description


# ---------------------------------------------------------------- evaluate

def run_evaluate(args):
    import chainrule
    saved = SavedRun(args.checkpoint)
    name = args.dataset or saved.dataset
    if not isinstance(name, str):
        raise CommandError(f"{args.checkpoint} does not say which dataset it was trained on",
                           hint="give --dataset")
    x, y, count = _test_data(name, saved)
    loss_fn = chainrule.nn.CrossEntropyLoss() if saved.task == "classification" else \
        chainrule.nn.MSELoss()
    metrics = ("accuracy",) if saved.task == "classification" else ("mae", "r2")
    if saved.task == "classification" and len(y) and int(y.max()) >= saved.num_outputs:
        raise CommandError(f"--dataset {name} has class {int(y.max())} but the model has "
                           f"{saved.num_outputs} outputs")
    result = chainrule.evaluate(saved.model, loss_fn, (x, y), metrics)
    print(f"{name} test ({count} samples): " +
          "  ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0


def _test_data(name, saved):
    """The test split of ``name`` as model inputs (raw data + the saved preprocessing)."""
    from ..data import datasets, images
    pre = saved.preprocessing
    if name.startswith("images:"):
        if pre.image_size is None or pre.mean is None:
            raise CommandError(f"{saved.path} was not trained on an image folder; give a "
                               "--dataset it can read")
        split = images.image_folder_split(name[len("images:"):], image_size=pre.image_size[0],
                                          seed=saved.seed, augment=False, skip_corrupt=True,
                                          normalization=(pre.mean, pre.std))
        from .train import test_arrays
        x, y = test_arrays(split.test, limit=len(split.test))
        return x, y, len(split.test)
    if name not in datasets.LOADERS:
        raise CommandError(f"--dataset: unknown dataset {name[:60]!r}; choose one of "
                           f"{', '.join(datasets.LOADERS)} or images:PATH")
    split = datasets.load(name, seed=saved.seed)
    raw = split.raw_test
    if raw.shape[1:] != pre.raw_shape:
        raise CommandError(f"--dataset {name} has samples of shape {raw.shape[1:]} but the "
                           f"model takes {pre.raw_shape}")
    if split.task != saved.task:
        raise CommandError(f"--dataset {name} is a {split.task} task but the model was trained "
                           f"for {saved.task}")
    return pre(raw), split.test.tensors[1].numpy(), len(raw)


# ---------------------------------------------------------------- predict

def run_predict(args):
    import chainrule
    from ..errors import ShapeError
    saved = SavedRun(args.checkpoint)
    if args.output:
        check_output_path(args.output, "--output")
    raw, files = _read_input(args.input, saved)
    try:
        x = saved.preprocessing(raw)
    except ShapeError as error:
        raise CommandError(f"--input {args.input}: {error}") from None
    outputs = chainrule.predict(saved.model, x).numpy()
    header, rows = _prediction_rows(outputs, saved)
    if files is not None:
        header, rows = ["file"] + header, [[f] + row for f, row in zip(files, rows)]
    if args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as f:
            _write_csv(f, header, rows)
        print(f"wrote {len(rows)} predictions to {args.output}")
    else:
        _write_csv(sys.stdout, header, rows)
    return 0


def _read_input(name, saved):
    """(raw samples, file names or None): images for image models, else .npy/.csv."""
    from ..data import images
    image_size = saved.preprocessing.image_size
    is_image = name.lower().endswith(images.EXTENSIONS)
    if image_size is not None and (os.path.isdir(name) or is_image):
        if os.path.isdir(name):
            files = images.image_files(name)
            if not files:
                raise CommandError(f"--input {name} holds no image files "
                                   f"({', '.join(images.EXTENSIONS)})")
        else:
            check_regular_file(name, "--input")
            files = [name]
        return numpy.stack([images.read_image(f, image_size) for f in files]), files
    if os.path.isdir(name):
        raise CommandError(f"--input {name} is a directory; give a .npy or .csv file")
    return read_samples(name, saved.preprocessing.raw_shape), None


def _prediction_rows(outputs, saved):
    if saved.task != "classification":
        return ["prediction"], [[f"{v:.6g}"] for v in outputs.reshape(-1)]
    shifted = numpy.exp(outputs - outputs.max(axis=1, keepdims=True))
    probabilities = shifted / shifted.sum(axis=1, keepdims=True)
    best = probabilities.argmax(axis=1)
    if saved.class_names is None:
        return ["prediction", "probability"], [
            [int(c), f"{p[c]:.4f}"] for c, p in zip(best, probabilities)]
    return ["prediction", "class", "probability"], [
        [int(c), saved.class_names[c], f"{p[c]:.4f}"] for c, p in zip(best, probabilities)]


def _write_csv(stream, header, rows):
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


# ---------------------------------------------------------------- export

def run_export(args):
    import chainrule
    saved = SavedRun(args.checkpoint)
    check_output_path(args.onnx, "--onnx")
    chainrule.onnx.export(saved.model, chainrule.zeros(*saved.input_shape()), args.onnx)
    print(f"wrote {args.onnx}")
    return 0
