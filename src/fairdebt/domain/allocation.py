"""Allocating cases to officers without patches. Pure, deterministic.

Highest-scoring cases first. A case goes to an officer who is in (not away), works its
workstream, has the skills it needs (a vulnerable resident needs a vulnerability-trained officer;
court work needs court skills) and has room under their capacity. Among those: the officer who
had the case last (continuity), then one who speaks the resident's language, then the least
loaded (by share of capacity), then the lowest id. A case nobody can take stays unallocated,
with the reason, so a team leader can act. Nothing is left to a fixed patch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    person_id: int
    workstream: str
    score: float
    needs: frozenset[str] = frozenset()  # skills required
    language: str = ""
    last_officer: int | None = None


@dataclass
class Officer:
    id: int
    workstreams: frozenset[str]
    capacity: int
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    load: int = 0  # cases already held (kept allocations)
    away: bool = False


@dataclass
class Allocation:
    person_id: int
    officer_id: int | None
    reason: str


@dataclass
class Result:
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def unallocated(self) -> list[Allocation]:
        return [a for a in self.allocations if a.officer_id is None]


def allocate(cases: Iterable[Case], officers: Iterable[Officer]) -> Result:
    staff = sorted(officers, key=lambda o: o.id)
    result = Result()
    for case in sorted(cases, key=lambda c: (-c.score, c.person_id)):
        able = [o for o in staff if not o.away and case.workstream in o.workstreams and case.needs <= o.skills]
        room = [o for o in able if o.load < o.capacity]
        if not room:
            if not [o for o in staff if case.workstream in o.workstreams]:
                why = f"no officer works the {case.workstream} workstream"
            elif not able:
                need = ", ".join(sorted(case.needs)) or "any"
                why = f"no officer who is in has the skills needed ({need})"
            else:
                why = "every suitable officer is at capacity"
            result.allocations.append(Allocation(case.person_id, None, why))
            continue
        chosen = min(room, key=lambda o: (o.id != case.last_officer, case.language not in o.languages if case.language else False, o.load / max(o.capacity, 1), o.id))
        if chosen.id == case.last_officer:
            why = "continuity: the same officer as before"
        elif case.language and case.language in chosen.languages:
            why = f"speaks {case.language}"
        else:
            why = "least loaded suitable officer"
        chosen.load += 1
        result.allocations.append(Allocation(case.person_id, chosen.id, why))
    return result
