"""``chainrule explain | graph | landscape | lr-find | compare-optimizers``: show the learning."""
import os

from . import common
from .common import CommandError

SEED_EXPRESSION = "y_hat = w*x; s = y_hat - y; loss = s^2"
SEED_VALUES = {"w": 1.0, "x": 1.0, "y": 2.0}
SEED_WRT = ["w"]          # x and y are data: only the weight asks for a gradient


def _assignments(items):
    values = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--set expects NAME=VALUE, got {item!r}")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise CommandError(f"--set {name}: {value!r} is not a number") from None
    return values


#: bundled datasets the landscape and lr-find commands train on
DATASETS = ("digits", "breast_cancer", "iris", "wine", "diabetes", "moons", "spiral",
            "toy_linear", "shapes")


def add_parsers(sub):
    p = sub.add_parser("explain", help="print the backprop trace of an expression",
                       description="Walk the backward pass gate by gate. With no expression: "
                                   "the seeds' example y_hat = w*x; s = y_hat - y; loss = s^2 "
                                   "at w=1, x=1, y=2, with a gradient for w only.")
    _expression_options(p)
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(run=run_explain)

    p = sub.add_parser("graph", help="draw the computation graph: forward values on the "
                                     "gates, gradients on the edges",
                       description="Draw the computation graph as SVG, PNG or PDF (Graphviz "
                                   "when installed, else a built-in layout) or DOT text.")
    _expression_options(p, model=True)
    p.add_argument("--out", default="graph.svg", help="output file: .svg, .png, .pdf, .dot "
                                                      "or .gv (default graph.svg)")
    p.add_argument("--engine", default="auto", choices=("auto", "graphviz", "builtin"),
                   help="who lays the graph out (default auto: Graphviz's dot when installed)")
    p.set_defaults(run=run_graph)

    for name, helptext, runner in (
            ("landscape", "plot the loss landscape of a trained MLP", run_landscape),
            ("lr-find", "run the learning-rate range test", run_lr_find),
            ("compare-optimizers", "GD, SGD, momentum, Adam, Adamax and Newton on one surface",
             run_compare)):
        p = sub.add_parser(name, help=helptext, description=helptext)
        if name == "compare-optimizers":
            p.add_argument("--problem", default="rosenbrock", help="rosenbrock or bowl")
            p.add_argument("--steps", type=common.integer(1, 100_000), default=200,
                           help="steps per optimizer (1 to 100000)")
        else:
            p.add_argument("--dataset", default="digits", type=common.choice(DATASETS),
                           help="a bundled dataset: " + ", ".join(DATASETS))
            p.add_argument("--epochs", type=common.integer(1, 10_000), default=5,
                           help="training epochs first (landscape)")
            p.add_argument("--seed", type=common.integer(0, 2**63 - 1), default=0,
                           help="random seed")
        p.add_argument("--out", default=name.replace("-", "_") + ".png",
                       type=common.output_file(".png", ".svg", ".pdf"),
                       help="output image (.png, .svg or .pdf)")
        p.set_defaults(run=runner)


def _expression_options(p, model=False):
    p.add_argument("expression", nargs="?",
                   help="arithmetic on named scalars; ^ or ** is power; name intermediates "
                        "with assignments, e.g. 'y_hat = w*x; s = y_hat - y; loss = s^2'" +
                        ("; 'model' draws the default MLP" if model else ""))
    p.add_argument("--set", nargs="*", metavar="NAME=VALUE", help="values of the names")
    p.add_argument("--wrt", metavar="NAMES", help="comma-separated names that get gradients "
                                                  "(default: every name; w for the seeds' "
                                                  "example)")


def _program(args):
    from ..expression import parse_expression
    text = args.expression or SEED_EXPRESSION
    values = dict(SEED_VALUES) if args.expression is None else {}
    values.update(_assignments(args.set))
    wrt = SEED_WRT if args.expression is None else None
    if args.wrt is not None:
        wrt = [name.strip() for name in args.wrt.split(",") if name.strip()]
    return parse_expression(text, values, wrt=wrt), values


