"""Searching the audit log by patient, user, date, action and outcome (newest first).

Searching by a patient finds the entries of the records merged into that patient as well (each row
still names the record it was recorded under).

One service for the operations page, the JSON API and the CLI. Reading the log is itself
audited: an ``audit.read`` row without a patient, allowed or denied.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from careplane.kernel import clock
from careplane.kernel.access import Actor, Permission, authorize
from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.identity.users import find_by_email, normalise_email
from careplane.kernel.patients.models import Patient

PAGE_SIZE = 50
MAX_LIMIT = 500
OUTCOMES = ("allowed", "denied")


@dataclass(frozen=True)
class AuditFilters:
    """Filters as typed by a person: MRN or patient id, e-mail, dates in ``tz`` (an IANA zone)."""

    patient: str | None = None
    user: str | None = None
    since: str | None = None
    until: str | None = None
    action: str | None = None
    outcome: str | None = None
    tz: str | None = None

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in vars(self).items() if value and name != "tz"]
        return "search " + (", ".join(parts) if parts else "(no filters)")


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    patient_mrn: str | None
    patient_name: str | None
    occurred_local: datetime

    @property
    def sealed(self) -> bool:
        return self.entry.seq is not None

    @property
    def roles(self) -> list[str]:
        return [r for r in self.entry.actor_roles.split(",") if r]


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    next_cursor: str | None
    tz: tzinfo


@dataclass(frozen=True)
class _Query:
    patient_id: uuid.UUID | None
    user_id: uuid.UUID | None
    user_label: str | None
    since: datetime | None  # inclusive, UTC
    until: datetime | None  # exclusive, UTC
    action: str | None
    outcome: str | None
    tz: tzinfo


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def parse_zone(name: str | None) -> tzinfo:
    name = _clean(name)
    if name is None:
        return UTC
    zone = clock.zone_named(name)
    if zone is None:
        raise ValidationFailed({"tz": f"Unknown time zone {name!r}; use a name such as America/New_York."})
    return zone


def parse_moment(value: str, zone: tzinfo, *, end: bool) -> datetime:
    """A date (the whole day in ``zone``) or a date-time (naive means ``zone``) as a UTC bound.

    Start bounds are inclusive; end bounds come back exclusive (the day after, or one microsecond on).
    """
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
            moment = datetime.combine(day, time(), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            if end:
                moment += timedelta(microseconds=1)
    except ValueError:
        raise ValueError("Enter a date as YYYY-MM-DD or a date and time as YYYY-MM-DDTHH:MM.") from None
    return moment.astimezone(UTC)


def _parse(session: Session, filters: AuditFilters) -> _Query:
    errors: dict[str, str] = {}
    try:
        zone = parse_zone(filters.tz)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        zone = UTC

    patient_id = None
    if patient := _clean(filters.patient):
        try:
            patient_id = uuid.UUID(patient)
        except ValueError:
            patient_id = session.scalar(select(Patient.id).where(Patient.mrn == patient))
            if patient_id is None:
                errors["patient"] = f"No patient has the MRN {patient!r}."

    user_id = user_label = None
    if user := _clean(filters.user):
        found = find_by_email(session, user)
        if found is not None:
            user_id = found.id
        else:  # a departed user, or a system actor such as "system:import"
            user_label = normalise_email(user)

    bounds: dict[str, datetime | None] = {"since": None, "until": None}
    for name in bounds:
        if raw := _clean(getattr(filters, name)):
            try:
                bounds[name] = parse_moment(raw, zone, end=name == "until")
            except ValueError as exc:
                errors[name] = str(exc)
    since, until = bounds["since"], bounds["until"]
    if since and until and since >= until:
        errors["until"] = "Until must not be before since."

    outcome = _clean(filters.outcome)
    if outcome and outcome not in OUTCOMES:
        errors["outcome"] = "Outcome must be allowed or denied."
    action = _clean(filters.action)
    if action and len(action) > 60:
        errors["action"] = "Action is at most 60 characters."

    if errors:
        raise ValidationFailed(errors)
    return _Query(patient_id, user_id, user_label, since, until, action, outcome, zone)


def encode_cursor(entry: AuditEntry) -> str:
    raw = f"{entry.occurred_at.isoformat()}|{entry.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, entry_id = raw.split("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None:
            raise ValueError
        return at, uuid.UUID(entry_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed({"after": "This page link is not valid; start again from the newest entries."}) from None


def search(
    session: Session,
    actor: Actor,
    filters: AuditFilters,
    *,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """One page of entries, newest first, after the ``after`` cursor of the previous page."""
    if not actor.can(Permission.AUDIT_READ):
        # refused (and recorded) before the filters are read: their errors would tell an outsider
        # which MRNs and e-mail addresses exist
        authorize(session, actor, Permission.AUDIT_READ, resource_type="audit_log", reason=filters.describe()[:1000])
    query = _parse(session, filters)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed({"limit": f"Limit must be between 1 and {MAX_LIMIT}."})

    stmt = (
        select(AuditEntry, Patient)
        .outerjoin(Patient, Patient.id == AuditEntry.patient_id)
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        .limit(limit + 1)
    )
    if query.patient_id:
        # the person's whole history: entries recorded under records since merged into this one too
        merged = session.scalars(select(Patient.id).where(Patient.merged_into_id == query.patient_id))
        stmt = stmt.where(AuditEntry.patient_id.in_([query.patient_id, *merged]))
    if query.user_id:
        stmt = stmt.where(AuditEntry.actor_user_id == query.user_id)
    if query.user_label:
        stmt = stmt.where(AuditEntry.actor_label == query.user_label)
    if query.since:
        stmt = stmt.where(AuditEntry.occurred_at >= query.since)
    if query.until:
        stmt = stmt.where(AuditEntry.occurred_at < query.until)
    if query.action:
        stmt = stmt.where(AuditEntry.action == query.action)
    if query.outcome:
        stmt = stmt.where(AuditEntry.outcome == query.outcome)
    if after := _clean(after):
        at, entry_id = decode_cursor(after)
        stmt = stmt.where(
            or_(AuditEntry.occurred_at < at, and_(AuditEntry.occurred_at == at, AuditEntry.id < entry_id))
        )

    found = session.execute(stmt).all()
    # Decided (and recorded) before anything is shown, after the query so that this search's own
    # audit.read row is not among its results.
    authorize(session, actor, Permission.AUDIT_READ, resource_type="audit_log", reason=filters.describe()[:1000])
    rows = [
        AuditRow(
            entry=entry,
            patient_mrn=patient.mrn if patient else None,
            patient_name=patient.display_name if patient else None,
            occurred_local=entry.occurred_at.astimezone(query.tz),
        )
        for entry, patient in found[:limit]
    ]
    next_cursor = encode_cursor(rows[-1].entry) if len(found) > limit else None
    return AuditPage(rows=rows, next_cursor=next_cursor, tz=query.tz)
