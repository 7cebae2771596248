"""Changes written back to a source system. One that asks for payment is a demand, and the guard
treats it like a letter; one that only records something (a note, a hold flag) is information."""

from __future__ import annotations

import datetime as dt

from fairdebt.domain.holds import Action
from fairdebt.holds.guard import sender
from fairdebt.outbox import services as outbox


@sender(Action("write_back"), lambda person, debt: {"change": {"set_arrangement_demand": True}, "asks_for_payment": True, "key": f"example-wb-{debt.pk}"})
def write_back(person, debt, *, change: dict, asks_for_payment: bool, key: str, on: dt.date | None = None):
    purpose = "recovery" if asks_for_payment else "information"
    return outbox.submit(
        sender=write_back.sender_name, person=person, debt=debt, action=Action("write_back", purpose), channel="case_system",
        recipient="case_system", key=key, template="write_back", payload={"system": debt.system, "debt_ref": debt.debt_ref, "change": change}, on=on,
    )
