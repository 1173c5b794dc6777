"""Small server-rendered SVG charts that need neither JavaScript nor inline styles.

The content security policy forbids ``style`` attributes, so colours and sizes are
SVG presentation attributes (``fill``, ``font-size``), which are not styles. Each
chart is an image with a title and a description that says in words what the
bars show (``role="img"`` with ``aria-labelledby``), and pages put the same
numbers in a table next to it, so nothing depends on seeing the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Colours with at least 4.5:1 contrast against white for the bars' text and 3:1 for bars.
PALETTE = ("#00508a", "#8a4b00", "#1d6b2a", "#6b2a8a", "#b00020", "#4a4a4a")
INK = "#1b1b1b"
GRID = "#c8c8c8"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    colour: str = PALETTE[0]


def describe(bars: Sequence[Bar], unit: str = "") -> str:
    """The chart in words, e.g. "Att granska: 12, Försenade: 3"."""
    suffix = f" {unit}" if unit else ""
    return ", ".join(f"{b.label}: {b.value}{suffix}" for b in bars) + "."


def bar_chart(
    chart_id: str,
    title: str,
    bars: Sequence[Bar],
    *,
    unit: str = "",
    width: int = 560,
    bar_height: int = 26,
    label_width: int = 210,
) -> Markup:
    """A horizontal bar chart as an inline ``<svg>`` element."""
    gap = 10
    top = 8
    value_space = 60
    height = top * 2 + len(bars) * (bar_height + gap)
    plot = max(width - label_width - value_space, 40)
    biggest = max((b.value for b in bars), default=0) or 1
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" focusable="false">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(describe(bars, unit))}</desc>',
        f'<line x1="{label_width}" y1="{top / 2}" x2="{label_width}" '
        f'y2="{height - top / 2}" stroke="{GRID}" stroke-width="1"/>',
    ]
    for index, bar in enumerate(bars):
        y = top + index * (bar_height + gap)
        length = round(plot * bar.value / biggest) if bar.value else 0
        middle = y + bar_height / 2
        parts += [
            '<g aria-hidden="true">',
            f'<text x="{label_width - 8}" y="{middle}" text-anchor="end" '
            f'dominant-baseline="middle" font-size="14" fill="{INK}">{escape(bar.label)}</text>',
            f'<rect x="{label_width}" y="{y}" width="{max(length, 2)}" height="{bar_height}" '
            f'fill="{escape(bar.colour)}" rx="2"/>',
            f'<text x="{label_width + max(length, 2) + 6}" y="{middle}" '
            f'dominant-baseline="middle" font-size="14" font-weight="bold" fill="{INK}">'
            f"{bar.value}</text>",
            "</g>",
        ]
    parts.append("</svg>")
    return Markup("".join(parts))
