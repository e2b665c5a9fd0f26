"""The chart as the posting rules see it: accounts by role, and the accounts
made on first use (a payable per vendor, an output-tax account per tax code
and currency).

- Single roles (commission income, shipping income, refunds and allowances,
  carrier claims, ...): one account each.
- Gateway clearing: one account per payment method; each names the bank
  account its provider's payouts settle to (`settles_to`).
- Banks: any number, per bank and currency. The bank of a currency is the
  bank account held in that currency (the lowest code if several), else a bank
  account of no currency (blank: any).
- Vendor payables: `2000-<vendor code>`, made on a vendor's first posting.
- Output tax: `2100-<tax code>-<currency>`, made on first use; the tax code is
  the rate's in the channel's jurisdiction, made too if the rate has none
  (`ledger.tax.TaxCodes.ensure`). The account 2100 of no tax code keeps what was
  posted before tax codes; nothing posts there any more.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from lib.errors import DomainError
from refunds.models import Channel
from refunds.tax import tax_model_of
from vendors.models import Vendor

from .models import SINGLE_ROLES, Account, AccountKind, AccountRole, TaxCode
from .tax import TaxCodes, commission_tax_code


class PostingError(DomainError):
    """A journal that must not be posted (unbalanced, missing account, ...)."""


class Chart:
    """The accounts the rules post to, looked up by role (codes may change)."""

    def __init__(self, vendor_ids: Iterable[int] = ()) -> None:
        self.single: dict[str, int] = {}
        self.clearing: dict[str, int] = {}
        self.settles_to: dict[str, int | None] = {}
        # (code, currency, id) of every bank account, by code.
        self.banks: list[tuple[str, str, int]] = []
        self.payable: dict[int, int] = {}
        self.vendors: dict[int, Vendor] = {}
        self.output_tax_accounts: dict[tuple[int, str], int] = {}
        self._tax_codes: TaxCodes | None = None
        for account in Account.objects.filter(
            role__in=[
                *SINGLE_ROLES,
                AccountRole.GATEWAY_CLEARING,
                AccountRole.BANK,
                AccountRole.OUTPUT_TAX,
            ]
        ).only("id", "code", "role", "payment_method", "settles_to_id", "tax_code_id", "currency"):
            if account.role == AccountRole.GATEWAY_CLEARING:
                self.clearing[account.payment_method] = account.pk
                self.settles_to[account.payment_method] = account.settles_to_id
            elif account.role == AccountRole.BANK:
                self.banks.append((account.code, account.currency, account.pk))
            elif account.role == AccountRole.OUTPUT_TAX:
                if account.tax_code_id is not None:
                    key = (account.tax_code_id, account.currency)
                    self.output_tax_accounts[key] = account.pk
            else:
                self.single[account.role] = account.pk
        self.banks.sort()
        self.add_vendors(vendor_ids)

    def add_vendors(self, vendor_ids: Iterable[int]) -> None:
        wanted = set(vendor_ids) - set(self.payable)
        if wanted:
            self.payable.update(ensure_payable_accounts(wanted))
            self.vendors.update(
                (vendor.pk, vendor)
                for vendor in Vendor.objects.filter(pk__in=wanted).only("id", "tax_model")
            )

    def payable_for(self, vendor_id: int) -> int:
        """A vendor's payable account (made if it has none yet)."""
        if vendor_id not in self.payable:
            self.add_vendors([vendor_id])
        return self.payable[vendor_id]

    def role(self, role: str) -> int:
        if role == AccountRole.BANK:
            # The role was single once: the first bank account stands for it.
            if self.banks:
                return self.banks[0][2]
        try:
            return self.single[role]
        except KeyError:
            raise PostingError("account", f"No account has the role {role!r}.") from None

    def clearing_for(self, method: str) -> int:
        try:
            return self.clearing[method]
        except KeyError:
            raise PostingError(
                "account", f"No gateway clearing account for payment method {method!r}."
            ) from None

    def bank_for(self, currency: str) -> int:
        """The bank account of `currency`, else one of no currency (see the module doc)."""
        for _, held, pk in self.banks:
            if held == currency:
                return pk
        for _, held, pk in self.banks:
            if not held:
                return pk
        raise PostingError("account", f"No bank account holds {currency}.")

    def bank_for_method(self, method: str, currency: str) -> int:
        """Where the provider's payouts of a payment method settle: the bank its
        clearing account names, else the bank of the currency."""
        self.clearing_for(method)
        return self.settles_to.get(method) or self.bank_for(currency)

    # ------------------------------------------------------------ tax

    def tax_model(self, vendor_id: int, channel: Channel) -> str:
        """`facilitator` or `seller` for this vendor's goods sold through `channel`."""
        vendor = self.vendors.get(vendor_id)
        if vendor is None:
            self.add_vendors([vendor_id])
            vendor = self.vendors[vendor_id]
        return tax_model_of(vendor, channel)

    @property
    def tax_codes(self) -> TaxCodes:
        if self._tax_codes is None:
            self._tax_codes = TaxCodes()
        return self._tax_codes

    def output_tax(self, rate: Decimal, jurisdiction: str, currency: str) -> int:
        """The output-tax account of a rate (in a jurisdiction) and currency."""
        return self._output_tax_account(self.tax_codes.ensure(rate, jurisdiction), currency)

    def commission_output_tax(self, currency: str) -> int:
        """The output-tax account of the platform's tax on commission in `currency`."""
        return self._output_tax_account(commission_tax_code(self.tax_codes), currency)

    def _output_tax_account(self, tax_code: TaxCode, currency: str) -> int:
        key = (tax_code.pk, currency)
        found = self.output_tax_accounts.get(key)
        if found is None:
            found = ensure_output_tax_account(tax_code, currency)
            self.output_tax_accounts[key] = found
        return found


