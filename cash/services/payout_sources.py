"""Provider payouts as open items (cash.services.sources): each imported
payout report expects one bank line, a credit of the payout amount (a debit
when the provider took money back) on or after its arrival date, on the bank
account it was posted to, carrying the payout id in its remittance (Stripe
writes po_..., a marketplace its own payout number). The reference tier
matches on the payout id; the amount and date window tier on the rest.
"""

from .sources import OpenItemSource, register

PROVIDER_PAYOUTS = OpenItemSource(
    kind="provider_payout",
    label="Provider payout (bank credit)",
    select="""
SELECT r.id, r.bank_ledger_account_id, r.currency, r.payout_amount, r.arrival_date,
       r.payout_id, p.name, NULL
  FROM cash_payoutreport r JOIN cash_payoutprovider p ON p.id = r.provider_id
""",
)

register(PROVIDER_PAYOUTS)
