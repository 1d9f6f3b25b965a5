"""Notebooks: examples/notebook.ipynb runs top to bottom in a real Jupyter kernel (nbclient),
and its outputs are chainrule's HTML views: a tensor, a model's layer table, the progress
widget, a training history with its loss curve, History.plot() inline, and the backprop
trace. Then the views themselves, and the progress bar's choice of widget, bar or lines."""
import io
import json
import os
import pathlib
import sys
import types

import numpy as np
import pytest

import chainrule
from chainrule.train.callbacks import ProgressBar
from chainrule.train.history import History

NOTEBOOK = pathlib.Path(__file__).resolve().parents[1] / "examples" / "notebook.ipynb"

#: the tests that read the executed notebook: one kernel run (~15 s) shared by all of them
in_a_kernel = pytest.mark.slow


def _kernel_for_this_interpreter(directory):
    """A kernelspec that runs this very Python (whatever `python3` kernel is registered, if
    any), finding this chainrule and drawing matplotlib figures inline."""
    spec_dir = directory / "kernels" / "chainrule-test"
    spec_dir.mkdir(parents=True)
    source = str(pathlib.Path(chainrule.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "chainrule test", "language": "python",
            "env": {"PYTHONPATH": path,
                    "MPLBACKEND": "module://matplotlib_inline.backend_inline"}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return "chainrule-test"


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    directory = tmp_path_factory.mktemp("jupyter")
    kernel = _kernel_for_this_interpreter(directory)
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(directory), old) if p)
    try:
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        client = nbclient.NotebookClient(notebook, timeout=180, kernel_name=kernel,
                                         resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        client.execute()
    finally:
        if old is None:
            del os.environ["JUPYTER_PATH"]
        else:
            os.environ["JUPYTER_PATH"] = old
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _cell(cells, code):
    found = [cell for cell in cells if code in cell.source]
    assert len(found) == 1, code
    return found[0]


def _outputs(cell, mime):
    return [o["data"][mime] for o in cell.outputs if mime in o.get("data", {})]


def _stream(cell):
    return "".join(o["text"] for o in cell.outputs if o.output_type == "stream")


@in_a_kernel
def test_no_cell_raised(cells):
    assert not [o for cell in cells for o in cell.outputs if o.output_type == "error"]


@in_a_kernel
def test_a_tensor_shows_shape_dtype_grad_fn_and_values(cells):
    (page,) = _outputs(_cell(cells, "(w * 2).tanh()"), "text/html")
    assert 'class="chainrule-tensor"' in page
    for part in ("(3, 4)", "float32", "TanhBackward", "<pre", "mean"):
        assert part in page, part


@in_a_kernel
def test_numpy_functions_give_tensors(cells):
    (text,) = _outputs(_cell(cells, "np.exp(t)"), "text/plain")
    assert text.startswith("(tensor([") and text.endswith("True)")


@in_a_kernel
def test_a_model_shows_its_layer_table(cells):
    (page,) = _outputs(_cell(cells, "chainrule.models.MLP"), "text/html")
    total = chainrule.models.MLP(2, (16, 16), 2).num_parameters()
    for part in ("MLP (training mode)", "Linear", "in_features=2, out_features=16",
                 "weight (16, 2)", f"total parameters: {total:,}"):
        assert part in page, part


@in_a_kernel
def test_the_progress_bar_is_a_widget_and_each_epoch_a_line(cells):
    cell = _cell(cells, "progress=True")
    try:
        import ipywidgets  # noqa: F401
        assert len(_outputs(cell, "application/vnd.jupyter.widget-view+json")) == 4
    except ImportError:                                 # tqdm cannot draw: plain lines
        assert not _outputs(cell, "application/vnd.jupyter.widget-view+json")
    lines = _stream(cell).splitlines()
    assert [line.split()[1] for line in lines] == ["1/4", "2/4", "3/4", "4/4"]
    assert "\r" not in _stream(cell)


@in_a_kernel
def test_the_history_shows_a_table_and_the_loss_curve(cells):
    (cell,) = [c for c in cells if c.source.strip() == "history"]
    (page,) = _outputs(cell, "text/html")
    for part in ("History: 4 epochs", "val_loss", "val_accuracy", "<svg", "<polyline",
                 "loss per step", "val_loss per epoch"):
        assert part in page, part


@in_a_kernel
def test_history_plot_draws_inline(cells):
    (png,) = _outputs(_cell(cells, "history.plot()"), "image/png")
    assert len(png) > 1000


@in_a_kernel
def test_the_explain_trace_is_an_html_table(cells):
    (page,) = _outputs(_cell(cells, "chainrule.explain"), "text/html")
    for part in ('class="chainrule-trace"', "<table", "PowScalar(2)", "leaf gradients: w = -2"):
        assert part in page, part


# ------------------------------------------------------------------ the views, without a kernel
def test_a_tensor_view_escapes_and_summarises():
    t = chainrule.arange(1000.0, requires_grad=True)
    t.name = "<w>"
    page = t._repr_html_()
    assert "&lt;w&gt;" in page and "<w>" not in page
    assert "..." in page and len(page) < 4000           # 1000 values summarised
    assert "requires_grad" in page and "True (leaf)" in page
    bad = chainrule.tensor([1.0, float("nan"), float("inf")])._repr_html_()
    assert "non-finite" in bad
    assert "int64" in chainrule.tensor([1, 2])._repr_html_()
    assert "mean" not in chainrule.tensor(2.0)._repr_html_()


def test_a_module_view_lists_layers_with_their_own_parameters():
    class Block(chainrule.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = chainrule.nn.Parameter(chainrule.ones(3))
            self.inner = chainrule.nn.Linear(3, 2)

    block = Block()
    block.inner.weight.requires_grad_(False)
    page = block.eval()._repr_html_()
    assert "Block (eval mode)" in page and "(self)" in page and "scale (3,)" in page
    assert "total parameters: 11 (5 trainable)" in page


def test_a_history_view_elides_long_tables_and_draws_its_curves():
    h = History()
    for epoch in range(1, 31):
        h.log_step({"step": epoch, "epoch": epoch, "loss": 1.0 / epoch, "lr": 0.1})
        h.log_epoch({"epoch": epoch, "loss": 1.0 / epoch, "val_loss": 1.2 / epoch})
    page = h._repr_html_()
    assert page.count("<tr>") == 1 + 11 and "…" in page     # header, 5 + gap + 5
    assert page.count("<polyline") == 3 and "val_loss per epoch" in page
    empty = History()._repr_html_()
    assert "History: 0 epochs" in empty and "<svg" not in empty
    h.stop_reason = "early stopping: val_loss did not improve"
    assert "early stopping" in h._repr_html_()


def test_history_plot_draws_the_curves(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")                               # no display: what a server has
    import matplotlib.pyplot as plt
    h = History()
    h.log_step({"step": 1, "epoch": 1, "loss": 0.9})
    h.log_step({"step": 2, "epoch": 1, "loss": 0.6})
    h.log_epoch({"epoch": 1, "loss": 0.75, "val_loss": float("nan")})
    ax = h.plot()
    assert [line.get_label() for line in ax.get_lines()] == ["loss per step", "loss per epoch",
                                                             "val_loss per epoch"]
    assert ax.get_xlabel() == "step"
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2])
    assert np.isnan(ax.get_lines()[2].get_ydata()[0])              # NaN left as a gap
    ax.figure.savefig(tmp_path / "history.png")
    assert (tmp_path / "history.png").read_bytes()[:4] == b"\x89PNG"
    fig, given = plt.subplots()
    assert h.plot(keys=("loss",), ax=given) is given and len(given.get_lines()) == 2
    epochs_only = History()
    epochs_only.log_epoch({"epoch": 1, "loss": 0.5})
    assert epochs_only.plot().get_xlabel() == "epoch"
    assert not History().plot().get_lines()                        # nothing to draw: no error
    plt.close("all")


def test_history_plot_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[viz\]'"):
        History().plot()


def test_the_trace_view_is_the_text_table_as_html():
    w = chainrule.tensor(1.0, requires_grad=True, name="w")
    with np.errstate(invalid="ignore"):
        trace = chainrule.explain((w * float("inf")) - (w * float("inf")))
    page = trace._repr_html_()
    assert page.count("<tr>") == 1 + len(trace.rows) + 1         # header, gates, leaf grads
    assert "leaf gradients: w = " in page and '<p style="color: #b00">warning:' in page


def _fake_kernel(monkeypatch, widgets=True):
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    if not widgets:
        monkeypatch.setitem(sys.modules, "ipywidgets", None)   # import fails
    else:
        pytest.importorskip("ipywidgets")


def test_the_progress_bar_picks_widget_terminal_or_plain_lines(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert ProgressBar(stream=io.StringIO())._mode() == "plain"
    assert ProgressBar(stream=Terminal())._mode() == "terminal"
    assert ProgressBar(stream=Terminal(), force_plain=True)._mode() == "plain"
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert ProgressBar()._mode() == "plain"             # not a terminal, not a notebook
    _fake_kernel(monkeypatch)
    assert ProgressBar()._mode() == "widget"
    assert ProgressBar(stream=io.StringIO())._mode() == "plain"   # a given stream is a file
    assert ProgressBar(force_plain=True)._mode() == "plain"


def test_in_a_kernel_without_ipywidgets_the_bar_falls_back_to_lines(monkeypatch):
    _fake_kernel(monkeypatch, widgets=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert ProgressBar()._mode() == "plain"
    model = chainrule.nn.Linear(1, 1)
    x = np.ones((8, 1), np.float32)
    chainrule.fit(model, chainrule.nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1),
                  (x, x), epochs=2, batch_size=4, metrics=(), progress=True)
    lines = sys.stdout.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/2", "2/2"]


def _fit_two_epochs(**options):
    model = chainrule.nn.Linear(1, 1)
    x = np.ones((8, 1), np.float32)
    chainrule.fit(model, chainrule.nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1),
                  (x, x), epochs=2, batch_size=4, metrics=(), progress=True, **options)


def test_outside_a_notebook_and_a_terminal_progress_is_one_plain_line_per_epoch(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    _fit_two_epochs()
    text = sys.stdout.getvalue()
    assert "\r" not in text and "\x1b" not in text                   # no bar, no escapes
    assert [line.split()[:2] for line in text.splitlines()] == [["epoch", "1/2"],
                                                                ["epoch", "2/2"]]


def test_on_a_terminal_progress_is_a_tqdm_bar(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    terminal = Terminal()
    bar = ProgressBar(stream=terminal)
    model = chainrule.nn.Linear(1, 1)
    x = np.ones((8, 1), np.float32)
    chainrule.fit(model, chainrule.nn.MSELoss(), chainrule.optim.SGD(model.parameters(), lr=0.1),
                  (x, x), epochs=2, batch_size=4, metrics=(), callbacks=[bar])
    text = terminal.getvalue()
    assert "\r" in text and "epoch 1/2" in text and "2/2" in text and "loss=" in text
    assert bar._bar is None                                          # closed at the end
