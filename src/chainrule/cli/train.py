"""``chainrule train``: train a model on a bundled dataset and report train/test results."""
import json
import os
import time

import numpy

from .common import CommandError, int_list, merge_options

DEFAULTS = {
    "dataset": "digits", "model": "mlp", "hidden": "128,128,128", "activation": "relu",
    "optimizer": "adam", "lr": None, "epochs": 20, "batch_size": 64, "seed": 0, "out": None,
    "dropout": 0.0, "weight_decay": 0.0, "momentum": 0.0, "progress": True, "resume": False,
    "tensorboard": None, "checkpoint_every": 1, "distributed": False,
}
DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "adamax": 2e-3, "sgd": 0.05, "gd": 0.1,
              "rmsprop": 1e-3, "adagrad": 1e-2, "lbfgs": 1.0, "newton": 1.0}


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train", help="train a model on a bundled dataset",
        description="Train a model and print a summary table of train/test loss and metrics. "
                    "With no options: a 3-hidden-layer MLP on the bundled digits with Adam.")
    p.add_argument("--dataset", help="digits (default), breast_cancer, iris, wine, diabetes, "
                                     "moons, spiral, toy_linear, shapes, or images:PATH (a "
                                     "folder with one sub-folder of images per class)")
    p.add_argument("--model", help="mlp (default), lenet or resnet (image datasets: shapes, "
                                   "digits, images:PATH)")
    p.add_argument("--hidden", help="hidden layer sizes, comma-separated (default 128,128,128)")
    p.add_argument("--activation", help="relu (default), tanh, sigmoid, gelu, elu, leaky_relu, "
                                        "silu, softplus")
    p.add_argument("--optimizer", help="adam (default), adamw, adamax, sgd, gd, rmsprop, "
                                       "adagrad, lbfgs, newton")
    p.add_argument("--lr", type=float, help="learning rate (default depends on the optimizer: "
                                            "adam 1e-3, sgd 0.05, ...)")
    p.add_argument("--epochs", type=int, help="passes over the training data (default 20)")
    p.add_argument("--batch-size", type=int, dest="batch_size", help="mini-batch size "
                                                                     "(default 64)")
    p.add_argument("--seed", type=int, help="random seed for init, shuffling and splits "
                                            "(default 0)")
    p.add_argument("--dropout", type=float, help="dropout after each hidden layer (default 0)")
    p.add_argument("--weight-decay", type=float, dest="weight_decay",
                   help="L2 weight decay (default 0)")
    p.add_argument("--momentum", type=float, help="momentum for sgd (default 0)")
    p.add_argument("--out", help="directory for history.csv, metrics.json, report.html, "
                                 "model.safetensors and checkpoints/")
    p.add_argument("--resume", action="store_const", const=True,
                   help="continue from the newest checkpoint in --out/checkpoints")
    p.add_argument("--checkpoint-every", type=int, dest="checkpoint_every",
                   help="epochs between checkpoints (default 1)")
    p.add_argument("--tensorboard", metavar="DIR", help="write TensorBoard logs to DIR")
    p.add_argument("--distributed", action="store_const", const=True,
                   help="data-parallel over MPI: run as mpiexec -n 4 chainrule train "
                        "--distributed (batch size is per process)")
    p.add_argument("--config", help="a TOML file with any of these options (keys like "
                                    "batch_size = 64); the command line wins")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                   help="no progress bar or per-epoch lines")
    p.set_defaults(run=run)
    return p


def _check(args):
    from ..data.datasets import LOADERS
    from ..nn.activation import ACTIVATIONS
    from ..optim import OPTIMIZERS
    if args.dataset not in LOADERS and not str(args.dataset).startswith("images:"):
        raise CommandError(f"unknown dataset {args.dataset!r}; choose one of "
                           f"{', '.join(LOADERS)} or images:PATH")
    if args.optimizer not in OPTIMIZERS:
        raise CommandError(f"unknown optimizer {args.optimizer!r}; choose one of "
                           f"{', '.join(OPTIMIZERS)}")
    if args.activation not in ACTIVATIONS:
        raise CommandError(f"unknown activation {args.activation!r}; choose one of "
                           f"{', '.join(ACTIVATIONS)}")
    from ..models import MODELS
    if args.model not in MODELS:
        raise CommandError(f"unknown model {args.model!r}; choose one of {', '.join(MODELS)}")
    for name in ("epochs", "batch_size"):
        if int(getattr(args, name)) < 1:
            raise CommandError(f"--{name.replace('_', '-')} must be at least 1")
    args.hidden = int_list(args.hidden)


def build(args):
    """Dataset, model, loss, optimizer and metrics for the parsed options."""
    import chainrule
    from ..optim import OPTIMIZERS
    chainrule.manual_seed(args.seed)
    split = load_split(args)
    model = make_model(args, split)
    if split.task == "classification":
        loss_fn, metrics = chainrule.nn.CrossEntropyLoss(), ("accuracy",)
    else:
        loss_fn, metrics = chainrule.nn.MSELoss(), ("mae", "r2")
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    options = {"lr": lr}
    if args.weight_decay and args.optimizer not in ("lbfgs", "newton", "gd"):
        options["weight_decay"] = args.weight_decay
    if args.momentum and args.optimizer in ("sgd", "rmsprop"):
        options["momentum"] = args.momentum
    optimizer = OPTIMIZERS[args.optimizer](model.parameters(), **options)
    return split, model, loss_fn, optimizer, metrics


