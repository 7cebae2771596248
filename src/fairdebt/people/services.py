"""People: finding them by what an officer types, and re-identifying them (with permission, reason, audit)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fairdebt.domain import identity
from fairdebt.vault import keys as vault_keys
from fairdebt.vault import services as vault

from .models import Party, Person, Reidentification

# How long an officer keeps seeing a person's details after re-identifying them.
REIDENTIFIED_FOR = dt.timedelta(minutes=30)
_SESSION_KEY = "fairdebt.reidentified"


def party_query(query: str) -> Q | None:
    """Parties whose surname, organisation, postcode or NI number is what was typed, compared as tokens.

    The raw text is normalised and tokenised exactly as ingest did, so search works without the
    database ever holding a name. None when the text cannot be any of them.
    """
    tokeniser = vault_keys.tokeniser()
    probes = {
        "tok_surname": tokeniser.token("tok_surname", identity.surname(query)),
        "tok_organisation": tokeniser.token("tok_organisation", identity.text(query)),
        "tok_postcode": tokeniser.token("tok_postcode", identity.postcode(query)),
        "tok_nino": tokeniser.token("tok_nino", identity.nino(query)),
    }
    q = Q()
    for field, token in probes.items():
        if token:
            q |= Q(**{f"parties__{field}": token})
    return q or None


@dataclass
class Details:
    system: str
    party_ref: str
    name: str
    date_of_birth: str
    nino: str
    address: str
    phone: str
    email: str


def _details(system: str, party_ref: str, raw: dict) -> Details:
    name = raw.get("organisation") or " ".join(p for p in (raw.get("title"), raw.get("forename"), raw.get("surname")) if p)
    address = ", ".join(p for p in (raw.get("address_line_1"), raw.get("address_line_2"), raw.get("address_line_3"), raw.get("postcode")) if p)
    return Details(system, party_ref, name, raw.get("date_of_birth") or "", raw.get("nino") or "", address, raw.get("phone") or "", raw.get("email") or "")


def may_reidentify(user) -> bool:
    return bool(user and user.is_active and user.has_perm("people.reidentify"))


def reidentify(user, person: Person, reason: str, session=None) -> list[Details]:
    """Open a person's identifiers from the vault. Needs people.reidentify and a reason; always audited."""
    if not may_reidentify(user):
        raise PermissionDenied("You do not have permission to re-identify people. Ask your team leader if you need it.")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValueError("Say why you need to see this person's details (at least 10 characters), for example 'Resident phoned about their rent arrears'.")
    with transaction.atomic():
        Reidentification.objects.create(user=user, person=person, reason=reason[:500], parties=person.parties.count())
    details = _open(person)
    if session is not None:
        granted = session.get(_SESSION_KEY, {})
        granted[str(person.pk)] = (timezone.now() + REIDENTIFIED_FOR).isoformat()
        session[_SESSION_KEY] = granted
    return details


def reidentified_in_session(session, person: Person) -> bool:
    until = (session or {}).get(_SESSION_KEY, {}).get(str(person.pk))
    return bool(until) and dt.datetime.fromisoformat(until) > timezone.now()


def details_if_reidentified(user, session, person: Person) -> list[Details] | None:
    """The details an officer already opened (with a reason) in this session, else None. Reading them
    again within the window is covered by the audit row written when they were opened."""
    if not (may_reidentify(user) and reidentified_in_session(session, person)):
        return None
    return _open(person)


def _open(person: Person) -> list[Details]:
    """The vault's details of each of a person's records. Callers check permission and audit first."""
    keys = list(person.parties.order_by("system", "party_ref").values_list("system", "party_ref"))
    raw = vault.identities(keys)
    return [_details(system, ref, raw[(system, ref)]) for system, ref in keys if (system, ref) in raw]


def create_party(system: str, party_ref: str, person: Person | None = None, *, deceased_on=None, **identifiers) -> Party:
    """Record a party the way ingest does: tokens in the main database, raw identifiers sealed in the vault.

    For parties entered by hand (and tests); bulk loads go through ingest.
    """
    unknown = set(identifiers) - set(identity.IDENTIFIER_FIELDS)
    if unknown:
        raise TypeError(f"not identifier fields: {', '.join(sorted(unknown))}")
    import polars as pl

    tokens = vault_keys.tokeniser().tokenise(identifiers)
    vault.store_identities(system, pl.DataFrame([{"party_ref": party_ref, **{k: v for k, v in identifiers.items()}}]))
    with transaction.atomic():
        person = person or Person.objects.create()
        return Party.objects.create(system=system, party_ref=party_ref, person=person, deceased_on=deceased_on, **tokens)
