"""The response-time promise, kept: a job that warns the unit's lead when 80% of a visit's promise has
passed with no clinician reply, and escalates when the promise is broken (to the lead and to the
operations leads). Each warning goes once per visit; the e-mails name the condition, the state and
the time due, never the patient. The queue shows the same deadlines, red when late."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.identity.models import User, UserRole
from careplane.kernel.identity.roles import Role
from careplane.kernel.jobs import scheduled
from careplane.kernel.mail import send_mail
from careplane.kernel.org.models import StaffMember
from careplane.kernel.state_zones import zone_of_state
from careplane.kernel.work import policy, queue_by_key
from careplane.units.virtual_care import promise
from careplane.units.virtual_care.catalog import shipped
from careplane.units.virtual_care.models import Visit
from careplane.units.virtual_care.visit_states import WITH_CLINICIANS


def _lead_email(session: Session) -> str | None:
    queue = queue_by_key(session, "virtual_care.visits")
    if queue is None:
        return None
    lead = policy.place_of(session, queue).unit_lead_staff_id
    if lead is None:
        return None
    return session.scalar(
        select(User.email).join(StaffMember, StaffMember.user_id == User.id).where(StaffMember.id == lead)
    )


def _operations_emails(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(User.email)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == Role.OPERATIONS_LEAD.value, User.is_active.is_(True))
            .order_by(User.email)
        )
    )


def _describe(visit: Visit) -> str:
    condition = shipped().get(visit.condition_code)
    assert visit.reply_due_at is not None
    due = visit.reply_due_at.astimezone(zone_of_state(visit.state))
    return (
        f"a {condition.name if condition else visit.condition_code} {visit.visit_type} visit from {visit.state} "
        f"(first reply due {due:%H:%M %Z}, {'held' if visit.clinician_staff_id else 'not yet claimed'})"
    )


def watch(session: Session) -> tuple[int, int]:
    """Send the warnings and escalations due now; returns how many of each."""
    now = clock.now()
    warned = broken = 0
    lead = _lead_email(session)
    waiting = select(Visit).where(
        Visit.status.in_([s.value for s in WITH_CLINICIANS]),
        Visit.first_reply_at.is_(None),
        Visit.reply_due_at.is_not(None),
        Visit.promise_broken_at.is_(None),
    )
    for visit in session.scalars(waiting.with_for_update()):
        assert visit.reply_due_at is not None and visit.queued_at is not None
        if now >= visit.reply_due_at:
            visit.promise_broken_at = now
            late = now - visit.reply_due_at
            recipients = ([lead] if lead else []) + [e for e in _operations_emails(session) if e != lead]
            for to in recipients:
                send_mail(
                    session,
                    to,
                    "Virtual Care: a response-time promise was broken",
                    f"No clinician has replied to {_describe(visit)}; "
                    f"it is late by {int(late / timedelta(minutes=1))} min.\n"
                    "Open the visit queue to take it: /virtual-care/queue",
                )
            broken += 1
        elif visit.promise_warned_at is None and now >= promise.warn_at(
            visit.queued_at, visit.state, promise.promised_for(visit.condition_code)
        ):
            visit.promise_warned_at = now
            if lead:
                send_mail(
                    session,
                    lead,
                    "Virtual Care: a visit is close to its response-time promise",
                    f"80% of the promise has passed for {_describe(visit)}.\nOpen the visit queue: /virtual-care/queue",
                )
            warned += 1
    session.flush()
    return warned, broken


@scheduled("virtual_care.promise_watch", every=timedelta(minutes=1))
def promise_watch(session: Session) -> None:
    watch(session)
