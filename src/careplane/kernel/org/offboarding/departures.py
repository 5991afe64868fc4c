"""Offboarding: end a staff member's access at once, then let every unit hand their open work on.

:func:`offboard` does in one transaction everything that must not wait (status, login switched
off, every session and API token revoked, team memberships and unit leads ended, the departure
recorded) and publishes ``StaffDeparted``; each unit's handler then moves the work and reports
(:mod:`careplane.kernel.org.offboarding.handover`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import clock, work
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.audit.record import record
from careplane.kernel.errors import Conflict, NotFound, ValidationFailed
from careplane.kernel.events import publish
from careplane.kernel.identity.authn import revoke_all_credentials
from careplane.kernel.identity.models import User
from careplane.kernel.identity.service import lock_user
from careplane.kernel.org.events import StaffDeparted
from careplane.kernel.org.models import (
    Departure,
    HandoverReport,
    OrgChange,
    OrgUnit,
    StaffMember,
    StaffStatus,
    Team,
    TeamMembership,
    UnitStatus,
)
from careplane.kernel.org.offboarding import handover
from careplane.kernel.org.structure import service as structure
from careplane.kernel.work.models import WorkQueue


def get_staff(session: Session, staff_id: uuid.UUID, *, lock: bool = False) -> StaffMember:
    staff = session.get(StaffMember, staff_id, with_for_update=lock or None)
    if staff is None:
        raise NotFound("There is no such staff member.")
    return staff


# ---------------------------------------------------------------- choices and preview


def successor_people(session: Session, excluding: uuid.UUID | None = None) -> list[tuple[uuid.UUID, str]]:
    """Active staff who can take work on, by name."""
    query = (
        select(StaffMember.id, User.display_name)
        .join(User, User.id == StaffMember.user_id)
        .where(StaffMember.status == StaffStatus.ACTIVE.value, User.is_active.is_(True))
        .order_by(User.display_name, StaffMember.id)
    )
    if excluding is not None:
        query = query.where(StaffMember.id != excluding)
    return [(staff_id, name) for staff_id, name in session.execute(query)]


def successor_queues(session: Session, on: date | None = None) -> list[tuple[uuid.UUID, str]]:
    """Queues of teams in existence on ``on`` (today), labelled "Unit / Team / Queue"."""
    on = on or clock.today()
    rows = session.execute(
        select(WorkQueue.id, OrgUnit.name, Team.name, WorkQueue.name)
        .join(Team, Team.id == WorkQueue.team_id)
        .join(OrgUnit, OrgUnit.id == Team.unit_id)
        .where((Team.effective_to.is_(None)) | (Team.effective_to >= on))
        .order_by(OrgUnit.name, Team.name, WorkQueue.name)
    )
    return [(qid, f"{unit} / {team} / {queue}") for qid, unit, team, queue in rows]


@dataclass
class UnitPreview:
    code: str
    name: str
    counts: dict[str, int]
    #: False for work in a unit that is not a hand-over participant: nothing would move it.
    handed_over: bool = True

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def uncovered_units(units: list[UnitPreview]) -> list[UnitPreview]:
    """The units where the person holds open work that no hand-over covers."""
    return [u for u in units if not u.handed_over and u.total]


@dataclass
class Preview:
    staff: StaffMember
    name: str
    units: list[UnitPreview] = field(default_factory=list)
    leads: list[OrgUnit] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(u.total for u in self.units)

    @property
    def uncovered(self) -> list[UnitPreview]:
        """Units holding open work of theirs that no hand-over covers: it would stay with them."""
        return uncovered_units(self.units)

    @property
    def uncovered_total(self) -> int:
        return sum(u.total for u in self.uncovered)


def preview(session: Session, actor: Actor, staff_id: uuid.UUID) -> Preview:
    """What an offboarding would move, per unit, and which units the person leads."""
    require(actor, Permission.ORG_MANAGE)
    staff = get_staff(session, staff_id)
    leads = list(session.scalars(select(OrgUnit).where(OrgUnit.lead_staff_id == staff.id).order_by(OrgUnit.name)))
    return Preview(
        staff=staff,
        name=structure.staff_names(session, {staff.id}).get(staff.id, str(staff.id)),
        units=_unit_previews(session, staff.id),
        leads=leads,
    )


def _unit_previews(session: Session, staff_id: uuid.UUID) -> list[UnitPreview]:
    """The person's open work per unit: every hand-over participant, then the other units holding some."""
    counts = work.open_counts_by_unit(session, staff_id)
    names = handover.unit_names(session)
    participants = handover.registered_units()
    units = [UnitPreview(code, names.get(code, code), dict(counts.get(code, {}))) for code in participants]
    # A unit made later (a split, a new unit) is handed over with the business function it does.
    functions = {code: function for code, function in session.execute(select(OrgUnit.code, OrgUnit.function))}
    units += [
        UnitPreview(code, names.get(code, code), dict(kinds), handed_over=functions.get(code) in participants)
        for code, kinds in sorted(counts.items())
        if code not in participants
    ]
    return units


