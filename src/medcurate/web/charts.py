"""The dashboard's charts, drawn as inline SVG on the server.

Hand-written because the three charts (stacked bars, lines, horizontal bars) take a few dozen lines
each, need no JavaScript in the browser, and no plotting library is installed (matplotlib would be
a large dependency for three pictures). Every label passes through ``markupsafe.escape``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from medcurate.models import ItemState

PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#9ca3af")
STATE_COLOURS: dict[str, str] = {
    ItemState.DRAFT: "#f59e0b",
    ItemState.APPROVED: "#2563eb",
    ItemState.PUBLISHED: "#16a34a",
    ItemState.REJECTED: "#dc2626",
    ItemState.DUPLICATE: "#9ca3af",
}
DEFAULT_WIDTH = 640
# Line charts take their colours further along the palette than the stacked bars beside them.
LINE_COLOUR_OFFSET = 10
DEFAULT_HEIGHT = 240
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 36, 12, 12, 28


def _colour(name: str, index: int) -> str:
    return STATE_COLOURS.get(name, PALETTE[index % len(PALETTE)])


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        if value <= step * 4:
            return step * 4
    return value


def _frame(width: int, height: int, top: int, label: str) -> list[str]:
    plot_h = height - _PAD_TOP - _PAD_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}" class="chart">'
    ]
    for i in range(5):
        y = _PAD_TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{_PAD_LEFT}" x2="{width - _PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{_PAD_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{top * i // 4}</text>'
        )
    return parts


def _legend(names: Sequence[str], *, colour_offset: int = 0) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{_colour(n, i + colour_offset)}"></span>{escape(n)}</li>'
        for i, n in enumerate(names)
    )
    return f'<ul class="legend">{items}</ul>'


def stacked_bars(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
) -> Markup:
    """Bars per x label, one stacked segment per series, with a legend."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(x_labels))]
    top = _nice_max(max(totals, default=0))
    plot_w = width - _PAD_LEFT - _PAD_RIGHT
    plot_h = height - _PAD_TOP - _PAD_BOTTOM
    slot = plot_w / max(len(x_labels), 1)
    parts = _frame(width, height, top, title)
    for i, label in enumerate(x_labels):
        x = _PAD_LEFT + i * slot + slot * 0.15
        y = float(_PAD_TOP + plot_h)
        for j, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / top
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                    f'fill="{_colour(name, j)}">'
                    f"<title>{escape(label)}: {values[i]} {escape(name)}</title></rect>"
                )
        if len(x_labels) <= 16 or i % 2 == 0:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - 10}" text-anchor="middle" class="tick">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts) + _legend(list(series)))


def line_chart(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    title: str,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
) -> Markup:
    """One line per series over the x labels, with a legend."""
    top = _nice_max(max((max(v, default=0) for v in series.values()), default=0))
    plot_w = width - _PAD_LEFT - _PAD_RIGHT
    plot_h = height - _PAD_TOP - _PAD_BOTTOM
    step = plot_w / max(len(x_labels) - 1, 1)
    parts = _frame(width, height, top, title)
    for i, label in enumerate(x_labels):
        if len(x_labels) <= 16 or i % 2 == 0:
            parts.append(
                f'<text x="{_PAD_LEFT + i * step:.1f}" y="{height - 10}" text-anchor="middle" class="tick">'
                f"{escape(label)}</text>"
            )
    for j, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{_PAD_LEFT + i * step:.1f},{_PAD_TOP + plot_h - plot_h * v / top:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{_colour(name, j + 10)}" stroke-width="2">'
            f"<title>{escape(name)}</title></polyline>"
        )
    parts.append("</svg>")
    return Markup("".join(parts) + _legend(list(series), colour_offset=LINE_COLOUR_OFFSET))


def horizontal_bars(
    pairs: Sequence[tuple[str, int]], *, title: str, width: int = DEFAULT_WIDTH, bar_height: int = 22
) -> Markup:
    """One labelled horizontal bar per (label, count), longest first as given."""
    label_w = 200
    height = max(len(pairs), 1) * (bar_height + 6) + 8
    top = max((n for _, n in pairs), default=0) or 1
    plot_w = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">'
    ]
    for i, (label, count) in enumerate(pairs):
        y = 4 + i * (bar_height + 6)
        w = plot_w * count / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" class="label">'
            f"{escape(label[:32])}</text>"
            f'<rect x="{label_w}" y="{y}" width="{max(w, 1):.1f}" height="{bar_height}" '
            f'fill="{PALETTE[0]}" rx="3">'
            f"<title>{escape(label)}: {count}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height * 0.7:.1f}" class="tick">{count}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
