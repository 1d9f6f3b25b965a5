"""``chainrule train``: train a model on a bundled dataset or an image folder, report
train/test results, and (with --out) keep a run that evaluate/predict/export and --resume use.

Every option has one strict parser (``OPTIONS``) that checks it wherever it comes from: the
command line, a --config TOML file, or the run.json of a run being resumed.
"""
import argparse
import json
import math
import os
import time
import warnings

import numpy

from ..callback import Callback
from . import common
from .common import CommandError, Diverged, Interrupted
from .rundir import RunDirectory

DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "adamax": 2e-3, "sgd": 0.05, "gd": 0.1,
              "rmsprop": 1e-3, "adagrad": 1e-2, "lbfgs": 1.0, "newton": 1.0}
#: copies of the parameters each optimizer keeps (for the memory check before building)
STATE_COPIES = {"adam": 2, "adamw": 2, "adamax": 2, "sgd": 1, "gd": 0, "rmsprop": 2,
                "adagrad": 1, "lbfgs": 204, "newton": 8}
LARGEST_LAYER = 1_000_000
NUMPY_BLOW_UP = r"(overflow|invalid value|divide by zero) encountered"
DATASETS = ("digits", "breast_cancer", "iris", "wine", "diabetes", "moons", "spiral",
            "toy_linear", "shapes")
MODELS = ("mlp", "linear", "lenet", "resnet", "gpt")
#: defaults a model brings unless the options are chosen: a linear model is the seeds' line,
#: learned by full-batch gradient descent until it sits on the least-squares solution
MODEL_DEFAULTS = {"linear": {"optimizer": "gd", "epochs": 500}}
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "elu", "leaky_relu", "silu", "softplus")

# name: (parser, default, help); the command line flag is --name with - for _
OPTIONS = {
    "dataset": (common.choice(DATASETS + ("text",), r"(images|text):.+",
                              "images:PATH or text:PATH"), "digits",
                "digits (default), breast_cancer, iris, wine, diabetes, moons, spiral, "
                "toy_linear, shapes, images:PATH (a folder with one sub-folder of images "
                "per class), text:PATH (a text file, for --model gpt) or text (the Python "
                "standard library's source files)"),
    "skip_bad_images": (common.boolean, False,
                        "with images:PATH, leave out unreadable image files (with a warning) "
                        "instead of stopping"),
    "model": (common.choice(MODELS), "mlp",
              "mlp (default), linear (f(x) = w0 + w1·x1 + ..., no hidden layer; trains with "
              "--optimizer gd for 500 epochs unless told, and a line is printed beside the "
              "least-squares solution), lenet or resnet (image datasets: shapes, digits, "
              "images:PATH), gpt (text)"),
    "hidden": (common.layer_sizes(LARGEST_LAYER), [128, 128, 128],
               "hidden layer sizes of the mlp, comma-separated positive integers "
               "(default 128,128,128)"),
    "activation": (common.choice(ACTIVATIONS), "relu", ", ".join(ACTIVATIONS) +
                   " (default relu)"),
    "optimizer": (common.choice(tuple(DEFAULT_LR)), "adam",
                  "adam (default), adamw, adamax, sgd (mini-batches of --batch-size), gd "
                  "(full-batch gradient descent: one step per epoch on the whole training "
                  "set), rmsprop, adagrad, lbfgs (with a strong-Wolfe line search), newton"),
    "lr": (common.number(0, low_open=True), None,
           "learning rate, a finite number > 0 (default depends on the optimizer: adam 1e-3, "
           "sgd 0.05, ...)"),
    "epochs": (common.integer(1, 1_000_000), 20, "passes over the training data (default 20)"),
    "batch_size": (common.integer(1, 2**24), 64,
                   "mini-batch size (default 64; --optimizer gd always takes the whole "
                   "training set)"),
    "seed": (common.integer(0, 2**63 - 1), 0,
             "random seed for init, shuffling and splits (default 0)"),
    "dropout": (common.number(0, 1, high_open=True), 0.0,
                "dropout after each hidden layer, in [0, 1) (default 0)"),
    "weight_decay": (common.number(0), 0.0, "L2 weight decay, >= 0 (default 0)"),
    "momentum": (common.number(0, 1, high_open=True), 0.0,
                 "momentum for sgd and rmsprop, in [0, 1) (default 0)"),
    "out": (common.path, None, "directory for run.json, history.csv, metrics.json, "
                               "report.html, model.safetensors and checkpoints/"),
    "checkpoint_every": (common.integer(1, 1_000_000), 1,
                         "epochs between checkpoints (default 1)"),
    "tensorboard": (common.path, None, "write TensorBoard logs to this directory"),
    "resume": (common.boolean, False, "continue the run in --out from its newest checkpoint, "
                                      "with its saved options (--epochs may be raised)"),
    "overwrite": (common.boolean, False, "replace the run that --out holds"),
    "distributed": (common.boolean, False,
                    "data-parallel over MPI: run as mpiexec -n 4 chainrule train "
                    "--distributed (batch size is per process)"),
    "device": (common.choice(("cpu", "cuda", "auto"), r"cuda:\d+", "cuda:N"), "cpu",
               "cpu (default), cuda (an NVIDIA GPU through CuPy: pip install "
               "'chainrule[gpu]'), cuda:N, or auto (the GPU when one can be used)"),
    "progress": (common.boolean, True, None),
    "divergence_guard": (common.boolean, True, None),
    "detect_anomaly": (common.boolean, False,
                       "run every step under detect_anomaly (slow): a divergence names the "
                       "layer that overflowed"),
}
PARSERS = {name: spec[0] for name, spec in OPTIONS.items()}
DEFAULTS = {name: spec[1] for name, spec in OPTIONS.items()}
FLAGS = ("resume", "overwrite", "distributed", "detect_anomaly", "skip_bad_images")
#: options a resumed run may change; the others must agree with the saved run's
MAY_CHANGE = {"epochs", "out", "resume", "overwrite", "distributed", "progress", "tensorboard",
              "checkpoint_every", "divergence_guard", "detect_anomaly", "device"}
