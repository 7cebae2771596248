"""`fairdebt link` against a synthetic council: people found across systems, overrides kept, evidence shown."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from fairdebt.batch.linkage import evaluate
from fairdebt.people import linking
from fairdebt.people.models import LinkageRun, Party, PartyLink, Person

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def council(tmp_path):
    from fairdebt.synth.council import generate

    generate(400, 3, tmp_path, dt.date(2026, 10, 31))
    call_command("ingest", manifest=str(tmp_path / "manifest.json"))
    return pl.read_csv(tmp_path / "truth.csv", schema_overrides={"party_ref": pl.Utf8, "resident_id": pl.Utf8})


def people_frame():
    return pl.DataFrame(list(Party.objects.values("id", "person_id", "system", "party_ref"))).rename(
        {"id": "party_id", "person_id": "cluster_id"}
    )


def test_linkage_finds_people_across_systems_and_explains_itself(council):
    before = evaluate(people_frame(), council)
    call_command("link")
    after = evaluate(people_frame(), council)
    assert after["precision"] >= 0.98
    assert after["recall"] > before["recall"] + 0.2  # far beyond exact NI number matching
    assert Person.objects.filter(parties__isnull=True).count() == 0
    run = LinkageRun.objects.get()
    assert run.model["settings"] and run.counts["parties"] == Party.objects.count()
    evidence = PartyLink.objects.filter(status="linked").order_by("-match_weight").first()
    assert evidence.agreeing and evidence.match_weight > 0
    # A re-run with the saved model changes nothing.
    ids = dict(Party.objects.values_list("id", "person_id"))
    call_command("link")
    assert dict(Party.objects.values_list("id", "person_id")) == ids


def test_officer_overrides_survive_re_runs(council):
    call_command("link")
    pair = PartyLink.objects.filter(status="linked", in_cluster=True).select_related("party_l", "party_r").first()
    a, b = pair.party_l, pair.party_r
    linking.record_override(User.objects.create_user("o"), a, b, "unlink", "Different dates of birth confirmed by phone")
    call_command("link")
    a.refresh_from_db(), b.refresh_from_db()
    assert a.person_id != b.person_id
    call_command("link")
    a.refresh_from_db(), b.refresh_from_db()
    assert a.person_id != b.person_id
    linking.record_override(None, a, b, "link", "Resident confirmed both accounts are theirs")
    call_command("link")
    a.refresh_from_db(), b.refresh_from_db()
    assert a.person_id == b.person_id


def test_override_needs_a_reason(council):
    a, b = Party.objects.all()[:2]
    with pytest.raises(ValueError, match="reason"):
        linking.record_override(None, a, b, "unlink", "no")


def test_new_records_link_incrementally_without_moving_existing_people(tmp_path):
    from fairdebt.synth.council import generate

    generate(400, 3, tmp_path, dt.date(2026, 10, 31))
    truth = pl.read_csv(tmp_path / "truth.csv", schema_overrides={"party_ref": pl.Utf8, "resident_id": pl.Utf8})
    files = {f["source"]: tmp_path / f["path"] for f in __import__("json").loads((tmp_path / "manifest.json").read_text())["files"]}
    # First everything but housing, linked in full; then housing arrives and links incrementally.
    for source, path in files.items():
        if not source.startswith("housing."):
            call_command("ingest", source, str(path))
    call_command("link")
    before = dict(Party.objects.values_list("id", "person_id"))
    for source in ("housing.accounts", "housing.debts", "housing.transactions"):
        call_command("ingest", source, str(files[source]))
    call_command("link", "--new")
    run = LinkageRun.objects.order_by("-id").first()
    assert run.mode == "incremental" and run.counts["new_parties"] == Party.objects.filter(system="housing").count()
    after = dict(Party.objects.values_list("id", "person_id"))
    moved_old = sum(1 for pid, person in before.items() if after[pid] != person)
    assert moved_old <= len(before) * 0.01  # only merges a new record bridges
    quality = evaluate(people_frame(), truth)
    assert quality["precision"] >= 0.98
    linked_housing = Party.objects.filter(system="housing", person__parties__system="council_tax").distinct().count()
    assert linked_housing > Party.objects.filter(system="housing").count() * 0.5  # most tenants found on council tax
    call_command("link", "--new")  # nothing new: nothing changes
    assert dict(Party.objects.values_list("id", "person_id")) == after
