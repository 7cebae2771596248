"""Recovery steps, fees and enforcement referrals. Each asks the hold guard through its choke point.

A pathway step is an instruction to the case system that does the statutory work (issue the
summons, serve the NOSP), so it leaves through the outbox as a write-back; fees and interest are
ledger postings through accounts.charges.
"""

from __future__ import annotations

import datetime as dt

from fairdebt.accounts import charges
from fairdebt.domain.holds import Action
from fairdebt.domain.money import Pence
from fairdebt.domain.vocabulary import RECOVERY_STAGES
from fairdebt.holds.guard import sender
from fairdebt.outbox import services as outbox

# What kind of action taking a stage is, for the guard (court and possession are refused by
# more holds than a reminder is).
STAGE_ACTIONS = {
    "summons": "court_action",
    "court_claim": "court_action",
    "possession_order": "court_action",
    "warrant": "court_action",
    "order_for_recovery": "court_action",
    "nosp": "possession_notice",
    "enforcement_agent": "enforcement_referral",
}


@sender(Action("pathway_step"), lambda person, debt: {"stage": "final_notice", "key": f"example-step-{debt.pk}"})
def take_step(person, debt, *, stage: str, key: str, on: dt.date | None = None):
    if stage not in RECOVERY_STAGES or stage == "none":
        raise ValueError(f"unknown recovery stage {stage!r}")
    kind = STAGE_ACTIONS.get(stage, "pathway_step")
    return outbox.submit(
        sender=take_step.sender_name, person=person, debt=debt, action=Action(kind, "recovery"), channel="case_system",
        recipient="case_system", key=key, template=f"stage:{stage}", payload={"stage": stage, "debt_ref": debt.debt_ref, "system": debt.system}, on=on,
    )


@sender(Action("enforcement_referral"), lambda person, debt: {"agent": "Example Enforcement Ltd", "key": f"example-ea-{debt.pk}"})
def refer_to_enforcement(person, debt, *, agent: str, key: str, on: dt.date | None = None):
    return outbox.submit(
        sender=refer_to_enforcement.sender_name, person=person, debt=debt, action=Action("enforcement_referral", "recovery"),
        channel="agent", recipient="agent", key=key, template="enforcement_referral",
        payload={"agent": agent, "debt_ref": debt.debt_ref, "system": debt.system}, on=on,
    )


@sender(Action("fee"), lambda person, debt: {"amount": Pence(7000), "reason": "summons costs", "key": f"example-fee-{debt.pk}"})
def add_fee(person, debt, *, amount: Pence, reason: str, key: str, on: dt.date | None = None):
    return charges.add_charge(sender=add_fee.sender_name, debt=debt, kind="fee", amount=amount, reason=reason, key=key, on=on)


@sender(Action("interest"), lambda person, debt: {"amount": Pence(123), "reason": "late payment interest", "key": f"example-int-{debt.pk}"})
def add_interest(person, debt, *, amount: Pence, reason: str, key: str, on: dt.date | None = None):
    return charges.add_charge(sender=add_interest.sender_name, debt=debt, kind="interest", amount=amount, reason=reason, key=key, on=on)