#: options that describe this invocation, not the run (not taken from a saved run)
NOT_SAVED = {"resume", "overwrite", "distributed", "progress", "device"}


def add_parsers(subparsers):
    p = subparsers.add_parser(
        "train", help="train a model on a bundled dataset or a folder of images",
        description="Train a model and print a summary table of train/test loss and metrics. "
                    "With no options: a 3-hidden-layer MLP on the bundled digits with Adam. "
                    "Exit codes: 0 done, 2 a bad option or file, 3 training diverged, 130 "
                    "interrupted.")
    for name, (parse, _, helptext) in OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if name in FLAGS:
            p.add_argument(flag, dest=name, action="store_const", const=True, help=helptext)
        elif helptext is not None:
            p.add_argument(flag, dest=name, type=parse, help=helptext)
    p.add_argument("--config", type=common.path,
                   help="a TOML file with any of these options (keys like batch_size = 64); "
                        "the command line wins")
    p.add_argument("--no-progress", dest="progress", action="store_const", const=False,
                   help="no progress bar or per-epoch lines")
    p.add_argument("--no-divergence-guard", dest="divergence_guard", action="store_const",
                   const=False, help="keep training when the loss becomes NaN/inf or explodes "
                                     "(by default training stops, says why, exit code 3)")
    p.set_defaults(run=run)
    return p


# ---------------------------------------------------------------- options

def resolve_options(args):
    """The run's options: command line, then --config, then (with --resume) the saved run's,
    then the defaults. Options given again on --resume must agree with the saved ones."""
    given = {name: getattr(args, name) for name in OPTIONS
             if getattr(args, name, None) is not None}
    if getattr(args, "config", None):
        for name, value in common.load_config(args.config, PARSERS).items():
            given.setdefault(name, value)
    saved = {}
    if given.get("resume"):
        if given.get("overwrite"):
            raise CommandError("--resume and --overwrite contradict each other; choose one")
        if not given.get("out"):
            raise CommandError("--resume needs --out DIR (the directory of the run to "
                               "continue)")
        saved = _saved_options(RunDirectory(given["out"]))
        _check_agreement(given, saved, given["out"])
    options = dict(DEFAULTS)
    options.update({k: v for k, v in saved.items() if k not in NOT_SAVED})
    options.update(given)
    _text_defaults(options, dict(saved, **given))
    for name, value in MODEL_DEFAULTS.get(options["model"], {}).items():
        if name not in saved and name not in given:
            options[name] = value
    if options["lr"] is None:
        options["lr"] = DEFAULT_LR[options["optimizer"]]
    if options["model"] != "mlp" and "hidden" in given and options["hidden"] != \
            DEFAULTS["hidden"]:
        raise CommandError(f"--hidden is for --model mlp, not {options['model']}")
    if options["model"] == "linear":
        for name in ("activation", "dropout"):
            if name in given and given[name] != DEFAULTS[name]:
                raise CommandError(f"--{name} is for the hidden layers of --model mlp; "
                                   "--model linear has none (f(x) = w0 + w1·x1 + ...)")
    _full_batch(options, given)
    return argparse.Namespace(**options)


