"""Hypothesis strategies that the model-based ledger tests share."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st


def order_lines(
    vendors: int, *, quantity: int, unit_minor: int, tax_rates: Sequence[str], most: int
) -> st.SearchStrategy[list[tuple[int, int, int, str]]]:
    """An order's lines, 1 to `most` of them in any order, each as (vendor index
    below `vendors`, quantity up to `quantity`, unit price in minor units up to
    `unit_minor`, one of `tax_rates`)."""
    return st.lists(
        st.tuples(
            st.integers(0, vendors - 1),
            st.integers(1, quantity),
            st.integers(1, unit_minor),
            st.sampled_from(tax_rates),
        ),
        min_size=1,
        max_size=most,
    )


def shipping_units_up_to(most: int) -> st.SearchStrategy[int]:
    """An order's shipping in minor units: none, or 1 to `most`."""
    return st.one_of(st.just(0), st.integers(1, most))
