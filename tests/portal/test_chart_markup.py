"""The charts' inline SVG is what the template includes it replaced drew.

`staff/includes/bar_chart.html` and `line_chart.html` drew the charts until
2026-12-06 (issue 14); their source is kept below, verbatim, and rendered by
the template engine beside `BarChart.svg` and `LineChart.svg` on random charts:
names needing escaping, empty charts, every bucket size and a currency of each
minor unit.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template

from portal.charts import bar_chart, line_chart

BAR_CHART_HTML = """\
<svg class="chart" viewBox="0 0 {{ chart.width }} {{ chart.height }}" style="max-width: {{ chart.width }}px" role="img" aria-label="{{ chart.title }}">
  <title>{{ chart.title }}</title>
  {% for bar in chart.bars %}
  <g>
    <title>{{ bar.label }}: {{ bar.value_label }}</title>
    <text x="{{ chart.label_x }}" y="{{ bar.text_y }}" text-anchor="end">{{ bar.label }}</text>
    <rect x="{{ chart.label_width }}" y="{{ bar.y }}" width="{{ bar.width }}" height="{{ chart.bar_height }}" fill="#264b73"></rect>
    <text x="{{ bar.value_x }}" y="{{ bar.text_y }}">{{ bar.value_label }}</text>
  </g>
  {% empty %}
  <text x="10" y="16">Nothing to show.</text>
  {% endfor %}
</svg>
"""

LINE_CHART_HTML = """\
<svg class="chart" viewBox="0 0 {{ chart.width }} {{ chart.height }}" style="max-width: {{ chart.width }}px" role="img" aria-label="{{ chart.title }}">
  <title>{{ chart.title }}</title>
  {% for y, text in chart.y_ticks %}
  <line class="grid" x1="{{ chart.left }}" x2="{{ chart.right }}" y1="{{ y }}" y2="{{ y }}"></line>
  <text x="{{ chart.tick_x }}" y="{{ y }}" dy="4" text-anchor="end">{{ text }}</text>
  {% endfor %}
  <line class="axis" x1="{{ chart.left }}" x2="{{ chart.right }}" y1="{{ chart.plot_bottom }}" y2="{{ chart.plot_bottom }}"></line>
  {% for x, text in chart.x_labels %}
  <text x="{{ x }}" y="{{ chart.label_y }}" text-anchor="middle">{{ text }}</text>
  {% endfor %}
  {% for series in chart.series %}
  <g>
    <title>{{ series.name }}</title>
    <polyline points="{{ series.points }}" fill="none" stroke="{{ series.color }}" stroke-width="{% if series.strong %}3{% else %}1.5{% endif %}"></polyline>
    {% for x, y, text in series.dots %}<circle cx="{{ x }}" cy="{{ y }}" r="{% if series.strong %}3{% else %}2{% endif %}" fill="{{ series.color }}"><title>{{ text }}</title></circle>{% endfor %}
  </g>
  {% endfor %}
</svg>
<ul class="legend">
  {% for series in chart.series %}<li style="--swatch: {{ series.color }}">{{ series.name }}</li>{% endfor %}
</ul>
"""

NAMES = [
    "north",
    "ACME-01 · Acme Trading Company Ltd",
    '<b>&amp;"quoted"</b>',
    "l'été",
    "(shipping)",
    "",
]


def random_name(rng: random.Random) -> str:
    return rng.choice(NAMES) + rng.choice(["", " ", str(rng.randint(0, 999)), " & <i>"])


def random_amount(rng: random.Random) -> Decimal:
    if rng.random() < 0.15:
        return Decimal(0)
    return Decimal(rng.randint(0, 10 ** rng.randint(1, 9))).scaleb(-rng.randint(0, 3))


def old(source: str, chart: object) -> str:
    return Template(source).render(Context({"chart": chart}))


@pytest.mark.parametrize("seed", range(40))
def test_the_bar_chart_svg_is_the_old_include_on_random_bars(seed: int) -> None:
    rng = random.Random(seed)
    rows = [
        (random_name(rng), amount, f"{amount} {rng.choice(['EUR', 'JPY', 'KWD'])}")
        for amount in (random_amount(rng) for _ in range(rng.randint(0, 12)))
    ]

    chart = bar_chart(random_name(rng) or "Refunds", rows)

    assert chart.svg == old(BAR_CHART_HTML, chart)


@pytest.mark.parametrize("seed", range(40))
def test_the_line_chart_svg_is_the_old_include_on_random_lines(seed: int) -> None:
    rng = random.Random(seed)
    bucket = rng.choice(["day", "week", "month"])
    step = {"day": 1, "week": 7, "month": 31}[bucket]
    first = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
    buckets = [first + timedelta(days=step * n) for n in range(rng.randint(1, 40))]
    lines = [
        (random_name(rng), [random_amount(rng) for _ in buckets]) for _ in range(rng.randint(0, 7))
    ]

    chart = line_chart(random_name(rng), buckets, lines, rng.choice(["EUR", "JPY", "KWD"]), bucket)

    assert chart.svg == old(LINE_CHART_HTML, chart)


def test_the_markup_escapes_names_as_the_template_did() -> None:
    chart = bar_chart("<Refunds>", [("<script>x</script>", Decimal(1), "1 & 2")])

    assert "&lt;script&gt;x&lt;/script&gt;" in chart.svg
    assert "1 &amp; 2" in chart.svg
    assert 'aria-label="&lt;Refunds&gt;"' in chart.svg
