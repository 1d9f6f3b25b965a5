"""``chainrule explain | graph | landscape | lr-find | compare-optimizers``: show the learning."""
import os

from .common import CommandError

SEED_EXPRESSION = "(w*x - y)**2"
SEED_VALUES = {"w": 1.0, "x": 1.0, "y": 2.0}


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


def add_parsers(sub):
    p = sub.add_parser("explain", help="print the backprop trace of an expression",
                       description="Walk the backward pass gate by gate. With no expression: "
                                   "the seeds' example (w*x - y)**2 at w=1, x=1, y=2.")
    p.add_argument("expression", nargs="?", help="arithmetic on named scalars, e.g. "
                                                 "'sigmoid(w0*x0 + w1*x1 + b)'")
    p.add_argument("--set", nargs="*", metavar="NAME=VALUE", help="values of the names")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(run=run_explain)

    p = sub.add_parser("graph", help="write the computation graph (DOT, SVG when Graphviz "
                                     "is installed)")
    p.add_argument("expression", nargs="?", help="an expression (default: the seeds' example); "
                                                 "'model' draws the default MLP")
    p.add_argument("--set", nargs="*", metavar="NAME=VALUE", help="values of the names")
    p.add_argument("--out", default="graph.svg", help="output file (.svg, .png or .dot)")
    p.set_defaults(run=run_graph)

    for name, helptext, runner in (
            ("landscape", "plot the loss landscape of a trained MLP", run_landscape),
            ("lr-find", "run the learning-rate range test", run_lr_find),
            ("compare-optimizers", "GD, SGD, momentum, Adam, Adamax and Newton on one surface",
             run_compare)):
        p = sub.add_parser(name, help=helptext, description=helptext)
        if name == "compare-optimizers":
            p.add_argument("--problem", default="rosenbrock", help="rosenbrock or bowl")
            p.add_argument("--steps", type=int, default=200, help="steps per optimizer")
        else:
            p.add_argument("--dataset", default="digits", help="a bundled dataset")
            p.add_argument("--epochs", type=int, default=5, help="training epochs first "
                                                                 "(landscape)")
            p.add_argument("--seed", type=int, default=0, help="random seed")
        p.add_argument("--out", default=name.replace("-", "_") + ".png", help="output PNG")
        p.set_defaults(run=runner)


def _expression(args):
    from ..expression import evaluate_expression
    text = args.expression or SEED_EXPRESSION
    values = dict(SEED_VALUES) if args.expression is None else {}
    values.update(_assignments(args.set))
    return evaluate_expression(text, values)


def run_explain(args):
    import chainrule
    output, leaves = _expression(args)
    trace = chainrule.explain(output, leaves)
    print(trace.to_markdown() if args.markdown else trace.to_text())
    return 0


def run_graph(args):
    import chainrule
    if args.expression == "model":
        model = chainrule.models.MLP(64, (128, 128, 128), 10)
        g = chainrule.viz.graph(model, chainrule.zeros(1, 64), collapse=True)
    else:
        output, leaves = _expression(args)
        output.backward(retain_graph=True)
        g = chainrule.viz.graph(output, names=leaves)
    g.save(args.out)
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
    result.plot(args.out)
    print(f"suggested learning rate {result.suggestion:.3g}; wrote {os.path.abspath(args.out)}")
    return 0


def run_compare(args):
    import chainrule
    from ..viz.plots import PROBLEMS
    if args.problem not in PROBLEMS:
        raise CommandError(f"unknown problem {args.problem!r}; choose {', '.join(PROBLEMS)}")
    chainrule.viz.compare_optimizers(args.problem, path=args.out, steps=args.steps)
    print(f"wrote {os.path.abspath(args.out)}")
    return 0
