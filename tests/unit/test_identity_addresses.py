"""Derived tokens for linkage: the building number at a postcode, the day and month of birth, and a
party's several addresses (fairdebt.domain.identity). Pure Python: `pytest -p no:django`."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from fairdebt.domain import identity

KEY = identity.Tokeniser(b"test-identity-key" * 2, "t1")
streets = st.sampled_from(["Fountayne Street", "Fountayne St", "Queensdown Grove", "Acacia Road", "Amhurst Rd"])
postcodes = st.sampled_from(["N16 6XD", "E8 1AA", "e5 0ln", "E9 7HU"])


def building(lines, code):
    return identity.derived_values({"address_line_1": lines[0], "address_line_2": lines[1] if len(lines) > 1 else "",
                                    "postcode": code})["tok_building_postcode"]


def test_building_number_examples():
    assert identity.building_number(["Flat 3, 388 Fountayne Street"]) == "388"
    assert identity.building_number(["388C Fountayne St"]) == "388"
    assert identity.building_number(["Flat C", "388 Fountayne St"]) == "388"
    assert identity.building_number(["3/388 Fountayne St"]) == "388"
    assert identity.building_number(["First Floor Flat, 51 Queensdown Grove"]) == "51"
    assert identity.building_number(["Flat 12, 3 Acacia Rd"]) == "3"  # not the largest: 12 is the flat
    assert identity.building_number(["12/3 Acacia Rd"]) == "3"
    assert identity.building_number(["Unit 4", "120 High St"]) == "120"
    assert identity.building_number(["Flat 12 Nightingale House", "Acacia Rd"]) == "12"  # a named block: its flat
    assert identity.building_number(["12 Nightingale Ho"]) == "12"
    assert identity.building_number(["Nightingale House"]) == "" and identity.building_number([]) == ""
    assert building(["Flat 3, 388 Fountayne St"], "n16 6xd") == building(["388C Fountayne Street"], "N16 6XD") == "388|N16 6XD"
    # the house-number token keeps the flat, so it differs where the building token agrees
    assert identity.derived_values({"address_line_1": "Flat 3, 388 Fountayne St", "postcode": "N16 6XD"})["tok_house_postcode"] \
        != identity.derived_values({"address_line_1": "388C Fountayne St", "postcode": "N16 6XD"})["tok_house_postcode"]


@given(number=st.integers(1, 999), flat=st.integers(1, 60), letter=st.sampled_from("ABCDEF"), street=streets, code=postcodes)
def test_every_way_of_writing_a_flat_gives_its_building(number, flat, letter, street, code):
    ways = [
        [f"Flat {flat}, {number} {street}"],
        [f"Flat {flat}", f"{number} {street}"],
        [f"FLAT {flat}", f"{number} {street.upper()}"],
        [f"{flat}/{number} {street}"],
        [f"{number}{letter} {street}"],
        [f"Flat {letter}", f"{number} {street}"],
        [f"First Floor Flat, {number} {street}"],
        [f"Apartment {flat}", f"{number} {street}"],
        [f"{number} {street}"],
    ]
    expected = f"{number}|{identity.postcode(code)}"
    assert {building(lines, code) for lines in ways} == {expected}
    assert len({KEY.tokenise({"address_line_1": lines[0], "address_line_2": lines[1] if len(lines) > 1 else "",
                              "postcode": code})["tok_building_postcode"] for lines in ways}) == 1


@given(a=st.integers(1, 999), b=st.integers(1, 999), street=streets, code=postcodes)
def test_different_buildings_differ(a, b, street, code):
    if a != b:
        assert building([f"Flat 1, {a} {street}"], code) != building([f"Flat 1, {b} {street}"], code)


@given(day=st.dates(dt.date(1920, 1, 1), dt.date(2008, 12, 31)), shift=st.sampled_from([-1, 1]))
def test_a_year_typed_one_out_keeps_the_day_and_month(day, shift):
    try:
        slipped = day.replace(year=day.year + shift)
    except ValueError:  # 29 February
        return
    right, wrong = KEY.tokenise({"date_of_birth": day}), KEY.tokenise({"date_of_birth": slipped})
    assert right["tok_dob_month_day"] == wrong["tok_dob_month_day"] is not None
    assert right["tok_dob_year"] != wrong["tok_dob_year"] and right["tok_dob"] != wrong["tok_dob"]
    assert identity.derived_values({"date_of_birth": day})["tok_dob_month_day"] == day.strftime("%m-%d")


def test_day_and_month_differ_between_other_birthdays():
    a, b = KEY.tokenise({"date_of_birth": "1988-11-26"}), KEY.tokenise({"date_of_birth": "1988-11-27"})
    assert a["tok_dob_month_day"] != b["tok_dob_month_day"]
    assert KEY.tokenise({})["tok_dob_month_day"] is None


lines = st.text(alphabet="abcFLAT 0123456789/,-", max_size=30)


@given(l1=lines, l2=lines, code=st.sampled_from(["", "E8 1AA", "n16 6xd"]), uprn=st.sampled_from(["", "100021000123"]))
def test_address_tokens_are_the_record_tokens(l1, l2, code, uprn):
    record = {"address_line_1": l1, "address_line_2": l2, "postcode": code, "uprn": uprn, "surname": "Smith"}
    full = KEY.tokenise(record)
    assert KEY.tokenise_address(record) == {f: full[f] for f in identity.ADDRESS_TOKEN_FIELDS}


def test_previous_and_forwarding_addresses_compare_with_an_accounts_own():
    record = {"surname": "Smith", "address_line_1": "12 Acacia Road", "postcode": "E8 1AA",
              "previous_address_line_1": "Flat 3, 388 Fountayne St", "previous_postcode": "N16 6XD",
              "forwarding_address_line_1": "4 Mare St", "forwarding_address_line_2": "London", "forwarding_postcode": "E8 4RP"}
    kinds = dict(identity.record_addresses(record))
    assert list(kinds) == ["account", "previous", "forwarding"]
    old_home = KEY.tokenise({"surname": "Smith", "address_line_1": "388C Fountayne Street", "postcode": "N16 6XD"})
    extract = KEY.tokenise_extract(record)
    assert extract["tok_previous_building_postcode"] == old_home["tok_building_postcode"]
    assert extract["tok_previous_postcode"] == old_home["tok_postcode"]
    assert extract["tok_forwarding_postcode"] == KEY.tokenise({"postcode": "E8 4RP"})["tok_postcode"]
    assert extract["tok_postcode"] == KEY.tokenise({"postcode": "E8 1AA"})["tok_postcode"]
    assert list(dict(identity.record_addresses({"surname": "Smith"}))) == ["account"]
    # a party's addresses are told apart by a digest of their tokens, never of raw values
    a = identity.address_key(KEY.tokenise_address(kinds["previous"]).values())
    assert a == identity.address_key(KEY.tokenise_address(dict(kinds["previous"])).values()) and len(a) == 32
    assert identity.address_key([None, None]) == ""
