"""A local stand-in for the Insolvency Service's Breathing Space register, as a council sees it.

Whether councils can get an API feed from the register is unconfirmed (DOMAIN.md s.1), so this
fake fixes the wire contract fairdebt's importer is written against, and lets the importer, the
demo and the tests run with no network beyond 127.0.0.1. The client is `fairdebt.holds.register`.

Wire contract (every request needs `Authorization: Bearer <api key>`, otherwise 401):

    GET /v1/notifications?after=<cursor>&limit=<n>
        after: optional, an opaque cursor from an earlier page; leave it out to start at the beginning
        limit: 1..500, default 100; a bad cursor or limit is 400
        200 {"notifications": [...], "next": "<cursor>" | null, "cursor": "<cursor>"}
            notifications come in publication order, each exactly once across pages;
            next:   pass as `after` for the following page; null when there are no more;
            cursor: where this page ends. Always present, so a reader that has caught up can
                    resume from here on its next run (with `next` null there is nothing else to
                    resume from).
    GET /v1/moratoria/<reference>
        200 {"reference", "type", "status": "active" | "cancelled" | "ended", "registered_on",
             "start_date", "end_date", "debts": [...], "ended": {"date", "reason"} | null}, or 404

Errors are JSON `{"error": "..."}`. A notification:

    {"id": "BSN-000001", "sequence": 1,
     "event": "moratorium_started" | "debt_added" | "moratorium_cancelled" | "moratorium_ended",
     "notified_at": "2026-11-02T09:00:00Z",
     "moratorium": {"reference", "type": "standard" | "mental_health_crisis",
                    "registered_on", "start_date", "end_date" (null for a mental health crisis one)},
     "debtor": {"forenames", "surname", "date_of_birth" | null, "nino" | null,
                "address": {"lines": [...], "postcode"}, "previous_surnames": [...]},
     "debts": [{"creditor_reference", "debt_type", "amount_pence" | null, "added_on"}],
     "adviser": {"name", "organisation", "fca_reference", "email", "phone"},
     "ended": {"date", "reason"} | null}

`debts` lists every debt of the moratorium, except on `debt_added`, where it lists only the
debts just added. On `moratorium_cancelled` / `moratorium_ended` the moratorium's `end_date` is
the date it actually ended (the same as `ended.date`).

Rules the fake keeps, as the register does (SI 2020/1311, DOMAIN.md s.1): a moratorium starts the
day after it is registered; a standard one's last protected day is start + 59 (60 days counting
the start day as day 1); a mental health crisis moratorium has no end date until the register
ends it (crisis treatment end + 30 days); creditors are notified by the end of the next business
day (weekends skipped; bank holidays are not modelled). The fake does not refuse a standard
moratorium because the same person had one in the last 12 months: it does not know who is who,
which is what lets a scenario register one person twice.

Run it:  python -m fairdebt.fakes.breathing_space --port 8765 --api-key K --council DIR --seed 1
"""

from __future__ import annotations

import argparse
import copy
import csv
import difflib
import hmac
import json
import random
import re
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "DEFAULT_LIMIT",
    "EVENTS",
    "MAX_LIMIT",
    "TYPES",
    "FakeRegister",
    "main",
    "next_business_day",
    "scenarios_from_council",
    "standard_end",
]

EVENTS = ("moratorium_started", "debt_added", "moratorium_cancelled", "moratorium_ended")
TYPES = ("standard", "mental_health_crisis")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
STANDARD_LAST_DAY = 59  # start + 59 is the 60th day, counting the start day as day 1
MHCM_AFTER_TREATMENT = 30  # a crisis moratorium ends 30 days after crisis treatment ends

