"""The access policy: who may claim in which queue (unit, team, role, licensure in the item's state,
the patient's record), with refusals that say why and are audited when a patient is concerned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from careplane.kernel import clock, work
from careplane.kernel.access import Actor
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.db import Database
from careplane.kernel.errors import AccessDenied
from careplane.kernel.identity.roles import Role
from careplane.kernel.work.models import WorkItem
from tests.kernel.work.builders import VERIFY, VISITS, item, patient, person, seed, staff_id


def claim(db: Database, actor: Actor, item_id) -> None:  # noqa: ANN001
    with db.unit_of_work() as s:
        work.claim(s, actor, item_id)


def holder(db: Database, item_id):  # noqa: ANN001, ANN201
    with db.unit_of_work() as s:
        return s.get(WorkItem, item_id).assignee_staff_id


def audit_rows(db: Database, item_id) -> list[tuple[str, str, str | None]]:  # noqa: ANN001
    with db.unit_of_work() as s:
        return [
            (a.action, a.outcome, a.reason)
            for a in s.scalars(
                select(AuditEntry).where(AuditEntry.resource_id == str(item_id)).order_by(AuditEntry.occurred_at)
            )
        ]


def test_a_visit_needing_texas_goes_only_to_a_clinician_licensed_there_today(db: Database):
    seed(db)
    ny_only = person(db, licences=("NY",))
    expired = person(db, licences=("TX",), expires_on=clock.today() - timedelta(days=1))
    nurse = person(db, licences=("TX",), kind="RN")  # a licence, not one that lets her treat
    texan = person(db, licences=("TX",), expires_on=clock.today())  # valid through today
    item_id = item(db, VISITS.key, state="TX")
    for who in (ny_only, expired, nurse):
        with pytest.raises(AccessDenied, match="licence for TX valid today"):
            claim(db, who, item_id)
    assert holder(db, item_id) is None
    claim(db, texan, item_id)
    assert holder(db, item_id) == staff_id(db, texan)
    no_state = item(db, VISITS.key)
    claim(db, ny_only, no_state)
    assert holder(db, no_state) == staff_id(db, ny_only), "an item needing no licensure needs no licence"


def test_a_queue_is_worked_by_its_unit_team_and_roles(db: Database):
    queues = seed(db)
    outsider = person(db, unit="primary_care")  # a clinician, but of another unit
    member = person(db, unit="primary_care", team_of=queues[VISITS.key])  # ... who is in the visit team
    biller = person(db, Role.BILLER, unit="virtual_care")  # in the unit, not in a role that treats
    visit = item(db, VISITS.key)
    with pytest.raises(AccessDenied, match="worked by the staff of Virtual Care"):
        claim(db, outsider, visit)
    with pytest.raises(AccessDenied, match="worked by the role\\(s\\) clinician"):
        claim(db, biller, visit)
    claim(db, member, visit)

    # the verification queue is its team's alone: being a pharmacist of the unit is not enough
    pharmacist = person(db, Role.PHARMACIST)
    verifier = person(db, Role.PHARMACIST, team_of=queues[VERIFY.key])
    rx = item(db, VERIFY.key, kind="rx_verify", title="Verify Rx")
    with pytest.raises(AccessDenied, match="only members of team Verification"):
        claim(db, pharmacist, rx)
    with pytest.raises(AccessDenied, match="no staff record"):
        claim(db, Actor.for_system("tests"), rx)
    claim(db, verifier, rx)
    assert holder(db, rx) == staff_id(db, verifier)


def test_claiming_a_patients_item_is_audited_allowed_and_refused(db: Database):
    seed(db)
    pid = patient(db)
    allowed, refused = person(db, licences=("TX",)), person(db, licences=("NY",))
    item_id = item(db, VISITS.key, patient_id=pid, state="TX")
    with pytest.raises(AccessDenied):
        claim(db, refused, item_id)
    claim(db, allowed, item_id)
    rows = audit_rows(db, item_id)
    assert rows[0][:2] == ("work.claim", "denied") and "no DO/MD/NP/PA licence for TX" in rows[0][2]
    assert rows[1] == ("patient.read", "allowed", "claimed from work queue")


def test_a_unit_whose_work_opens_no_records_cannot_take_a_patients_item(db: Database):
    """Health Technology's staff open no patient records: a queue of theirs holding a patient's item
    is refused to them, and the refusal audited, however the queue is set up."""
    with db.unit_of_work() as s:
        from careplane.kernel.org.structure.service import ensure_units

        ensure_units(s)
        work.ensure_queue(
            s, work.QueueDeclaration("health_tech.interface_errors", "Interface errors", unit="health_tech")
        )
    engineer = person(db, Role.CLINICIAN, unit="health_tech")
    with_patient = item(
        db, "health_tech.interface_errors", kind="hl7_error", title="ORU rejected", patient_id=patient(db)
    )
    with pytest.raises(AccessDenied, match="may not open this patient's record"):
        claim(db, engineer, with_patient)
    assert [r[:2] for r in audit_rows(db, with_patient)] == [("work.claim", "denied")]
    without = item(db, "health_tech.interface_errors", kind="hl7_error", title="Bad MSH")
    claim(db, engineer, without)


def test_the_unit_lead_manages_its_queues(db: Database):
    queues = seed(db)
    lead = person(db, unit="primary_care")
    other_lead = person(db, unit="primary_care")
    clinician = person(db)
    with db.unit_of_work() as s:
        from careplane.kernel.org.models import OrgUnit

        s.scalar(select(OrgUnit).where(OrgUnit.code == "virtual_care")).lead_staff_id = staff_id(db, lead)
        s.scalar(select(OrgUnit).where(OrgUnit.code == "pharmacy")).lead_staff_id = staff_id(db, other_lead)
    visit = item(db, queues[VISITS.key])
    with db.unit_of_work() as s, pytest.raises(AccessDenied):
        work.assign(s, other_lead, visit, staff_id(db, clinician))
    with db.unit_of_work() as s:
        work.assign(s, lead, visit, staff_id(db, clinician))
    with db.unit_of_work() as s:
        assert work.release(s, lead, visit).assignee_staff_id is None
