"""No outbound action can bypass the hold guard.

1. Every function in the source decorated `@sender` is registered, and every call to a choke
   point (outbox.submit, charges.add_charge) is made from a registered sender.
2. Nothing outside the choke points writes an outbox message, delivers one, or posts a fee.
3. Each registered sender, run against a held debt, sends nothing and leaves a suppression
   naming itself; against a debt with no hold, it acts.
4. A property test over real holds and real senders: no demand for a held debt ever leaves
   the outbox, while permitted contact (ongoing bills, replies the resident asked for) does.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import json
import pkgutil
import tempfile
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fairdebt
from fairdebt.accounts.models import Debt, LedgerEntry
from fairdebt.domain import holds as rules
from fairdebt.holds import guard, services
from fairdebt.holds.models import HeldDebt, Hold, Suppression
from fairdebt.outbox import services as outbox
from fairdebt.outbox import transports
from fairdebt.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

SRC = Path(fairdebt.__file__).parent
CHOKE_POINTS = {"submit": "outbox/services.py", "add_charge": "accounts/charges.py"}
# Where rows of these tables may be written. Ingest records what source systems already did
# (history, not an action of ours), so the loader may write ledger rows.
WRITERS = {"OutboxMessage": {"outbox/services.py"}, "LedgerEntry": {"accounts/charges.py", "ingest/loader.py"}}


def _modules():
    for info in pkgutil.walk_packages([str(SRC)], "fairdebt."):
        if info.name.endswith("__main__") or ".migrations." in info.name:
            continue
        yield info.name


# Import every module now, so that every sender has registered before tests are collected.
for _name in _modules():
    importlib.import_module(_name)


def _choke_point_aliases(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names that mean a choke-point module (`outbox`, `charges`) or function (`submit`) in this file."""
    modules, functions = set(), set()
    targets = {"fairdebt.outbox.services": "submit", "fairdebt.accounts.charges": "add_charge"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in targets or (node.level and alias.name in {"services", "charges"}):
                    modules.add(alias.asname or alias.name)
                elif node.module in targets and alias.name == targets[node.module]:
                    functions.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in targets:
                    modules.add(alias.asname or alias.name)
    return modules, functions


def _sources():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if "/migrations/" not in rel:
            yield rel, ast.parse(path.read_text(), filename=rel)


def _decorated_senders(tree: ast.Module, module: str) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                call = dec.func if isinstance(dec, ast.Call) else dec
                name = call.attr if isinstance(call, ast.Attribute) else getattr(call, "id", "")
                if name == "sender":
                    found.add(f"{module}.{node.name}")
    return found


def test_every_sender_in_the_source_is_registered_and_every_choke_point_call_is_from_a_sender():
    in_source: set[str] = set()
    unguarded: list[str] = []
    for rel, tree in _sources():
        module = "fairdebt." + rel[:-3].replace("/", ".").removesuffix(".__init__")
        senders_here = _decorated_senders(tree, module)
        in_source |= senders_here
        modules, functions = _choke_point_aliases(tree)
        for top in tree.body:
            for node in ast.walk(top):
                if isinstance(node, ast.Call):
                    f = node.func
                    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in modules:
                        called = f.attr
                    elif isinstance(f, ast.Name) and f.id in functions:
                        called = f.id
                    else:
                        continue
                    if called in CHOKE_POINTS and rel != CHOKE_POINTS[called]:
                        owner = f"{module}.{getattr(top, 'name', '<module>')}"
                        if owner not in senders_here:
                            unguarded.append(f"{rel}:{node.lineno} calls {called} from {owner}, which is not a registered @sender")
    assert in_source == set(guard.SENDERS), "a sender is not registered (or registered outside the source)"
    assert not unguarded, "\n".join(unguarded)
    assert len(guard.SENDERS) >= 8  # letters, SMS, email, pathway step, enforcement referral, fee, interest, write-back, agent stop


def test_nothing_outside_the_choke_points_writes_the_outbox_delivers_or_posts_to_the_ledger():
    offences = []
    for rel, tree in _sources():
        text = ast.unparse(tree)
        if "outbox_outboxmessage" in text.lower() and rel != "outbox/services.py":
            offences.append(f"{rel}: raw SQL on the outbox table")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                # Model(...) construction, Model.objects.create/bulk_create/update/get_or_create
                target = None
                if isinstance(f, ast.Name) and f.id in WRITERS:
                    target = f.id
                elif isinstance(f, ast.Attribute) and f.attr in {"create", "bulk_create", "get_or_create", "update_or_create", "update"}:
                    base = f.value
                    while isinstance(base, (ast.Attribute, ast.Call)):
                        base = base.func if isinstance(base, ast.Call) else base.value
                    if isinstance(base, ast.Name) and base.id in WRITERS:
                        target = base.id
                if target and rel not in WRITERS[target]:
                    offences.append(f"{rel}:{node.lineno} writes {target} outside {sorted(WRITERS[target])}")
                if isinstance(f, ast.Attribute) and f.attr == "deliver" and rel not in {"outbox/services.py", "outbox/transports.py"}:
                    offences.append(f"{rel}:{node.lineno} delivers a message outside outbox.dispatch")
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize("name", sorted(guard.SENDERS))
def test_each_sender_refuses_a_held_debt_and_records_why(name, resident, debts, today):
    info = guard.SENDERS[name]
    services.place_hold(resident, "pause", start=today, until=today, reason_code="CDS", reason="Court date set", debts=[debts["RENT1"]])
    freeze = Hold.objects.create(person=resident, kind="breathing_space", start=today, until=today, scope_debts=True,
                                 effects=["stop_recovery", "freeze_charges"], reason="BS-TEST")
    HeldDebt.objects.create(hold=freeze, debt=debts["RENT1"], added_on=today)
    person_facts, debt_facts = guard.facts(resident, debts["RENT1"])
    expected = rules.may_act(person_facts, debt_facts, info.action, today)
    queued_before, ledger_before = OutboxMessage.objects.filter(status="queued").count(), LedgerEntry.objects.count()

    result = info.function(resident, debts["RENT1"], on=today, **info.example(resident, debts["RENT1"]))

    if expected.allowed:  # e.g. telling an agent to stop: allowed during every hold
        assert OutboxMessage.objects.filter(status="queued").count() == queued_before + 1
        return
    assert OutboxMessage.objects.filter(status="queued").count() == queued_before, f"{name} queued a message for a held debt"
    assert LedgerEntry.objects.count() == ledger_before, f"{name} posted to the ledger for a held debt"
    suppression = Suppression.objects.get(sender=name)
    assert suppression.debt == debts["RENT1"] and suppression.hold is not None and suppression.reason
    assert getattr(result, "sent", False) is False

    # The same sender acts on a debt no hold covers.
    other = debts["CT1-25"]
    kwargs = info.example(resident, other)
    kwargs["key"] += "-free"
    done = info.function(resident, other, on=today, **kwargs)
    assert isinstance(done, LedgerEntry) or done.sent


# -- the property over real holds and real senders -------------------------------------------

KINDS = ("pause", "dispute", "complaint", "deceased", "insolvency", "benefit_claim_pending", "debt_advice", "breathing_space", "vulnerability")
SENDS = [
    ("letter", "recovery"), ("letter", "ongoing"), ("letter", "requested"), ("sms", "recovery"), ("email", "ongoing"),
    ("step", "nosp"), ("step", "summons"), ("step", "final_notice"), ("fee", ""), ("interest", ""), ("enforcement", ""),
    ("write_back", "pay"), ("write_back", "note"),
]


def _place(kind, person, debt_list, start, length):
    until = start + dt.timedelta(days=length)
    if kind == "breathing_space":
        hold = Hold.objects.create(person=person, kind=kind, start=start, until=until, scope_debts=True,
                                   effects=["stop_recovery", "freeze_charges"], reason="BS")
        HeldDebt.objects.bulk_create([HeldDebt(hold=hold, debt=d, added_on=start) for d in debt_list])
    elif kind == "vulnerability":
        services.record_vulnerability(person, driver="capability", severity="high", impact="x", duration="temporary",
                                      support_needs="", consent_given=False, consent_scope="", review_on=start + dt.timedelta(days=90), on=start)
    else:
        extra = {"pause": dict(reason_code="MBH", until=until), "insolvency": dict(reason_code="iva"), "debt_advice": {}}.get(kind, dict(until=until))
        scoped = {"debts": debt_list} if kind in {"dispute", "complaint", "pause"} and debt_list else {}
        if kind == "insolvency":
            scoped = {"debts": debt_list}
        services.place_hold(person, kind, start=start, reason="generated", **extra, **scoped)


def _send(what, how, person, debt, key, on):
    from fairdebt.comms import senders as comms
    from fairdebt.recovery import senders as recovery
    from fairdebt.writeback import senders as writeback

    if what in {"letter", "sms", "email"}:
        return getattr(comms, f"send_{what}")(person, debt, template="t", key=key, purpose=how, on=on)
    if what == "step":
        return recovery.take_step(person, debt, stage=how, key=key, on=on)
    if what in {"fee", "interest"}:
        return getattr(recovery, f"add_{what}")(person, debt, amount=500, reason="generated", key=key, on=on)
    if what == "enforcement":
        return recovery.refer_to_enforcement(person, debt, agent="EA", key=key, on=on)
    return writeback.write_back(person, debt, change={"x": 1}, asks_for_payment=how == "pay", key=key, on=on)


class Rollback(Exception):
    pass


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    holds=st.lists(st.tuples(st.sampled_from(KINDS), st.lists(st.sampled_from(["CT1-24", "CT1-25", "RENT1"]), unique=True),
                             st.integers(-10, 10), st.integers(0, 30)), max_size=3),
    sends=st.lists(st.tuples(st.sampled_from(SENDS), st.sampled_from(["CT1-24", "CT1-25", "RENT1"]), st.integers(-5, 40)), min_size=1, max_size=6),
    dispatch_after=st.integers(0, 20),
)
def test_no_demand_for_a_held_debt_ever_leaves_and_permitted_contact_does(resident, debts, today, holds, sends, dispatch_after):
    all_debts = {d.debt_ref: d for d in Debt.objects.select_related("account")}
    with tempfile.TemporaryDirectory() as out:
        try:
            with transaction.atomic():
                for kind, refs, offset, length in holds:
                    _place(kind, resident, [all_debts[r] for r in refs], today + dt.timedelta(days=offset), length)
                expected_out = set()
                for n, ((what, how), ref, offset) in enumerate(sends):
                    on = today + dt.timedelta(days=offset)
                    _send(what, how, resident, all_debts[ref], f"k{n}", on)
                dispatch_on = today + dt.timedelta(days=dispatch_after)
                outbox.dispatch(on=dispatch_on, transport_for=lambda c: transports.FileTransport(c, Path(out)))
                # What left must have been allowed both on the day it was asked for and the day it left.
                for message in OutboxMessage.objects.filter(status="sent").select_related("debt", "debt__account"):
                    action = rules.Action(message.action_kind, message.purpose)
                    p, d = guard.facts(resident, message.debt)
                    decision = rules.may_act(p, d, action, dispatch_on)
                    assert decision.allowed, f"{action} on {message.debt} left during {decision.reason}"
                    expected_out.add(message.idempotency_key)
                left = {json.loads(x)["key"] for f in Path(out).rglob("*.jsonl") for x in f.read_text().splitlines()}
                assert left == expected_out
                # Permitted contact is not swallowed: an ongoing bill or a reply by letter leaves unless a death stopped all contact.
                for message in OutboxMessage.objects.filter(action_kind="letter", purpose__in=["ongoing", "requested"]):
                    p, d = guard.facts(resident, message.debt)
                    stopped = any(h.active(dispatch_on) and "stop_contact" in h.effects for h in p.holds)
                    asked_on_stopped = message.status == "suppressed" and message.suppression and message.suppression.rule == "stop_contact"
                    assert message.status == "sent" or stopped or asked_on_stopped, message.suppression and message.suppression.reason
                # Fees never reach the ledger of a held debt.
                for entry in LedgerEntry.objects.filter(source_system="fairdebt"):
                    p, d = guard.facts(resident, entry.debt)
                    assert rules.may_act(p, d, rules.Action("fee"), entry.effective_date).allowed
                raise Rollback
        except Rollback:
            pass