def _full_batch(options, given):
    """--optimizer gd is full-batch gradient descent, as the seeds define it: one step per
    epoch on the whole training set (batch_size None); SGD takes mini-batches."""
    if options["optimizer"] != "gd":
        if options["batch_size"] is None:             # a gd run's saved options, resumed
            options["batch_size"] = DEFAULTS["batch_size"]
        return
    if "batch_size" in given:
        raise CommandError(f"--batch-size {given['batch_size']} does not go with --optimizer "
                           "gd: gradient descent takes the whole training set in every step",
                           hint="use --optimizer sgd for mini-batches of --batch-size")
    options["batch_size"] = None


def batch_size(options, split):
    """The samples per step: the whole training set for --optimizer gd."""
    return len(split.train) if options.batch_size is None else options.batch_size


def _text_defaults(options, chosen):
    """A text dataset trains a GPT and a GPT trains on text (the default corpus unless told);
    a GPT trains with its own epochs, batch size and Adam learning rate unless told."""
    from ..models.gpt import TRAINING_DEFAULTS
    is_text = options["dataset"] == "text" or options["dataset"].startswith("text:")
    if is_text and "model" not in chosen:
        options["model"] = "gpt"
    if options["model"] == "gpt" and "dataset" not in chosen:
        options["dataset"] = "text"
    if options["model"] != "gpt":
        return
    for name, value in TRAINING_DEFAULTS.items():
        if name not in chosen and (name != "lr" or options["optimizer"] in ("adam", "adamw")):
            options[name] = value


def _saved_options(run_dir):
    record = run_dir.record()
    if record is None:
        return {}
    raw = {k: v for k, v in record["options"].items() if v is not None}
    return common.checked_options(raw, PARSERS, run_dir.join("run.json"))


def _check_agreement(given, saved, out):
    differing = [name for name, value in given.items()
                 if name not in MAY_CHANGE and name in saved and saved[name] != value]
    if differing:
        then = ", ".join(_flag(name, saved[name]) for name in differing)
        now = ", ".join(_flag(name, given[name]) for name in differing)
        raise CommandError(f"--resume: {out} was trained with {then}, not {now}",
                           hint="leave those options out to continue the saved run, or start "
                                "a new run with another --out")


def _flag(name, value):
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f"--{name.replace('_', '-')} {value:g}" if isinstance(value, float) else \
        f"--{name.replace('_', '-')} {value}"


def _saved_form(options):
    return {k: v for k, v in vars(options).items() if k not in NOT_SAVED}


# ---------------------------------------------------------------- building

def load_split(options):
    from ..data import datasets, images
    if options.dataset.startswith("images:"):
        return images.image_folder_split(options.dataset[len("images:"):], seed=options.seed,
                                         skip_corrupt=options.skip_bad_images)
    if options.dataset == "text" or options.dataset.startswith("text:"):
        return datasets.text(options.dataset[len("text:"):] or None, seed=options.seed)
    if options.dataset == "digits" and options.model in ("lenet", "resnet"):
        return datasets.digits(seed=options.seed, flat=False)
    return datasets.load(options.dataset, seed=options.seed)


