"""Tools that show the learning: graphs, plots, loss landscapes, summaries and run reports.

Plotting needs matplotlib (``pip install 'chainrule[viz]'``), imported only when used.
"""
from .graph import Graph, graph  # noqa: F401
from .landscape import Landscape, landscape, plot_landscape  # noqa: F401
from .plots import (compare_batches, compare_optimizers, optimizer_paths,  # noqa: F401
                    plot_descent, plot_history, plot_loss_curve_1d, plot_lr_find)
from .report import report  # noqa: F401
from .summary import Summary, summary  # noqa: F401
