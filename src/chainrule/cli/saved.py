"""``chainrule evaluate | predict | export``: use a saved run with no Python written."""
import csv
import json
import os

import numpy

from .common import CommandError


def add_parsers(sub):
    p = sub.add_parser("evaluate", help="evaluate a saved model on a dataset's test split")
    p.add_argument("--checkpoint", required=True, help="model.safetensors written by "
                                                       "chainrule train --out")
    p.add_argument("--dataset", help="dataset name (default: the one it was trained on)")
    p.set_defaults(run=run_evaluate)

    p = sub.add_parser("predict", help="predict with a saved model on a .npy or .csv file")
    p.add_argument("--checkpoint", required=True, help="model.safetensors")
    p.add_argument("--input", required=True, help="data.npy or data.csv (one sample per row, "
                                                  "raw features as in the dataset)")
    p.add_argument("--output", help="write predictions to this CSV (default: print them)")
    p.set_defaults(run=run_predict)

    p = sub.add_parser("export", help="export a saved model to ONNX")
    p.add_argument("--checkpoint", required=True, help="model.safetensors")
    p.add_argument("--onnx", required=True, help="output .onnx file")
    p.set_defaults(run=run_export)


def restore(path):
    """Model and run description from a checkpoint written by ``chainrule train --out``."""
    import chainrule
    from ..io.checkpoint import load_checkpoint
    from ..io.safetensors_format import read
    arrays, metadata = read(path)
    try:
        state = json.loads(metadata.get("chainrule", "{}"))
    except ValueError:
        state = {}
    description = chainrule.io.checkpoint._decode(state.get("extra") or {}, arrays)
    if not isinstance(description, dict) or "model" not in description:
        raise CommandError(f"{path}: no model description inside; use the model.safetensors "
                           "that chainrule train --out writes")
    config = dict(description["model"])
    kind = config.pop("type", "mlp")
    if kind not in chainrule.models.MODELS:
        raise CommandError(f"{path}: unknown model type {kind!r}")
    model = chainrule.models.MODELS[kind](**config)
    restored = load_checkpoint(path, model=model, restore_rng=False)
    return model, restored["extra"]


def run_evaluate(args):
    import chainrule
    from ..data import datasets
    model, info = restore(args.checkpoint)
    name = args.dataset or info["dataset"]
    split = datasets.load(name, seed=info.get("seed", 0))
    loss_fn = chainrule.nn.CrossEntropyLoss() if split.task == "classification" else \
        chainrule.nn.MSELoss()
    metrics = ("accuracy",) if split.task == "classification" else ("mae", "r2")
    result = chainrule.evaluate(model, loss_fn, split.test, metrics)
    print(f"{name} test ({len(split.test)} samples): " +
          "  ".join(f"{k} {v:.4f}" for k, v in result.items()))
    return 0


def _read_inputs(path):
    if not os.path.exists(path):
        raise CommandError(f"input file {path} does not exist")
    if path.endswith(".npy"):
        try:
            return numpy.load(path, allow_pickle=False)
        except ValueError as error:
            raise CommandError(f"{path}: not a plain .npy array ({error})") from None
    if path.endswith(".csv"):
        try:
            return numpy.loadtxt(path, delimiter=",", dtype=numpy.float32, ndmin=2)
        except ValueError as error:
            raise CommandError(f"{path}: not a CSV of numbers ({error})") from None
    raise CommandError(f"{path}: use a .npy or .csv file")


def run_predict(args):
    import chainrule
    model, info = restore(args.checkpoint)
    x = numpy.asarray(_read_inputs(args.input), dtype=numpy.float32)
    sample_shape = tuple(info.get("input_shape", [1, x.shape[-1]])[1:])
    if x.ndim == 2 and len(sample_shape) > 1 and x.shape[1] == int(numpy.prod(sample_shape)):
        x = x.reshape((-1,) + sample_shape)              # flattened images in a CSV
    if x.shape[1:] != sample_shape:
        raise CommandError(f"{args.input}: expected samples of shape {sample_shape}, got an "
                           f"array of shape {x.shape}")
    if info.get("feature_mean") is not None:
        x = (x - numpy.asarray(info["feature_mean"])) / numpy.asarray(info["feature_std"])
    outputs = chainrule.predict(model, x.astype(numpy.float32)).numpy()
    if info.get("task") == "classification":
        shifted = numpy.exp(outputs - outputs.max(axis=1, keepdims=True))
        probs = shifted / shifted.sum(axis=1, keepdims=True)
        rows = [[int(p.argmax()), f"{p.max():.4f}"] for p in probs]
        header = ["prediction", "probability"]
    else:
        rows = [[f"{v:.6g}"] for v in outputs.reshape(-1)]
        header = ["prediction"]
    if args.output:
        with open(args.output, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
        print(f"wrote {len(rows)} predictions to {args.output}")
    else:
        print(",".join(header))
        for row in rows:
            print(",".join(str(v) for v in row))
    return 0


def run_export(args):
    import chainrule
    model, info = restore(args.checkpoint)
    shape = info.get("input_shape") or [1, model.config["in_features"]]  # noqa: E501
    chainrule.onnx.export(model, chainrule.zeros(*shape), args.onnx)
    print(f"wrote {args.onnx}")
    return 0