def ensure_payable_accounts(vendor_ids: Iterable[int]) -> dict[int, int]:
    """Each vendor's payable sub-account, created on first use."""
    return ensure_vendor_accounts(AccountRole.VENDOR_PAYABLE, vendor_ids)


# Each vendor's own sub-accounts: (code prefix, name, kind) by role.
VENDOR_ACCOUNTS = {
    AccountRole.VENDOR_PAYABLE: ("2000", "Vendor payable", AccountKind.LIABILITY),
    AccountRole.VENDOR_RECEIVABLE: ("1200", "Vendor receivable", AccountKind.ASSET),
}


def ensure_vendor_accounts(role: str, vendor_ids: Iterable[int]) -> dict[int, int]:
    """Each vendor's sub-account of `role` (VENDOR_ACCOUNTS), created on first
    use: {vendor id: account id}."""
    prefix, name, kind = VENDOR_ACCOUNTS[AccountRole(role)]
    vendor_ids = set(vendor_ids)
    found = dict(
        Account.objects.filter(role=role, vendor_id__in=vendor_ids).values_list("vendor_id", "id")
    )
    missing = vendor_ids - set(found)
    if missing:
        Account.objects.bulk_create(
            [
                Account(
                    code=f"{prefix}-{vendor.code}",
                    name=f"{name} - {vendor.name}",
                    kind=kind,
                    role=role,
                    vendor=vendor,
                )
                for vendor in Vendor.objects.filter(pk__in=missing)
            ],
            ignore_conflicts=True,
        )
        found.update(
            Account.objects.filter(role=role, vendor_id__in=missing).values_list("vendor_id", "id")
        )
    return found


def ensure_output_tax_account(tax_code: TaxCode, currency: str) -> int:
    """The output-tax account of (tax code, currency), created on first use.

    Like the payables: an insert that skips a conflict (a concurrent posting
    made it), then the account is read back.
    """
    Account.objects.bulk_create(
        [
            Account(
                code=f"2100-{tax_code.code}-{currency}",
                name=f"Output tax {tax_code.code} {currency}",
                kind=AccountKind.LIABILITY,
                role=AccountRole.OUTPUT_TAX,
                tax_code=tax_code,
                currency=currency,
            )
        ],
        ignore_conflicts=True,
    )
    found = (
        Account.objects.filter(role=AccountRole.OUTPUT_TAX, tax_code=tax_code, currency=currency)
        .values_list("id", flat=True)
        .first()
    )
    if found is None:
        raise PostingError(
            "account",
            f"Account code 2100-{tax_code.code}-{currency} is taken by another account: "
            f"make the output-tax account of {tax_code.code} in {currency} by hand.",
        )
    return found