def check_model_fits(options, split):
    """Refuse an MLP whose weights, gradients and optimizer state would not fit in memory,
    before allocating any of it."""
    if options.model not in ("mlp", "linear"):
        return
    hidden = options.hidden if options.model == "mlp" else []
    widths = [split.num_features, *hidden, split.num_outputs]
    parameters = sum((a + 1) * b for a, b in zip(widths, widths[1:]))
    needed = 4 * parameters * (2 + STATE_COPIES[options.optimizer]) + \
        12 * batch_size(options, split) * sum(widths)
    budget = common.memory_budget()
    if needed > budget:
        culprit = f"--hidden {','.join(map(str, options.hidden))}" if options.model == "mlp" \
            else f"--model linear on {options.dataset}"
        raise CommandError(f"{culprit}: the model would "
                           f"have {parameters:,} parameters and need about "
                           f"{common.gib(needed)} for weights, gradients and {options.optimizer}"
                           f" state; this machine allows {common.gib(budget)}",
                           hint="use smaller layers")


def make_model(options, split):
    from ..models import MLP, LeNet5, ResNet, gpt
    if (options.model == "gpt") != (split.task == "language_model"):
        raise CommandError(f"--model {options.model} and --dataset {options.dataset} do not go "
                           "together: --model gpt trains on text (--dataset text or text:PATH), "
                           "and text needs --model gpt")
    if options.model == "gpt":
        return gpt.for_text(split, dropout=options.dropout)
    if options.model == "mlp":
        return MLP(split.num_features, options.hidden, split.num_outputs, options.activation,
                   options.dropout)
    if options.model == "linear":                  # Flatten, then one Linear layer
        return MLP(split.num_features, [], split.num_outputs)
    if split.image_shape is None:
        raise CommandError(f"--model {options.model} needs an image dataset (shapes, digits or "
                           f"images:PATH), not {split.name}")
    channels, size = split.image_shape[0], split.image_shape[1]
    if options.model == "lenet":
        return LeNet5(channels, split.num_outputs, size)
    return ResNet(channels, split.num_outputs)


def build(options):
    """Dataset, model, loss, optimizer and metrics for the options."""
    import chainrule
    from ..optim import OPTIMIZERS
    chainrule.manual_seed(options.seed)
    split = load_split(options)
    check_model_fits(options, split)
    model = make_model(options, split)
    if split.task == "language_model":
        loss_fn, metrics = chainrule.models.gpt.NextTokenLoss(), ()
    elif split.task == "classification":
        loss_fn, metrics = chainrule.nn.CrossEntropyLoss(), ("accuracy",)
    else:
        loss_fn, metrics = chainrule.nn.MSELoss(), ("mae", "r2")
    settings = {"lr": options.lr}
    if options.weight_decay and options.optimizer not in ("lbfgs", "newton", "gd"):
        settings["weight_decay"] = options.weight_decay
    if options.momentum and options.optimizer in ("sgd", "rmsprop"):
        settings["momentum"] = options.momentum
    if options.optimizer == "lbfgs":
        settings["line_search_fn"] = "strong_wolfe"     # lr=1 without it diverges at once
    optimizer = OPTIMIZERS[options.optimizer](model.parameters(), **settings)
    return split, model, loss_fn, optimizer, metrics


def run_description(options, split, model):
    """What evaluate/predict/export need to rebuild the model and treat raw inputs as in
    training (stored in every checkpoint of the run)."""
    kind = "mlp" if options.model == "linear" else options.model     # an MLP without hidden
    return {"model": {"type": kind, **model.config}, "dataset": split.name,
            "seed": options.seed, "task": split.task,
            "preprocessing": split.preprocessing.to_dict(), "class_names": split.class_names,
            "input_shape": [1, *split.sample_shape]}


# ---------------------------------------------------------------- the run

