"""Letters, SMS and email to a resident. Each goes through the outbox, which asks the hold guard.

`purpose` says why we write: "recovery" asks for arrears; "ongoing" bills a current instalment
or rent (allowed during Breathing Space, with its wording); "requested" answers the resident;
"information" asks for nothing. The guard, not the caller, decides whether it may go.
"""

from __future__ import annotations

import datetime as dt

from fairdebt.domain.holds import Action
from fairdebt.holds.guard import sender
from fairdebt.outbox import services as outbox


def _example(person, debt):
    return {"template": "arrears_reminder", "key": f"example-{person.pk}-{debt.pk}"}


@sender(Action("letter"), _example)
def send_letter(person, debt, *, template: str, key: str, purpose: str = "recovery", payload: dict | None = None, on: dt.date | None = None, recipient: str = "resident"):
    return outbox.submit(
        sender=send_letter.sender_name, person=person, debt=debt, action=Action("letter", purpose), channel="letter", key=key,
        recipient=recipient, template=template, payload=payload, on=on,
    )


@sender(Action("sms"), _example)
def send_sms(person, debt, *, template: str, key: str, purpose: str = "recovery", payload: dict | None = None, on: dt.date | None = None):
    return outbox.submit(
        sender=send_sms.sender_name, person=person, debt=debt, action=Action("sms", purpose), channel="sms", key=key,
        template=template, payload=payload, on=on,
    )


@sender(Action("email"), _example)
def send_email(person, debt, *, template: str, key: str, purpose: str = "recovery", payload: dict | None = None, on: dt.date | None = None, recipient: str = "resident"):
    return outbox.submit(
        sender=send_email.sender_name, person=person, debt=debt, action=Action("email", purpose), channel="email", key=key,
        recipient=recipient, template=template, payload=payload, on=on,
    )

