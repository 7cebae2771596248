"""Vectorised validation without a database: money, dates, identifiers, codes, duplicates."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdebt.domain.money import format_pounds
from fairdebt.ingest import config, validate
from fairdebt.ingest.reader import LINE

CT = config.get("council_tax.transactions")
ACC = config.get("council_tax.accounts")


def run(source, rows):
    cols = list(source.columns.values())
    raw = pl.DataFrame([{c: r.get(c) for c in cols} for r in rows], schema={c: pl.Utf8 for c in cols}).with_row_index(LINE, offset=2)
    return validate.mark_in_file_duplicates(source, validate.normalise(source, raw))


def tx(**kw):
    base = {"TRANS_ID": "1", "CHARGE_REF": "D1", "TRANS_TYPE": "PAY", "AMOUNT": "-1.00", "TRANS_DATE": "01/04/2025"}
    return base | kw


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-10**12, max_value=10**12).filter(lambda p: p != 0), st.sampled_from(["plain", "pound", "comma", "short"]))
def test_pounds_parse_exactly_to_pence(pence, style):
    sign, whole, frac = ("-" if pence < 0 else ""), abs(pence) // 100, abs(pence) % 100
    text = {
        "plain": f"{sign}{whole}.{frac:02d}",
        "pound": format_pounds(pence),
        "comma": f"{sign}{whole:,}.{frac:02d}",
        "short": f"{sign}{whole}" + (f".{frac // 10}" if frac % 10 == 0 and frac else f".{frac:02d}" if frac else ""),
    }[style]
    kind = "INST" if pence > 0 else "PAY"
    out = run(CT, [tx(AMOUNT=text, TRANS_TYPE=kind)])
    assert out["_err_reason"][0] is None, (text, out["_err_reason"][0])
    assert out["amount"][0] == pence


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=12).filter(lambda s: s.strip() and not s.strip().lstrip("-£").replace(",", "").replace(".", "", 1).isdigit()))
def test_anything_that_is_not_money_is_refused_never_guessed(text):
    out = run(CT, [tx(AMOUNT=text)])
    assert out["amount"][0] is None or out["_err_reason"][0] is not None


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_dates_in_the_source_format_round_trip(day):
    out = run(CT, [tx(TRANS_DATE=day.strftime("%d/%m/%Y"))])
    assert out["effective_date"][0] == day and out["_err_reason"][0] is None


def test_impossible_and_wrongly_formatted_dates_are_refused():
    out = run(CT, [tx(TRANS_DATE="29/02/2023"), tx(TRANS_ID="2", TRANS_DATE="2024-04-01"), tx(TRANS_ID="3", TRANS_DATE="29/02/2024")])
    assert out["_err_reason"][0] == "'29/02/2023' is not a date in the form DD/MM/YYYY"
    assert "'2024-04-01' is not a date" in out["_err_reason"][1]
    assert out["_err_reason"][2] is None


def test_nino_and_postcode_are_normalised_or_refused():
    rows = [
        {"CTAX_ACCOUNT_NO": "A", "CUSTOMER_NO": "1", "SURNAME": "X", "NI_NUMBER": "ab 12 34 56 c", "POSTCODE": "sw1a1aa"},
        {"CTAX_ACCOUNT_NO": "A", "CUSTOMER_NO": "2", "SURNAME": "X", "NI_NUMBER": "GB123456A"},  # an invalid prefix
        {"CTAX_ACCOUNT_NO": "A", "CUSTOMER_NO": "3", "SURNAME": "X", "NI_NUMBER": "DA123456A"},  # D is never first
        {"CTAX_ACCOUNT_NO": "A", "CUSTOMER_NO": "4", "SURNAME": "X", "POSTCODE": "12345"},
    ]
    out = run(ACC, rows)
    assert (out["nino"][0], out["postcode"][0], out["_err_reason"][0]) == ("AB123456C", "SW1A 1AA", None)
    assert "not a National Insurance number" in out["_err_reason"][1]
    assert "not a National Insurance number" in out["_err_reason"][2]
    assert "not a UK postcode" in out["_err_reason"][3]


def test_codes_are_mapped_and_unknown_codes_named():
    out = run(CT, [tx(TRANS_TYPE="INST", AMOUNT="5"), tx(TRANS_ID="2", TRANS_TYPE="XYZ")])
    assert out["kind"][0] == "charge"
    assert out["_err_field"][1] == "TRANS_TYPE" and "unknown kind code 'XYZ'" in out["_err_reason"][1]


def test_signs_follow_the_ledger_convention():
    out = run(CT, [tx(TRANS_TYPE="INST", AMOUNT="-5"), tx(TRANS_ID="2", TRANS_TYPE="PAY", AMOUNT="5"), tx(TRANS_ID="3", TRANS_TYPE="ADJ", AMOUNT="0")])
    assert [r for r in out["_err_reason"]] == [
        "a charge must be a positive amount (it increases what is owed)",
        "a payment must be a negative amount (it reduces what is owed)",
        "an entry of £0.00 changes nothing: leave it out",
    ]


def test_repeated_keys_identical_are_duplicates_differing_are_rejected():
    out = run(CT, [tx(), tx(), tx(AMOUNT="-2.00"), tx(TRANS_ID="9")])
    assert out["_dup_of_line"].to_list() == [None, 2, None, None]
    assert out["_err_reason"][2] == "transaction_ref '1' already appears on line 2 with different values: correct one of them"
    assert out["_err_reason"][0] is None and out["_err_reason"][3] is None