def run(args):
    options = resolve_options(args)
    run_dir = _checked_run_directory(options)
    split, model, loss_fn, optimizer, metrics = build(options)
    callbacks = _callbacks(options)
    if run_dir is not None:
        import chainrule
        callbacks.append(chainrule.train.ModelCheckpoint(
            run_dir.checkpoints, every=options.checkpoint_every, resume=bool(options.resume),
            extra=run_description(options, split, model)))
    is_main = _ready_on_every_rank(options)
    if run_dir is not None and is_main:
        _start(run_dir, options)
    started = time.perf_counter()
    try:
        history = _fit(options, model, loss_fn, optimizer, split, metrics, callbacks)
    except KeyboardInterrupt:
        raise _interrupted(run_dir, options, is_main) from None
    seconds = time.perf_counter() - started
    diverged = training_diverged(history)
    if not is_main:
        return 3 if diverged else 0                 # rank 0 reports and writes
    kept = None
    if diverged and run_dir is not None:
        watch = next(cb for cb in callbacks if isinstance(cb, EpochWatch))
        kept = run_dir.keep_last_good(model, watch.epoch)
    _report(options, run_dir, history, seconds, split, model, loss_fn, metrics,
            status="diverged" if diverged else "finished",
            evaluate=not diverged or kept is not None)
    if diverged:
        raise Diverged(f"training diverged: {history.stop_reason}",
                       _divergence_hint(run_dir, kept))
    return 0


def _checked_run_directory(options):
    """The run's --out directory (None without --out), checked for this run; no writes."""
    if options.out is None:
        if options.overwrite:
            raise CommandError("--overwrite needs --out DIR (the run to replace)")
        return None
    run_dir = RunDirectory(options.out)
    if options.resume:
        run_dir.check_resumable(options.epochs)
    else:
        run_dir.check_new_run(options.overwrite)
    return run_dir


def _start(run_dir, options):
    from ..io.checkpoint import remove_stale_temp_files
    try:
        if options.overwrite:
            run_dir.clear()
        for folder in (run_dir.path, run_dir.checkpoints):     # left by killed writes
            remove_stale_temp_files(folder)
        run_dir.write_record(_saved_form(options), "running")
    except OSError as error:
        raise CommandError(f"--out {run_dir.path}: cannot write there "
                           f"({(error.strerror or str(error)).lower()})") from None


def _fit(options, model, loss_fn, optimizer, split, metrics, callbacks):
    import chainrule
    with warnings.catch_warnings():
        if options.divergence_guard:           # it explains a blow-up in words instead
            warnings.filterwarnings("ignore", NUMPY_BLOW_UP, RuntimeWarning)
        return chainrule.fit(model, loss_fn, optimizer, split.train, epochs=options.epochs,
                             batch_size=batch_size(options, split), metrics=metrics,
                             val_data=split.test, progress=bool(options.progress),
                             callbacks=callbacks, detect_anomaly=options.detect_anomaly,
                             divergence_guard=options.divergence_guard,
                             distributed=bool(options.distributed), device=options.device)


def _report(options, run_dir, history, seconds, split, model, loss_fn, metrics, status,
            evaluate):
    """The summary table (with train/test results if ``evaluate``); with --out the outputs
    and the run's final ``status``."""
    import chainrule
    results = None
    if evaluate:
        results = {"train": chainrule.evaluate(model, loss_fn, split.train, metrics),
                   "test": chainrule.evaluate(model, loss_fn, split.test, metrics)}
    print(summary_table(results, split, model, seconds, history))
    if options.model == "linear" and evaluate:
        line = learned_line(model, split)
        if line is not None:
            print(line)
    if run_dir is None:
        return
    if results is not None:
        write_outputs(options, run_dir, history, results, seconds, split, model)
    run_dir.write_record(_saved_form(options), status, epochs_done=run_dir.epochs_done(),
                         stop_reason=history.stop_reason)


class EpochWatch(Callback):
    """Remembers the epoch training is in (after a stop: the epoch it stopped in)."""

    epoch = 1

    def on_epoch_begin(self, trainer, epoch):
        self.epoch = epoch


def _callbacks(options):
    """The guard (explicit, so fit adds no warning one: train prints the reason itself),
    TensorBoard, and an EpochWatch (last)."""
    import chainrule
    callbacks = []
    if options.divergence_guard:
        callbacks.append(chainrule.train.DivergenceGuard())
    if options.tensorboard:
        from ..io.tensorboard import TensorBoardLogger
        if os.path.lexists(options.tensorboard) and not os.path.isdir(options.tensorboard):
            raise CommandError(f"--tensorboard {options.tensorboard} exists and is not a "
                               "directory")
        try:
            os.makedirs(options.tensorboard, exist_ok=True)
            callbacks.append(TensorBoardLogger(options.tensorboard))
        except OSError as error:
            raise CommandError(f"--tensorboard {options.tensorboard}: cannot write there "
                               f"({(error.strerror or str(error)).lower()})") from None
    return callbacks + [EpochWatch()]