class FolderSplit:
    """A user's image folder in the shape of a DataSplit."""

    def __init__(self, path, seed):
        from ..data.images import image_folder_split
        self.train, self.test, self.class_names = image_folder_split(path, seed=seed)
        self.name, self.task = f"images:{path}", "classification"
        self.num_classes = self.num_outputs = len(self.class_names)
        self.image_shape = tuple(self.test[0][0].shape)
        self.num_features = int(numpy.prod(self.image_shape))
        self.feature_mean = self.feature_std = None


def load_split(args):
    from ..data import datasets
    if str(args.dataset).startswith("images:"):
        return FolderSplit(args.dataset[len("images:"):], args.seed)
    if args.dataset == "digits" and args.model != "mlp":
        return datasets.digits(seed=args.seed, flat=False)
    return datasets.load(args.dataset, seed=args.seed)


def make_model(args, split):
    from ..models import MLP, LeNet5, ResNet
    if args.model == "mlp":
        return MLP(split.num_features, args.hidden, split.num_outputs, args.activation,
                   args.dropout)
    if split.image_shape is None:
        raise CommandError(f"--model {args.model} needs an image dataset (shapes, digits or "
                           f"images:PATH), not {split.name}")
    channels, size = split.image_shape[0], split.image_shape[1]
    if args.model == "lenet":
        return LeNet5(channels, split.num_outputs, size)
    return ResNet(channels, split.num_outputs)


def run(args):
    import chainrule
    merge_options(args, DEFAULTS)
    _check(args)
    split, model, loss_fn, optimizer, metrics = build(args)
    if args.resume and not args.out:
        raise CommandError("--resume needs --out DIR (the run's directory)")
    callbacks = []
    if args.tensorboard:
        from ..io.tensorboard import TensorBoardLogger
        callbacks.append(TensorBoardLogger(args.tensorboard))
    started = time.perf_counter()
    history = chainrule.fit(model, loss_fn, optimizer, split.train, epochs=args.epochs,
                            batch_size=args.batch_size, metrics=metrics, val_data=split.test,
                            progress=bool(args.progress), callbacks=callbacks,
                            checkpoint_dir=os.path.join(args.out, "checkpoints") if args.out
                            else None, checkpoint_every=args.checkpoint_every,
                            resume=bool(args.resume), distributed=bool(args.distributed))
    if args.distributed:
        from .. import distributed
        if not distributed.is_main():
            return 0                          # rank 0 reports and writes
    seconds = time.perf_counter() - started
    results = {"train": chainrule.evaluate(model, loss_fn, split.train, metrics),  # noqa: E501
               "test": chainrule.evaluate(model, loss_fn, split.test, metrics)}
    print(summary_table(results, split, model, seconds, history))
    if args.out:
        write_outputs(args, history, results, seconds, split, model)
    return 0


def summary_table(results, split, model, seconds, history):
    names = list(results["train"])
    lines = [f"{split.name}: {len(split.train)} train / {len(split.test)} test samples, "
             f"{model.num_parameters():,} parameters, {len(history.epochs)} epochs in "
             f"{seconds:.1f} s"]
    if history.stop_reason:
        lines.append(f"stopped: {history.stop_reason}")
    lines.append(f"{'':8s}" + "".join(f"{n:>12s}" for n in names))
    for part in ("train", "test"):
        lines.append(f"{part:8s}" + "".join(f"{results[part][n]:12.4f}" for n in names))
    return "\n".join(lines)


def write_outputs(args, history, results, seconds, split, model):
    """history.csv, metrics.json and (when matplotlib is installed) report.html."""
    import chainrule
    os.makedirs(args.out, exist_ok=True)
    config = {k: getattr(args, k) for k in DEFAULTS}
    written = ["history.csv", "metrics.json"]
    try:
        x_test, y_test = split.test.tensors
        evaluation = {"outputs": chainrule.predict(model, x_test).numpy(),
                      "targets": y_test.numpy(), "inputs": x_test.numpy(),
                      "image_shape": split.image_shape}
        chainrule.report(history, model, args.out, config=config, metrics=results,
                         input_shape=(1,) + tuple(x_test.shape[1:]), evaluation=evaluation,
                         title=f"chainrule train: {split.name}")
        written.append("report.html")
    except ImportError as error:
        print(f"(no report.html: {error})")
        history.to_csv(os.path.join(args.out, "history.csv"))
    with open(os.path.join(args.out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump({"train": results["train"], "test": results["test"], "seconds": seconds,
                   "epochs": len(history.epochs), "stop_reason": history.stop_reason,
                   "config": config}, f, indent=2)
    chainrule.save_checkpoint(os.path.join(args.out, "model.safetensors"), model=model,
                              history=history, extra=run_description(args, split, model))
    written.append("model.safetensors")
    print(f"wrote {', '.join(written)} in {args.out}")


def run_description(args, split, model):
    """What evaluate/predict/export need to rebuild the model from a checkpoint."""
    return {"model": {"type": args.model, **model.config}, "dataset": split.name,
            "seed": args.seed,
            "task": split.task, "feature_mean": split.feature_mean,
            "feature_std": split.feature_std,
            "input_shape": [1] + list(split.image_shape if args.model != "mlp" and
                                      split.image_shape else [split.num_features])}
