"""``chainrule sheet``: the spreadsheet way of learning a line h = W·x + B, one row per step."""
import os

from .common import CommandError, ValueProblem, integer, number


def _pair(text):
    """'W,B' -> (W, B): two finite numbers (argparse reports a problem as one line)."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2:
        raise ValueProblem(f"expected two numbers W,B such as 0.5,0 (negative: "
                           f"--init=-0.5,1), got {text!r}")
    parse = number()
    return parse(parts[0]), parse(parts[1])


def add_parsers(sub):
    p = sub.add_parser(
        "sheet", help="learn a line h = W*x + B by nudging W and B, one row per step",
        description="The spreadsheet lesson: for each step, the loss (mean squared error), the "
                    "loss with W and with B nudged by eps, the nudged derivatives "
                    "(loss(W+eps) - loss)/eps, the next W and B (W - lr*dLoss/dW), and beside "
                    "them the derivatives backprop computes. float64 throughout.")
    p.add_argument("--data", metavar="FILE.csv", help="two columns x,y (an optional header "
                                                       "row); default: a small bundled table")
    p.add_argument("--lr", type=number(0, low_open=True), default=0.05,
                   help="learning rate (default 0.05)")
    p.add_argument("--steps", type=integer(1, 100_000), default=10,
                   help="rows of the table (default 10)")
    p.add_argument("--eps", type=number(0, 1, low_open=True), default=1e-4,
                   help="the nudge (default 0.0001)")
    p.add_argument("--init", metavar="W,B", type=_pair,
                   help="starting W and B, e.g. --init 0.5,0 or --init=-0.5,1 (default: drawn "
                        "from --seed)")
    p.add_argument("--seed", type=integer(0, 2 ** 63 - 1), default=0,
                   help="seed of the starting W and B (default 0)")
    p.add_argument("--csv", metavar="OUT", help="also write the table to this CSV file")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(run=run_sheet)


def run_sheet(args):
    from ..sheet import least_squares, sheet
    table = sheet(args.data, lr=args.lr, steps=args.steps, eps=args.eps, init=args.init,
                  seed=args.seed)
    source = args.data or "the bundled table (chainrule/data/sheet_line.csv)"
    print(f"h = W*x + B on {source}, {len(table.x)} rows; loss = mean((h - y)^2); "
          f"lr = {args.lr:g}, eps = {args.eps:g}")
    print(table.to_markdown() if args.markdown else table.to_text())
    W, B = table.final
    best_b, best_w = least_squares(table.x, table.y)
    print(f"after {len(table)} steps: W = {W:.6g}, B = {B:.6g}; the least-squares line: "
          f"W = {best_w:.6g}, B = {best_b:.6g}")
    if args.csv:
        try:
            table.to_csv(args.csv)
        except OSError as error:
            raise CommandError(f"--csv {args.csv}: {error.strerror or error}") from None
        print(f"wrote {os.path.abspath(args.csv)}")
    return 0
