"""The spreadsheet: learning a line h = W·x + B by nudging, one row per step.

This is how learners first find weights by hand. Start from W and B (drawn from a seeded
generator, or given); for each step write down W, B and the loss (the mean squared error
over the table) next to the previous step's loss; nudge W by eps, recompute the loss, and
estimate dLoss/dW = (loss(W + eps) − loss) / eps, then put W back; the same for B; step to
next W = W − lr·dLoss/dW and next B = B − lr·dLoss/dB; repeat. Beside the nudged
derivatives the table shows the ones backprop computes (chainrule's engine, float64), so
the two can be compared: they agree to about eps·curvature.

Everything is float64, and numbers print with at most 10 significant digits (no float32
noise such as 1.2000000476837158).

>>> table = sheet(init=(0.5, 0.0), lr=0.05, steps=3)
>>> table["loss"][0], [format_number(w) for w in table["W"]]
(20.622, ['0.5', '1.60197', '1.962359'])
>>> print(table.to_markdown().splitlines()[0])
| step | W | B | loss | prevLoss | loss(W+eps) | dLoss/dW | loss(B+eps) | dLoss/dB | nextW | nextB | backprop dLoss/dW | backprop dLoss/dB |
"""
import csv
import io
import math
import os
import stat

import numpy

from .creation import tensor
from .errors import ArgumentError
from .generator import Generator

COLUMNS = ("step", "W", "B", "loss", "prevLoss", "loss(W+eps)", "dLoss/dW", "loss(B+eps)",
           "dLoss/dB", "nextW", "nextB", "backprop dLoss/dW", "backprop dLoss/dB")
DEFAULT_DATA = os.path.join(os.path.dirname(__file__), "data", "sheet_line.csv")
MAX_FILE_BYTES = 10 * 2 ** 20
MAX_ROWS = 100_000
MAX_STEPS = 100_000


class Sheet:
    """The history table: ``rows`` (one dict per step, keys :data:`COLUMNS`), the data and
    the settings; ``table["W"]`` is a column; ``note`` says why it stopped early, if it did.

    >>> table = sheet(init=(0.0, 0.0), steps=2)
    >>> len(table), table.columns[:4]
    (2, ('step', 'W', 'B', 'loss'))
    """

    columns = COLUMNS

    def __init__(self, rows, x, y, lr, eps, note=""):
        self.rows, self.x, self.y, self.lr, self.eps, self.note = rows, x, y, lr, eps, note

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, column):
        if column not in COLUMNS:
            raise KeyError(f"the sheet has no column {column!r}; columns: {', '.join(COLUMNS)}")
        return [row[column] for row in self.rows]

    @property
    def final(self):
        """(W, B) after the last step."""
        return self.rows[-1]["nextW"], self.rows[-1]["nextB"]

    def to_csv(self, path=None):
        """CSV text with every float64 digit (repr round-trips); written to ``path`` if given."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in self.rows:
            writer.writerow(["" if row[c] is None else repr(row[c]) for c in COLUMNS])
        text = buffer.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        return text

    def _cells(self):
        return [[format_number(row[c]) for c in COLUMNS] for row in self.rows]

    def to_markdown(self):
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        lines += ["| " + " | ".join(cells) + " |" for cells in self._cells()]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)

    def to_text(self):
        body = self._cells()
        widths = [max(len(r[i]) for r in [COLUMNS] + body) for i in range(len(COLUMNS))]
        lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths))
                 for row in [COLUMNS] + body]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    __str__ = to_text

    def __repr__(self):
        return f"<Sheet of {len(self.rows)} steps, lr={self.lr:g}, eps={self.eps:g}>"


def format_number(value):
    """A float64 as a person writes it: at most 10 significant digits, no -0.

    >>> format_number(1.2), format_number(-0.0), format_number(1 / 3), format_number(None)
    ('1.2', '0', '0.3333333333', '')
    """
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{float(value) + 0.0:.10g}"


def sheet(data=None, lr=0.05, steps=10, eps=1e-4, init=None, seed=0):
    """Fit h = W·x + B to a two-column table by nudged derivatives; return the :class:`Sheet`.

    ``data``: a CSV path (two columns x,y, an optional header), an ``(x, y)`` pair, or None
    for the bundled table. ``init``: (W, B), else drawn uniform in [-1, 1) from
    ``chainrule.Generator(seed)``. The loss is the mean of (W·x + B − y)² over the rows.
    """
    x, y = _data(data)
    lr, eps = _positive("lr", lr), _positive("eps", eps)
    if isinstance(steps, bool) or not isinstance(steps, (int, numpy.integer)) or \
            not 1 <= steps <= MAX_STEPS:
        raise ArgumentError(f"sheet: steps must be a whole number from 1 to {MAX_STEPS:,}, "
                            f"got {steps!r}")
    W, B = _initial(init, seed)
    rows, previous, note = [], None, ""
    with numpy.errstate(all="ignore"):
        for step in range(1, int(steps) + 1):
            row = _row(step, W, B, previous, x, y, lr, eps)
            rows.append(row)
            if not all(math.isfinite(row[c]) for c in ("loss", "nextW", "nextB")):
                note = (f"stopped at step {step}: the loss or the weights are no longer finite; "
                        f"lr={lr:g} is too large for this table (gradient descent on it "
                        f"diverges above lr = {stable_lr(x):.4g})")
                break
            W, B, previous = row["nextW"], row["nextB"], row["loss"]
            if W + eps == W or B + eps == B:
                note = (f"stopped after step {step}: W = {W:.3g}, B = {B:.3g} are so large that "
                        f"adding eps = {eps:g} rounds back to the same float64 number, so the "
                        f"nudge measures nothing; lr={lr:g} is too large for this table "
                        f"(gradient descent on it diverges above lr = {stable_lr(x):.4g})")
                break
    if not note and len(rows) > 1 and rows[-1]["loss"] > rows[0]["loss"]:
        note = (f"the loss grew: lr={lr:g} is above {stable_lr(x):.4g} (2 / the largest "
                "curvature of this loss), so every step overshoots the minimum by more than it "
                "started from; try a smaller lr (chainrule descent shows why)")
    return Sheet(rows, x, y, lr, eps, note)


def mse(W, B, x, y):
    """The loss of the line: mean((W·x + B − y)²), in float64."""
    return float(numpy.mean((W * x + B - y) ** 2))


def backprop_gradients(W, B, x, y):
    """dLoss/dW and dLoss/dB by chainrule's backward pass (float64)."""
    w = tensor(W, dtype="float64", requires_grad=True)
    b = tensor(B, dtype="float64", requires_grad=True)
    loss = ((w * tensor(x) + b - tensor(y)) ** 2).mean()
    loss.backward()
    return float(w.grad.item()), float(b.grad.item())