def _ready_on_every_rank(options):
    """Under --distributed every rank has made its checks by now; wait for all of them
    before rank 0 writes into --out (a check on a late rank must not see rank 0's files).
    Returns whether this process is the one that writes."""
    if not options.distributed:
        return True
    from .. import distributed
    distributed.barrier()
    return distributed.is_main()


def training_diverged(history):
    """Whether fit stopped because the loss diverged: ``history.diverged`` (set by fit when
    the loss became NaN/inf), any other DivergenceGuard stop (the loss exploded or kept
    rising), or a last loss that is not finite."""
    if getattr(history, "diverged", False):
        return True
    last = history.steps[-1]["loss"] if history.steps else 0.0
    return (history.stop_reason or "").startswith("DivergenceGuard") or not math.isfinite(last)


def _divergence_hint(run_dir, kept):
    if run_dir is None:
        return "nothing was saved (no --out); lower --lr and train again"
    if kept is None:
        return (f"no epoch finished before that, so no checkpoint was kept in {run_dir.path}; "
                "lower --lr and start again with --overwrite")
    epoch, _ = kept
    return (f"kept the last good checkpoint (epoch {epoch}) as "
            f"{run_dir.join('model.safetensors')}; lower --lr and start again with --overwrite")


def _interrupted(run_dir, options, is_main):
    if run_dir is None:
        return Interrupted("nothing was saved (no --out given)",
                           "give --out DIR to keep checkpoints that --resume can continue")
    found = run_dir.checkpoint_list()
    if not found:
        if is_main:
            run_dir.forget()
        return Interrupted(f"nothing was saved yet (the first checkpoint comes after epoch "
                           f"{options.checkpoint_every})",
                           "run the same command again to start over")
    epoch, path = found[-1]
    if is_main:
        run_dir.write_record(_saved_form(options), "interrupted", epochs_done=epoch)
    return Interrupted(f"the newest checkpoint is {path} (epoch {epoch} of {options.epochs})",
                       f"continue with: chainrule train --out {run_dir.path} --resume")


# ---------------------------------------------------------------- reporting

def summary_table(results, split, model, seconds, history):
    """The run in one line, then train/test results in columns wide enough for any number.

    >>> from types import SimpleNamespace as NS
    >>> split = NS(name="toy", train=[0] * 8, test=[0] * 2)
    >>> model, history = NS(num_parameters=lambda: 2), NS(epochs=[{}], steps=[{}], stop_reason=None)
    >>> results = {"train": {"loss": 123456789.0, "r2": -0.5}, "test": {"loss": 0.25, "r2": 1.0}}
    >>> print(summary_table(results, split, model, 0.5, history))
    toy: 8 train / 2 test samples, 2 parameters, 1 epochs (1 steps) in 0.5 s
                   loss       r2
    train     1.235e+08  -0.5000
    test         0.2500   1.0000
    """
    lines = [f"{split.name}: {len(split.train)} train / {len(split.test)} test samples, "
             f"{model.num_parameters():,} parameters, {len(history.epochs)} epochs "
             f"({len(history.steps)} steps) in {seconds:.1f} s"]
    if history.stop_reason:
        lines.append(f"stopped: {history.stop_reason}")
    if results is None:
        return "\n".join(lines)
    names = list(results["train"])
    cells = {part: [_cell(results[part][n]) for n in names] for part in ("train", "test")}
    widths = [max(len(n), *(len(cells[part][i]) for part in cells)) + 2
              for i, n in enumerate(names)]
    lines.append(f"{'':8s}" + "".join(f"{n:>{w}s}" for n, w in zip(names, widths)))
    for part in ("train", "test"):
        lines.append(f"{part:8s}" + "".join(f"{c:>{w}s}" for c, w in zip(cells[part], widths)))
    if getattr(split, "unigram_loss", None) is not None:
        lines.append(f"validation loss {results['test']['loss']:.3f} nats/char; unigram "
                     f"baseline {split.unigram_loss:.3f} nats/char")
    return "\n".join(lines)


