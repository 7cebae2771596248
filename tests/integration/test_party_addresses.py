"""Every address of a party is kept, as tokens (people.PartyAddress), and linkage compares each:
an account's own address, a previous address given on moving in, a forwarding address left on
closing an account. Runs on SQLite, and on PostgreSQL in make test's second run."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.core.management import call_command

from fairdebt.domain import identity
from fairdebt.ingest import services
from fairdebt.people import linking
from fairdebt.people.models import Party, PartyAddress, PartyLink
from fairdebt.vault import keys

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

JANE = dict(forename="Jane", surname="Smith", date_of_birth="01/02/1980", role="L")
ACCOUNTS = [
    dict(account_ref="CT1", party_ref="C1", address_line_1="Flat 3, 388 Fountayne Street", postcode="N16 6XD",
         previous_address_line_1="12 Acacia Road", previous_address_line_2="London", previous_postcode="e8 1aa", **JANE),
    dict(account_ref="CT1", party_ref="C2", role="J", forename="John", surname="Smith", address_line_1="Flat 3, 388 Fountayne Street",
         postcode="N16 6XD"),
    dict(account_ref="CT2", party_ref="C1", address_line_1="5 Mare Street", postcode="E8 4RP", liable_to="01/03/2024",
         forwarding_address_line_1="Flat 3, 388 Fountayne Street", forwarding_postcode="N16 6XD", **JANE),
]


def addresses(party_ref: str) -> list[dict]:
    party = Party.objects.get(party_ref=party_ref)
    return list(PartyAddress.objects.filter(party=party).order_by("id").values("kind", *identity.ADDRESS_TOKEN_FIELDS))


def test_every_address_of_a_party_is_kept_once_and_a_reload_adds_nothing(extract):
    path = extract("council_tax.accounts", ACCOUNTS)
    services.ingest_file("council_tax.accounts", path)
    tok = keys.tokeniser()
    jane = addresses("C1")
    # Fountayne Street (the account's), Acacia Road (previous), Mare Street (the second account's);
    # the forwarding address is Fountayne Street again, so it is not a new address.
    assert [a["kind"] for a in jane] == ["account", "previous", "account"]
    assert {a["tok_postcode"] for a in jane} == {tok.token("tok_postcode", p) for p in ("N16 6XD", "E8 1AA", "E8 4RP")}
    assert jane[1]["tok_uprn"] is None and jane[1]["tok_postcode_sector"] == tok.token("tok_postcode_sector", "E8 1")
    party = Party.objects.get(party_ref="C1")
    assert (party.tok_address, party.tok_building_postcode) == (jane[0]["tok_address"], jane[0]["tok_building_postcode"])
    assert party.tok_building_postcode == tok.token("tok_building_postcode", "388|N16 6XD")
    assert party.tok_dob_month_day == tok.token("tok_dob_month_day", "02-01")
    assert len(addresses("C2")) == 1
    # Tokens only: no address line, postcode or house number in clear.
    for row in PartyAddress.objects.values():
        text = " ".join(str(v) for v in row.values()).upper()
        assert "FOUNTAYNE" not in text and "N16 6XD" not in text and "388" not in text.split()

    before = list(PartyAddress.objects.order_by("id").values_list("id", "party_id", "address_key"))
    again = services.ingest_file("council_tax.accounts", path)
    assert again.accepted == 0 and again.duplicates == 3
    assert list(PartyAddress.objects.order_by("id").values_list("id", "party_id", "address_key")) == before

    # A later extract: an existing party on a new account, at its building written another way.
    later = extract("council_tax.accounts", [dict(account_ref="CT3", party_ref="C1", address_line_1="388C Fountayne St",
                                                  postcode="N16 6XD", **JANE)], name="later.csv")
    services.ingest_file("council_tax.accounts", later)
    jane = addresses("C1")
    assert len(jane) == 4 and jane[-1]["tok_building_postcode"] == jane[0]["tok_building_postcode"]
    assert jane[-1]["tok_house_postcode"] != jane[0]["tok_house_postcode"]

    # Linkage gets one record per address of a party, each with the party's own name tokens.
    frame = linking.parties_frame()
    mine = frame.filter(pl.col("party_id") == party.id)
    assert mine.height == 4 and mine["tok_surname"].unique().to_list() == [party.tok_surname]
    assert set(mine["tok_postcode"].to_list()) == {a["tok_postcode"] for a in jane}


def test_pseudonymised_extracts_carry_the_other_addresses_as_tokens(extract, tmp_path):
    out = tmp_path / "pseudonymised.csv"
    call_command("pseudonymise", "council_tax.accounts", str(extract("council_tax.accounts", ACCOUNTS)), "--out", str(out))
    delivered = pl.read_csv(out, infer_schema=False)
    assert {"tok_previous_postcode", "tok_previous_building_postcode", "tok_forwarding_postcode",
            "tok_building_postcode", "tok_dob_month_day"} <= set(delivered.columns)
    assert not {"PREV_ADDR1", "PREV_POSTCODE", "FWD_ADDR1", "FWD_POSTCODE"} & set(delivered.columns)
    services.ingest_file("council_tax.accounts", out)
    jane = {a["tok_postcode"]: a["kind"] for a in addresses("C1")}
    tok = keys.tokeniser()
    assert jane == {tok.token("tok_postcode", "N16 6XD"): "account", tok.token("tok_postcode", "E8 1AA"): "previous",
                    tok.token("tok_postcode", "E8 4RP"): "account"}


def test_a_resident_who_moved_is_found_by_the_previous_address_they_gave(extract, tmp_path):
    """Two records with nothing in common but a rare name and an address: the parking record at
    the old home (the DVLA's), the council tax record at the new home naming the old one as its
    previous address. Linked by that address; without it, a name alone links nothing."""
    from fairdebt.synth.council import generate

    generate(400, 3, tmp_path / "council", dt.date(2026, 10, 31))
    call_command("ingest", manifest=str(tmp_path / "council" / "manifest.json"))
    old_home = dict(address_line_1="Flat 2, 71 Cazenove Road", address_line_2="London", postcode="N16 6BB")
    services.ingest_file("council_tax.accounts", extract("council_tax.accounts", [
        dict(account_ref="ZZ-CT1", party_ref="ZZ1", role="L", forename="Ottoline", surname="Quennell-Ravenscroft",
             address_line_1="9 Evering Road", postcode="N16 7PX", previous_address_line_1="71B Cazenove Rd",
             previous_postcode="N16 6BB"),
        dict(account_ref="ZZ-CT2", party_ref="ZZ2", role="L", forename="Persephone", surname="Wolstenholme-Xu",
             address_line_1="9 Evering Road", postcode="N16 7PX"),
    ], name="moved.csv"))
    services.ingest_file("parking.accounts", extract("parking.accounts", [
        dict(account_ref="ZZ-PK1", party_ref="ZZ-P1", role="keeper", forename="Ottoline", surname="Quennell-Ravenscroft", **old_home),
        dict(account_ref="ZZ-PK2", party_ref="ZZ-P2", role="keeper", forename="Persephone", surname="Wolstenholme-Xu", **old_home),
    ], name="moved.jsonl"))
    call_command("link")
    by_ref = {p.party_ref: p for p in Party.objects.filter(party_ref__startswith="ZZ")}
    assert by_ref["ZZ1"].person_id == by_ref["ZZ-P1"].person_id
    link = PartyLink.objects.get(party_l__in=[by_ref["ZZ1"], by_ref["ZZ-P1"]], party_r__in=[by_ref["ZZ1"], by_ref["ZZ-P1"]])
    assert link.status == "linked" and "building number and postcode" in link.agreeing
    # No previous address given: nothing but the name in common, so never linked.
    assert by_ref["ZZ2"].person_id != by_ref["ZZ-P2"].person_id


def test_key_rotation_keeps_no_address_under_the_old_key(extract):
    services.ingest_file("council_tax.accounts", extract("council_tax.accounts", ACCOUNTS))
    assert PartyAddress.objects.filter(party__party_ref="C1").count() == 3
    call_command("rotate_keys")
    party = Party.objects.get(party_ref="C1")
    kept = list(PartyAddress.objects.filter(party=party).values("token_key_id", "tok_postcode"))
    # The vault holds the first row's address only: that one is re-tokenised, the others return on the next load.
    assert kept == [{"token_key_id": party.token_key_id, "tok_postcode": party.tok_postcode}]
    services.ingest_file("council_tax.accounts", extract("council_tax.accounts", ACCOUNTS, name="again.csv"))
    assert set(PartyAddress.objects.filter(party=party).values_list("token_key_id", flat=True)) == {party.token_key_id}
    assert PartyAddress.objects.filter(party=party).count() == 3