class UncoveredWork(Conflict):
    """The person holds open work that no unit's hand-over covers (in a unit doing no installed
    unit's kind of work): offboarding would leave it with them. Refused unless confirmed."""

    type_slug = "uncovered-work"
    title = "Open work would not be handed over"

    def __init__(self, units: list[UnitPreview]) -> None:
        self.units = units
        self.count = sum(u.total for u in units)
        items = f"{self.count} open work item{'' if self.count == 1 else 's'}"
        super().__init__(
            f"{items} in {', '.join(u.name for u in units)} would not be handed over: no unit's hand-over covers "
            f"{'it' if self.count == 1 else 'them'}, so {'it' if self.count == 1 else 'they'} would stay with the "
            'person who left. Reassign that work first, or resend with "confirm_uncovered": true to offboard anyway.',
            uncovered_items=self.count,
            uncovered_units=[{"unit_code": u.code, "unit": u.name, "open_items": dict(u.counts)} for u in units],
        )


# ---------------------------------------------------------------- offboarding


def _check(
    session: Session,
    actor: Actor,
    staff: StaffMember,
    successor_staff_id: uuid.UUID | None,
    successor_queue_id: uuid.UUID | None,
    effective_on: date,
) -> None:
    if staff.status == StaffStatus.DEPARTED.value:
        raise Conflict("This staff member has already been offboarded.")
    if actor.user_id is not None and staff.user_id == actor.user_id:
        raise Conflict("You cannot offboard yourself; ask another operations lead.")
    errors: dict[str, str] = {}
    if (successor_staff_id is None) == (successor_queue_id is None):
        errors["successor"] = "Choose either a successor person or a team queue (exactly one)."
    elif successor_staff_id is not None:
        successor = session.get(StaffMember, successor_staff_id, with_for_update=True)
        if successor is None:
            errors["successor_staff_id"] = "There is no such staff member."
        elif successor.id == staff.id:
            errors["successor_staff_id"] = "The successor must be someone other than the person leaving."
        elif successor.status != StaffStatus.ACTIVE.value:
            errors["successor_staff_id"] = "The successor has left; choose an active staff member."
    elif successor_queue_id is not None and successor_queue_id not in dict(successor_queues(session, effective_on)):
        errors["successor_queue_id"] = "There is no such queue in a current team."
    if effective_on > clock.today():
        errors["effective_on"] = "Offboarding ends access now; the last day cannot be in the future."
    elif effective_on < staff.start_date:
        errors["effective_on"] = f"The last day cannot be before they started ({staff.start_date.isoformat()})."
    if errors:
        raise ValidationFailed(errors)