_CURSOR = re.compile(r"^\d{1,12}$")
_NINO = re.compile(r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")


# ---------------------------------------------------------------------------------------------- dates


def next_business_day(d: date) -> date:
    """The next Monday-to-Friday after `d` (bank holidays are not modelled)."""
    d += timedelta(days=1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def standard_end(start: date) -> date:
    return start + timedelta(days=STANDARD_LAST_DAY)


def _as_date(value: date | str, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{what} must be a date or an ISO date string, not {value!r}")


def _optional_date(value: date | str | None, what: str) -> str | None:
    return None if value in (None, "") else _as_date(value, what).isoformat()  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- state


@dataclass
class _Moratorium:
    reference: str
    type: str
    registered_on: date
    start_date: date
    end_date: date | None
    debtor: dict
    adviser: dict
    debts: list[dict] = field(default_factory=list)
    status: str = "active"  # active | cancelled | ended (by an event; expiry is worked out on reading)
    ended: dict | None = None
    treatment_end: date | None = None

    def summary(self) -> dict:
        return {
            "reference": self.reference,
            "type": self.type,
            "registered_on": self.registered_on.isoformat(),
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat() if self.end_date else None,
        }

    def finished(self, today: date | None = None) -> bool:
        if self.status != "active":
            return True
        return today is not None and self.end_date is not None and self.end_date < today

    def state(self, today: date) -> dict:
        # A standard moratorium simply runs out: no event is published, the register just shows it ended.
        status = "ended" if self.status == "active" and self.finished(today) else self.status
        return self.summary() | {"status": status, "debts": copy.deepcopy(self.debts),
                                 "ended": copy.deepcopy(self.ended)}


def _debtor(raw: Mapping[str, Any]) -> dict:
    """The debtor in the contract's shape; refuses what the register would never send."""
    forenames, surname = raw.get("forenames"), raw.get("surname")
    if not (isinstance(forenames, str) and forenames.strip() and isinstance(surname, str) and surname.strip()):
        raise ValueError("a debtor needs forenames and a surname")
    address = raw.get("address") or {}
    lines = [str(x) for x in address.get("lines", []) if str(x).strip()]
    if not lines:
        raise ValueError("a debtor needs an address with at least one line")
    nino = raw.get("nino")
    return {
        "forenames": forenames.strip(),
        "surname": surname.strip(),
        "date_of_birth": _optional_date(raw.get("date_of_birth"), "date_of_birth"),
        "nino": nino.replace(" ", "").upper() if isinstance(nino, str) and nino.strip() else None,
        "address": {"lines": lines, "postcode": str(address.get("postcode") or "").strip().upper()},
        "previous_surnames": [str(s) for s in raw.get("previous_surnames", [])],
    }


def _debts(raw: Iterable[Mapping[str, Any]], added_on: date) -> list[dict]:
    out = []
    for d in raw:
        ref, kind, amount = d.get("creditor_reference"), d.get("debt_type"), d.get("amount_pence")
        if not (isinstance(ref, str) and ref.strip()):
            raise ValueError(f"a debt needs a creditor_reference: {dict(d)!r}")
        if not (isinstance(kind, str) and kind.strip()):
            raise ValueError(f"a debt needs a debt_type: {dict(d)!r}")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
            raise ValueError(f"amount_pence must be whole pence or None, not {amount!r}")
        out.append({"creditor_reference": ref.strip(), "debt_type": kind.strip(), "amount_pence": amount,
                    "added_on": _optional_date(d.get("added_on"), "added_on") or added_on.isoformat()})
    if not out:
        raise ValueError("a moratorium notice lists at least one debt")
    return out


DEFAULT_ADVISER = {
    "name": "Sam Adeyemi",
    "organisation": "Northfield Money Advice",
    "fca_reference": "612345",
    "email": "breathingspace@northfield-advice.example",
    "phone": "020 7946 0123",
}


# ---------------------------------------------------------------------------------------------- the register


class FakeRegister:
    """The register: Python API to publish notices, and an HTTP server that serves them.

    Thread-safe: the HTTP server answers on its own threads while a test or the demo publishes.
    `clock` gives "today" for the one thing that depends on it: a standard moratorium past its
    end date reads as ended on GET /v1/moratoria (the register publishes no event for expiry).
    """

    def __init__(self, api_key: str = "test-key", port: int = 0, *, clock: Callable[[], date] = date.today,
                 log_requests: bool = False) -> None:
        self.api_key = api_key
        self.port = port
        self.clock = clock
        self.log_requests = log_requests
        self.url = ""
        self._lock = threading.RLock()
        self._notifications: list[dict] = []
        self._moratoria: dict[str, _Moratorium] = {}
        self._next_sequence = 1
        self._per_day: dict[date, int] = defaultdict(int)
        self._failures: list[tuple[int, bytes | None]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------------------- lifecycle
    def start(self) -> FakeRegister:
        if self._server is not None:
            raise RuntimeError("the fake register is already running")
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.register = self
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        # a short poll interval so stop() (shutdown waits for the next poll) is quick in tests
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-breathing-space", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeRegister:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------------------- publishing
    @property
    def notifications(self) -> list[dict]:
        """Every notification published so far, in order (a copy)."""
        with self._lock:
            return copy.deepcopy(self._notifications)

    def register(self, *, reference: str, debtor: dict, debts: list[dict], registered_on: date,
                 type: str = "standard", adviser: dict | None = None,  # noqa: A002 - the contract's name
                 treatment_end: date | None = None) -> dict:
        """Put a moratorium on the register and publish `moratorium_started`.

        `treatment_end` (mental health crisis only) records when crisis treatment ended, if the
        register already knows; the start notice still has no end date, and `end(reference)`
        then ends it on treatment end + 30 days.
        """
        registered_on = _as_date(registered_on, "registered_on")
        if type not in TYPES:
            raise ValueError(f"type must be one of {', '.join(TYPES)}, not {type!r}")
        if treatment_end is not None:
            if type != "mental_health_crisis":
                raise ValueError("treatment_end applies only to a mental health crisis moratorium")
            treatment_end = _as_date(treatment_end, "treatment_end")
            if treatment_end < registered_on:
                raise ValueError("treatment_end is before the moratorium was registered")
        if not (isinstance(reference, str) and reference.strip()):
            raise ValueError("a moratorium needs a reference")
        start = registered_on + timedelta(days=1)
        m = _Moratorium(
            reference=reference.strip(), type=type, registered_on=registered_on, start_date=start,
            end_date=standard_end(start) if type == "standard" else None,
            debtor=_debtor(debtor), adviser=dict(adviser or DEFAULT_ADVISER),
            debts=_debts(debts, registered_on), treatment_end=treatment_end,
        )
        with self._lock:
            if m.reference in self._moratoria:
                raise ValueError(f"moratorium {m.reference} is already on the register")
            self._moratoria[m.reference] = m
            return self._publish("moratorium_started", m, m.debts, registered_on)

    def add_debt(self, reference: str, debts: list[dict], on: date) -> dict:
        """Add debts to a live moratorium and publish `debt_added` (listing only the new debts)."""
        on = _as_date(on, "on")
        with self._lock:
            m = self._live(reference, on, "add a debt to")
            new = _debts(debts, on)
            held = {d["creditor_reference"] for d in m.debts}
            again = [d["creditor_reference"] for d in new if d["creditor_reference"] in held]
            if again:
                raise ValueError(f"moratorium {reference} already lists {', '.join(again)}")
            m.debts.extend(new)
            return self._publish("debt_added", m, new, on)

    def cancel(self, reference: str, on: date, reason: str) -> dict:
        """Cancel a live moratorium (e.g. at the midway review) and publish `moratorium_cancelled`."""
        on = _as_date(on, "on")
        with self._lock:
            m = self._live(reference, on, "cancel")
            return self._finish(m, "cancelled", on, reason)

    def end(self, reference: str, on: date | None = None,
            reason: str = "Mental health crisis treatment ended") -> dict:
        """End a live moratorium and publish `moratorium_ended` with `ended.date = on`.

        For a mental health crisis moratorium registered with `treatment_end`, `on` defaults to
        treatment end + 30 days (working that out is the register's business, not the creditor's).
        """
        with self._lock:
            m = self._moratoria.get(reference)
            if m is None:
                raise ValueError(f"cannot end moratorium {reference}: it is not on the register")
            if on is None:
                if m.treatment_end is None:
                    raise ValueError(f"say when moratorium {reference} ended: "
                                     "the register has no treatment end date for it")
                on = m.treatment_end + timedelta(days=MHCM_AFTER_TREATMENT)
            on = _as_date(on, "on")
            m = self._live(reference, on, "end")
            return self._finish(m, "ended", on, reason)

    def publish_raw(self, notification: dict) -> dict:
        """Publish a notice exactly as given (for odd or contradictory notices in tests).

        Only `id` and `sequence` are filled in if missing; the register's own moratorium state is
        left alone, so the notice may contradict it (or repeat an earlier id).
        """
        n = copy.deepcopy(dict(notification))
        with self._lock:
            seq = n.get("sequence")
            if seq is None:
                seq = n["sequence"] = self._next_sequence
            if isinstance(seq, int) and not isinstance(seq, bool):
                self._next_sequence = max(self._next_sequence, seq + 1)
            n.setdefault("id", f"BSN-{seq:06d}" if isinstance(seq, int) else f"BSN-RAW-{len(self._notifications) + 1}")
            self._notifications.append(n)
            return copy.deepcopy(n)

    def load(self, scenarios: Iterable[Mapping[str, Any]]) -> list[dict]:
        """Apply scenario operations in the order given (see `scenarios_from_council`); returns the notices."""
        out = []
        for op in scenarios:
            kind = op.get("op")
            if kind == "register":
                out.append(self.register(
                    reference=op["reference"], debtor=op["debtor"], debts=op["debts"],
                    registered_on=_as_date(op["registered_on"], "registered_on"), type=op.get("type", "standard"),
                    adviser=op.get("adviser"),
                    treatment_end=_as_date(op["treatment_end"], "treatment_end") if op.get("treatment_end") else None,
                ))
            elif kind == "add_debt":
                out.append(self.add_debt(op["reference"], op["debts"], _as_date(op["on"], "on")))
            elif kind == "cancel":
                out.append(self.cancel(op["reference"], _as_date(op["on"], "on"), op["reason"]))
            elif kind == "end":
                on = _as_date(op["on"], "on") if op.get("on") else None
                out.append(self.end(op["reference"], on, op.get("reason", "Mental health crisis treatment ended")))
            elif kind == "raw":
                out.append(self.publish_raw(op["notification"]))
            else:
                raise ValueError(f"unknown scenario op {kind!r}: expected register, add_debt, cancel, end or raw")
        return out

    def fail_next(self, status: int = 503, body: bytes | None = None, times: int = 1) -> None:
        """Answer the next `times` authorised requests with `status` (and `body`, raw, if given).

        For testing the client against an unwell register: 5xx, or a 200 that is not JSON.
        """
        with self._lock:
            self._failures.extend([(status, body)] * times)

    # -------------------------------------------------------------------------- internals
    def _live(self, reference: str, on: date, verb: str) -> _Moratorium:
        m = self._moratoria.get(reference)
        if m is None:
            raise ValueError(f"cannot {verb} moratorium {reference}: it is not on the register")
        if m.status != "active":
            when = m.ended["date"] if m.ended else "?"
            raise ValueError(f"cannot {verb} moratorium {reference}: it was {m.status} on {when}")
        if m.end_date is not None and on > m.end_date:
            raise ValueError(f"cannot {verb} moratorium {reference} on {on}: it ran out on {m.end_date}")
        if on < m.registered_on:
            raise ValueError(f"cannot {verb} moratorium {reference} on {on}: it was registered on {m.registered_on}")
        return m

    def _finish(self, m: _Moratorium, status: str, on: date, reason: str) -> dict:
        m.status = status
        m.ended = {"date": on.isoformat(), "reason": reason}
        m.end_date = on
        return self._publish(f"moratorium_{status}", m, m.debts, on)

    def _publish(self, event: str, m: _Moratorium, debts: list[dict], entered_on: date) -> dict:
        # The register notifies by the end of the next business day; notices entered the same day
        # go out a little apart, so publication order and notified_at agree.
        day = next_business_day(entered_on)
        nth = self._per_day[day]
        self._per_day[day] += 1
        seconds = min(9 * 3600 + 37 * nth, 17 * 3600 + 59 * 60)
        at = datetime(day.year, day.month, day.day) + timedelta(seconds=seconds)
        seq = self._next_sequence
        self._next_sequence += 1
        n = {
            "id": f"BSN-{seq:06d}",
            "sequence": seq,
            "event": event,
            "notified_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "moratorium": m.summary(),
            "debtor": copy.deepcopy(m.debtor),
            "debts": copy.deepcopy(debts),
            "adviser": copy.deepcopy(m.adviser),
            "ended": copy.deepcopy(m.ended) if event in ("moratorium_cancelled", "moratorium_ended") else None,
        }
        self._notifications.append(n)
        return copy.deepcopy(n)

    def _page(self, after: int, limit: int) -> dict:
        with self._lock:
            page = copy.deepcopy(self._notifications[after:after + limit])
            end = after + len(page)
            more = end < len(self._notifications)
        # The cursor is the count of notices read: opaque to the client, and for a normal feed the
        # same as the last sequence number.
        return {"notifications": page, "next": str(end) if more else None, "cursor": str(end)}

    def _cursor_ok(self, after: int) -> bool:
        with self._lock:
            return after <= len(self._notifications)

    def _state(self, reference: str) -> dict | None:
        with self._lock:
            m = self._moratoria.get(reference)
            return None if m is None else m.state(self.clock())

    def _take_failure(self) -> tuple[int, bytes | None] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None


# ---------------------------------------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    register: FakeRegister


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeBreathingSpace/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.register.log_requests:
            super().log_message(format, *args)

    def _send(self, status: int, payload: dict | None = None, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="breathing-space"')
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {self.server.register.api_key}"
        return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        register = self.server.register
        if not self._authorised():
            self._send(401, {"error": "missing or wrong API key: send 'Authorization: Bearer <api key>'"})
            return
        failure = register._take_failure()
        if failure is not None:
            status, body = failure
            self._send(status, {"error": "the register is temporarily unavailable"}, raw=body)
            return
        url = urlsplit(self.path)
        if url.path == "/v1/notifications":
            self._notifications(parse_qs(url.query, keep_blank_values=True))
        elif url.path.startswith("/v1/moratoria/") and url.path.count("/") == 3:
            reference = unquote(url.path.rsplit("/", 1)[1])
            state = register._state(reference)
            if state is None:
                self._send(404, {"error": f"no moratorium {reference} on the register for this creditor"})
            else:
                self._send(200, state)
        else:
            self._send(404, {"error": f"no such endpoint: {url.path}"})

    def _notifications(self, query: dict[str, list[str]]) -> None:
        register = self.server.register
        limit_text = query.get("limit", [str(DEFAULT_LIMIT)])[0]
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
            self._send(400, {"error": f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit_text!r}"})
            return
        after_text = query.get("after", [None])[0]
        after = 0
        if after_text is not None:
            if not _CURSOR.match(after_text) or not register._cursor_ok(int(after_text)):
                self._send(400, {"error": f"unknown cursor {after_text!r}: pass a cursor from an earlier page, "
                                          "or leave 'after' out to start from the beginning"})
                return
            after = int(after_text)
        self._send(200, register._page(after, int(limit_text)))

    def _not_allowed(self) -> None:
        self._send(405, {"error": "the register's API is read-only: use GET"})

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed  # noqa: N815


# ---------------------------------------------------------------------------------------------- scenarios
#
# A scenario list is plain JSON-able data: a list of operations, applied in order by
# FakeRegister.load(). Each is one of
#   {"op": "register", "reference", "type", "registered_on", "debtor", "debts", "adviser",
#    "treatment_end" (or null), "scenario", "truth"}
#   {"op": "add_debt", "reference", "on", "debts", "scenario"}
#   {"op": "cancel",   "reference", "on", "reason", "scenario"}
#   {"op": "end",      "reference", "on", "reason", "scenario"}
#   {"op": "raw",      "notification"}                      (publish_raw; not made by the builder)
# with dates as ISO strings. `scenario` names what the moratorium is there to exercise (standard,
# debt_added, cancelled, mental_health_crisis, mental_health_crisis_ended, unknown_person,
# contradictory); `truth` says who the debtor really is in the synthetic council
# ({"resident_id": ... or null, "party_refs": [[system, party_ref], ...]}), for checking a matcher.
# FakeRegister.load ignores both.

_REASONS_CANCELLED = (
    "Midway review: the debtor has not paid their ongoing liabilities",
    "Midway review: a debt solution is now in place",
    "Midway review: the debtor could not be contacted",
)
_ADVISERS = (
    DEFAULT_ADVISER,
    {"name": "Priya Shah", "organisation": "Eastbank Debt Advice Service", "fca_reference": "618204",
     "email": "referrals@eastbank-debt.example", "phone": "020 7946 0457"},
    {"name": "Tom Okafor", "organisation": "Leaside Citizens Advice", "fca_reference": "617330",
     "email": "moneyadvice@leaside-ca.example", "phone": "020 7946 0782"},
    {"name": "Megan Price", "organisation": "StepClear Debt Help", "fca_reference": "623911",
     "email": "breathing.space@stepclear.example", "phone": "0113 496 0215"},
)
_MIN_ARREARS = 2000  # pence: an account with less is not worth an adviser's listing
_LAST_ENTRY = 3  # days before today: a notice entered then is notified by today at the latest


@dataclass
class _Record:
    system: str
    party_ref: str
    account_ref: str
    account_type: str
    forename: str
    surname: str
    date_of_birth: str | None
    nino: str | None
    lines: list[str]
    postcode: str
    liable_from: date | None
    deceased: bool


@dataclass
class _Person:
    key: str
    resident_id: str | None
    records: list[_Record] = field(default_factory=list)
    arrears: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # (system, account) -> (type, pence)


def _canonical(source: Any, row: Mapping[str, Any]) -> dict[str, Any]:
    """One extract row with canonical field names and decoded codes."""
    out = {}
    for name, column in source.columns.items():
        value = row.get(column)
        if value is not None and not isinstance(value, str):
            value = value if isinstance(value, date) else str(value)
        codes = source.codes.get(name)
        if codes and isinstance(value, str) and value in codes:
            value = codes[value]
        out[name] = None if value == "" else value
    return out


def _date(value: Any, fmt: str) -> date | None:
    if isinstance(value, date):
        return value
    if not value:
        return None
    try:
        return datetime.strptime(str(value), fmt).date()
    except ValueError:
        return None


def _pence(value: Any, unit: str) -> int | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    amount = amount if unit == "pence" else amount * 100
    return int(amount) if amount == amount.to_integral_value() else None


def _tidy(text: str) -> str:
    """An adviser writes names and addresses in ordinary case, whatever the council's system does."""
    return text.title() if text.isupper() else text


def _read_rows(directory: Path) -> dict[str, tuple[Any, list[dict]]]:
    """Every extract in the manifest as canonical rows, without the rows bad_rows.csv marks as bad."""
    from fairdebt.ingest import config
    from fairdebt.ingest.reader import LINE, read

    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    bad: set[tuple[str, int]] = set()
    if (directory / "bad_rows.csv").exists():
        with (directory / "bad_rows.csv").open(newline="", encoding="utf-8") as fh:
            bad = {(r["source"], int(r["line"])) for r in csv.DictReader(fh)}
    out = {}
    for entry in manifest["files"]:
        source = config.get(entry["source"])
        rows = [r for r in read(source, directory / entry["path"]).to_dicts()
                if not r.get("_unparseable") and (source.name, r[LINE]) not in bad]
        out[source.name] = (source, [_canonical(source, r) for r in rows])
    return out


def _people(directory: Path, today: date) -> tuple[list[_Person], dict[str, set[str]]]:
    """People with arrears (real residents by truth.csv where there is one), and the council's known
    references, names and NINOs, so an unknown person can be made not to match any of them."""
    extracts = _read_rows(directory)
    truth: dict[tuple[str, str], str] = {}
    if (directory / "truth.csv").exists():
        with (directory / "truth.csv").open(newline="", encoding="utf-8") as fh:
            truth = {(r["system"], r["party_ref"]): r["resident_id"] for r in csv.DictReader(fh)}

    # arrears per account: what fell due by today and is unpaid, debt by debt (a credit on one debt
    # does not pay another)
    debt_account: dict[tuple[str, str], str] = {}
    known = {"refs": set(), "names": set(), "ninos": set()}
    for source, rows in extracts.values():
        if source.feed == "debts":
            for r in rows:
                if r["debt_ref"] and r["account_ref"]:
                    debt_account[(source.system, r["debt_ref"])] = r["account_ref"]
                    known["refs"].add(r["debt_ref"])
    balance: dict[tuple[str, str], int] = defaultdict(int)
    for source, rows in extracts.values():
        if source.feed != "transactions":
            continue
        for r in rows:
            when = _date(r.get("due_date"), source.date_format) or _date(r.get("effective_date"), source.date_format)
            amount = _pence(r.get("amount"), source.amount_unit)
            if when is not None and when <= today and amount is not None and r.get("debt_ref"):
                balance[(source.system, r["debt_ref"])] += amount
    arrears: dict[tuple[str, str], int] = defaultdict(int)
    for (system, debt_ref), pence in balance.items():
        account = debt_account.get((system, debt_ref))
        if account is not None and pence > 0:
            arrears[(system, account)] += pence

    people: dict[str, _Person] = {}
    for source, rows in extracts.values():
        if source.feed != "accounts":
            continue
        for r in rows:
            if not r.get("account_ref"):
                continue
            known["refs"].add(r["account_ref"])
            if r.get("nino"):
                known["ninos"].add(str(r["nino"]).replace(" ", "").upper())
            if not (r.get("forename") and r.get("surname") and r.get("party_ref")):
                continue  # an organisation: Breathing Space is for individuals
            known["names"].add(f"{r['forename']} {r['surname']}".lower())
            rid = truth.get((source.system, r["party_ref"]))
            key = rid or f"{source.system}:{r['party_ref']}"
            person = people.setdefault(key, _Person(key, rid))
            nino = str(r["nino"]).replace(" ", "").upper() if r.get("nino") else None
            dob = _date(r.get("date_of_birth"), source.date_format)
            record = _Record(
                system=source.system, party_ref=r["party_ref"], account_ref=r["account_ref"],
                account_type=r.get("account_type") or source.account_type or source.system,
                forename=_tidy(r["forename"]), surname=_tidy(r["surname"]),
                date_of_birth=dob.isoformat() if dob else None,
                nino=nino if nino and _NINO.match(nino) else None,
                lines=[_tidy(str(r[k])) for k in ("address_line_1", "address_line_2", "address_line_3") if r.get(k)],
                postcode=str(r.get("postcode") or "").upper(),
                liable_from=_date(r.get("liable_from"), source.date_format),
                deceased=bool(r.get("deceased_on")),
            )
            person.records.append(record)
            owed = arrears.get((source.system, r["account_ref"]), 0)
            if owed >= _MIN_ARREARS:
                person.arrears[(source.system, r["account_ref"])] = (record.account_type, owed)
    eligible = [p for p in people.values() if p.arrears and not any(r.deceased for r in p.records)]
    eligible.sort(key=lambda p: p.key)
    return eligible, known


def _debtor_of(person: _Person) -> dict:
    """The debtor as an adviser would enter them: full details from the person's fullest record,
    the current address from the newest one."""
    records = sorted(person.records, key=lambda r: (r.date_of_birth is None, r.nino is None, -len(r.forename),
                                                   r.system, r.party_ref))
    best = records[0]
    newest = max(person.records, key=lambda r: (r.liable_from or date.min, r.system, r.party_ref))
    previous: list[str] = []
    for r in records:
        # another surname, not a typo of this one: a name used before (marriage, divorce)
        if (r.surname.lower() != best.surname.lower() and r.surname not in previous
                and difflib.SequenceMatcher(None, r.surname.lower(), best.surname.lower()).ratio() < 0.7):
            previous.append(r.surname)
    return {
        "forenames": best.forename,
        "surname": best.surname,
        "date_of_birth": next((r.date_of_birth for r in records if r.date_of_birth), None),
        "nino": next((r.nino for r in records if r.nino), None),
        "address": {"lines": newest.lines or best.lines, "postcode": newest.postcode or best.postcode},
        "previous_surnames": previous,
    }


def _amount(rng: random.Random, pence: int) -> int | None:
    # Advisers often do not know the exact balance: some leave it out, some round it.
    roll = rng.random()
    if roll < 0.2:
        return None
    if roll < 0.4:
        return pence // 100 * 100
    return pence


def _listed(rng: random.Random, person: _Person, accounts: list[tuple[str, str]], on: date) -> list[dict]:
    return [{"creditor_reference": account, "debt_type": person.arrears[(system, account)][0],
             "amount_pence": _amount(rng, person.arrears[(system, account)][1]), "added_on": on.isoformat()}
            for system, account in accounts]


def _unknown_person(rng: random.Random, known: dict[str, set[str]], refs_like: list[str]) -> tuple[dict, str]:
    """Someone not in the council's data at all, listing a reference the council does not have."""
    from fairdebt.synth import names as N
    from fairdebt.synth.people import make_nino

    backgrounds = list(N.BACKGROUNDS.values())
    while True:
        _, men, women, surnames = rng.choice(backgrounds)
        forename, surname = rng.choice(men + women), rng.choice(surnames)
        if f"{forename} {surname}".lower() not in known["names"]:
            break
    nino = make_nino(rng)
    while nino in known["ninos"]:
        nino = make_nino(rng)
    town, district = rng.choice(N.ELSEWHERE)
    unit = "".join(rng.choice(N.POSTCODE_UNIT_LETTERS) for _ in range(2))
    postcode = f"{district} {rng.randint(1, 9)}{unit}"
    dob = date(rng.randint(1955, 2003), rng.randint(1, 12), rng.randint(1, 28))
    template = rng.choice(refs_like) if refs_like else "30000000"
    while True:  # a reference in the council's own format that it has never issued
        ref = "".join(str(rng.randint(0, 9)) if ch.isdigit() else ch for ch in template)
        if ref not in known["refs"]:
            break
    debtor = {"forenames": forename, "surname": surname, "date_of_birth": dob.isoformat(), "nino": nino,
              "address": {"lines": [f"{rng.randint(1, 220)} {rng.choice(N.STREET_FIRST)} Road", town],
                          "postcode": postcode},
              "previous_surnames": []}
    return debtor, ref


def scenarios_from_council(directory: Path, seed: int, today: date) -> list[dict]:
    """A realistic Breathing Space feed for a synthetic council (`fairdebt synth`), as scenario ops.

    Deterministic in (the council's files, seed, today). Every moratorium is registered within
    the 50 days before `today`, and every notice is notified by `today`. People are drawn from
    residents with arrears of at least £20 on an account; each moratorium lists 1-3 of their real
    account references with their types. The feed holds: 6 plain standard moratoria, one standard
    with a debt added later, one standard cancelled at the midway review (8 standard in all), two
    mental health crisis moratoria (no end date), one ended after crisis treatment ended, one
    notice for someone not in the council's data, and one person registered twice with
    overlapping dates under different references. A small council with fewer people in arrears
    gets the special cases first and fewer plain ones.
    """
    directory = Path(directory)
    people, known = _people(directory, today)
    rng = random.Random(f"{seed}:breathing-space:{today.isoformat()}")
    rng.shuffle(people)

    roles = ["debt_added", "cancelled", "mental_health_crisis_ended", "mental_health_crisis",
             "mental_health_crisis", "contradictory"] + ["standard"] * 6
    references = iter(f"BS{n:06d}" for n in rng.sample(range(100000, 1000000), 64))
    used_accounts: set[tuple[str, str]] = set()
    ops: list[dict] = []

    def ago(lo: int, hi: int) -> date:
        return today - timedelta(days=rng.randint(lo, hi))

    def truth(p: _Person) -> dict:
        return {"resident_id": p.resident_id,
                "party_refs": [list(t) for t in sorted({(r.system, r.party_ref) for r in p.records})]}

    def registration(scenario: str, p: _Person | None, debtor: dict, debts: list[dict], on: date,
                     type_: str = "standard", treatment_end: date | None = None) -> dict:
        op = {"op": "register", "scenario": scenario, "reference": next(references), "type": type_,
              "registered_on": on.isoformat(), "debtor": debtor, "debts": debts,
              "adviser": dict(rng.choice(_ADVISERS)),
              "treatment_end": treatment_end.isoformat() if treatment_end else None,
              "truth": truth(p) if p else {"resident_id": None, "party_refs": []}}
        ops.append(op)
        return op

    pool = list(people)
    for role in roles:
        need = 2 if role == "debt_added" else 1
        person = next((p for p in pool if len(p.arrears) >= need and not (set(p.arrears) & used_accounts)), None)
        if person is None:
            continue
        pool.remove(person)
        accounts = sorted(person.arrears)
        rng.shuffle(accounts)
        accounts = accounts[: rng.randint(need, min(3, len(accounts)))]
        used_accounts.update(accounts)
        debtor = _debtor_of(person)
        if role == "debt_added":
            on = ago(25, 50)
            first, later = accounts[:-1], accounts[-1:]
            op = registration(role, person, debtor, _listed(rng, person, first, on), on)
            added = on + timedelta(days=rng.randint(5, min(20, (today - on).days - _LAST_ENTRY)))
            ops.append({"op": "add_debt", "scenario": role, "reference": op["reference"], "on": added.isoformat(),
                        "debts": _listed(rng, person, later, added)})
        elif role == "cancelled":
            on = ago(40, 50)
            op = registration(role, person, debtor, _listed(rng, person, accounts, on), on)
            # the midway review falls on days 26-35, counting the start day (registered + 1) as day 1
            cancelled = on + timedelta(days=1 + rng.randint(25, 34))
            ops.append({"op": "cancel", "scenario": role, "reference": op["reference"],
                        "on": cancelled.isoformat(), "reason": rng.choice(_REASONS_CANCELLED)})
        elif role == "mental_health_crisis_ended":
            on = ago(44, 50)
            treatment_end = on + timedelta(days=rng.randint(2, 8))
            op = registration(role, person, debtor, _listed(rng, person, accounts, on), on,
                              "mental_health_crisis", treatment_end)
            ended = treatment_end + timedelta(days=MHCM_AFTER_TREATMENT)
            ops.append({"op": "end", "scenario": role, "reference": op["reference"], "on": ended.isoformat(),
                        "reason": f"Mental health crisis treatment ended on {treatment_end.isoformat()}"})
        elif role == "mental_health_crisis":
            on = ago(_LAST_ENTRY, 50)
            registration(role, person, debtor, _listed(rng, person, accounts, on), on, "mental_health_crisis")
        elif role == "contradictory":
            # the same person twice, overlapping: an adviser's duplicate, or two advisers unaware of each other
            on = ago(25, 50)
            registration(role, person, debtor, _listed(rng, person, accounts, on), on)
            again = on + timedelta(days=rng.randint(3, 15))
            registration(role, person, copy.deepcopy(debtor), _listed(rng, person, accounts, again), again)
        else:
            on = ago(_LAST_ENTRY, 50)
            registration(role, person, debtor, _listed(rng, person, accounts, on), on)

    council_tax = sorted({a for p in people for (_, a), (kind, _) in p.arrears.items() if kind == "council_tax"})
    refs_like = council_tax or sorted({account for p in people for (_, account) in p.arrears})
    debtor, ref = _unknown_person(rng, known, refs_like)
    on = ago(_LAST_ENTRY, 50)
    registration("unknown_person", None, debtor,
                 [{"creditor_reference": ref, "debt_type": "council_tax",
                   "amount_pence": rng.randint(20000, 180000), "added_on": on.isoformat()}], on)

    # publication order: by the date each was entered on the register, a registration before
    # anything that follows it on the same day
    rank = {"register": 0, "add_debt": 1, "cancel": 2, "end": 2}
    entered = lambda op: op["registered_on"] if op["op"] == "register" else op["on"]  # noqa: E731
    return [op for _, op in sorted(enumerate(ops), key=lambda io: (entered(io[1]), rank[io[1]["op"]], io[0]))]


# ---------------------------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fairdebt.fakes.breathing_space",
        description="Run a local stand-in for the Breathing Space register on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--api-key", default="test-key", help="the bearer token clients must send")
    parser.add_argument("--council", type=Path,
                        help="a synthetic council made by `fairdebt synth`, to build a feed from")
    parser.add_argument("--seed", type=int, default=1, help="seed for the feed built from --council")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="the register's today (YYYY-MM-DD)")
    parser.add_argument("--dump", type=Path, help="also write the scenario ops to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    today: date = args.today or date.today()

    register = FakeRegister(args.api_key, args.port, clock=lambda: today, log_requests=not args.quiet)
    if args.council:
        if not (args.council / "manifest.json").exists():
            parser.error(f"{args.council} has no manifest.json: make a council with `fairdebt synth --out DIR` first")
        scenarios = scenarios_from_council(args.council, args.seed, today)
        register.load(scenarios)
        if args.dump:
            args.dump.write_text(json.dumps(scenarios, indent=2) + "\n", encoding="utf-8")
    try:
        register.start()
    except OSError as exc:
        print(f"Could not listen on 127.0.0.1:{args.port} ({exc}). Pick another --port.", file=sys.stderr)
        return 2
    count = len(register.notifications)
    print(f"Fake Breathing Space register at {register.url} ({count} notifications, today {today})")
    print(f"  curl -H 'Authorization: Bearer {args.api_key}' {register.url}/v1/notifications")
    print("Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        register.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