def stable_lr(x):
    """The learning rate above which gradient descent on the line's MSE diverges: 2 / the
    largest curvature (eigenvalue of the Hessian 2·[[mean x², mean x], [mean x, 1]])."""
    x = numpy.asarray(x, dtype=numpy.float64)
    hessian = 2 * numpy.array([[numpy.mean(x * x), numpy.mean(x)], [numpy.mean(x), 1.0]])
    return float(2 / numpy.linalg.eigvalsh(hessian)[-1])


def _row(step, W, B, previous, x, y, lr, eps):
    loss = mse(W, B, x, y)
    loss_w, loss_b = mse(W + eps, B, x, y), mse(W, B + eps, x, y)
    d_w, d_b = (loss_w - loss) / eps, (loss_b - loss) / eps
    bp_w, bp_b = backprop_gradients(W, B, x, y)
    return {"step": step, "W": W, "B": B, "loss": loss, "prevLoss": previous,
            "loss(W+eps)": loss_w, "dLoss/dW": d_w, "loss(B+eps)": loss_b, "dLoss/dB": d_b,
            "nextW": W - lr * d_w, "nextB": B - lr * d_b,
            "backprop dLoss/dW": bp_w, "backprop dLoss/dB": bp_b}


def _positive(name, value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ArgumentError(f"sheet: {name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ArgumentError(f"sheet: {name} must be a finite number above 0, got {value!r}")
    return number


def _initial(init, seed):
    if init is None:
        W, B = Generator(seed).numpy.uniform(-1.0, 1.0, size=2)
        return float(W), float(B)
    try:
        W, B = (float(v) for v in init)
    except (TypeError, ValueError):
        raise ArgumentError(f"sheet: init must be two numbers (W, B), got {init!r}") from None
    if not (math.isfinite(W) and math.isfinite(B)):
        raise ArgumentError(f"sheet: init must be finite, got {init!r}")
    return W, B


def _data(data):
    if data is None:
        data = DEFAULT_DATA
    if isinstance(data, (str, os.PathLike)):
        return load_table(data)
    try:
        x, y = (numpy.asarray(v, dtype=numpy.float64).reshape(-1) for v in data)
    except (TypeError, ValueError):
        raise ArgumentError("sheet: data must be a CSV path or an (x, y) pair of number "
                            "lists") from None
    if x.size != y.size or x.size == 0:
        raise ArgumentError(f"sheet: x and y need the same number of values (at least one), "
                            f"got {x.size} and {y.size}")
    if not (numpy.isfinite(x).all() and numpy.isfinite(y).all()):
        raise ArgumentError("sheet: x and y must be finite numbers")
    return x, y


def load_table(path):
    """Read a two-column CSV of numbers (x, y); an optional header row; '#' comments.

    Every problem is an ArgumentError naming the file and the line.
    """
    path = os.fspath(path)
    try:
        info = os.stat(path)
    except OSError as error:
        raise ArgumentError(f"cannot read the sheet data {path}: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ArgumentError(f"the sheet data {path} is not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise ArgumentError(f"the sheet data {path} is {info.st_size:,} bytes; a sheet table "
                            f"is at most {MAX_FILE_BYTES:,}")
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read(MAX_FILE_BYTES + 1)
    except UnicodeDecodeError:
        raise ArgumentError(f"the sheet data {path} is not a text (UTF-8) CSV file") from None
    xs, ys = [], []
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        fields = [f.strip() for f in fields]
        if not any(fields) or fields[0].startswith("#"):
            continue
        if len(fields) != 2:
            raise ArgumentError(f"{path} line {number}: expected two columns x,y, got "
                                f"{len(fields)}")
        try:
            x, y = float(fields[0]), float(fields[1])
        except ValueError:
            if not xs and number == _first_line(text):
                continue                                   # a header such as "x,y"
            raise ArgumentError(f"{path} line {number}: {','.join(fields)!r} is not two "
                                "numbers") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ArgumentError(f"{path} line {number}: numbers must be finite")
        xs.append(x)
        ys.append(y)
        if len(xs) > MAX_ROWS:
            raise ArgumentError(f"the sheet data {path} has more than {MAX_ROWS:,} rows")
    if not xs:
        raise ArgumentError(f"the sheet data {path} has no rows of numbers")
    return numpy.array(xs), numpy.array(ys)


def _first_line(text):
    """The number of the first line that is not blank or a comment."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.strip().startswith("#"):
            return number
    return 0


# ---------------------------------------------------------------- the learned line

def least_squares(x, y):
    """The exact minimiser of the mean squared error of f(x) = w0 + w1·x1 + ...: returns
    ``[w0, w1, ...]`` (intercept first), solved by numpy's least squares in float64.

    >>> [round(v, 6) for v in least_squares([0, 1, 2], [1, 3, 5])]
    [1.0, 2.0]
    """
    x = numpy.asarray(x, dtype=numpy.float64)
    x = x.reshape(len(x), -1)
    design = numpy.concatenate([numpy.ones((len(x), 1)), x], axis=1)
    solution = numpy.linalg.lstsq(design, numpy.asarray(y, dtype=numpy.float64).reshape(-1),
                                  rcond=None)[0]
    return [float(v) for v in solution]


def format_line(coefficients, digits=6):
    """``[w0, w1, w2]`` -> ``'f(x) = w0 + w1·x1 + w2·x2'`` (``x`` alone for one feature).

    >>> format_line([1.0, 2.0]), format_line([0.5, -1.25, 3.0])
    ('f(x) = 1 + 2·x', 'f(x) = 0.5 - 1.25·x1 + 3·x2')
    """
    w0, rest = coefficients[0], coefficients[1:]
    text = f"f(x) = {float(w0) + 0.0:.{digits}g}"
    for i, w in enumerate(rest, start=1):
        name = "x" if len(rest) == 1 else f"x{i}"
        sign = "-" if w < 0 else "+"
        text += f" {sign} {abs(float(w)):.{digits}g}·{name}"
    return text


class LineReport:
    """A linear model's learned line beside the least-squares line on the same data.

    >>> import chainrule
    >>> model = chainrule.nn.Linear(1, 1)
    >>> with chainrule.no_grad():
    ...     _ = model.weight.fill_(2.0), model.bias.fill_(1.0)
    >>> print(LineReport(model, [[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0]))
    learned        f(x) = 1 + 2·x
    least squares  f(x) = 1 + 2·x
    largest difference ...
    """

    def __init__(self, model, x, y):
        weight = numpy.asarray(model.weight.numpy(), dtype=numpy.float64)
        if weight.ndim != 2 or weight.shape[0] != 1:
            raise ArgumentError(f"LineReport: expected a linear model with one output, got a "
                                f"weight of shape {tuple(weight.shape)}")
        bias = 0.0 if getattr(model, "bias", None) is None else float(model.bias.numpy()[0])
        self.learned = [bias] + [float(v) for v in weight[0]]
        self.least_squares = least_squares(x, y)
        if len(self.least_squares) != len(self.learned):
            raise ArgumentError(f"LineReport: the model has {len(self.learned) - 1} inputs but "
                                f"the data has {len(self.least_squares) - 1} features")
        self.max_difference = max(abs(a - b) for a, b in zip(self.learned, self.least_squares))

    def __str__(self):
        return (f"learned        {format_line(self.learned)}\n"
                f"least squares  {format_line(self.least_squares)}\n"
                f"largest difference {self.max_difference:.3g}")
