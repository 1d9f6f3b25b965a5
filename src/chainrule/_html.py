"""Small HTML pieces for Jupyter's rich display (``_repr_html_``): a table and a line chart.

Tensor, Module, History and the explain trace show themselves in a notebook with these. The
chart is a hand-written SVG, so a notebook shows the loss curve without matplotlib.

>>> cells = table(["name", "value"], [["w", 1.5]])
>>> cells.startswith('<table class="chainrule"'), cells.count("<td"), "<td" in table([], [])
(True, 2, False)
"""
import math

_TABLE_STYLE = 'style="border-collapse: collapse; font-family: monospace; font-size: 12px"'
_CELL = ' style="padding: 2px 8px; text-align: left; border-bottom: 1px solid #ddd"'
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def escape(value):
    """``value`` as text that HTML shows literally (``<`` and ``&`` included)."""
    import html          # here, not at the top: its entity table is a cost at start-up
    return html.escape(str(value), quote=True)


def table(header, rows, caption=None, footer=None):
    """An HTML table: ``header`` a list of column names, ``rows`` lists of cells (any value,
    shown with ``str``), ``caption`` above it and ``footer`` (a line of text) below it."""
    head = "".join(f"<th{_CELL}>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{_CELL}>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    parts = [f'<table class="chainrule" {_TABLE_STYLE}>']
    if caption:
        parts.append(f'<caption style="text-align: left">{escape(caption)}</caption>')
    parts.append(f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>")
    if footer:
        parts.append(f'<tfoot><tr><td colspan="{len(header)}">{escape(footer)}</td></tr></tfoot>')
    parts.append("</table>")
    return "".join(parts)


def line_chart(series, width=420, height=200, xlabel="", title="", faint=()):
    """An inline SVG of one or more curves: ``series`` is a list of ``(label, xs, ys)``
    (those labelled in ``faint`` drawn thin and pale); points whose y is not a finite number
    are left out. Returns "" when nothing is left.

    >>> line_chart([("loss", [1, 2, 3], [0.9, 0.5, 0.4])]).startswith("<svg")
    True
    """
    curves = [(label, [(x, y) for x, y in zip(xs, ys) if _finite(y)])
              for label, xs, ys in series]
    curves = [(label, points) for label, points in curves if points]
    if not curves:
        return ""
    xs = [x for _, points in curves for x, _ in points]
    ys = [y for _, points in curves for _, y in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    left, right, top, bottom = 52, 10, 22, 30
    plot_w, plot_h = width - left - right, height - top - bottom

    def place(x, y):
        px = left + (0.5 if x1 == x0 else (x - x0) / (x1 - x0)) * plot_w
        py = top + (0.5 if y1 == y0 else (y1 - y) / (y1 - y0)) * plot_h
        return f"{px:.1f},{py:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'style="font-family: sans-serif; font-size: 10px">',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
             'stroke="#999"/>',
             f'<text x="{left}" y="14">{escape(title)}</text>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{y1:.4g}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">{y0:.4g}</text>',
             f'<text x="{left}" y="{height - 12}">{x0:g}</text>',
             f'<text x="{left + plot_w}" y="{height - 12}" text-anchor="end">{x1:g}</text>',
             f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle">'
             f'{escape(xlabel)}</text>']
    for i, (label, points) in enumerate(curves):
        color = _COLORS[i % len(_COLORS)]
        coords = " ".join(place(x, y) for x, y in points)
        look = 'stroke-width="1" stroke-opacity="0.5"' if label in faint else \
            'stroke-width="1.5"'
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" {look}/>')
        if len(points) == 1:
            parts.append(f'<circle cx="{coords.split(",")[0]}" cy="{coords.split(",")[1]}" '
                         f'r="2.5" fill="{color}"/>')
        parts.append(f'<text x="{width - right - 4}" y="{top + 12 + 12 * i}" '
                     f'text-anchor="end" fill="{color}">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _finite(value):
    try:
        return not isinstance(value, bool) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
