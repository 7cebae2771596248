"""Pseudonymisation on the council's side, key rotation, and re-identification with permission and audit."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import DatabaseError, transaction

from fairdebt.accounts.services import search_accounts
from fairdebt.ingest import services as ingest
from fairdebt.people import services as people
from fairdebt.people.models import Party, Person, Reidentification
from fairdebt.vault import keys
from fairdebt.vault.models import Identity

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
ROWS = [
    dict(account_ref="CT1", party_ref="C1", role="L", title="Ms", forename="Jane", surname="Smith", date_of_birth="01/02/1980",
         nino="AB123456C", address_line_1="1 High Street", postcode="E8 1AA", phone="07700 900123", email="jane@example.com"),
    dict(account_ref="CT1", party_ref="C2", role="J", forename="John", surname="Smith", postcode="E8 1AA"),
    dict(account_ref="CT2", party_ref="C3", role="L", forename="Bob", surname="Jones", nino="XY123456C"),
]


def officer(*perms):
    user = User.objects.create_user(f"officer{User.objects.count()}", password="a long password here")
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return User.objects.get(pk=user.pk)  # fresh permission cache


def test_pseudonymise_writes_tokens_only_and_ingest_accepts_it(extract, tmp_path):
    raw_path = extract("council_tax.accounts", ROWS + [dict(account_ref="CT3", party_ref="C4", surname="Bad", nino="not-a-nino")])
    out = tmp_path / "pseudonymised.csv"
    call_command("pseudonymise", "council_tax.accounts", str(raw_path), "--out", str(out))
    text = out.read_text()
    for raw_value in ("Smith", "Jane", "AB123456C", "High Street", "E8 1AA", "07700", "jane@example.com", "1980"):
        assert raw_value not in text
    header = next(csv.reader(out.open()))
    assert "SURNAME" not in header and "tok_surname" in header and "CTAX_ACCOUNT_NO" in header
    rejected = (tmp_path / "pseudonymised.csv.rejected.csv").read_text()
    assert "not-a-nino" in rejected and "National Insurance" in rejected  # kept on the council's side
    assert Identity.objects.using("vault").count() == 3

    result = ingest.ingest_file("council_tax.accounts", out)
    assert (result.accepted, result.rejected) == (3, 0)
    jane = Party.objects.get(party_ref="C1")
    expected = keys.tokeniser().tokenise({"forename": "Jane", "surname": "Smith", "nino": "AB123456C", "postcode": "E8 1AA"})
    assert (jane.tok_surname, jane.tok_nino, jane.initials) == (expected["tok_surname"], expected["tok_nino"], "J S")
    assert search_accounts("smith").count() == 1 and search_accounts("E8 1AA").count() == 1


def test_pseudonymise_refuses_feeds_without_identifiers(extract, tmp_path):
    path = extract("council_tax.debts", [dict(debt_ref="D1", account_ref="CT1")])
    with pytest.raises(CommandError, match="only accounts extracts"):
        call_command("pseudonymise", "council_tax.debts", str(path), "--out", str(tmp_path / "x.csv"))


def test_reidentification_needs_permission_and_a_reason_and_is_audited(extract):
    ingest.ingest_file("council_tax.accounts", extract("council_tax.accounts", ROWS))
    person = Party.objects.get(party_ref="C1").person
    with pytest.raises(PermissionDenied):
        people.reidentify(officer(), person, "Resident phoned about arrears")
    allowed = officer("reidentify")
    with pytest.raises(ValueError, match="Say why"):
        people.reidentify(allowed, person, "because")
    assert Reidentification.objects.count() == 0
    details = people.reidentify(allowed, person, "Resident phoned about council tax arrears")
    assert [(d.name, d.nino, d.address, d.date_of_birth) for d in details] == [
        ("Ms Jane Smith", "AB123456C", "1 High Street, E8 1AA", "1980-02-01")
    ]
    audit = Reidentification.objects.get()
    assert (audit.user, audit.person, audit.reason, audit.parties) == (allowed, person, "Resident phoned about council tax arrears", 1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Reidentification.objects.filter(pk=audit.pk).update(reason="changed")


def test_key_rotation_retokenises_reseals_and_destroys_the_old_keys(extract):
    ingest.ingest_file("council_tax.accounts", extract("council_tax.accounts", ROWS))
    before = {p.party_ref: (p.tok_surname, p.tok_nino, p.token_key_id) for p in Party.objects.all()}
    old_keys = keys.load()
    call_command("rotate_keys")
    after = {p.party_ref: (p.tok_surname, p.tok_nino, p.token_key_id) for p in Party.objects.all()}
    for ref in before:
        assert after[ref][0] != before[ref][0] and after[ref][2] == "t2"
    # Same person still matches across systems and search still works, under the new key.
    assert after["C1"][0] == after["C2"][0]
    assert search_accounts("Smith").count() == 1
    person = Party.objects.get(party_ref="C1").person
    details = people.reidentify(officer("reidentify"), person, "Checking the rotation kept the vault readable")
    assert details[0].name == "Ms Jane Smith"
    new = keys.load()
    assert [k["key"] for k in new["token"] if k["id"] == "t1"] == [None]
    assert [k["key"] for k in new["seal"] if k["id"] == "s1"] == [None]
    assert {r.key_id for r in Identity.objects.using("vault").all()} == {"s2"}
    # An extract tokenised under the old key no longer matches anyone.
    stale = old_keys["token"][0]
    assert stale["key"] is not None and all(stale["key"] != k["key"] for k in new["token"] if k["key"])
    # Loading the raw extract again adds nothing.
    again = ingest.ingest_file("council_tax.accounts", extract("council_tax.accounts", ROWS, "again.csv"))
    assert (again.accepted, again.duplicates) == (0, 3)
