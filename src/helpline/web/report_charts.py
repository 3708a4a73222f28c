"""Bar charts as SVG, rendered on the server (no JavaScript): each chart has a title
and a text description for screen readers, and the page shows the same figures as
a table.  Colours are the Okabe-Ito palette, told apart by colour-blind readers."""

from __future__ import annotations

import dataclasses
import math

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 28, 40


@dataclasses.dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover


def _tick(value: float) -> str:
    return f"{value:g}"


def bar_chart(
    chart_id: str,
    title: str,
    labels: list[str],
    series: list[Series],
    *,
    stacked: bool = False,
    axis_label: str = "",
) -> SafeString:
    """Grouped (or stacked) bars, one group per label."""
    if stacked:
        totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
        top = _nice_max(max(totals, default=0))
    else:
        top = _nice_max(max((v or 0 for s in series for v in s.values), default=0))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bars_in_slot = 1 if stacked else max(len(series), 1)
    bar_w = max(slot * 0.8 / bars_in_slot, 1)
    parts: list[str] = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#dde1e6"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="11">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                f"{y:.1f}",
                f"{y:.1f}",
                LEFT - 4,
                f"{y + 4:.1f}",
                _tick(value),
            )  # fmt: skip
        )
    every = max(1, math.ceil(len(labels) / 12))
    for index, label in enumerate(labels):
        x0 = LEFT + slot * index + slot * 0.1
        base: float = TOP + plot_h
        for number, one in enumerate(series):
            value = one.values[index] or 0
            h = plot_h * value / top
            x = x0 if stacked else x0 + bar_w * number
            y = base - h
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{}: {} {}</title></rect>",
                    f"{x:.1f}",
                    f"{y:.1f}",
                    f"{bar_w:.1f}",
                    f"{h:.1f}",
                    PALETTE[number % len(PALETTE)],
                    label,
                    one.name,
                    _tick(value),
                )  # fmt: skip
            )
            if stacked:
                base = y
        if index % every == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle" font-size="11">{}</text>',
                    f"{LEFT + slot * index + slot / 2:.1f}",
                    HEIGHT - BOTTOM + 16,
                    label,
                )
            )
    legend_x = LEFT
    for number, one in enumerate(series):
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="10" height="10" fill="{}"/>'
                '<text x="{}" y="{}" font-size="12">{}</text>',
                legend_x,
                HEIGHT - 14,
                PALETTE[number % len(PALETTE)],
                legend_x + 14,
                HEIGHT - 5,
                one.name,
            )  # fmt: skip
        )
        legend_x += 24 + 7 * len(one.name)
    description = "; ".join(
        f"{one.name}: "
        + ", ".join(
            f"{label} {_tick(v) if v is not None else '–'}"
            for label, v in zip(labels, one.values, strict=True)
        )
        for one in series
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="{}-t {}-d" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{}-t">{}</title><desc id="{}-d">{}</desc>'
        '<text x="{}" y="16" font-size="13" font-weight="600">{}</text>'
        '<text x="{}" y="16" font-size="11" text-anchor="end">{}</text>'
        "{}</svg>",
        WIDTH, HEIGHT, chart_id, chart_id, chart_id, title, chart_id, description,
        LEFT, title, WIDTH - RIGHT, axis_label,
        mark_safe("".join(parts)),  # noqa: S308 - each part built by format_html
    )  # fmt: skip
