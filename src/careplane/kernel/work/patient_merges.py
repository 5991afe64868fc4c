"""Work items follow a patient merge: when two registrations of one person are merged
(:class:`~careplane.kernel.patients.events.PatientsMerged`), every work item that names the merged
record (``org_work_items.patient_id``) is re-pointed to the record that survived.

Open and finished items alike move, so the person's work reads as one history. The handler is
idempotent: a redelivered event finds nothing left to move and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, authorize
from careplane.kernel.events import handles
from careplane.kernel.patients.events import PatientsMerged
from careplane.kernel.patients.models import Patient
from careplane.kernel.work.models import WorkItem

#: How many merges in a row to follow from the survivor to the record that is active now.
MAX_CHAIN = 20

ACTOR = Actor.for_system("org.patient-merge", via="event")


def current_record(session: Session, patient_id: uuid.UUID) -> uuid.UUID:
    """The record that stands for this patient now: itself, or the record it was merged into since.

    Events may be delivered out of order: if the survivor of an earlier merge has itself been merged
    by the time that merge's event is handled, its items go straight to the record that is active."""
    current = patient_id
    for _ in range(MAX_CHAIN):
        onward = session.scalar(select(Patient.merged_into_id).where(Patient.id == current))
        if onward is None:
            return current
        current = onward
    raise RuntimeError(f"the merges from patient {patient_id} do not end")


@handles(PatientsMerged)
def repoint_work_items(session: Session, event: PatientsMerged) -> None:
    """Every work item of the merged record now names the surviving record (audited once per move)."""
    survivor = current_record(session, event.survivor_id)
    # An UPDATE's result is a CursorResult (which has the rowcount); Session.execute is typed for any statement.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(WorkItem)
            .where(WorkItem.patient_id == event.merged_id)
            .values(patient_id=survivor, updated_at=clock.now()),
            execution_options={"synchronize_session": False},
        ),
    )
    moved = result.rowcount or 0
    if moved:  # a redelivery finds nothing left to move, and records nothing
        authorize(
            session,
            ACTOR,
            Permission.PATIENT_UPDATE,
            patient_id=survivor,
            resource_type="org.work_items",
            resource_id=str(event.merged_id),
            reason=f"{moved} work item{'s' if moved != 1 else ''} moved from merged record MRN {event.merged_mrn}",
        )
