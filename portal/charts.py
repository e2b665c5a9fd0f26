"""Charts for the staff dashboard: pure functions from figures to SVG units,
and the inline SVG that draws them (no script).

No queries and no request. The markup is written here rather than by template
includes: a chart is a few hundred small values (a 30-day trend has 186
points), and the template engine's lookup, localisation and escaping of each
cost more than the rest of the page's Python (issue 14). Text is escaped as
the template would; geometry is in whole SVG units, printed as plain integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from lib.money import display_money

PALETTE = ("#264b73", "#d1632a", "#3c8d5a", "#8a4fb0", "#b8a02a", "#c0392b")
# Bar labels longer than this are cut with an ellipsis.
LABEL_CHARS = 22
# About this many labels under the line chart's x axis, whatever the buckets.
X_LABELS = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value_label: str
    y: int
    width: int
    text_y: int
    value_x: int


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    width: int = 440
    label_width: int = 150
    bar_height: int = 18
    gap: int = 6

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * (self.bar_height + self.gap) + self.gap

    @property
    def label_x(self) -> int:
        return self.label_width - 6

    @property
    def svg(self) -> SafeString:
        return bar_chart_svg(self)


def bar_chart(title: str, rows: Sequence[tuple[str, Decimal | float, str]]) -> BarChart:
    """Horizontal bars of (label, value, value label), longest bar = largest value."""
    chart = BarChart(title, [])
    plot_width = chart.width - chart.label_width - 80
    top = max((float(value) for _, value, _ in rows), default=0.0) or 1.0
    for index, (name, value, value_label) in enumerate(rows):
        y = chart.gap + index * (chart.bar_height + chart.gap)
        width = max(round(float(value) / top * plot_width), 1)
        chart.bars.append(
            Bar(
                label=name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…",
                value_label=value_label,
                y=y,
                width=width,
                text_y=y + chart.bar_height - 5,
                value_x=chart.label_width + width + 6,
            )
        )
    return chart


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    points: str  # "x,y x,y ..." for <polyline>
    dots: list[tuple[int, int, str]]
    strong: bool = False


@dataclass(frozen=True)
class LineChart:
    title: str
    series: list[Series]
    x_labels: list[tuple[int, str]]
    y_ticks: list[tuple[int, str]]
    width: int = 760
    height: int = 260
    left: int = 80
    bottom: int = 30
    top: int = 12

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom

    @property
    def right(self) -> int:
        return self.width - 28

    @property
    def tick_x(self) -> int:
        return self.left - 4

    @property
    def label_y(self) -> int:
        return self.height - 10

    @property
    def svg(self) -> SafeString:
        return line_chart_svg(self)


def line_chart(
    title: str,
    buckets: Sequence[date],
    lines: Sequence[tuple[str, Sequence[Decimal]]],
    currency: str,
    bucket: str,
) -> LineChart:
    """One line per (name, values per bucket); the first line is drawn strong."""
    chart = LineChart(title, [], [], [])
    top = max((float(v) for _, values in lines for v in values), default=0.0) or 1.0
    step = (chart.right - chart.left) / max(len(buckets) - 1, 1)

    def x(index: int) -> int:
        return round(chart.left + index * step)

    def y(value: float) -> int:
        return round(chart.plot_bottom - value / top * (chart.plot_bottom - chart.top))

    for index, (name, values) in enumerate(lines):
        coordinates = [(x(i), y(float(v))) for i, v in enumerate(values)]
        chart.series.append(
            Series(
                name=name,
                color=PALETTE[index % len(PALETTE)],
                points=" ".join(f"{cx},{cy}" for cx, cy in coordinates),
                dots=[
                    (cx, cy, f"{name}, {label(buckets[i], bucket)}: {money(values[i], currency)}")
                    for i, (cx, cy) in enumerate(coordinates)
                ],
                strong=index == 0,
            )
        )
    every = max(len(buckets) // X_LABELS, 1)
    chart.x_labels.extend(
        (x(i), label(day, bucket)) for i, day in enumerate(buckets) if i % every == 0
    )
    chart.y_ticks.extend((y(top * k / 4), money(Decimal(top * k / 4), currency)) for k in range(5))
    return chart


def label(day: date, bucket: str) -> str:
    """A bucket's name on the axis: "Mar 2026" for a month, "02 Mar" for a day or week."""
    return day.strftime("%b %Y") if bucket == "month" else day.strftime("%d %b")