def offboard(
    session: Session,
    actor: Actor,
    staff_id: uuid.UUID,
    successor_staff_id: uuid.UUID | None = None,
    successor_queue_id: uuid.UUID | None = None,
    effective_on: date | None = None,
    reason: str | None = None,
    *,
    confirm_uncovered: bool = False,
) -> Departure:
    """Offboard a staff member now (see the module). Open work of theirs that no hand-over covers
    would stay with them: that is refused (:class:`UncoveredWork`) unless ``confirm_uncovered``."""
    require(actor, Permission.ORG_MANAGE)
    staff = get_staff(session, staff_id, lock=True)
    effective_on = effective_on or clock.today()
    _check(session, actor, staff, successor_staff_id, successor_queue_id, effective_on)
    previews = _unit_previews(session, staff.id)
    uncovered = uncovered_units(previews)
    if uncovered and not confirm_uncovered:
        raise UncoveredWork(uncovered)
    now = clock.now()

    staff.status = StaffStatus.DEPARTED.value
    staff.end_date = effective_on
    user = session.get(User, staff.user_id)
    if user is not None:
        lock_user(session, user)
        user.is_active = False
        user.deactivated_at = now
        revoke_all_credentials(session, user)
    for membership in session.scalars(
        select(TeamMembership).where(
            TeamMembership.staff_id == staff.id,
            (TeamMembership.end_date.is_(None)) | (TeamMembership.end_date > effective_on),
        )
    ):
        membership.end_date = effective_on

    departure = Departure(
        staff_id=staff.id,
        successor_staff_id=successor_staff_id,
        successor_queue_id=successor_queue_id,
        at=now,
        effective_on=effective_on,
        initiated_by=actor.label,
        reason=(reason or "").strip() or None,
    )
    session.add(departure)
    session.flush()
    _hand_over_leads(session, actor, staff, departure)
    _record_in_history(session, actor, departure, user.unit if user is not None else None, previews)
    record(session, actor, "staff.offboard", resource_type="staff", resource_id=str(staff.id))
    publish(session, StaffDeparted(departure.id, staff.id, successor_staff_id, successor_queue_id))
    return departure


def _record_in_history(
    session: Session, actor: Actor, departure: Departure, home_unit: str | None, previews: list[UnitPreview]
) -> OrgChange:
    """The offboarding in the organisation's history (``staff.offboarded``), beside the restructurings:
    who left, their last day, the successor, and how many open work items the hand-over moves (counted
    now: the items no hand-over covers, left with them by confirmation, are counted apart). It
    concerns the person's home unit and, with a queue as successor, that queue's unit too."""
    name = structure.staff_names(session, {departure.staff_id}).get(departure.staff_id, str(departure.staff_id))
    home = session.scalar(select(OrgUnit).where(OrgUnit.code == home_unit)) if home_unit else None
    queue_unit_id = None
    if departure.successor_staff_id is not None:
        successor = structure.staff_names(session, {departure.successor_staff_id}).get(
            departure.successor_staff_id, str(departure.successor_staff_id)
        )
    else:
        successor = dict(successor_queues(session, date.min)).get(departure.successor_queue_id, "a team queue")  # type: ignore[arg-type]
        queue_unit_id = session.scalar(
            select(Team.unit_id)
            .join(WorkQueue, WorkQueue.team_id == Team.id)
            .where(WorkQueue.id == departure.successor_queue_id)
        )
    handed_over = sum(u.total for u in previews if u.handed_over)
    kept = sum(u.total for u in uncovered_units(previews))
    summary = (
        f"{name} offboarded (last day {departure.effective_on.isoformat()}); "
        f"{handed_over} open work item{'' if handed_over == 1 else 's'} handed over to {successor}"
    )
    if kept:
        summary += f"; {kept} item{'' if kept == 1 else 's'} that no hand-over covers stay with them (confirmed)"
    change = OrgChange(
        at=departure.at,
        effective_on=departure.effective_on,
        actor_label=actor.label,
        kind="staff.offboarded",
        summary=summary,
        details={
            "departure_id": str(departure.id),
            "staff_id": str(departure.staff_id),
            "name": name,
            "home_unit": home_unit,
            "successor_staff_id": _s(departure.successor_staff_id),
            "successor_queue_id": _s(departure.successor_queue_id),
            "successor": successor,
            "items_handed_over": handed_over,
            "items_not_covered": kept,
            "by_unit": {u.code: u.total for u in previews if u.total},
        },
        unit_id=home.id if home else queue_unit_id,
        other_unit_id=queue_unit_id if home and queue_unit_id != home.id else None,
    )
    session.add(change)
    return change