def _cell(value):
    return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"


def learned_line(model, split):
    """For a linear model with one output: its line beside the least-squares line on the
    training data (None for classifiers and several outputs)."""
    from ..sheet import LineReport
    layer = model[-1]
    if split.task != "regression" or layer.weight.shape[0] != 1:
        return None
    x, y = (numpy.asarray(t, dtype=numpy.float64) for t in test_arrays(split.train, None))
    text = str(LineReport(layer, x.reshape(len(x), -1), y.reshape(-1)))
    if split.preprocessing.mean is not None:
        text += "\n(x as the model sees it: standardised with the training set's mean and std)"
    return text


def test_arrays(dataset, limit=2000):
    """(inputs, targets) arrays of up to ``limit`` samples of any dataset (all for None)."""
    limit = len(dataset) if limit is None else limit
    tensors = getattr(dataset, "tensors", None)
    if tensors is not None:
        return tensors[0].numpy()[:limit], tensors[1].numpy()[:limit]
    samples = [dataset[i] for i in range(min(len(dataset), limit))]
    return (numpy.stack([numpy.asarray(s[0], dtype=numpy.float32) for s in samples]),
            numpy.array([int(s[1]) for s in samples]))


def report_evaluation(split, model, limit=2000):
    """The test set's outputs and targets for report.html; for images also the original
    pictures (what the misclassified examples show, not the standardised model inputs), and
    for an image folder each picture's file."""
    import chainrule
    x_test, y_test = test_arrays(split.test, limit)
    evaluation = {"outputs": chainrule.predict(model, x_test).numpy(), "targets": y_test,
                  "inputs": x_test, "image_shape": split.image_shape,
                  "class_names": split.class_names}
    if split.image_shape is not None:
        evaluation["images"], evaluation["files"] = original_pictures(split, x_test)
    return evaluation


def original_pictures(split, x_test):
    """(pixels in [0, 1] of the test samples ``x_test`` as the dataset ships them, their files
    or None): an image folder's files read again, else the dataset's raw test inputs, else
    the model inputs with the standardisation undone."""
    pre, count = split.preprocessing, len(x_test)
    subset = getattr(split.test, "dataset", None)            # TransformDataset(Subset(...))
    folder = getattr(subset, "dataset", None)
    if hasattr(folder, "samples") and hasattr(subset, "indices"):
        pictures = numpy.stack([numpy.asarray(subset[i][0]) for i in range(count)])
        return pictures, [folder.samples[subset.indices[i]][0] for i in range(count)]
    if split.raw_test is not None:
        raw = numpy.asarray(split.raw_test[:count], dtype=numpy.float32) * pre.scale
    else:
        raw = numpy.asarray(x_test, dtype=numpy.float32).reshape((count,) + pre.raw_shape)
        if pre.mean is not None:
            raw = raw * pre.std + pre.mean
    return raw.reshape((count,) + tuple(split.image_shape)), None


def write_outputs(options, run_dir, history, results, seconds, split, model):
    """history.csv, metrics.json, model.safetensors and (with matplotlib) report.html."""
    import chainrule
    config = _saved_form(options)
    written = ["history.csv", "metrics.json"]
    try:
        text = split.task == "language_model"
        evaluation = None if text else report_evaluation(split, model)
        chainrule.report(history, model, run_dir.path, config=config, metrics=results,
                         input_shape=None if text else (1, *split.sample_shape),
                         evaluation=evaluation,
                         title=f"chainrule train: {split.name}")
        written.append("report.html")
    except ImportError as error:
        print(f"(no report.html: {error})")
        history.to_csv(run_dir.join("history.csv"))
    with open(run_dir.join("metrics.json"), "w", encoding="utf-8") as f:
        json.dump({"train": results["train"], "test": results["test"], "seconds": seconds,
                   "epochs": len(history.epochs), "stop_reason": history.stop_reason,
                   "config": config}, f, indent=2)
    chainrule.save_checkpoint(run_dir.join("model.safetensors"), model=model, history=history,
                              extra=run_description(options, split, model))
    written.append("model.safetensors")
    print(f"wrote {', '.join(written)} in {run_dir.path}")
