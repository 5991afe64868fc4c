"""The daily warning job: staff and their unit leads hear 60, 30 and 7 days before a state licence
or DEA registration expires.

Each warning is remembered in :class:`LicenceWarning` (unique per licence, expiry date and
threshold), so running the job twice sends nothing twice. A day the job did not run is caught up:
the warning sent is the most urgent threshold reached (a licence 25 days out whose 60-day warning
was missed gets the 30-day one, not both).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from careplane.kernel import clock
from careplane.kernel.identity.models import User
from careplane.kernel.jobs import scheduled
from careplane.kernel.mail import send_mail
from careplane.kernel.org.models import (
    Licence,
    LicenceWarning,
    OrgUnit,
    StaffMember,
    StaffStatus,
    Team,
    TeamMembership,
    UnitStatus,
)
from careplane.settings import get_settings

#: Days before expiry at which people are warned, most urgent first.
THRESHOLDS: tuple[int, ...] = (7, 30, 60)


def threshold_for(days_left: int) -> int | None:
    """The warning due ``days_left`` days before expiry (the most urgent reached), or None."""
    if days_left < 0:
        return None
    return next((t for t in THRESHOLDS if days_left <= t), None)


@dataclass(frozen=True)
class Expiring:
    """A licence or DEA registration of a working staff member that expires within the warning horizon."""

    subject: str
    staff: StaffMember
    user: User
    what: str
    expires_on: date


def expiring(session: Session, today: date) -> list[Expiring]:
    horizon = today + timedelta(days=max(THRESHOLDS))
    working = (
        StaffMember.status == StaffStatus.ACTIVE.value,
        User.is_active.is_(True),
        or_(StaffMember.end_date.is_(None), StaffMember.end_date >= today),
    )
    found: list[Expiring] = []
    licences = session.execute(
        select(Licence, StaffMember, User)
        .join(StaffMember, StaffMember.id == Licence.staff_id)
        .join(User, User.id == StaffMember.user_id)
        .where(Licence.expires_on >= today, Licence.expires_on <= horizon, *working)
    ).unique()
    for licence, staff, user in licences:
        found.append(
            Expiring(
                f"licence:{licence.id}",
                staff,
                user,
                f"{licence.state} {licence.kind} licence {licence.number}",
                licence.expires_on,
            )
        )
    registrations = session.execute(
        select(StaffMember, User)
        .join(User, User.id == StaffMember.user_id)
        .where(StaffMember.dea_expires_on >= today, StaffMember.dea_expires_on <= horizon, *working)
    ).unique()
    for staff, user in registrations:
        assert staff.dea_expires_on is not None, "the query asks for a date in range"
        found.append(
            Expiring(f"dea:{staff.id}", staff, user, f"DEA registration {staff.dea_number}", staff.dea_expires_on)
        )
    return found


def unit_lead_emails(session: Session, staff_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    """For each person: the e-mails of the leads of their home unit and of their current teams' units."""
    if not staff_ids:
        return {}
    lead = aliased(StaffMember)
    lead_user = aliased(User)
    leads_by_unit = {
        code: (lead_id, email)
        for code, lead_id, email in session.execute(
            select(OrgUnit.code, lead.id, lead_user.email)
            .join(lead, lead.id == OrgUnit.lead_staff_id)
            .join(lead_user, lead_user.id == lead.user_id)
            .where(OrgUnit.status == UnitStatus.ACTIVE.value, lead_user.is_active.is_(True))
        )
    }
    units: dict[uuid.UUID, set[str]] = defaultdict(set)
    for staff_id, home_unit in session.execute(
        select(StaffMember.id, User.unit)
        .join(User, User.id == StaffMember.user_id)
        .where(StaffMember.id.in_(staff_ids))
    ):
        if home_unit:
            units[staff_id].add(home_unit)
    for staff_id, code in session.execute(
        select(TeamMembership.staff_id, OrgUnit.code)
        .join(Team, Team.id == TeamMembership.team_id)
        .join(OrgUnit, OrgUnit.id == Team.unit_id)
        .where(TeamMembership.staff_id.in_(staff_ids), TeamMembership.end_date.is_(None))
    ):
        units[staff_id].add(code)
    return {
        staff_id: {leads_by_unit[c][1] for c in codes if c in leads_by_unit and leads_by_unit[c][0] != staff_id}
        for staff_id, codes in units.items()
    }


def send_expiry_warnings(session: Session, today: date | None = None) -> list[LicenceWarning]:
    """Send every warning due today that has not been sent; returns the warnings sent."""
    today = today or clock.today()
    due = expiring(session, today)
    if not due:
        return []
    already = {
        (subject, expires_on, days)
        for subject, expires_on, days in session.execute(
            select(LicenceWarning.subject, LicenceWarning.expires_on, LicenceWarning.days_before).where(
                LicenceWarning.subject.in_([e.subject for e in due])
            )
        )
    }
    leads = unit_lead_emails(session, list({e.staff.id for e in due}))
    base_url = get_settings().base_url.rstrip("/")
    sent: list[LicenceWarning] = []
    for item in sorted(due, key=lambda e: (e.expires_on, e.subject)):
        days_left = (item.expires_on - today).days
        threshold = threshold_for(days_left)
        if threshold is None or any(
            (item.subject, item.expires_on, t) in already for t in THRESHOLDS if t <= threshold
        ):
            continue
        when = "today" if days_left == 0 else f"in {days_left} day{'s' if days_left != 1 else ''}"
        page = f"{base_url}/org/staff/{item.staff.id}"
        send_mail(
            session,
            item.user.email,
            f"Your {item.what} expires {when}",
            f"Hello {item.user.display_name},\n\nYour {item.what} expires on {item.expires_on} ({when}). "
            "After that day careplane no longer lets you do the work it permits. Please renew it and send "
            f"the renewal to operations so they can record the new expiry date:\n\n{page}\n",
        )
        lead_emails = sorted(leads.get(item.staff.id, set()) - {item.user.email})
        for email in lead_emails:
            send_mail(
                session,
                email,
                f"{item.user.display_name}'s {item.what} expires {when}",
                f"{item.user.display_name}'s {item.what} expires on {item.expires_on} ({when}). "
                f"You receive this as their unit lead. Their page:\n\n{page}\n",
            )
        warning = LicenceWarning(
            staff_id=item.staff.id,
            subject=item.subject,
            expires_on=item.expires_on,
            days_before=threshold,
            recipients=", ".join([item.user.email, *lead_emails]),
        )
        session.add(warning)
        already.add((item.subject, item.expires_on, threshold))
        sent.append(warning)
    session.flush()
    return sent


@scheduled("org.licence_expiry_warnings", cron="0 13 * * *")
def licence_expiry_warnings(session: Session) -> None:
    send_expiry_warnings(session)