def _s(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def _hand_over_leads(session: Session, actor: Actor, staff: StaffMember, departure: Departure) -> None:
    """Units the person led pass to the successor person; with a queue as successor they are left
    without a lead, which the history records and the departure page flags."""
    for unit in session.scalars(select(OrgUnit).where(OrgUnit.lead_staff_id == staff.id).with_for_update()):
        if unit.status != UnitStatus.ACTIVE.value:
            unit.lead_staff_id = None  # a merged or retired unit needs no lead
            continue
        structure.set_unit_lead(
            session,
            actor,
            unit.id,
            departure.successor_staff_id,
            effective_on=max(departure.effective_on, unit.effective_from),
        )


# ---------------------------------------------------------------- reading


@dataclass
class DepartureView:
    departure: Departure
    name: str
    successor: str
    status: handover.HandoverStatus
    unit_names: dict[str, str]
    #: Units the person led, now without a lead.
    leaderless: list[str]

    @property
    def rows(self) -> list[tuple[str, HandoverReport | None]]:
        """(unit name, its report or None while it has not reported), by name."""
        codes = set(self.status.reports) | set(self.status.missing)
        return sorted(((self.unit_names.get(c, c), self.status.reports.get(c)) for c in codes), key=lambda r: r[0])


def get_departure(session: Session, actor: Actor, departure_id: uuid.UUID) -> DepartureView:
    require(actor, Permission.ORG_MANAGE)
    departure = session.get(Departure, departure_id)
    if departure is None:
        raise NotFound("There is no such departure.")
    return _view(session, departure)


def _view(session: Session, departure: Departure) -> DepartureView:
    names = structure.staff_names(session, {i for i in (departure.staff_id, departure.successor_staff_id) if i})
    if departure.successor_staff_id:
        successor = names.get(departure.successor_staff_id, str(departure.successor_staff_id))
    else:
        successor = dict(successor_queues(session, date.min)).get(departure.successor_queue_id, "a team queue")  # type: ignore[arg-type]
    # Units this person led that are still without a lead (a queue was the successor).
    leaderless: list[str] = []
    if departure.successor_queue_id:
        rows = session.execute(
            select(OrgUnit.name, OrgChange.details)
            .join(OrgChange, OrgChange.unit_id == OrgUnit.id)
            .where(OrgChange.kind == "unit.lead_changed", OrgChange.at >= departure.at)
            .where(OrgUnit.lead_staff_id.is_(None), OrgUnit.status == UnitStatus.ACTIVE.value)
            .order_by(OrgUnit.name)
        )
        leaderless = sorted({name for name, details in rows if details.get("from") == str(departure.staff_id)})
    return DepartureView(
        departure=departure,
        name=names.get(departure.staff_id, str(departure.staff_id)),
        successor=successor,
        status=handover.status(session, departure),
        unit_names=handover.unit_names(session),
        leaderless=leaderless,
    )


def departure_of(session: Session, actor: Actor, staff_id: uuid.UUID) -> Departure | None:
    require(actor, Permission.ORG_MANAGE)
    return session.scalar(select(Departure).where(Departure.staff_id == staff_id))


def list_departures(session: Session, actor: Actor, limit: int = 200) -> list[DepartureView]:
    require(actor, Permission.ORG_MANAGE)
    rows = session.scalars(select(Departure).order_by(Departure.at.desc(), Departure.id).limit(limit))
    return [_view(session, d) for d in rows]
