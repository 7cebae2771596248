"""Allocating cases to officers: no patches, skills, capacity, language, continuity, absence."""

from hypothesis import given
from hypothesis import strategies as st

from fairdebt.domain.allocation import Case, Officer, allocate


def test_skills_continuity_language_and_capacity():
    officers = [
        Officer(1, frozenset({"recover"}), capacity=2),
        Officer(2, frozenset({"recover"}), capacity=2, skills=frozenset({"vulnerability"}), languages=frozenset({"Polish"})),
        Officer(3, frozenset({"prevent"}), capacity=1),
    ]
    cases = [
        Case(10, "recover", 90, needs=frozenset({"vulnerability"})),
        Case(11, "recover", 80, language="Polish"),
        Case(12, "recover", 70, last_officer=1),
        Case(13, "recover", 60),
        Case(14, "prevent", 50),
        Case(15, "prevent", 40),
        Case(16, "resolve", 30),
    ]
    got = {a.person_id: (a.officer_id, a.reason) for a in allocate(cases, officers).allocations}
    assert got[10][0] == 2  # only officer 2 is vulnerability-trained
    assert got[11] == (1, "least loaded suitable officer") or got[11][0] == 2
    assert got[12] == (1, "continuity: the same officer as before")
    assert got[14][0] == 3 and got[15] == (None, "every suitable officer is at capacity")
    assert got[16] == (None, "no officer works the resolve workstream")


def test_an_officer_away_gets_nothing_and_their_cases_go_elsewhere():
    officers = [Officer(1, frozenset({"recover"}), 5, away=True), Officer(2, frozenset({"recover"}), 5)]
    result = allocate([Case(1, "recover", 10, last_officer=1)], officers)
    assert result.allocations[0].officer_id == 2


@given(st.lists(st.tuples(st.sampled_from(["prevent", "resolve", "recover"]), st.floats(0, 100)), max_size=40),
       st.lists(st.tuples(st.sets(st.sampled_from(["prevent", "resolve", "recover"]), min_size=1), st.integers(0, 6), st.booleans()), max_size=6))
def test_nobody_is_over_capacity_away_or_off_their_workstream_and_every_case_is_answered(cases, staff):
    officers = [Officer(i, frozenset(w), c, away=a) for i, (w, c, a) in enumerate(staff)]
    by_id = {o.id: (frozenset(w), c, a) for o, (w, c, a) in zip(officers, staff)}
    result = allocate([Case(i, w, s) for i, (w, s) in enumerate(cases)], officers)
    assert sorted(a.person_id for a in result.allocations) == list(range(len(cases)))
    counts = {}
    for a in result.allocations:
        if a.officer_id is not None:
            workstreams, capacity, away = by_id[a.officer_id]
            assert not away and cases[a.person_id][0] in workstreams
            counts[a.officer_id] = counts.get(a.officer_id, 0) + 1
            assert counts[a.officer_id] <= capacity
        else:
            assert a.reason
