"""The fake Breathing Space register and the client fairdebt reads it with, together over 127.0.0.1.

No database and no Django: run with `pytest -p no:django tests/unit/test_breathing_space_fake.py`.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from fairdebt.fakes.breathing_space import FakeRegister, next_business_day, scenarios_from_council
from fairdebt.holds.register import RegisterClient, RegisterUnavailable
from fairdebt.ingest import config
from fairdebt.synth.council import generate

KEY = "secret-key"
D = date
TODAY = D(2026, 11, 20)  # a Friday
DEBTOR = {
    "forenames": "Joanne Louise",
    "surname": "Moore",
    "date_of_birth": "1976-11-30",
    "nino": "AB 12 34 56 C",
    "address": {"lines": ["Flat 37", "Fry Court", "Oldfield Road"], "postcode": "e8 0rh"},
}


def ct(ref: str, pence: int | None = 12345, **kw) -> dict:
    return {"creditor_reference": ref, "debt_type": "council_tax", "amount_pence": pence, **kw}


@pytest.fixture
def register():
    with FakeRegister(KEY, clock=lambda: TODAY) as r:
        yield r


@pytest.fixture
def client(register) -> RegisterClient:
    return RegisterClient(register.url, KEY, timeout=5)


def raw_get(url: str, key: str | None = KEY) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# ---------------------------------------------------------------------------------------------- events


def test_every_event_type_round_trips_through_the_client(register, client):
    started = register.register(reference="BS000123", debtor=DEBTOR, debts=[ct("30000004")],
                                registered_on=D(2026, 11, 1))
    added = register.add_debt("BS000123", [{"creditor_reference": "T100001", "debt_type": "housing_rent",
                                            "amount_pence": None}], on=D(2026, 11, 10))
    cancelled = register.cancel("BS000123", on=D(2026, 11, 30), reason="Midway review: debt solution in place")
    register.register(reference="BS000200", debtor=DEBTOR | {"surname": "Grant"}, debts=[ct("30000006")],
                      registered_on=D(2026, 11, 3), type="mental_health_crisis")
    ended = register.end("BS000200", on=D(2026, 12, 15), reason="Crisis treatment ended on 2026-11-15")

    got = [n for n, _ in client.notifications()]
    assert got == register.notifications == [started, added, cancelled, got[3], ended]
    assert [n["event"] for n in got] == ["moratorium_started", "debt_added", "moratorium_cancelled",
                                         "moratorium_started", "moratorium_ended"]
    assert [n["sequence"] for n in got] == [1, 2, 3, 4, 5]
    assert [n["id"] for n in got] == [f"BSN-{i:06d}" for i in range(1, 6)]
    assert len({n["id"] for n in got}) == 5

    first = got[0]
    assert set(first) == {"id", "sequence", "event", "notified_at", "moratorium", "debtor", "debts", "adviser", "ended"}
    assert first["moratorium"] == {"reference": "BS000123", "type": "standard", "registered_on": "2026-11-01",
                                   "start_date": "2026-11-02", "end_date": "2026-12-31"}
    assert first["notified_at"] == "2026-11-02T09:00:00Z"
    assert first["debtor"] == {"forenames": "Joanne Louise", "surname": "Moore", "date_of_birth": "1976-11-30",
                               "nino": "AB123456C", "previous_surnames": [],
                               "address": {"lines": ["Flat 37", "Fry Court", "Oldfield Road"], "postcode": "E8 0RH"}}
    assert first["debts"] == [ct("30000004", added_on="2026-11-01")]
    assert set(first["adviser"]) == {"name", "organisation", "fca_reference", "email", "phone"}
    assert first["ended"] is None

    # a debt added lists only the new debt, with its own date (it has its own review clock)
    assert got[1]["debts"] == [{"creditor_reference": "T100001", "debt_type": "housing_rent", "amount_pence": None,
                                "added_on": "2026-11-10"}]
    assert got[1]["ended"] is None

    # a cancellation lists every debt, and the moratorium's end date becomes the day it ended
    assert got[2]["ended"] == {"date": "2026-11-30", "reason": "Midway review: debt solution in place"}
    assert [d["creditor_reference"] for d in got[2]["debts"]] == ["30000004", "T100001"]
    assert got[2]["moratorium"]["end_date"] == "2026-11-30"
    assert got[4]["ended"] == {"date": "2026-12-15", "reason": "Crisis treatment ended on 2026-11-15"}

    state = client.moratorium("BS000123")
    assert state["status"] == "cancelled" and state["end_date"] == "2026-11-30"
    assert [d["creditor_reference"] for d in state["debts"]] == ["30000004", "T100001"]
    assert state["ended"]["reason"].startswith("Midway review")
    assert client.moratorium("BS000200")["status"] == "ended"
    assert client.moratorium("BS999999") is None
    assert client.moratorium("BS/../x y") is None  # quoted, not a path


def test_standard_moratorium_clock_and_state():
    with FakeRegister(KEY, clock=lambda: D(2026, 12, 31)) as r:
        client = RegisterClient(r.url, KEY)
        n = r.register(reference="BS1", debtor=DEBTOR, debts=[ct("1")], registered_on=D(2026, 11, 1))
        start = D.fromisoformat(n["moratorium"]["start_date"])
        end = D.fromisoformat(n["moratorium"]["end_date"])
        assert start == D(2026, 11, 1) + timedelta(days=1)
        assert end == start + timedelta(days=59) and (end - start).days + 1 == 60
        state = client.moratorium("BS1")
        assert state["status"] == "active"  # its last protected day is today
        assert {k: state[k] for k in n["moratorium"]} == n["moratorium"]
    with FakeRegister(KEY, clock=lambda: D(2027, 1, 1)) as r:
        r.register(reference="BS1", debtor=DEBTOR, debts=[ct("1")], registered_on=D(2026, 11, 1))
        # a standard moratorium runs out with no event: the register just shows it ended
        assert RegisterClient(r.url, KEY).moratorium("BS1")["status"] == "ended"
        assert len(r.notifications) == 1
        with pytest.raises(ValueError, match="ran out"):
            r.cancel("BS1", on=D(2027, 1, 1), reason="late")


def test_mental_health_crisis_moratorium_has_no_end_date(register, client):
    n = register.register(reference="BS2", debtor=DEBTOR, debts=[ct("1")], registered_on=D(2026, 11, 4),
                          type="mental_health_crisis", treatment_end=D(2026, 11, 12))
    assert n["moratorium"]["end_date"] is None
    assert n["moratorium"]["start_date"] == "2026-11-05"
    assert client.moratorium("BS2")["end_date"] is None
    assert client.moratorium("BS2")["status"] == "active"
    # the register works out the end (treatment end + 30 days) and publishes it
    ended = register.end("BS2")
    assert ended["event"] == "moratorium_ended"
    assert ended["ended"]["date"] == "2026-12-12"
    assert ended["moratorium"]["end_date"] == "2026-12-12"
    with pytest.raises(ValueError, match="only to a mental health crisis"):
        register.register(reference="BS3", debtor=DEBTOR, debts=[ct("1")], registered_on=D(2026, 11, 4),
                          treatment_end=D(2026, 11, 12))


@pytest.mark.parametrize(("registered", "notified"), [
    (D(2026, 11, 6), D(2026, 11, 9)),    # Friday -> Monday
    (D(2026, 11, 7), D(2026, 11, 9)),    # Saturday -> Monday
    (D(2026, 11, 8), D(2026, 11, 9)),    # Sunday -> Monday
    (D(2026, 11, 10), D(2026, 11, 11)),  # Tuesday -> Wednesday
])
def test_notified_by_the_end_of_the_next_business_day(registered, notified):
    assert next_business_day(registered) == notified
    r = FakeRegister(KEY)  # the Python API works without the server running
    n = r.register(reference="BS4", debtor=DEBTOR, debts=[ct("1")], registered_on=registered)
    at = datetime.strptime(n["notified_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert at.date() == notified
    assert at.hour < 18


def test_python_api_refuses_what_the_register_refuses(register):
    register.register(reference="BS5", debtor=DEBTOR, debts=[ct("1")], registered_on=D(2026, 11, 2))
    with pytest.raises(ValueError, match="already on the register"):
        register.register(reference="BS5", debtor=DEBTOR, debts=[ct("1")], registered_on=D(2026, 11, 2))
    with pytest.raises(ValueError, match="not on the register"):
        register.add_debt("BS404", [ct("2")], on=D(2026, 11, 3))
    with pytest.raises(ValueError, match="not on the register"):
        register.cancel("BS404", on=D(2026, 11, 3), reason="x")
    with pytest.raises(ValueError, match="not on the register"):
        register.end("BS404", on=D(2026, 11, 3))
    with pytest.raises(ValueError, match="already lists"):
        register.add_debt("BS5", [ct("1")], on=D(2026, 11, 3))
    with pytest.raises(ValueError, match="at least one debt"):
        register.add_debt("BS5", [], on=D(2026, 11, 3))
    with pytest.raises(ValueError, match="whole pence"):
        register.add_debt("BS5", [ct("2", pence=12.5)], on=D(2026, 11, 3))
    with pytest.raises(ValueError, match="registered on"):
        register.cancel("BS5", on=D(2026, 11, 1), reason="x")
    with pytest.raises(ValueError, match="type must be"):
        register.register(reference="BS6", debtor=DEBTOR, debts=[ct("1")], registered_on=D(2026, 11, 2), type="x")
    with pytest.raises(ValueError, match="forenames"):
        register.register(reference="BS6", debtor={"surname": "X"}, debts=[ct("1")], registered_on=D(2026, 11, 2))
    register.cancel("BS5", on=D(2026, 11, 20), reason="Midway review")
    for act in (lambda: register.add_debt("BS5", [ct("2")], on=D(2026, 11, 21)),
                lambda: register.cancel("BS5", on=D(2026, 11, 21), reason="again"),
                lambda: register.end("BS5", on=D(2026, 11, 21))):
        with pytest.raises(ValueError, match="was cancelled on 2026-11-20"):
            act()
    with pytest.raises(ValueError, match="no treatment end date"):
        register.register(reference="BS7", debtor=DEBTOR, debts=[ct("1")], registered_on=D(2026, 11, 2),
                          type="mental_health_crisis")
        register.end("BS7")
    assert [n["event"] for n in register.notifications] == ["moratorium_started", "moratorium_cancelled",
                                                            "moratorium_started"]


def test_publish_raw_keeps_odd_and_contradictory_notices(register, client):
    good = register.register(reference="BS8", debtor=DEBTOR, debts=[ct("1")], registered_on=D(2026, 11, 2))
    contradiction = json.loads(json.dumps(good))
    del contradiction["id"], contradiction["sequence"]
    contradiction["moratorium"]["end_date"] = "2026-12-01"  # the same reference, another end date
    odd = register.publish_raw(contradiction)
    assert odd["sequence"] == 2 and odd["id"] == "BSN-000002"
    repeat = register.publish_raw(good)  # a notice delivered twice
    assert repeat["id"] == good["id"]
    after = register.register(reference="BS9", debtor=DEBTOR, debts=[ct("2")], registered_on=D(2026, 11, 2))
    assert after["sequence"] == 3
    got = [n for n, _ in client.notifications()]
    assert [n["id"] for n in got] == ["BSN-000001", "BSN-000002", "BSN-000001", "BSN-000003"]
    assert client.moratorium("BS8")["end_date"] == "2027-01-01"  # the register's state is untouched


# ---------------------------------------------------------------------------------------------- paging


def publish(register: FakeRegister, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        register.register(reference=f"BS{i:06d}", debtor=DEBTOR, debts=[ct(f"3{i:07d}")],
                          registered_on=D(2026, 9, 1) + timedelta(days=i % 60))


def test_paging_delivers_every_notification_once_in_order_and_resumes(register, client):
    publish(register, 250)
    seen = list(client.notifications(page_size=100))
    assert [n["sequence"] for n, _ in seen] == list(range(1, 251))
    assert len({n["id"] for n, _ in seen}) == 250
    cursors = [c for _, c in seen]
    # the cursor moves only with the last notice of a page, so saving it after any notice is safe
    assert cursors[:99] == [None] * 99 and len(set(cursors[99:199])) == 1 and cursors[99] != cursors[199]
    end_cursor = cursors[-1]

    # resume after the first page: the remaining 150, none twice
    rest = [n["sequence"] for n, _ in client.notifications(after=cursors[99], page_size=100)]
    assert rest == list(range(101, 251))
    # a run that stopped after notice 150 and saved that notice's cursor misses nothing
    again = [n["sequence"] for n, _ in client.notifications(after=cursors[149], page_size=100)]
    assert again[0] <= 151 and again == list(range(again[0], 251))

    # caught up: nothing new; then only what is published later
    assert list(client.notifications(after=end_cursor)) == []
    publish(register, 3, start=250)
    later = list(client.notifications(after=end_cursor, page_size=2))
    assert [n["sequence"] for n, _ in later] == [251, 252, 253]
    assert list(client.notifications(after=later[-1][1])) == []


def test_wire_page_shape_and_limits(register):
    publish(register, 5)
    status, page = raw_get(f"{register.url}/v1/notifications?limit=2")
    assert status == 200 and [n["sequence"] for n in page["notifications"]] == [1, 2]
    assert page["next"] == page["cursor"] and isinstance(page["next"], str)
    status, page = raw_get(f"{register.url}/v1/notifications?after={page['next']}&limit=500")
    assert status == 200 and [n["sequence"] for n in page["notifications"]] == [3, 4, 5]
    assert page["next"] is None and isinstance(page["cursor"], str)
    status, page = raw_get(f"{register.url}/v1/notifications")  # default limit 100: everything, no next
    assert status == 200 and len(page["notifications"]) == 5 and page["next"] is None
    for query in ("limit=0", "limit=501", "limit=ten", "limit=-1"):
        status, body = raw_get(f"{register.url}/v1/notifications?{query}")
        assert status == 400 and "limit" in body["error"], query


def test_bad_cursor_is_refused(register, client):
    publish(register, 3)
    for cursor in ("abc", "", "-1", "4", "99999999999999999", "1.5"):
        status, body = raw_get(f"{register.url}/v1/notifications?after={cursor}")
        assert status == 400 and "cursor" in body["error"], cursor
    with pytest.raises(RegisterUnavailable, match="cursor") as caught:
        list(client.notifications(after="nonsense"))
    assert caught.value.status == 400


def test_reading_while_the_register_publishes_sees_each_notice_once(register, client):
    done = threading.Event()

    def writer():
        publish(register, 300)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[int] = []
    cursor = None
    while True:
        finished = done.is_set()
        for n, c in client.notifications(after=cursor, page_size=7):
            seen.append(n["sequence"])
            cursor = c
        if finished:
            break
    thread.join()
    assert seen == list(range(1, 301))


# ---------------------------------------------------------------------------------------------- failures


def test_wrong_or_missing_api_key_is_401(register):
    publish(register, 1)
    for key in (None, "wrong", KEY + "x"):
        status, body = raw_get(f"{register.url}/v1/notifications", key=key)
        assert status == 401 and body["error"]
    status, _ = raw_get(f"{register.url}/v1/moratoria/BS000000", key="wrong")
    assert status == 401
    refused = r"refused our API key \(401\)\. Check FAIRDEBT_BREATHING_SPACE_KEY"
    with pytest.raises(RegisterUnavailable, match=refused) as caught:
        list(RegisterClient(register.url, "wrong").notifications())
    assert caught.value.status == 401
    assert "wrong" not in str(caught.value)  # the key never appears in a message


def test_client_says_what_to_do_when_the_register_is_unwell(register, client):
    publish(register, 2)
    register.fail_next(503)
    with pytest.raises(RegisterUnavailable, match=r"HTTP 503.*try again") as caught:
        list(client.notifications())
    assert caught.value.status == 503
    register.fail_next(200, b"<html><body>Service login</body></html>")
    with pytest.raises(RegisterUnavailable, match="not JSON.*FAIRDEBT_BREATHING_SPACE_URL"):
        list(client.notifications())
    register.fail_next(200, b'{"items": []}')
    with pytest.raises(RegisterUnavailable, match="cannot use"):
        list(client.notifications())
    register.fail_next(500)
    with pytest.raises(RegisterUnavailable, match="HTTP 500"):
        client.moratorium("BS000000")
    # a failure on the second page: the first page's notices came, the cursor to save is still the old one
    got = []
    it = client.notifications(page_size=1)
    got.append(next(it))
    register.fail_next(502)
    with pytest.raises(RegisterUnavailable):
        next(it)
    assert [n["sequence"] for n, _ in got] == [1]
    # and it recovers
    assert [n["sequence"] for n, _ in client.notifications(after=got[0][1])] == [2]


def test_client_when_nothing_is_listening():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = RegisterClient(f"http://127.0.0.1:{port}", KEY, timeout=2)
    unreachable = "Could not reach the Breathing Space register.*FAIRDEBT_BREATHING_SPACE_URL"
    with pytest.raises(RegisterUnavailable, match=unreachable) as caught:
        list(client.notifications())
    assert caught.value.status is None


def test_client_when_the_register_does_not_answer():
    with socket.socket() as s:  # accepts connections (the backlog) but never replies
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        client = RegisterClient(f"http://127.0.0.1:{s.getsockname()[1]}", KEY, timeout=0.3)
        with pytest.raises(RegisterUnavailable, match="did not answer within 0.3 seconds"):
            client.moratorium("BS1")


def test_page_size_is_checked_before_asking():
    with pytest.raises(ValueError):
        list(RegisterClient("http://127.0.0.1:9", KEY).notifications(page_size=501))


# ---------------------------------------------------------------------------------------------- scenarios


@pytest.fixture(scope="module")
def council(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("council")
    generate(300, 3, out, TODAY)
    return out


def extract_rows(directory: Path, feed: str) -> list[tuple[object, dict]]:
    """(source, canonical row) for every row of every extract of one feed, read straight from the files."""
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    out = []
    for entry in manifest["files"]:
        source = config.get(entry["source"])
        if source.feed != feed:
            continue
        path = directory / entry["path"]
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh)) if source.format == "csv" else [json.loads(line) for line in fh]
        inverse = {col: name for name, col in source.columns.items()}
        for row in rows:
            rec = {inverse[c]: v for c, v in row.items()}
            for name, codes in source.codes.items():
                if rec.get(name) in codes:
                    rec[name] = codes[rec[name]]
            out.append((source, rec))
    return out


def test_scenarios_are_deterministic_for_a_seed(council):
    a = scenarios_from_council(council, 1, TODAY)
    assert a == scenarios_from_council(council, 1, TODAY)
    assert a != scenarios_from_council(council, 2, TODAY)
    json.dumps(a)  # plain data: can be written out and loaded again
    with FakeRegister(KEY) as r1, FakeRegister(KEY) as r2:
        r1.load(a)
        r2.load(json.loads(json.dumps(a)))
        assert r1.notifications == r2.notifications


def test_scenarios_make_a_realistic_feed_from_real_references(council):
    ops = scenarios_from_council(council, 1, TODAY)
    registrations = [op for op in ops if op["op"] == "register"]
    kinds = Counter(op["scenario"] for op in registrations)
    assert kinds == {"standard": 6, "debt_added": 1, "cancelled": 1, "mental_health_crisis": 2,
                     "mental_health_crisis_ended": 1, "unknown_person": 1, "contradictory": 2}
    assert Counter(op["op"] for op in ops) == {"register": 14, "add_debt": 1, "cancel": 1, "end": 1}
    standard = [op for op in registrations
                if op["type"] == "standard" and op["scenario"] not in ("contradictory", "unknown_person")]
    assert len(standard) == 8

    accounts = extract_rows(council, "accounts")
    types = {r["account_ref"]: (r.get("account_type") or s.account_type) for s, r in accounts}
    parties = {(s.system, r["party_ref"]) for s, r in accounts}
    names = {f"{r['forename']} {r['surname']}".lower() for _, r in accounts if r.get("forename")}
    all_refs = set(types) | {r["debt_ref"] for _, r in extract_rows(council, "debts")}

    listed_by_reference: dict[str, list[dict]] = {}
    for op in ops:
        if op["op"] in ("register", "add_debt"):
            listed_by_reference.setdefault(op["reference"], []).extend(op["debts"])
    for op in registrations:
        debts = listed_by_reference[op["reference"]]
        if op["scenario"] == "unknown_person":
            assert op["truth"]["resident_id"] is None
            assert all(d["creditor_reference"] not in all_refs for d in debts)
            assert f"{op['debtor']['forenames']} {op['debtor']['surname']}".lower() not in names
            continue
        assert 1 <= len(debts) <= 3
        for d in debts:
            assert d["creditor_reference"] in types, d  # a real account reference from the extracts
            assert d["debt_type"] == types[d["creditor_reference"]]
            assert d["amount_pence"] is None or d["amount_pence"] > 0
        assert op["truth"]["resident_id"] and {tuple(p) for p in op["truth"]["party_refs"]} <= parties
        registered = D.fromisoformat(op["registered_on"])
        assert TODAY - timedelta(days=50) <= registered <= TODAY

    mhcm = [op for op in registrations if op["type"] == "mental_health_crisis"]
    assert len(mhcm) == 3

    pair = [op for op in registrations if op["scenario"] == "contradictory"]
    assert pair[0]["reference"] != pair[1]["reference"]
    assert pair[0]["debtor"] == pair[1]["debtor"] and pair[0]["truth"] == pair[1]["truth"]
    first, second = sorted(D.fromisoformat(op["registered_on"]) for op in pair)
    assert second <= first + timedelta(days=60)  # overlapping

    with FakeRegister(KEY, clock=lambda: TODAY) as register:
        register.load(ops)
        feed = [n for n, _ in RegisterClient(register.url, KEY).notifications(page_size=5)]
    assert Counter(n["event"] for n in feed) == {"moratorium_started": 14, "debt_added": 1,
                                                 "moratorium_cancelled": 1, "moratorium_ended": 1}
    assert all(D.fromisoformat(n["notified_at"][:10]) <= TODAY for n in feed)
    assert [n["notified_at"] for n in feed] == sorted(n["notified_at"] for n in feed)
    for n in feed:
        if n["event"] == "moratorium_started" and n["moratorium"]["type"] == "mental_health_crisis":
            assert n["moratorium"]["end_date"] is None
    cancelled = next(n for n in feed if n["event"] == "moratorium_cancelled")
    start = D.fromisoformat(cancelled["moratorium"]["start_date"])
    assert 25 <= (D.fromisoformat(cancelled["ended"]["date"]) - start).days <= 34  # days 26-35: the midway review


# ---------------------------------------------------------------------------------------------- command line


def test_command_line_serves_a_council_until_interrupted(council, tmp_path):
    dump = tmp_path / "ops.json"
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fairdebt.fakes.breathing_space", "--port", "0", "--api-key", "K",
         "--council", str(council), "--seed", "1", "--today", TODAY.isoformat(), "--dump", str(dump), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split(" at ", 1)[1].split()[0]
        feed = list(RegisterClient(url, "K").notifications())
        assert len(feed) == 17
        assert len(json.loads(dump.read_text(encoding="utf-8"))) == 17
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
