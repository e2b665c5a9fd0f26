"""Tying a payout report's rows to what the books say, at import.

- A charge: the payment whose reference is the row's gateway reference (or its
  charge reference), in the payout's currency, paid with the provider's payment
  method, for the row's amount, not settled by an earlier row. A marketplace's
  per-line row without a reference: the order by its number (per line, so no
  amount to compare).
- A refund: the refund case whose gateway reference is the row's, in its
  currency, completed (its refund journal credited clearing), for the row's
  amount, not settled by an earlier row. Without a reference: the one completed
  case of the order (by number) for that amount. A refund row with a positive
  amount is a refund that came back: an exception.
- A chargeback: the payment it disputes (charge reference, else reference, else
  the order), for at most the payment's amount.
- An adjustment has nothing to match: an exception to explain.
- Fees, reserves and the payout's own row match nothing and need nothing.

Everything that does not match is an exception with its reason; a matched row
names its payment, order or case. A handful of queries per file, whatever its
length.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from lib.money import display_money
from refunds.models import Order, Payment, RefundCase

from ..models import ExceptionReason, MatchStatus, PayoutProvider, PayoutReportRow, RowType
from ..payout_files import ParsedRow


@dataclass
class RowMatch:
    status: str
    payment_id: int | None = None
    order_id: int | None = None
    case_id: int | None = None
    reason: str = ""
    detail: str = ""


def _exception(reason: str, detail: str, order_id: int | None = None) -> RowMatch:
    return RowMatch(MatchStatus.EXCEPTION, order_id=order_id, reason=reason, detail=detail[:300])


NOTHING_TO_MATCH = RowMatch(MatchStatus.NOT_MATCHED)


class _Books:
    """What the rows of one import may match, read in a few queries."""

    def __init__(self, provider: PayoutProvider, rows: list[ParsedRow]) -> None:
        self.provider = provider
        refs: set[str] = set()
        numbers: set[str] = set()
        for row in rows:
            refs.update(r for r in (row.gateway_reference, row.charge_reference) if r)
            if row.order_number:
                numbers.add(row.order_number)
        self.payments: dict[str, list[Payment]] = defaultdict(list)
        for payment in Payment.objects.filter(reference__in=refs).select_related("order"):
            self.payments[payment.reference].append(payment)
        self.cases: dict[str, list[RefundCase]] = defaultdict(list)
        refund_refs = {r.gateway_reference for r in rows if r.type == RowType.REFUND}
        refund_refs.discard("")
        for case in RefundCase.objects.filter(gateway_reference__in=refund_refs).select_related(
            "order"
        ):
            self.cases[case.gateway_reference].append(case)
        self.orders: dict[str, Order] = {
            order.number: order
            for order in Order.objects.filter(number__in=numbers).prefetch_related("payments")
        }
        self.order_cases: dict[int, list[RefundCase]] = defaultdict(list)
        for case in RefundCase.objects.filter(
            order__number__in=numbers, completed_at__isnull=False
        ).order_by("pk"):
            self.order_cases[case.order_id].append(case)
        case_ids = [c.pk for found in self.cases.values() for c in found] + [
            c.pk for found in self.order_cases.values() for c in found
        ]
        payment_ids = [p.pk for found in self.payments.values() for p in found]
        # Settled by rows of earlier imports; rows of this one are added as they match.
        self.settled_cases = set(
            PayoutReportRow.objects.filter(
                type=RowType.REFUND, refund_case_id__in=case_ids
            ).values_list("refund_case_id", flat=True)
        )
        self.settled_payments = set(
            PayoutReportRow.objects.filter(
                type=RowType.CHARGE, payment_id__in=payment_ids
            ).values_list("payment_id", flat=True)
        )

    def money(self, amount: Decimal, currency: str) -> str:
        return display_money(amount, currency)

    # ------------------------------------------------------------ rules

    def match(self, row: ParsedRow) -> RowMatch:
        if row.type == RowType.CHARGE:
            return self.charge(row)
        if row.type == RowType.REFUND:
            return self.refund(row)
        if row.type == RowType.CHARGEBACK:
            return self.chargeback(row)
        if row.type == RowType.ADJUSTMENT:
            what = row.provider_type or "adjustment"
            return _exception(
                ExceptionReason.UNEXPLAINED,
                f"{what} of {self.money(row.gross, row.currency)}"
                + (f": {row.description}" if row.description else ""),
            )
        return NOTHING_TO_MATCH

    def _payments_for(self, *refs: str) -> tuple[str, list[Payment]]:
        for ref in refs:
            if ref and self.payments.get(ref):
                return ref, self.payments[ref]
        return "", []

    def _order(self, row: ParsedRow, what: str) -> RowMatch:
        """A row without a reference the books know, by its order number."""
        refs = " or ".join(
            repr(r) for r in dict.fromkeys((row.gateway_reference, row.charge_reference)) if r
        )
        said = f"no payment has the reference {refs}" if refs else "the row has no reference"
        if not row.order_number:
            return _exception(ExceptionReason.NO_MATCH, f"{what}: {said} and no order number.")
        order = self.orders.get(row.order_number)
        if order is None:
            return _exception(
                ExceptionReason.NO_MATCH, f"{what}: {said}, and no order is {row.order_number!r}."
            )
        if order.currency != row.currency:
            return _exception(
                ExceptionReason.CURRENCY_DIFFERS,
                f"{what}: order {order.number} is in {order.currency}, the row in {row.currency}.",
                order.pk,
            )
        methods = {p.method for p in order.payments.all()}
        if self.provider.payment_method not in methods:
            return _exception(
                ExceptionReason.METHOD_DIFFERS,
                f"{what}: order {order.number} was not paid by "
                f"{self.provider.get_payment_method_display()} ({', '.join(sorted(methods))}).",
                order.pk,
            )
        return RowMatch(MatchStatus.MATCHED, order_id=order.pk)

    def _payment_problem(self, row: ParsedRow, payment: Payment, what: str) -> RowMatch | None:
        order = payment.order
        if order.currency != row.currency:
            return _exception(
                ExceptionReason.CURRENCY_DIFFERS,
                f"{what}: the payment of {order.number} is in {order.currency}, the row in "
                f"{row.currency}.",
                order.pk,
            )
        if payment.method != self.provider.payment_method:
            return _exception(
                ExceptionReason.METHOD_DIFFERS,
                f"{what}: the payment of {order.number} was by {payment.get_method_display()}, "
                f"not {self.provider.get_payment_method_display()}.",
                order.pk,
            )
        return None

    def _one_payment(
        self, row: ParsedRow, what: str, reference: str, other: str
    ) -> RowMatch | tuple[str, Payment]:
        """The one payment the row names (by `reference`, else by `other`) and the
        reference that found it; or the row's match when there is no such one
        payment (its order's, or an exception)."""
        ref, found = self._payments_for(reference, other)
        if not found:
            return self._order(row, what)
        if len(found) > 1:
            orders = ", ".join(sorted({p.order.number for p in found}))
            return _exception(
                ExceptionReason.AMBIGUOUS, f"{what}: payments of {orders} all have {ref!r}."
            )
        (payment,) = found
        return self._payment_problem(row, payment, what) or (ref, payment)

    def charge(self, row: ParsedRow) -> RowMatch:
        what = f"charge {self.money(row.gross, row.currency)}"
        one = self._one_payment(row, what, row.gateway_reference, row.charge_reference)
        if isinstance(one, RowMatch):
            return one
        ref, payment = one
        if row.gross != payment.amount:
            return _exception(
                ExceptionReason.AMOUNT_DIFFERS,
                f"{what}: the payment {ref!r} of {payment.order.number} is "
                f"{self.money(payment.amount, row.currency)}.",
                payment.order_id,
            )
        if payment.pk in self.settled_payments:
            return _exception(
                ExceptionReason.ALREADY_SETTLED,
                f"{what}: the payment {ref!r} of {payment.order.number} was settled by an "
                "earlier row.",
                payment.order_id,
            )
        self.settled_payments.add(payment.pk)
        return RowMatch(MatchStatus.MATCHED, payment_id=payment.pk, order_id=payment.order_id)

    def chargeback(self, row: ParsedRow) -> RowMatch:
        what = f"chargeback {self.money(row.gross, row.currency)}"
        one = self._one_payment(row, what, row.charge_reference, row.gateway_reference)
        if isinstance(one, RowMatch):
            return one
        ref, payment = one
        if abs(row.gross) > payment.amount:
            return _exception(
                ExceptionReason.AMOUNT_DIFFERS,
                f"{what}: more than the payment {ref!r} of {payment.order.number} "
                f"({self.money(payment.amount, row.currency)}).",
                payment.order_id,
            )
        return RowMatch(MatchStatus.MATCHED, payment_id=payment.pk, order_id=payment.order_id)

    def refund(self, row: ParsedRow) -> RowMatch:
        amount = -row.gross
        what = f"refund {self.money(amount, row.currency)}"
        found = self.cases.get(row.gateway_reference, []) if row.gateway_reference else []
        if row.gross > 0:
            cases = ", ".join(c.case_id for c in found)
            return _exception(
                ExceptionReason.REFUND_RETURNED,
                f"a refund of {self.money(row.gross, row.currency)} came back to the provider "
                f"({row.provider_type or 'refund'} {row.gateway_reference or ''})"
                + (f" for {cases}" if cases else "")
                + ".",
                found[0].order_id if len(found) == 1 else None,
            )
        if not found:
            return self._refund_by_order(row, amount, what)
        if len(found) > 1:
            cases = ", ".join(c.case_id for c in found)
            return _exception(
                ExceptionReason.AMBIGUOUS,
                f"{what}: cases {cases} all have {row.gateway_reference!r}.",
            )
        (case,) = found
        return self._case(row, case, amount, what)

    def _case(self, row: ParsedRow, case: RefundCase, amount: Decimal, what: str) -> RowMatch:
        if case.currency != row.currency:
            return _exception(
                ExceptionReason.CURRENCY_DIFFERS,
                f"{what}: {case.case_id} is in {case.currency}.",
                case.order_id,
            )
        if case.total_refund_amount != amount:
            return _exception(
                ExceptionReason.AMOUNT_DIFFERS,
                f"{what}: {case.case_id} refunds "
                f"{self.money(case.total_refund_amount, case.currency)}.",
                case.order_id,
            )
        if case.completed_at is None:
            return _exception(
                ExceptionReason.NOT_COMPLETED,
                f"{what}: {case.case_id} is {case.status}; complete it so that its refund "
                "journal credits clearing.",
                case.order_id,
            )
        if case.pk in self.settled_cases:
            return _exception(
                ExceptionReason.ALREADY_SETTLED,
                f"{what}: {case.case_id}'s refund was settled by an earlier row.",
                case.order_id,
            )
        self.settled_cases.add(case.pk)
        return RowMatch(MatchStatus.MATCHED, order_id=case.order_id, case_id=case.pk)

    def _refund_by_order(self, row: ParsedRow, amount: Decimal, what: str) -> RowMatch:
        ref = (
            f"the reference {row.gateway_reference!r}" if row.gateway_reference else "no reference"
        )
        order = self.orders.get(row.order_number) if row.order_number else None
        if order is None:
            tail = f" and no order is {row.order_number!r}" if row.order_number else ""
            return _exception(ExceptionReason.NO_MATCH, f"{what}: no case has {ref}{tail}.")
        candidates = [
            c
            for c in self.order_cases.get(order.pk, [])
            if c.total_refund_amount == amount
            and c.currency == row.currency
            and c.pk not in self.settled_cases
        ]
        if len(candidates) != 1:
            if candidates:
                cases = ", ".join(c.case_id for c in candidates)
                return _exception(
                    ExceptionReason.AMBIGUOUS,
                    f"{what}: {ref}; cases {cases} of {order.number} all refund that.",
                    order.pk,
                )
            return _exception(
                ExceptionReason.NO_MATCH,
                f"{what}: {ref}, and no completed case of {order.number} not yet settled "
                "refunds that amount.",
                order.pk,
            )
        return self._case(row, candidates[0], amount, what)


def match_rows(provider: PayoutProvider, rows: Iterable[ParsedRow]) -> list[RowMatch]:
    """Each row's match, in order (rows earlier in the list settle first)."""
    rows = list(rows)
    books = _Books(provider, rows)
    return [books.match(row) for row in rows]
