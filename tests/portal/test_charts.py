"""Chart geometry: pure functions, worked by hand in SVG units (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from portal.charts import PALETTE, BarChart, bar_chart, label, line_chart

# A bar chart is 440 wide with 150 for labels and 80 for the value text: bars get 210.
# A line chart plots x from 80 to 732 and y from 230 (zero) up to 12 (the top value).


def test_the_largest_bar_fills_the_plot_and_the_others_scale_to_it() -> None:
    chart = bar_chart("Refunds", [("north", Decimal("10"), "10"), ("south", Decimal("5"), "5")])

    assert [(bar.label, bar.width, bar.y, bar.text_y) for bar in chart.bars] == [
        ("north", 210, 6, 19),
        ("south", 105, 30, 43),
    ]
    # The value label sits 6 past the bar's end.
    assert [bar.value_x for bar in chart.bars] == [366, 261]
    assert [bar.value_label for bar in chart.bars] == ["10", "5"]
    assert chart.height == 2 * (18 + 6) + 6
    assert chart.label_x == 144


def test_a_zero_bar_is_still_drawn_one_unit_wide() -> None:
    chart = bar_chart("Open cases by age", [("0–2 days", 0, "0"), ("3–7 days", 4, "4")])

    assert [bar.width for bar in chart.bars] == [1, 210]


def test_all_zero_bars_do_not_divide_by_zero() -> None:
    chart = bar_chart("Refund rate", [("a", 0, "0%"), ("b", 0.0, "0%")])

    assert [bar.width for bar in chart.bars] == [1, 1]


def test_an_empty_bar_chart_keeps_the_height_of_one_row() -> None:
    chart = bar_chart("Refunds by reason", [])

    assert chart.bars == []
    assert chart.height == BarChart("empty", []).height == 6 + 18 + 6


def test_a_long_label_is_cut_to_22_characters_with_an_ellipsis() -> None:
    exact = "v" * 22
    long = "ACME-01 · Acme Trading Company Ltd"

    chart = bar_chart("Refunds by vendor", [(exact, 1, "1"), (long, 1, "1")])

    assert chart.bars[0].label == exact
    assert chart.bars[1].label == "ACME-01 · Acme Tradin…"
    assert len(chart.bars[1].label) == 22


def test_line_points_run_from_the_left_edge_to_the_right_and_zero_to_the_top() -> None:
    days = [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]

    chart = line_chart(
        "Refunds by day",
        days,
        [("All refunds", [Decimal("0"), Decimal("50"), Decimal("100")])],
        "EUR",
        "day",
    )

    (series,) = chart.series
    assert series.points == "80,230 406,121 732,12"
    assert series.strong is True
    assert series.color == PALETTE[0]
    assert series.dots[1] == (406, 121, "All refunds, 02 Mar: 50.00 EUR")


def test_only_the_first_line_is_strong_and_each_line_gets_its_own_colour() -> None:
    days = [date(2026, 3, 1), date(2026, 3, 2)]
    lines = [(f"line {n}", [Decimal(n), Decimal(n)]) for n in range(1, 8)]

    chart = line_chart("Refunds", days, lines, "EUR", "day")

    assert [series.strong for series in chart.series] == [True] + [False] * 6
    # Seven lines, six colours: the seventh starts the palette again.
    assert [series.color for series in chart.series] == [*PALETTE, PALETTE[0]]


def test_y_ticks_are_quarters_of_the_largest_value_in_money() -> None:
    chart = line_chart(
        "Refunds", [date(2026, 3, 1), date(2026, 3, 2)], [("All", [0, 100])], "USD", "day"
    )

    # 230 - k/4 * 218 for k = 0..4, rounded half to even (175.5 -> 176, 66.5 -> 66).
    assert chart.y_ticks == [
        (230, "0.00 USD"),
        (176, "25.00 USD"),
        (121, "50.00 USD"),
        (66, "75.00 USD"),
        (12, "100.00 USD"),
    ]


def test_about_eight_x_labels_whatever_the_number_of_buckets() -> None:
    days = [date(2026, 3, 1 + n) for n in range(30)]

    chart = line_chart("Refunds", days, [("All", [Decimal(0)] * 30)], "EUR", "day")

    # 30 buckets: every third one is named.
    assert [text for _, text in chart.x_labels] == [
        "01 Mar",
        "04 Mar",
        "07 Mar",
        "10 Mar",
        "13 Mar",
        "16 Mar",
        "19 Mar",
        "22 Mar",
        "25 Mar",
        "28 Mar",
    ]
    assert chart.x_labels[0][0] == 80
    assert chart.x_labels[-1][0] == round(80 + 27 * 652 / 29)


def test_a_single_bucket_sits_on_the_left_edge() -> None:
    chart = line_chart("Refunds", [date(2026, 3, 1)], [("All", [Decimal(7)])], "EUR", "day")

    assert chart.series[0].points == "80,12"
    assert chart.x_labels == [(80, "01 Mar")]


def test_an_empty_period_draws_a_flat_axis() -> None:
    chart = line_chart("Refunds", [date(2026, 3, 1), date(2026, 3, 2)], [], "EUR", "day")

    assert chart.series == []
    assert chart.y_ticks[0] == (230, "0.00 EUR")
    assert chart.y_ticks[-1] == (12, "1.00 EUR")


def test_buckets_are_named_by_month_for_a_year_and_by_day_otherwise() -> None:
    assert label(date(2026, 3, 1), "month") == "Mar 2026"
    assert label(date(2026, 3, 2), "week") == "02 Mar"
    assert label(date(2026, 3, 2), "day") == "02 Mar"