def money(amount: Decimal | float, currency: str) -> str:
    return display_money(Decimal(amount), currency)


# ---------------------------------------------------------------- markup


def svg_open(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {width} {height}" style="max-width: {width}px"'
        f' role="img" aria-label="{title}">\n',
        f"  <title>{title}</title>\n",
    ]


def bar_chart_svg(chart: BarChart) -> SafeString:
    """The bar chart as inline SVG, a line per element; a row saying so when empty."""
    esc = conditional_escape
    parts = svg_open(chart.width, chart.height, esc(chart.title))
    parts.append("  ")
    for bar in chart.bars:
        label, value = esc(bar.label), esc(bar.value_label)
        parts.append(
            "\n  <g>\n"
            f"    <title>{label}: {value}</title>\n"
            f'    <text x="{chart.label_x}" y="{bar.text_y}" text-anchor="end">{label}</text>\n'
            f'    <rect x="{chart.label_width}" y="{bar.y}" width="{bar.width}"'
            f' height="{chart.bar_height}" fill="#264b73"></rect>\n'
            f'    <text x="{bar.value_x}" y="{bar.text_y}">{value}</text>\n'
            "  </g>\n  "
        )
    if not chart.bars:
        parts.append('\n  <text x="10" y="16">Nothing to show.</text>\n  ')
    parts.append("\n</svg>\n")
    return mark_safe("".join(parts))  # every text above is escaped


def line_chart_svg(chart: LineChart) -> SafeString:
    """The line chart as inline SVG (grid, axis, a group per line with a dot
    per bucket, each dot titled), then its legend."""
    esc = conditional_escape
    parts = svg_open(chart.width, chart.height, esc(chart.title))
    parts.append("  ")
    for y, text in chart.y_ticks:
        parts.append(
            f'\n  <line class="grid" x1="{chart.left}" x2="{chart.right}" y1="{y}" y2="{y}"></line>\n'
            f'  <text x="{chart.tick_x}" y="{y}" dy="4" text-anchor="end">{esc(text)}</text>\n  '
        )
    parts.append(
        f'\n  <line class="axis" x1="{chart.left}" x2="{chart.right}"'
        f' y1="{chart.plot_bottom}" y2="{chart.plot_bottom}"></line>\n  '
    )
    for x, text in chart.x_labels:
        parts.append(
            f'\n  <text x="{x}" y="{chart.label_y}" text-anchor="middle">{esc(text)}</text>\n  '
        )
    parts.append("\n  ")
    for series in chart.series:
        color = esc(series.color)
        width, radius = ("3", "3") if series.strong else ("1.5", "2")
        parts.append(
            "\n  <g>\n"
            f"    <title>{esc(series.name)}</title>\n"
            f'    <polyline points="{esc(series.points)}" fill="none" stroke="{color}"'
            f' stroke-width="{width}"></polyline>\n    '
        )
        parts.extend(
            f'<circle cx="{x}" cy="{y}" r="{radius}" fill="{color}"><title>{esc(text)}</title></circle>'
            for x, y, text in series.dots
        )
        parts.append("\n  </g>\n  ")
    parts.append('\n</svg>\n<ul class="legend">\n  ')
    parts.extend(
        f'<li style="--swatch: {esc(series.color)}">{esc(series.name)}</li>'
        for series in chart.series
    )
    parts.append("\n</ul>\n")
    return mark_safe("".join(parts))  # every text above is escaped
