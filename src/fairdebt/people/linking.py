"""`fairdebt link`: cluster every party into people with Splink over tokens, keeping person ids stable."""

from __future__ import annotations

from collections import Counter

import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from fairdebt.batch import linkage
from fairdebt.ingest import loader

from .models import LinkageRun, LinkOverride, Party, PartyAddress, PartyLink, Person


def parties_frame() -> pl.DataFrame:
    """One row per record of a party: its own tokens with each of its addresses (PartyAddress), and
    with the address its Party row holds (the first row's; the same as one of its PartyAddress rows
    once ingest has recorded them, and then the duplicate goes). linkage takes several rows per party."""
    columns = ["id", "system", "party_ref", "token_key_id", *Party.token_columns()]
    address = [c for c in PartyAddress.token_columns() if c in columns]
    schema = {c: (pl.Int64 if c == "id" else pl.Utf8) for c in columns}
    own = loader.pull(f"SELECT {', '.join(columns)} FROM people_party", [], schema)
    each = loader.pull(
        f"SELECT {', '.join('a.' + c if c in address else 'p.' + c for c in columns)} "
        "FROM people_partyaddress a JOIN people_party p ON p.id = a.party_id AND a.token_key_id = p.token_key_id", [], schema,
    )
    return pl.concat([own, each]).unique(maintain_order=True).rename({"id": "party_id"})


def accounts_frame() -> pl.DataFrame:
    """party_id, account_id: who is liable on which account (joint holders' names are evidence,
    and two holders of one account are two people)."""
    return loader.pull("SELECT party_id, account_id FROM accounts_accountparty", [],
                       {"party_id": pl.Int64, "account_id": pl.Int64})


def overrides() -> list[tuple]:
    return [(o.party_a_id, o.party_b_id, o.kind, o.reason) for o in LinkOverride.objects.order_by("at", "id")]


def run_new() -> LinkageRun:
    """Link only the parties loaded since the last run, with its model, without retraining.
    Existing people keep their records; a new record joins the person it links to, or becomes one."""
    previous = LinkageRun.objects.exclude(model={}).order_by("-id").first()
    if previous is None or "max_party_id" not in previous.counts:
        return run()
    parties = parties_frame()
    since = previous.counts["max_party_id"]
    new_ids = parties.filter(pl.col("party_id") > since)["party_id"].unique().sort().to_list()  # a party may bring several rows
    record = LinkageRun.objects.create(mode="incremental")
    if not new_ids:
        record.model, record.counts, record.finished_at = previous.model, {"parties": 0, "max_party_id": since}, timezone.now()
        record.save()
        return record
    # The current people are the existing clusters (they include officers' decisions already applied).
    existing = pl.DataFrame(
        list(Party.objects.filter(id__lte=since).values_list("id", "person_id")), schema={"party_id": pl.Int64, "cluster_id": pl.Int64}, orient="row"
    )
    result = linkage.link_new(existing, parties, new_ids, previous.model, accounts=accounts_frame(), overrides=overrides())
    with transaction.atomic():
        moved, created = _assign_people(result.clusters)
        _store_pairs(record, result.pairs)
        record.model = previous.model
        record.counts = {**result.counts, "new_parties": len(new_ids), "parties_moved": moved, "people_created": created,
                         "max_party_id": int(parties["party_id"].max())}
        record.timings = {k: round(v, 3) for k, v in result.timings.items()}
        record.finished_at = timezone.now()
        record.save()
    return record


def run(*, retrain: bool = False) -> LinkageRun:
    """Link all parties (with the last model unless retrain, or none exists) and move parties between people."""
    previous = LinkageRun.objects.exclude(model={}).order_by("-id").first()
    model = None if retrain or previous is None else previous.model
    parties = parties_frame()
    record = LinkageRun.objects.create(mode="full" if model is None else "reuse-model")
    if parties.height == 0:
        record.finished_at = timezone.now()
        record.save()
        return record
    result = linkage.link(parties, accounts=accounts_frame(), overrides=overrides(), model=model)
    with transaction.atomic():
        moved, created = _assign_people(result.clusters)
        PartyLink.objects.all().delete()  # a cache of the latest run's evidence
        _store_pairs(record, result.pairs)
        record.model = result.model
        record.counts = {**result.counts, "parties_moved": moved, "people_created": created,
                         "max_party_id": int(parties["party_id"].max())}
        record.timings = {k: round(v, 3) for k, v in result.timings.items()}
        record.finished_at = timezone.now()
        record.save()
    return record


def _assign_people(clusters: pl.DataFrame) -> tuple[int, int]:
    """Each cluster keeps the person most of its parties already have (so ids and audits stay
    meaningful); a cluster whose person is taken by a larger cluster gets a new person."""
    current = dict(Party.objects.values_list("id", "person_id"))
    members: dict[int, list[int]] = {}
    for party_id, cluster_id in clusters.select("party_id", "cluster_id").iter_rows():
        members.setdefault(cluster_id, []).append(party_id)
    taken: set[int] = set()
    target: dict[int, int] = {}
    created = 0
    for cluster_id, party_ids in sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        votes = Counter(current[p] for p in party_ids)
        choice = next((pid for pid, _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])) if pid not in taken), None)
        if choice is None:
            choice = Person.objects.create().pk
            created += 1
        taken.add(choice)
        for p in party_ids:
            target[p] = choice
    changes = [(person_id, party_id) for party_id, person_id in target.items() if current[party_id] != person_id]
    with connection.cursor() as cur:
        cur.executemany("UPDATE people_party SET person_id = %s WHERE id = %s", changes)
    # People left with no records go, unless the audit names them (it must keep pointing somewhere).
    Person.objects.filter(parties__isnull=True, reidentifications__isnull=True).delete()
    return len(changes), created


def _store_pairs(record: LinkageRun, pairs: pl.DataFrame) -> None:
    rows = []
    for r in pairs.iter_rows(named=True):
        rows.append(PartyLink(
            run=record, party_l_id=r["party_id_l"], party_r_id=r["party_id_r"], match_weight=r.get("match_weight"),
            match_probability=r.get("match_probability"), agreeing=(r.get("agreeing") or "")[:500],
            source=r.get("source") or "model", status=(r.get("status") or "")[:200], in_cluster=bool(r.get("in_cluster")),
        ))
    PartyLink.objects.bulk_create(rows, batch_size=5000)


def record_override(user, party_a: Party, party_b: Party, kind: str, reason: str) -> LinkOverride:
    if kind not in ("link", "unlink"):
        raise ValueError("Say 'link' (the same person) or 'unlink' (different people).")
    if len((reason or "").strip()) < 10:
        raise ValueError("Give a reason of at least 10 characters, for example 'Different dates of birth confirmed by phone'.")
    if party_a.pk == party_b.pk:
        raise ValueError("Choose two different records.")
    return LinkOverride.objects.create(party_a=party_a, party_b=party_b, kind=kind, reason=reason.strip()[:500], user=user)


def evidence_for(person: Person):
    """The latest run's evidence for the links between this person's records (and those kept apart)."""
    ids = list(person.parties.values_list("id", flat=True))
    return PartyLink.objects.filter(party_l_id__in=ids).select_related("party_l", "party_r") | PartyLink.objects.filter(
        party_r_id__in=ids
    ).select_related("party_l", "party_r")
