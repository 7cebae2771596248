"""The canonical fields of each feed, and which are required.

Pure data: the validator, the synthetic council and docs/ingest.md all read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # text | date | money | nino | postcode | code | uprn | email | phone
    required: bool = False
    help: str = ""


ACCOUNTS = (
    Field("account_ref", "text", True, "the source system's account or tenancy reference"),
    Field("party_ref", "text", True, "the source system's own id for this person"),
    Field("role", "code", False, "lead or joint (joint liability: one row per person)"),
    Field("account_type", "code", False, "only where one source holds several account types"),
    Field("tenure", "code", False, "housing: secure, non_secure, introductory, temporary_accommodation, garage"),
    Field("category", "code", False, "sundry: adult_social_care, trade_waste, general"),
    Field("title", "text"),
    Field("forename", "text"),
    Field("surname", "text", True, "the person's surname (or the organisation's name)"),
    Field("organisation", "text", False, "a trading or company name"),
    Field("date_of_birth", "date"),
    Field("nino", "nino", False, "National Insurance number, e.g. AB123456C"),
    Field("address_line_1", "text"),
    Field("address_line_2", "text"),
    Field("address_line_3", "text"),
    Field("postcode", "postcode", False, "a UK postcode, e.g. SW1A 1AA"),
    Field("uprn", "uprn", False, "Unique Property Reference Number (digits, up to 12)"),
    Field("previous_address_line_1", "text", False,
          "the address the person gave as their last one (a move-in form, a housing application); "
          "matched as one more address of theirs, as tokens"),
    Field("previous_address_line_2", "text"),
    Field("previous_postcode", "text", False, "the previous address's postcode (not checked: a slip never rejects the row)"),
    Field("forwarding_address_line_1", "text", False,
          "a forwarding address recorded when the account closed; matched as one more address of the person, as tokens"),
    Field("forwarding_address_line_2", "text"),
    Field("forwarding_postcode", "text", False, "the forwarding address's postcode (not checked)"),
    Field("billing_address_line_1", "text", False,
          "business rates: the address bills go to when not the premises (a sole trader's home); matched as one more address, as tokens"),
    Field("billing_address_line_2", "text"),
    Field("billing_postcode", "text", False, "the billing address's postcode (not checked)"),
    Field("phone", "phone"),
    Field("email", "email"),
    Field("liable_from", "date"),
    Field("liable_to", "date"),
    Field("deceased_on", "date"),
)

DEBTS = (
    Field("debt_ref", "text", True, "the liability's reference: a council-tax year's charge, a PCN, an invoice"),
    Field("account_ref", "text", True, "the account it belongs to (load the accounts feed first)"),
    Field("description", "text"),
    Field("period_start", "date"),
    Field("period_end", "date"),
    Field("recovery_stage", "code", False, "the stage recorded in the source system"),
    Field("stage_date", "date"),
)

TRANSACTIONS = (
    Field("transaction_ref", "text", True, "the source system's unique id for the entry"),
    Field("debt_ref", "text", True, "the debt it belongs to (load the debts feed first)"),
    Field("kind", "code", True, "charge, payment, reversal, adjustment, cost, interest or write_off"),
    Field("amount", "money", True, "pounds and pence (12.34) or whole pence, per the source's amount_unit"),
    Field("effective_date", "date", True, "the value date"),
    Field("posting_date", "date", False, "when the source system recorded it (default: effective_date)"),
    Field("due_date", "date", False, "when a charge falls due (default: effective_date)"),
    Field("reverses_ref", "text", False, "for a reversal: the transaction_ref it reverses"),
    Field("method", "code", False, "how a payment was made"),
)

FEEDS = {"accounts": ACCOUNTS, "debts": DEBTS, "transactions": TRANSACTIONS}

# Source keys: what makes a row the same row when an extract is loaded again.
KEYS = {
    "accounts": ("account_ref", "party_ref"),
    "debts": ("debt_ref",),
    "transactions": ("transaction_ref",),
}
