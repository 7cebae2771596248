"""The words fairdebt uses for accounts, debts and ledger entries.

Every source system's own codes are mapped onto these (see ingest/sources.toml); nothing downstream
sees a source system's codes. Kept as plain tuples of strings so that the database can CHECK them.
"""

from __future__ import annotations

# A source system's account of one service. Housing rent carries a tenure; sundry a category.
ACCOUNT_TYPES = (
    "council_tax",
    "business_rates",
    "housing_rent",
    "leasehold_service_charge",
    "leasehold_major_works",
    "housing_benefit_overpayment",
    "parking_pcn",
    "sundry",
    "dwp_benefit_overpayment",
)

ACCOUNT_TYPE_LABELS = {
    "council_tax": "Council tax",
    "business_rates": "Business rates",
    "housing_rent": "Rent",
    "leasehold_service_charge": "Leasehold service charge",
    "leasehold_major_works": "Leasehold major works",
    "housing_benefit_overpayment": "Housing benefit overpayment",
    "parking_pcn": "Parking penalty charge",
    "sundry": "Sundry debt",
    "dwp_benefit_overpayment": "DWP benefit overpayment",
}

# Priority debts: non-payment can cost the home, liberty or essential services (DOMAIN.md s.4).
PRIORITY_ACCOUNT_TYPES = frozenset(
    {
        "council_tax",
        "business_rates",
        "housing_rent",
        "leasehold_service_charge",
        "leasehold_major_works",
        "housing_benefit_overpayment",
        "parking_pcn",
        "dwp_benefit_overpayment",
    }
)

TENURES = ("secure", "non_secure", "introductory", "temporary_accommodation", "garage")
TENURE_LABELS = {
    "secure": "Secure tenancy",
    "non_secure": "Non-secure tenancy",
    "introductory": "Introductory tenancy",
    "temporary_accommodation": "Temporary accommodation",
    "garage": "Garage",
}

SUNDRY_CATEGORIES = ("adult_social_care", "trade_waste", "general")

ROLES = ("lead", "joint")

# Ledger entry kinds. Sign convention: a positive amount increases what is owed.
ENTRY_KINDS = ("charge", "payment", "reversal", "adjustment", "cost", "interest", "write_off")
DEBIT_KINDS = frozenset({"charge", "cost", "interest"})  # always > 0
CREDIT_KINDS = frozenset({"payment", "write_off"})  # always < 0
# adjustment: either sign, never 0; reversal: the exact negative of the entry it reverses.

RECOVERY_STAGES = (
    "none",
    "invoice",
    "reminder",
    "second_reminder",
    "final_notice",
    "letter_before_action",
    "summons",
    "liability_order",
    "enforcement_agent",
    "attachment_of_earnings",
    "attachment_of_benefits",
    "deduction_from_benefit",
    "direct_earnings_attachment",
    "arrangement",
    "nosp",
    "court_claim",
    "possession_order",
    "warrant",
    "notice_to_owner",
    "charge_certificate",
    "order_for_recovery",
)

PAYMENT_METHODS = (
    "",
    "direct_debit",
    "cash",
    "card",
    "cheque",
    "bank_transfer",
    "housing_benefit",
    "universal_credit",
    "benefit_deduction",
    "attachment_of_earnings",
    "attachment_of_benefits",
)
