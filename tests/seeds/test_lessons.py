"""The lessons, runnable: each idea of the seeds reproduced with the seeds' own numbers, by a
library call and by the command that shows it."""
import contextlib
import csv
import inspect
import io
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.sheet import COLUMNS, LineReport, least_squares, sheet
from chainrule.train.numerical import numerical_gradients

TABLE_X = [0.0, 1.0, 2.0, 3.0, 4.0]
TABLE_Y = [1.1, 2.9, 5.2, 6.8, 9.1]


def run(*args, cwd=None):
    """The command line in this process (fast): returncode, stdout, stderr."""
    from chainrule.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    try:
        os.chdir(cwd or previous)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:           # argparse's own errors
                code = stop.code
    finally:
        os.chdir(previous)
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def run_process(*args, cwd=None, env=None):
    """The installed command line in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "chainrule.cli.main", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def _hand_loss(W, B):
    """Mean squared error of h = W*x + B over the table, in plain Python floats."""
    total = 0.0
    for x, y in zip(TABLE_X, TABLE_Y):
        total += (W * x + B - y) ** 2
    return total / len(TABLE_X)


def _write_table(path):
    path.write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in zip(TABLE_X, TABLE_Y)))
    return path


# ---------------------------------------------------------------- 1. the spreadsheet

def test_sheet_first_rows_match_a_hand_computation(tmp_path):
    lr, eps = 0.05, 1e-4
    table = sheet(_write_table(tmp_path / "line.csv"), lr=lr, steps=3, eps=eps,
                  init=(0.5, 0.0))
    W, B, previous = 0.5, 0.0, None
    for row in table.rows:
        loss = _hand_loss(W, B)
        loss_w, loss_b = _hand_loss(W + eps, B), _hand_loss(W, B + eps)
        d_w, d_b = (loss_w - loss) / eps, (loss_b - loss) / eps
        expected = {"W": W, "B": B, "loss": loss, "loss(W+eps)": loss_w, "dLoss/dW": d_w,
                    "loss(B+eps)": loss_b, "dLoss/dB": d_b, "nextW": W - lr * d_w,
                    "nextB": B - lr * d_b}
        for column, value in expected.items():
            assert row[column] == pytest.approx(value, abs=1e-9), column
        assert row["prevLoss"] == previous
        # exact derivatives of the mean squared error, and backprop's, agree with the nudge
        exact_w = sum(2 * (W * x + B - y) * x for x, y in zip(TABLE_X, TABLE_Y)) / 5
        exact_b = sum(2 * (W * x + B - y) for x, y in zip(TABLE_X, TABLE_Y)) / 5
        assert row["backprop dLoss/dW"] == pytest.approx(exact_w, abs=1e-12)
        assert row["backprop dLoss/dB"] == pytest.approx(exact_b, abs=1e-12)
        assert abs(row["dLoss/dW"] - row["backprop dLoss/dW"]) < 1e-3
        assert abs(row["dLoss/dB"] - row["backprop dLoss/dB"]) < 1e-3
        W, B, previous = row["nextW"], row["nextB"], loss
    assert table.rows[0]["loss"] == pytest.approx(20.622, abs=1e-12)


def test_sheet_is_a_top_level_call_when_exported():
    if not callable(getattr(chainrule, "sheet", None)):
        pytest.skip("chainrule.sheet is not exported from chainrule/__init__.py yet")
    assert chainrule.sheet(init=(0.5, 0.0), steps=1)["loss"] == [pytest.approx(20.622)]


def test_sheet_learns_the_least_squares_line_and_is_reproducible():
    table = sheet(steps=600, lr=0.12)
    W, B = table.final
    best_b, best_w = least_squares(TABLE_X, TABLE_Y)
    assert (W, B) == pytest.approx((best_w, best_b), abs=2e-3)   # the nudge's bias: ~eps
    assert sheet(seed=3)["W"] == sheet(seed=3)["W"] != sheet(seed=4)["W"]
    assert list(sheet(steps=2).rows[0]) == list(COLUMNS)


def test_sheet_csv_keeps_float64_and_markdown_has_no_float32_noise():
    table = sheet(init=(1.2, 0.0), steps=2)
    rows = list(csv.DictReader(io.StringIO(table.to_csv())))
    assert float(rows[1]["W"]) == table.rows[1]["W"]               # every digit round-trips
    assert rows[0]["W"] == "1.2" and rows[0]["prevLoss"] == ""
    markdown = table.to_markdown()
    assert markdown.startswith("| step | W | B | loss | prevLoss |")
    assert "| 1 | 1.2 | 0 |" in markdown and "1.2000000476837158" not in markdown


def test_sheet_explains_a_learning_rate_that_is_too_large():
    assert "the loss grew" in sheet(lr=0.5, steps=5).note
    assert "rounds back to the same float64 number" in sheet(lr=5.0, steps=2000).note


@pytest.mark.parametrize("content,message", [
    ("x,y\n1,2\n3\n", "line 3: expected two columns"),
    ("x,y\n1,abc\n", "line 2: '1,abc' is not two numbers"),
    ("x,y\n1,nan\n", "line 2: numbers must be finite"),
    ("x,y\n", "has no rows of numbers"),
])
def test_sheet_data_errors_name_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(chainrule.errors.ArgumentError, match=message):
        sheet(path)


def test_sheet_command_prints_the_table_writes_csv_and_markdown(tmp_path):
    data = _write_table(tmp_path / "line.csv")
    result = run("sheet", "--data", str(data), "--init", "0.5,0", "--steps", "3", "--csv",
                 "out.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == list(COLUMNS[:4]) + ["prevLoss", "loss(W+eps)", "dLoss/dW",
                                                    "loss(B+eps)", "dLoss/dB", "nextW",
                                                    "nextB", "backprop", "dLoss/dW",
                                                    "backprop", "dLoss/dB"]
    assert lines[2].split()[:4] == ["1", "0.5", "0", "20.622"]
    assert "least-squares line" in result.stdout
    with open(tmp_path / "out.csv") as f:
        assert float(list(csv.DictReader(f))[0]["loss"]) == pytest.approx(20.622, abs=1e-12)
    markdown = run("sheet", "--markdown", "--steps", "2", "--init=-0.5,1")
    assert markdown.returncode == 0 and "| 1 | -0.5 | 1 |" in markdown.stdout
    for bad, culprit in ((["--lr", "nan"], "--lr"), (["--init", "1"], "--init"),
                         (["--data", str(tmp_path / "missing.csv")], "missing.csv"),
                         (["--steps", "0"], "--steps")):
        failed = run("sheet", *bad)
        assert failed.returncode == 2 and culprit in failed.stderr
        assert "Traceback" not in failed.stderr and len(failed.stderr.splitlines()) <= 2


def test_the_bundled_table_ships_inside_the_package():
    from chainrule.sheet import DEFAULT_DATA
    assert os.path.isfile(DEFAULT_DATA)
    assert DEFAULT_DATA.startswith(os.path.dirname(chainrule.__file__))
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "pyproject.toml")) as f:
        assert "data/*.csv" in f.read()


def test_training_on_nudged_gradients_reaches_the_backprop_weights_with_more_passes():
    x = np.linspace(-1, 1, 32).reshape(-1, 1)
    X, Y = chainrule.tensor(x.copy()), chainrule.tensor(3 * x + 1)

    def train(numerical):
        chainrule.manual_seed(0)
        model = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1)).double()
        opt = optim.SGD(model.parameters(), lr=0.2)
        passes = 0
        for _ in range(40):
            opt.zero_grad()
            loss = nn.MSELoss()(model(X), Y)
            if numerical:
                passes += numerical_gradients(model, nn.MSELoss(), X, Y)
            else:
                loss.backward()
                passes += 1
            opt.step()
        return np.concatenate([p.numpy().ravel() for p in model.parameters()]), passes
    backprop, one_each = train(False)
    nudged, many = train(True)
    np.testing.assert_allclose(nudged, backprop, atol=1e-6)    # 3e-10 per gradient, 40 steps
    assert many == 2 * backprop.size * one_each          # 2 forward passes per number


def test_fit_with_numerical_gradients_when_available():
    if "gradients" not in inspect.signature(chainrule.fit).parameters:
        pytest.skip("fit(..., gradients='numerical') is not wired into fit yet")
    x = np.linspace(-1, 1, 32).reshape(-1, 1)
    finals = []
    for gradients in ("backprop", "numerical"):
        chainrule.manual_seed(0)
        model = nn.Linear(1, 1).double()
        chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1),
                      (x, 3 * x + 1), epochs=20, metrics=(), shuffle=False,
                      gradients=gradients)
        finals.append([p.item() for p in model.parameters()])
    np.testing.assert_allclose(finals[1], finals[0], atol=1e-6)


def test_history_records_the_spreadsheet_numbers_of_every_step():
    x = np.array([[1.0], [2.0], [3.0]])
    y = 2 * x + 1
    chainrule.manual_seed(0)
    model = nn.Linear(1, 1).double()
    lr = 0.05
    history = chainrule.fit(model, nn.MSELoss(), optim.GD(model.parameters(), lr=lr), (x, y),
                            epochs=3, batch_size=3, metrics=(), record_params=True,
                            shuffle=False)
    rows = history.params
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row, following in zip(rows, rows[1:] + [None]):
        W, B = row["weight"], row["bias"]                   # one number each
        residuals = [W * xi + B - yi for xi, yi in zip(x[:, 0], y[:, 0])]
        assert row["loss"] == pytest.approx(sum(r * r for r in residuals) / 3, rel=1e-12)
        grad_w = sum(2 * r * xi for r, xi in zip(residuals, x[:, 0])) / 3
        grad_b = sum(2 * r for r in residuals) / 3
        assert row["grad_weight"] == pytest.approx(grad_w, rel=1e-12)
        assert row["grad_bias"] == pytest.approx(grad_b, rel=1e-12)
        if following is not None:                       # the seeds' update: w - lr * grad
            assert following["weight"] == pytest.approx(W - lr * grad_w, rel=1e-12)
            assert following["bias"] == pytest.approx(B - lr * grad_b, rel=1e-12)


def test_a_learned_line_is_printed_beside_least_squares():
    split = chainrule.data.datasets.toy_linear()
    x, y = (t.numpy().astype(np.float64) for t in split.train.tensors)
    chainrule.manual_seed(0)
    model = nn.Linear(1, 1).double()
    chainrule.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.5), (x, y),
                  epochs=60, batch_size=len(x), metrics=(), shuffle=False)
    report = LineReport(model, x, y)
    assert report.max_difference < 1e-3
    learned, best, _ = str(report).splitlines()
    assert learned.startswith("learned        f(x) = 0.99") and learned.endswith("·x")
    assert best.startswith("least squares  f(x) = 0.99")


# ---------------------------------------------------------------- 2. the backprop trace

def test_explain_with_no_arguments_walks_the_seed_example():
    result = run_process("explain")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("y_hat = w*x; s = y_hat - y; loss = s^2")
    assert "upstream" in lines[1] and "× local" in lines[1] and "passed on" in lines[1]
    rows = [line.split() for line in lines[3:6]]
    assert [r[:5] for r in rows] == [["1", "x²", "PowScalar(2)", "loss", "s"],
                                     ["2", "−", "Sub", "s", "ŷ,"],
                                     ["3", "×", "Mul", "ŷ", "w,"]]
    assert [r[-1] for r in rows] == ["-2", "-2", "-2"]          # passed on at every gate
    assert lines[6] == "leaf gradients: w = -2"                 # x and y are data
    table = "\n".join(lines[3:7])
    assert "x:" not in table and "y:" not in table


def test_explain_expressions_wrt_power_and_limits():
    result = run("explain", "y_hat = w*x + b; loss = (y_hat - y)^2", "--set", "w=1", "x=1",
                 "b=0", "y=2", "--wrt", "w,b")
    assert result.returncode == 0, result.stderr
    assert "leaf gradients: w = -2; b = -2" in result.stdout
    for text in ("1/0", "exp(1000)"):
        shown = run("explain", text)
        assert shown.returncode == 0 and f"{text} = inf" in shown.stdout
        assert "warning" in shown.stdout
    deep = run("explain", "--set", "x=1", "--", "-" * 1000 + "x")
    long_sum = run("explain", "--set", "x=1", "--", "+".join(["x"] * 3000))
    huge = run("explain", "1" * 400)
    for failed in (deep, huge):
        assert failed.returncode == 2 and "Traceback" not in failed.stderr
        assert len(failed.stderr.splitlines()) == 1
    assert long_sum.returncode == 0 and "leaf gradients: x = 3000" in long_sum.stdout
    nan = run("explain", "log(w)", "--set", "w=0")
    assert nan.returncode == 0 and "warning: gate 1 (log Log) computes -inf" in nan.stdout


# ---------------------------------------------------------------- 3. the gate drawing

def test_graph_edges_carry_minus_two_and_draw_without_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-graphviz"))   # dot cannot be found
    result = run("graph", "--out", "seed.dot", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dot = (tmp_path / "seed.dot").read_text()
    assert dot.count('label="grad -2"') == 3 and 'label="grad 1"' in dot
    for name in ("seed.svg", "seed.png"):
        result = run("graph", "--out", name, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "built-in layout" in result.stdout
    root = ET.parse(tmp_path / "seed.svg").getroot()
    texts = "".join(root.itertext())
    on_edges = [e.text for e in root.iter() if e.tag.endswith("text") and e.get("fill")]
    assert on_edges == ["grad 1", "grad -2", "grad -2", "grad -2"] and "x²" in texts
    assert len([e for e in root.iter() if e.tag.endswith("line")]) == 6
    from PIL import Image
    with Image.open(tmp_path / "seed.png") as image:
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 20
    bad = run("graph", "--out", "seed.jpg", cwd=tmp_path)
    assert bad.returncode == 2 and ".svg" in bad.stderr and "Traceback" not in bad.stderr


# ---------------------------------------------------------------- 4. why the loss goes up

def _picture_has_content(path):
    from PIL import Image
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=float)
    coloured = (np.abs(pixels[..., 0] - pixels[..., 2]) > 60).mean()   # red/blue marks
    return pixels.std() > 15 and coloured > 0.001


@pytest.mark.parametrize("lr,kind", [(0.1, "converging"), (0.8, "zig-zag"), (1.1, "diverging")])
def test_descent_captions_change_with_the_learning_rate(tmp_path, lr, kind):
    pytest.importorskip("matplotlib")
    result = chainrule.viz.plot_descent(lr, path=str(tmp_path / "d.png"))
    assert result.kind == kind and result.caption.startswith(kind)
    losses = result.losses
    if kind == "diverging":
        assert all(b > a for a, b in zip(losses, losses[1:]))       # the loss goes up
    else:
        assert losses[-1] < losses[0]
    if kind == "zig-zag":                  # crosses the minimum w = 2 on every step
        sides = [w > 2 for w, _, _ in result.trail]
        assert all(a != b for a, b in zip(sides, sides[1:]))
    assert _picture_has_content(tmp_path / "d.png")


def test_descent_and_compare_batches_commands(tmp_path):
    outputs = {}
    for lr in ("0.1", "0.8", "1.1"):
        result = run("descent", "--lr", lr, "--out", f"d{lr}.png", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        outputs[lr] = result.stdout
    assert "converging" in outputs["0.1"] and "zig-zag" in outputs["0.8"]
    assert "diverging" in outputs["1.1"]
    assert outputs["0.1"].splitlines()[1].split()[:2] == ["0", "-0.5"]    # numbered steps
    result = run("compare-batches", "--steps", "30", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "a sample of the data" in result.stdout
    assert _picture_has_content(tmp_path / "compare_batches.png")


def test_full_batch_gd_never_rises_while_mini_batches_do():
    result = chainrule.viz.plots.batch_losses(lr=0.1, batch_size=8, steps=40)
    gd, sgd_batch, sgd_full, n = result
    assert all(b <= a for a, b in zip(gd, gd[1:]))                 # a batch is all the data
    assert sum(b > a for a, b in zip(sgd_batch, sgd_batch[1:])) >= 5
    assert sgd_full[-1] < sgd_full[0] and n == 160


def test_gradient_descent_always_subtracts_even_after_the_loss_rose():
    # the seeds' misconception: "when the loss rose, GD adds the gradient". It never does:
    # after an overshoot the slope has changed sign, so subtracting it moves back.
    trail = chainrule.viz.plots.descent_steps(chainrule.viz.plots.seed_loss, -0.5, 0.8, 3)
    for (w, _, slope), (w_next, _, _) in zip(trail, trail[1:]):
        assert w_next == pytest.approx(w - 0.8 * slope, abs=1e-12)
    assert trail[0][2] < 0 < trail[1][2]


# ---------------------------------------------------------------- 5. Newton and the Hessian

def test_exact_newton_on_the_default_mlp_states_the_numbers():
    model = chainrule.models.MLP(64, (128, 128, 128), 10)
    with pytest.raises(chainrule.errors.ArgumentError) as caught:
        optim.Newton(model.parameters(), hessian="exact")
    message = str(caught.value)
    assert "n = 42,634 parameters" in message
    assert "n² = 1,817,657,956 entries" in message
    assert "13.5 GiB" in message and "hessian='cg'" in message and "Hessian-free" in message
    small = chainrule.zeros(10, dtype="float64", requires_grad=True)
    optim.Newton([small], hessian="exact")                 # 800 bytes: fine


def test_compare_optimizers_includes_newtons_path():
    paths = chainrule.viz.optimizer_paths("bowl", steps=10)
    assert "Newton" in paths and paths["Newton"][1][-1] < 1e-8


# ---------------------------------------------------------------- 8. polish

def test_version_flag():
    result = run_process("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"chainrule {chainrule.__version__}"


def test_lr_find_says_flat_instead_of_suggesting(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    chainrule.manual_seed(0)
    model = chainrule.models.MLP(4, (8,), 2)
    result = chainrule.lr_find(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(),
                                                                       lr=0.1),
                               (x, y), start_lr=1e-9, end_lr=1e-6, num_iter=40)
    assert result.flat and result.suggestion is None
    assert "flat" in result.advice and result.lr_range[0] < result.lr_range[1]
    assert math.isclose(result.lr_range[0], result.lrs[-1])
    pytest.importorskip("matplotlib")
    assert os.path.exists(chainrule.viz.plot_lr_find(result, str(tmp_path / "lr.png")))
