"""Virtual Care's part in platform events: a departed clinician's visits are handed over, and a merged
patient record's visits follow it to the surviving record."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from careplane.kernel import clock, work
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.events import handles
from careplane.kernel.org.events import StaffDeparted
from careplane.kernel.patients.events import PatientsMerged
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.services.notices import tell_patient
from careplane.units.virtual_care.services.visits import SYSTEM
from careplane.units.virtual_care.video_handover import hand_over_video_visits
from careplane.units.virtual_care.visit_states import VisitStatus


def hand_over(session: Session, event: StaffDeparted) -> dict[str, int]:
    """A departed clinician's message visits in progress go to the named successor (when they may take the
    visit: licensed in its state) or back to the queue for the next clinician; each patient is told.
    Their video visits: :mod:`.video_handover`. Returns what moved, for the departure report. A
    redelivery finds nothing left to move."""
    moved: Counter[str] = Counter()
    held = session.scalars(
        select(Visit)
        .where(
            Visit.clinician_staff_id == event.staff_id,
            Visit.status == VisitStatus.IN_PROGRESS.value,
            Visit.visit_type == "message",
        )
        .order_by(Visit.claimed_at, Visit.id)
        .with_for_update()
    ).all()
    for visit in held:
        assert visit.work_item_id is not None
        if event.successor_staff_id is not None:
            try:
                with session.begin_nested():
                    work.assign(session, SYSTEM, visit.work_item_id, event.successor_staff_id, owner=True)
                visit.clinician_staff_id, visit.claimed_at = event.successor_staff_id, clock.now()
                tell_patient(
                    session,
                    visit,
                    "Your visit has a new clinician",
                    "Your clinician has left careplane; another clinician has taken over your visit.",
                )
                moved["visit to successor"] += 1
                continue
            except ValidationFailed:
                pass  # the successor may not take it (no licence for its state): back to the queue
        work.release(session, SYSTEM, visit.work_item_id, owner=True)
        visit.status, visit.clinician_staff_id, visit.claimed_at = VisitStatus.QUEUED.value, None, None
        tell_patient(
            session,
            visit,
            "Your visit has a new clinician",
            "Your clinician has left careplane; your visit is back in the queue and the next clinician will reply.",
        )
        moved["visit back to queue"] += 1
    moved.update(hand_over_video_visits(session, event))
    return dict(moved)


@handles(PatientsMerged)
def visits_follow_merged_patient(session: Session, event: PatientsMerged) -> None:
    """The merged record's visits now belong to the survivor (idempotent)."""
    session.execute(update(Visit).where(Visit.patient_id == event.merged_id).values(patient_id=event.survivor_id))
