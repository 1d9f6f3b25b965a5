"""``chainrule evaluate | predict | export``: use a saved run with no Python written.

The checkpoint carries the run's description: the model's type and configuration, the
dataset and seed, and the preprocessing fitted at training time (scaling, standardisation,
image size), plus the class names. The description is checked field by field, and against
the tensors in the same file and the memory budget, before any model is built; raw inputs
then get exactly the training-time preprocessing.
"""
import csv
import os
import sys

import numpy

from . import common
from ..errors import CheckpointError
from .common import CommandError, check_regular_file
from .inputs import check_output_path, read_samples

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
    p.add_argument("--input", required=True, type=common.path, nargs="+",
                   help="data.npy or data.csv, one sample per row with the raw features as "
                        "the dataset ships them (the training-time preprocessing is applied); "
                        "for a model trained on images image files and folders of them")
    p.add_argument("--output", type=common.output_file(".csv"),
                   help="write predictions to this CSV (default: print them: CSV for .npy/.csv "
                        "inputs, one line per picture for images, e.g. 'rex.jpg  dogs 0.93')")
    p.set_defaults(run=run_predict)

    p = sub.add_parser("export", help="export a saved model to ONNX")
    p.add_argument("--checkpoint", required=True, type=common.path, help="model.safetensors")
    p.add_argument("--onnx", required=True, type=common.output_file(".onnx"),
                   help="output .onnx file")
    p.set_defaults(run=run_export)


# ---------------------------------------------------------------- the run's description

def _model_budget():
    """Bytes a saved model may take: a third of what this machine allows (the file's arrays,
    the model and a batch of inputs live side by side)."""
    return common.memory_budget() // 3


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
        if "in_features" not in model.config:
            raise CommandError(f"{path}: its description gives neither the preprocessing nor "
                               "the input shape of this image model")
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
    """A model rebuilt from a checkpoint with what is needed to use it. The description is
    checked by :func:`chainrule.io.checkpoint.model_from_description` (every option, the
    tensors it implies against those in the file, a memory budget) before anything is built;
    the preprocessing, class names and task are checked here."""

    def __init__(self, path):
        from ..io.checkpoint import model_from_description
        check_regular_file(path, "--checkpoint")
        try:
            self.model, description = model_from_description(path, max_bytes=_model_budget())
        except CheckpointError as error:
            raise CommandError(*_checkpoint_message(path, error)) from None
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


def _checkpoint_message(path, error):
    """(the reader's message on one line, a hint); a GPT's checkpoint points to chainrule
    generate."""
    message = " ".join(str(error).split())
    if "unknown model type 'gpt'" in message:
        return (f"{path} holds a GPT (a text model), which evaluate, predict and export do "
                "not take", f"sample from it with: chainrule generate --checkpoint {path}")
    return message, RUN_FILES


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
        raise CommandError(f"--input {' '.join(args.input)}: {error}") from None
    outputs = chainrule.predict(saved.model, x).numpy()
    header, rows = _prediction_rows(outputs, saved)
    if files is not None and not args.output and saved.task == "classification":
        width = max(len(f) for f in files)
        for name, row in zip(files, rows):            # "photos/rex.jpg  dogs 0.93"
            label = row[1] if saved.class_names is not None else f"class {row[0]}"
            print(f"{name:<{width}s}  {label} {float(row[-1]):.2f}")
        return 0
    if files is not None:
        header, rows = ["file"] + header, [[f] + row for f, row in zip(files, rows)]
    if args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as f:
            _write_csv(f, header, rows)
        print(f"wrote {len(rows)} predictions to {args.output}")
    else:
        _write_csv(sys.stdout, header, rows)
    return 0


MAX_IMAGES = 100_000


def _read_input(names, saved):
    """(raw samples, file names or None): for image models image files and folders of them
    (several may be given), else one .npy/.csv file."""
    from ..data import images
    image_size = saved.preprocessing.image_size
    if image_size is not None and all(os.path.isdir(n) or n.lower().endswith(
            images.EXTENSIONS) for n in names):
        files = [f for name in names for f in _image_inputs(name)]
        if len(files) > MAX_IMAGES:
            raise CommandError(f"--input: {len(files):,} images are more than the "
                               f"{MAX_IMAGES:,} one call predicts; give fewer")
        return numpy.stack([images.read_image(f, image_size) for f in files]), files
    if len(names) > 1:
        kind = "image files or folders" if image_size is not None else "one .npy or .csv file"
        raise CommandError(f"--input: {len(names)} inputs given ({', '.join(names[:3])}"
                           f"{', ...' if len(names) > 3 else ''}); give {kind}")
    name = names[0]
    if os.path.isdir(name):
        raise CommandError(f"--input {name} is a directory; give a .npy or .csv file")
    return read_samples(name, saved.preprocessing.raw_shape), None


def _image_inputs(name):
    """An image file, or the images in a folder; a folder laid out as for training
    (``photos/cats/*.jpg``, ``photos/dogs/*.jpg``) gives those of its class folders."""
    from ..data import images
    if not os.path.isdir(name):
        check_regular_file(name, "--input")
        return [name]
    try:
        files = images.image_files(name)
        if not files:
            for entry in sorted(os.scandir(name), key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                    files += images.image_files(entry.path)
    except OSError as error:
        raise CommandError(f"--input {name}: cannot be read "
                           f"({(error.strerror or str(error)).lower()})") from None
    if not files:
        raise CommandError(f"--input {name} holds no image files "
                           f"({', '.join(images.EXTENSIONS)}), nor do its sub-folders")
    return files


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
