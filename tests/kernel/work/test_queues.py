"""Queues declared by their owners: made once by key, the seeded queue of that name adopted, rules
kept in line with the declaration, and the queue following its team through restructuring."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from careplane.kernel import work
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.errors import NotFound, ValidationFailed
from careplane.kernel.org.models import OrgChange, OrgUnit, Team
from careplane.kernel.org.structure import service as structure
from careplane.kernel.work import OpenTo, QueueDeclaration
from careplane.kernel.work.models import WorkQueue
from tests.kernel.work.builders import VERIFY, VISITS, seed

SYSTEM = Actor.for_system("tests")


def test_declaring_adopts_the_seeded_queue_and_is_idempotent(db: Database):
    ids = seed(db)
    with db.unit_of_work() as s:
        visits = s.get(WorkQueue, ids[VISITS.key])
        assert (visits.name, visits.team.name, visits.team.unit.code) == ("Visit queue", "Async visits", "virtual_care")
        assert (visits.open_to, visits.roles, visits.licence_kinds) == ("unit", ["clinician"], ["DO", "MD", "NP", "PA"])
        assert s.scalar(select(func.count()).select_from(WorkQueue)) == 6, "both declared queues were the seeded ones"
        assert s.get(WorkQueue, ids[VERIFY.key]).open_to == "team"
        again = work.ensure_queue(s, VISITS)
        assert again.id == ids[VISITS.key] and work.queue_by_key(s, VISITS.key).id == again.id


def test_a_new_queue_goes_into_the_named_team_made_if_missing_and_into_the_history(db: Database):
    seed(db)
    denials = QueueDeclaration(
        "revenue_cycle.appeals", "Appeals to work", unit="revenue_cycle", team="Appeals", roles=("biller",)
    )
    with db.unit_of_work() as s:
        queue = work.ensure_queue(s, denials)
        assert (queue.team.name, queue.team.unit.code, queue.roles) == ("Appeals", "revenue_cycle", ["biller"])
        kinds = set(s.scalars(select(OrgChange.kind).where(OrgChange.kind.in_(["team.created", "queue.created"]))))
        assert kinds == {"team.created", "queue.created"}
    # the declaration's rules win on the next start; name and place stay the organisation's
    with db.unit_of_work() as s:
        changed = QueueDeclaration(denials.key, "Other name", unit="revenue_cycle", open_to=OpenTo.TEAM)
        again = work.ensure_queue(s, changed)
        assert (again.id, again.name, again.open_to, again.roles) == (queue.id, "Appeals to work", "team", [])


def test_a_queue_follows_its_team_and_a_merged_units_declaration_lands_in_the_survivor(db: Database):
    ids = seed(db)
    with db.unit_of_work() as s:
        units = {u.code: u.id for u in s.scalars(select(OrgUnit))}
        team_id = s.get(WorkQueue, ids[VISITS.key]).team_id
        structure.move_team(s, SYSTEM, team_id, units["primary_care"])
    with db.unit_of_work() as s:
        moved = work.ensure_queue(s, VISITS)
        assert moved.id == ids[VISITS.key] and moved.team.unit.code == "primary_care", "declaring does not move it back"
    with db.unit_of_work() as s:
        structure.merge_units(s, SYSTEM, units["benefits"], units["pharmacy"])
    with db.unit_of_work() as s:
        enrolment = work.ensure_queue(s, QueueDeclaration("benefits.enrolment", "Enrolment queue", unit="benefits"))
        assert s.get(Team, enrolment.team_id).unit.code == "pharmacy", "the merged unit's work went to the survivor"


def test_bad_declarations_and_missing_units_are_refused(db: Database):
    with db.unit_of_work() as s, pytest.raises(ValidationFailed) as refused:
        work.ensure_queue(s, QueueDeclaration("Visits", " ", unit="virtual_care", roles=("surgeon",)))
    assert set(refused.value.errors) == {"key", "name", "roles"}
    with db.unit_of_work() as s, pytest.raises(NotFound, match="no active unit 'virtual_care'"):
        work.ensure_queue(s, VISITS)
