"""``chainrule descent | compare-batches``: why the loss goes up, shown.

``descent --lr LR`` draws the seeds' U-shaped loss with numbered gradient-descent steps and
says in words whether they converge, zig-zag across the minimum or diverge;
``compare-batches`` draws full-batch GD next to mini-batch SGD on the same data.
"""
import os

from .common import CommandError, integer, number

PICTURES = (".png", ".svg", ".pdf")


def _picture(path):
    if not path.lower().endswith(PICTURES):
        raise CommandError(f"--out {path}: the file name must end in {', '.join(PICTURES)}")
    return path


def add_parsers(sub):
    p = sub.add_parser(
        "descent", help="the U-shaped loss with numbered gradient-descent steps and a caption",
        description="Gradient descent on the seeds' loss (w*1 - 2)^2 (curvature 2, minimum at "
                    "w = 2): converging when lr*curvature < 1, zig-zagging across the minimum "
                    "between 1 and 2, diverging above 2.")
    p.add_argument("--lr", type=number(0, 100, low_open=True), default=0.1,
                   help="learning rate (default 0.1; try 0.8 and 1.1)")
    p.add_argument("--steps", type=integer(1, 200), default=8, help="steps (default 8)")
    p.add_argument("--start", type=number(-1e6, 1e6), default=-0.5,
                   help="starting w (default -0.5; negative: --start=-3)")
    p.add_argument("--out", default="descent.png", help="output picture (.png, .svg, .pdf)")
    p.set_defaults(run=run_descent)

    p = sub.add_parser(
        "compare-batches", help="full-batch GD next to mini-batch SGD, rises of the loss "
                                "marked",
        description="The same linear model trained from the same start on the same noisy "
                    "line, by full-batch gradient descent (every step sees all the data) and by "
                    "mini-batch SGD (each step sees a batch: a sample of the data, so its loss "
                    "jumps up and down).")
    p.add_argument("--lr", type=number(0, 10, low_open=True), default=0.1,
                   help="learning rate of both (default 0.1)")
    p.add_argument("--batch-size", type=integer(1, 160), default=8,
                   help="SGD's batch size (default 8 of 160 samples)")
    p.add_argument("--steps", type=integer(2, 10_000), default=60, help="steps (default 60)")
    p.add_argument("--seed", type=integer(0, 2 ** 31 - 1), default=0, help="random seed")
    p.add_argument("--out", default="compare_batches.png", help="output picture")
    p.set_defaults(run=run_compare_batches)


def run_descent(args):
    from ..viz.plots import plot_descent
    result = plot_descent(args.lr, start=args.start, steps=args.steps,
                          path=_picture(args.out))
    print(result.table())
    print(result.caption)
    print(f"wrote {os.path.abspath(args.out)}")
    return 0


def run_compare_batches(args):
    from ..viz.plots import compare_batches
    result = compare_batches(lr=args.lr, batch_size=args.batch_size, steps=args.steps,
                             seed=args.seed, path=_picture(args.out))
    print(result.caption)
    print(f"wrote {os.path.abspath(args.out)}")
    return 0
