"""Importing staff and their licences from CSV: every row checked first, then all or nothing.

One row per licence. The first row of an e-mail describes the person; more rows with the same
e-mail add licences, leaving the person columns empty (or repeating them exactly). A person who
is already on staff gets licences only: leave ``roles`` empty on their rows. The columns are
documented in ``docs/staff-import.md`` and ``careplane staff import --help``.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from careplane.kernel import control_characters
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.audit.record import record
from careplane.kernel.identity.users import find_by_email
from careplane.kernel.org.models import StaffMember
from careplane.kernel.org.staff import service as staff_service
from careplane.kernel.org.staff.service import LicenceData, StaffData
from careplane.settings import Settings

#: Column -> what it holds (shown in --help and the upload page).
COLUMNS: dict[str, str] = {
    "email": "login e-mail (required; the key that groups a person's rows)",
    "name": "full name, e.g. 'Dana Brown, MD'",
    "roles": "semicolon list: clinician; pharmacist; pharmacy_technician; biller (operations_lead, "
    "administrator need an administrator); empty for someone already on staff",
    "unit": "home unit code, e.g. virtual_care (an active unit; its kind of work decides which patient records "
    "they may open)",
    "team": "team name within the unit",
    "credentials": "semicolon list, e.g. MD or PharmD;RPh",
    "npi": "10-digit NPI (required for clinicians and pharmacists)",
    "dea": "DEA number (prescribing clinicians)",
    "dea_expires_on": "YYYY-MM-DD, required with a DEA number",
    "start_date": "YYYY-MM-DD (default: today)",
    "licence_state": "two-letter state code of a licence",
    "licence_number": "licence number",
    "licence_kind": f"one of {', '.join(staff_service.LICENCE_KINDS)}",
    "licence_expires_on": "YYYY-MM-DD (valid through this day)",
    "licence_issued_on": "YYYY-MM-DD (optional)",
}
REQUIRED_COLUMNS = ("email",)
PERSON_COLUMNS = ("name", "roles", "unit", "team", "credentials", "npi", "dea", "dea_expires_on", "start_date")
LICENCE_COLUMNS = tuple(c for c in COLUMNS if c.startswith("licence_"))
#: StaffData field -> the CSV column it comes from (for error messages).
_FIELD_COLUMN = {"display_name": "name", "dea_number": "dea"}
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return (
            f"line {self.line}: {self.column}: {self.message}" if self.column else f"line {self.line}: {self.message}"
        )


@dataclass
class PlannedPerson:
    line: int
    email: str
    data: StaffData | None  # None: already on staff, licences only
    existing_staff_id: uuid.UUID | None = None
    licences: list[tuple[int, LicenceData]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportPlan:
    people: list[PlannedPerson] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def new_people(self) -> list[PlannedPerson]:
        return [p for p in self.people if p.data is not None]

    @property
    def licence_count(self) -> int:
        return sum(len(p.licences) for p in self.people)


@dataclass
class ImportResult:
    plan: ImportPlan
    imported: bool
    staff_ids: list[uuid.UUID] = field(default_factory=list)


#: Told ``(phase, done, total)`` as rows are checked ("checking") and people created ("importing").
Progress = Callable[[str, int, int], None]


def _rows(text: str, plan: ImportPlan) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        plan.errors.append(RowError(1, "", "The file is empty: the first line must name the columns."))
        return []
    unknown = [h for h in header if h not in COLUMNS]
    for name in unknown:
        plan.errors.append(RowError(1, name, f"Unknown column; the columns are: {', '.join(COLUMNS)}."))
    for name in REQUIRED_COLUMNS:
        if name not in header:
            plan.errors.append(RowError(1, name, "This column is required."))
    if len(set(header)) != len(header):
        plan.errors.append(RowError(1, "", "A column is named twice."))
    if plan.errors:
        return []
    reader.fieldnames = header
    rows = []
    for raw in reader:
        if None in raw:
            plan.errors.append(RowError(reader.line_num, "", "This row has more values than the header has columns."))
            continue
        values = {k: (v or "").strip() for k, v in raw.items()}
        if any(values.values()):
            rows.append((reader.line_num, values))
    return rows


def _column(field_name: str) -> str:
    return _FIELD_COLUMN.get(field_name, field_name)


def check_file(session: Session, actor: Actor, text: str, progress: Progress | None = None) -> ImportPlan:
    """Check every row (fields, the database, and the rows against each other); writes nothing."""
    require(actor, Permission.ORG_MANAGE)
    plan = ImportPlan()
    rows = _rows(text, plan)
    plan.rows = len(rows)
    people: dict[str, PlannedPerson] = {}
    npi_lines: dict[str, int] = {}
    licence_lines: dict[tuple[str, str, str], int] = {}
    for done, (line, values) in enumerate(rows, 1):
        _check_row(session, actor, plan, people, npi_lines, licence_lines, line, values)
        if progress:
            progress("checking", done, len(rows))
    plan.people = list(people.values())
    return plan


def _check_row(
    session: Session,
    actor: Actor,
    plan: ImportPlan,
    people: dict[str, PlannedPerson],
    npi_lines: dict[str, int],
    licence_lines: dict[tuple[str, str, str], int],
    line: int,
    values: dict[str, str],
) -> None:
    def error(column: str, message: str) -> None:
        plan.errors.append(RowError(line, column, message))

    email_key = values.get("email", "").lower()
    if not email_key:
        error("email", "Every row needs the person's e-mail.")
        return
    person = people.get(email_key)
    if person is None:
        person, npi = _check_person(session, actor, plan, line, values)
        if person is not None:
            people[email_key] = person
        if npi:
            first = npi_lines.setdefault(npi, line)
            if first != line:
                error("npi", f"The NPI {npi} is also given on line {first}.")
    else:
        for column in PERSON_COLUMNS:
            if values.get(column) and values[column] != person.values.get(column, ""):
                error(
                    column,
                    f"Differs from line {person.line} for the same person; leave it empty on their further rows.",
                )
    if not any(values.get(c) for c in LICENCE_COLUMNS):
        return
    licence, problems = staff_service.clean_licence(values, prefix="licence_")
    if not problems:
        problems = staff_service.licence_conflict(session, licence, prefix="licence_")
    for column, message in problems.items():
        error(column, message)
    if problems:
        return
    key = (licence.state, licence.kind, licence.number)
    first = licence_lines.setdefault(key, line)
    if first != line:
        error("licence_number", f"The same licence is given on line {first}.")
    elif person is not None:
        person.licences.append((line, licence))


def _check_person(
    session: Session, actor: Actor, plan: ImportPlan, line: int, values: dict[str, str]
) -> tuple[PlannedPerson | None, str | None]:
    """The person a row describes (None when it has errors), and the NPI it gives."""
    user = find_by_email(session, values["email"])
    existing = (
        session.scalar(select(StaffMember.id).where(StaffMember.user_id == user.id)) if user is not None else None
    )
    if existing is not None:
        if values.get("roles"):
            plan.errors.append(
                RowError(
                    line,
                    "roles",
                    "This person is already on staff: leave roles (and the other "
                    "person columns) empty to add licences only.",
                )
            )
            return None, None
        return PlannedPerson(line, user.email, None, existing, values=values), None  # type: ignore[union-attr]
    mapped = {**values, "display_name": values.get("name", ""), "dea_number": values.get("dea", "")}
    data, errors = staff_service.clean_staff(mapped)
    errors = {**staff_service.staff_conflicts(session, actor, data), **errors}
    for field_name, message in errors.items():
        plan.errors.append(RowError(line, _column(field_name), message))
    for warning in data.warnings:
        plan.warnings.append(RowError(line, "dea", warning))
    npi = data.npi if "npi" not in errors else None
    if errors:
        return None, npi
    return PlannedPerson(line, data.email, data, values=values), npi


def import_staff(
    session: Session,
    actor: Actor,
    text: str,
    *,
    dry_run: bool = False,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the whole file; unless it is a dry run and only when no row is bad, create everyone and
    every licence in the caller's transaction. New logins are invited by e-mail when ``settings`` is given."""
    plan = check_file(session, actor, text, progress)
    if not plan.ok or dry_run:
        return ImportResult(plan, imported=False)
    ids: list[uuid.UUID] = []
    for done, person in enumerate(plan.people, 1):
        if person.data is not None:
            member = staff_service.create_staff(session, actor, person.data, settings=settings)
        else:
            member = session.get_one(StaffMember, person.existing_staff_id)
        session.add_all(staff_service.new_licence(member, data) for _, data in person.licences)
        ids.append(member.id)
        if progress:
            progress("importing", done, len(plan.people))
    session.flush()
    record(
        session,
        actor,
        "org.staff.import",
        resource_type="staff_import",
        reason=f"{len(plan.new_people)} people, {plan.licence_count} licences",
    )
    return ImportResult(plan, imported=True, staff_ids=ids)


def decode(raw: bytes) -> str:
    """File bytes as text (UTF-8, with or without a byte-order mark), without control characters."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"The file is not UTF-8 text (byte {exc.start}). Save it as 'CSV UTF-8'.") from None
    found = control_characters.first_in_text(text)
    if found is not None:
        line, char = found
        raise ValueError(f"Line {line} contains {control_characters.describe(char)}, which no field accepts.")
    return text