def _describe(program, values):
    shown = ", ".join(f"{k} = {values[k]:g}" for k in program.leaves)
    data = [k for k in program.leaves if k not in program.wrt]
    return (f"{program.text}  at {shown}; gradients for {', '.join(program.wrt)}" +
            (f" ({', '.join(data)}: data)" if data else ""))


def run_explain(args):
    import chainrule
    from ..explain import summarize
    program, values = _program(args)
    output = program.output
    if output.grad_fn is None:
        if output.requires_grad:
            print(f"{program.text} = {summarize(output._data)}  (the output is the variable "
                  "itself: no gate to walk, its derivative with respect to itself is 1)")
            return 0
        reason = "no variables" if not program.leaves else "no variable asks for a gradient"
        print(f"{program.text} = {summarize(output._data)}  ({reason}, so there is nothing to "
              "differentiate)")
        if not bool((abs(output.numpy()) < float("inf")).all()):
            print(f"warning: the value is {summarize(output._data)}: an overflow or a "
                  "division by zero")
        return 0
    trace = chainrule.explain(output, program.names)
    print(_describe(program, values))
    print(trace.to_markdown() if args.markdown else trace.to_text())
    return 0


def run_graph(args):
    import chainrule
    from ..viz.graph import FORMATS
    if not args.out.lower().endswith(FORMATS):
        raise CommandError(f"--out {args.out}: the file name must end in {', '.join(FORMATS)}")
    if args.expression == "model":
        model = chainrule.models.MLP(64, (128, 128, 128), 10)
        g = chainrule.viz.graph(model, chainrule.zeros(1, 64), collapse=True)
    else:
        program, _ = _program(args)
        if program.output.grad_fn is None:
            raise CommandError("the expression has no gate that leads to a variable asking for "
                               "a gradient, so there is no graph to draw (check --wrt)")
        g = chainrule.viz.graph(program.output, names=program.names)
    g.save(args.out, engine=args.engine)
    print(g.message)
    return 0


def _trained_mlp(args, epochs):
    import chainrule
    from ..data import datasets
    chainrule.manual_seed(args.seed)
    split = datasets.load(args.dataset, seed=args.seed)
    model = chainrule.models.MLP(split.num_features, (64, 64), split.num_outputs)
    loss_fn = chainrule.nn.CrossEntropyLoss() if split.task == "classification" else \
        chainrule.nn.MSELoss()
    optimizer = chainrule.optim.Adam(model.parameters(), lr=1e-3)
    snapshots = []
    if epochs:
        callback = chainrule.train.LambdaCallback(on_epoch_end=lambda t, e, logs: snapshots.append(
            [p.numpy().copy() for p in model.parameters()]))
        chainrule.fit(model, loss_fn, optimizer, split.train, epochs=epochs, metrics=(),
                      callbacks=[callback])
    return split, model, loss_fn, optimizer, snapshots


def run_landscape(args):
    import chainrule
    split, model, loss_fn, _, snapshots = _trained_mlp(args, max(args.epochs, 1))
    result = chainrule.viz.plot_landscape(model, loss_fn, split.test.tensors, args.out,
                                          trajectory=snapshots)
    print(f"wrote {os.path.abspath(args.out)} (loss at the trained weights "
          f"{result.center_loss:.4f})")
    return 0


def run_lr_find(args):
    import chainrule
    split, model, loss_fn, _, _ = _trained_mlp(args, 0)
    optimizer = chainrule.optim.SGD(model.parameters(), lr=0.1)
    result = chainrule.lr_find(model, loss_fn, optimizer, split.train)
    chainrule.viz.plot_lr_find(result, args.out)
    print(f"{result.advice}; wrote {os.path.abspath(args.out)}")
    return 0


def run_compare(args):
    import chainrule
    from ..viz.plots import PROBLEMS
    if args.problem not in PROBLEMS:
        raise CommandError(f"unknown problem {args.problem!r}; choose {', '.join(PROBLEMS)}")
    chainrule.viz.compare_optimizers(args.problem, path=args.out, steps=args.steps)
    print(f"wrote {os.path.abspath(args.out)}")
    return 0
