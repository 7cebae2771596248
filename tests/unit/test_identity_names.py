"""Forenames as different records write them: nicknames, short forms and transliterations read as one
canonical forename (fairdebt.domain.identity), so linkage can see Femi and Olufemi as one name.

No Django: `pytest -p no:django tests/unit/test_identity_names.py`.
"""

from __future__ import annotations

import pytest

from fairdebt.domain import identity


def _canonical(forename: str, title: str = "") -> str:
    return identity.canonical_forename_of({"forename": forename, "title": title})


@pytest.mark.parametrize("full, short", [
    ("Olufemi", "Femi"), ("Oluwatobi", "Tobi"), ("Adebayo", "Bayo"), ("Chukwuemeka", "Emeka"),  # Yoruba, Igbo
    ("Ibrahim", "Ebrahim"), ("Abdirahman", "Abdi"), ("Mizanur", "Mizan"), ("Muhammad", "Md"),  # Arabic, Somali, Bengali
    ("Huseyin", "Hussein"), ("Jakub", "Kuba"), ("Aleksandra", "Ola"), ("Katarzyna", "Kasia"),  # Turkish, Polish
    ("Yaakov", "Jacob"), ("Yitzchok", "Isaac"), ("Giuseppe", "Joseph"), ("Robert", "Bob"),  # Hebrew, Italian, English
])
def test_a_short_form_or_transliteration_reads_as_the_same_forename(full, short):
    assert _canonical(full) == _canonical(short.upper()) == _canonical(short)


@pytest.mark.parametrize("a, b", [("Femi", "Funmi"), ("Tobi", "Tunde"), ("Ibrahim", "Ismail"), ("Jakub", "Joseph"),
                                  ("Michael", "Michelle"), ("Sean", "John")])
def test_different_forenames_stay_different(a, b):
    assert _canonical(a) != _canonical(b)


def test_a_short_form_of_two_names_is_read_by_the_title():
    assert _canonical("Nicky", "Ms") == _canonical("Nicola") == "NICOLA"
    assert _canonical("Nicky", "Mr") == _canonical("Nicholas") == "NICHOLAS"
    assert _canonical("Alex", "Mrs") == "ALEXANDRA" and _canonical("Alex", "Mr") == "ALEXANDER"


def test_every_listed_form_reads_as_its_name():
    """The table is consistent: no listed name is itself read as another name, so every form of it
    (English or community) leads to one canonical forename."""
    for name, forms in identity.NICKNAMES.items():
        assert _canonical(name) == name, name
        for form in forms:
            readings = [n for n, fs in identity.NICKNAMES.items() if form in fs]
            assert _canonical(form) in readings, (name, form)
            if len(readings) == 1:
                assert _canonical(form) == name, (name, form)


# ---------------------------------------------------------------------------------------------- typing slips
from hypothesis import given, strategies as st  # noqa: E402
import jellyfish  # noqa: E402

NAMES = st.text(alphabet="ABCDEFGHIJKLMNOPRSTUWY", min_size=identity.SLIP_MIN_LENGTH, max_size=14)


def _share(a: str, b: str) -> bool:
    return bool(set(identity.one_slip_keys(a)) & set(identity.one_slip_keys(b)))


@given(NAMES, st.data())
def test_one_slip_apart_shares_a_key(name, data):
    i = data.draw(st.integers(0, len(name) - 1))
    letter = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPRSTUWY"))
    slips = [name[:i] + letter + name[i + 1:],  # a letter wrong
             name[:i] + name[i + 1:],  # a letter missing
             name[:i] + letter + name[i:]]  # a letter extra
    if i + 1 < len(name):
        slips.append(name[:i] + name[i + 1] + name[i] + name[i + 2:])  # two letters swapped
    for slip in slips:
        if len(slip) >= identity.SLIP_MIN_LENGTH:
            assert _share(name, slip), (name, slip)


@given(NAMES, NAMES)
def test_names_sharing_a_key_are_at_most_two_edits_apart(a, b):
    if _share(a, b):
        assert jellyfish.levenshtein_distance(a, b) <= 2
    if jellyfish.levenshtein_distance(a, b) > 2:
        assert not _share(a, b)


def test_short_names_have_no_slip_keys_and_names_far_apart_share_none():
    assert identity.one_slip_keys("MARK") == () and identity.one_slip_keys("MARY") == ()
    assert _share("ANDREW", "ANDEW") and _share("MING LE".replace(" ", ""), "MIGNLE")
    assert not _share("ANDREW", "ANDERSON") and not _share("CHAPMAN", "CHAMBERS")


def test_slip_keys_travel_as_tokens_only():
    tokeniser = identity.Tokeniser(b"k" * 32, "t1")
    tokens = tokeniser.tokenise({"forename": "Andrew", "surname": "Roberts"})
    forename = tokens["tok_forename_slips"].split(" ")
    assert len(forename) == len(identity.one_slip_keys("ANDREW")) == 7
    assert all(len(t) == 22 and "ANDREW"[:4] not in t for t in forename)
    slip = tokeniser.tokenise({"forename": "Andew", "surname": "Roberts"})["tok_forename_slips"].split(" ")
    assert set(forename) & set(slip)  # one slip apart: a token in common
    assert tokens["tok_surname_slips"] == tokeniser.tokenise({"forename": "A", "surname": "ROBERTS"})["tok_surname_slips"]
