"""A synthetic council's Breathing Space notices, pulled over HTTP from the fake register."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command

from fairdebt.fakes.breathing_space import FakeRegister, scenarios_from_council
from fairdebt.holds import breathing_space as bs
from fairdebt.holds.models import Moratorium, RegisterNotice
from fairdebt.holds.register import RegisterClient, RegisterUnavailable
from fairdebt.people.models import Party
from fairdebt.synth.council import generate

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def council(tmp_path):
    out = tmp_path / "council"
    generate(400, 11, out, TODAY)
    call_command("ingest", manifest=str(out / "manifest.json"), stdout=open("/dev/null", "w"))
    return out


def test_every_notice_is_kept_matched_to_the_right_person_or_shown_to_an_officer(council):
    scenarios = scenarios_from_council(council, 11, TODAY)
    with FakeRegister(api_key="k") as register:
        register.load(scenarios)
        client = RegisterClient(register.url, "k")
        counts = bs.pull(client)
        published = len(register.notifications)
        assert RegisterNotice.objects.count() == published == sum(counts.values())
        # Pulling again adds nothing: the cursor moved, and ids are keys anyway.
        assert bs.pull(client) == {}
        assert bs.pull(RegisterClient(register.url, "k")) == {}
    # Each applied start notice is on the person the synthetic truth says it is.
    for op in (s for s in scenarios if s["op"] == "register" and s.get("truth")):
        notice = RegisterNotice.objects.get(event="moratorium_started", moratorium_ref=op["reference"])
        if notice.status == "applied":
            refs = set(Party.objects.filter(person=notice.person).values_list("system", "party_ref"))
            assert refs & {tuple(r) for r in op["truth"]["party_refs"]}, op["reference"]
    statuses = RegisterNotice.objects.values_list("status", flat=True)
    assert "unmatched" in statuses  # the debtor who is not in our records
    assert "conflict" in statuses  # the same person registered twice, overlapping
    assert RegisterNotice.objects.filter(status="applied").count() >= published - 3
    assert Moratorium.objects.filter(type="mental_health_crisis", expected_end__isnull=True).exists()
    # The debtor's name never reaches the main database.
    unknown = RegisterNotice.objects.get(status="unmatched")
    name = bs.debtor_details(unknown)["surname"]
    assert name and name not in json.dumps(list(RegisterNotice.objects.values()), default=str)


def test_a_register_that_refuses_our_key_says_what_to_do(council):
    with FakeRegister(api_key="right") as register:
        with pytest.raises(RegisterUnavailable, match="API key"):
            bs.pull(RegisterClient(register.url, "wrong"))
