"""JSON API for staff, licences and licensure: /api/v1/org/staff, /api/v1/org/licensure.
Parse, call the staff services, serialise; errors are problem+json."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from careplane.kernel import clock, idempotency
from careplane.kernel.access import Actor, Permission, require
from careplane.kernel.errors import ValidationFailed
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import Licence, StaffMember, TeamMembership
from careplane.kernel.org.staff import service as staff_service
from careplane.kernel.org.staff.licensure import clinicians_licensed_in, may_verify_for_state
from careplane.kernel.patients.validation import check_state
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor, csrf_protect, db_session, respond_once

router = APIRouter(route_class=GuardedRoute, prefix="/api/v1/org", tags=["staff"], dependencies=[Depends(csrf_protect)])

_ERRORS = problem_responses(
    401, 422, described={403: "Access denied (changes need org.manage)", 404: "No such staff member or licence"}
)
_KEY_DOC = "Retries with the same key and body replay the first response instead of acting twice"


# ---------------------------------------------------------------- models


class LicenceOut(BaseModel):
    id: uuid.UUID
    state: str
    kind: str
    number: str
    issued_on: date | None
    expires_on: date = Field(description="Valid through this day inclusive")
    status: str = Field(description="ok, expiring (within 60 days) or expired")
    days_left: int | None

    @classmethod
    def of(cls, lic: Licence) -> LicenceOut:
        state, days = staff_service.expiry_state(lic.expires_on)
        return cls(
            id=lic.id,
            state=lic.state,
            kind=lic.kind,
            number=lic.number,
            issued_on=lic.issued_on,
            expires_on=lic.expires_on,
            status=state,
            days_left=days,
        )


class QueueWork(BaseModel):
    queue_id: uuid.UUID
    queue: str
    team: str
    open_items: int


class StaffOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    roles: list[str]
    unit: str | None
    status: str
    credentials: list[str]
    npi: str | None
    dea_number: str | None
    dea_expires_on: date | None
    start_date: date
    end_date: date | None
    licences: list[LicenceOut]

    @classmethod
    def of(cls, m: StaffMember) -> StaffOut:
        return cls(
            id=m.id,
            user_id=m.user_id,
            email=m.user.email,
            name=m.user.display_name,
            roles=sorted(r.value for r in m.user.roles),
            unit=m.user.unit,
            status=m.status,
            credentials=list(m.credentials),
            npi=m.npi,
            dea_number=m.dea_number,
            dea_expires_on=m.dea_expires_on,
            start_date=m.start_date,
            end_date=m.end_date,
            licences=[LicenceOut.of(lic) for lic in m.licences],
        )


class MembershipOut(BaseModel):
    id: uuid.UUID
    team_id: uuid.UUID
    team: str
    unit: str
    start_date: date
    end_date: date | None

    @classmethod
    def of(cls, ms: TeamMembership) -> MembershipOut:
        return cls(
            id=ms.id,
            team_id=ms.team_id,
            team=ms.team.name,
            unit=ms.team.unit.code,
            start_date=ms.start_date,
            end_date=ms.end_date,
        )


class StaffDetail(StaffOut):
    memberships: list[MembershipOut]
    open_work: list[QueueWork]


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, description="Their login; an existing staff login is linked, else one is made")
    name: str = Field(max_length=200, examples=["Dana Brown, MD"])
    roles: list[str] = Field(examples=[["clinician"]])
    unit: str | None = Field(None, max_length=40, examples=["virtual_care"])
    team: str | None = Field(None, max_length=120, description="A current team of the unit")
    credentials: list[str] = Field(default_factory=list, examples=[["MD"]])
    npi: str | None = Field(None, max_length=20, description="Required for clinicians and pharmacists")
    dea_number: str | None = Field(None, max_length=20)
    dea_expires_on: date | None = None
    start_date: date | None = Field(None, description="Defaults to today")
    end_date: date | None = None


class StaffUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credentials: list[str] | None = Field(None, examples=[["MD"]])
    npi: str | None = Field(None, max_length=20)
    dea_number: str | None = Field(None, max_length=20)
    dea_expires_on: date | None = None
    end_date: date | None = Field(None, description="Last working day (use offboarding to hand over their work)")


class StaffMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit: str = Field(
        max_length=40,
        examples=["health_tech"],
        description="Code of the active unit that becomes their home unit. Its kind of work "
        "(`function`) decides which patient records they may open, from their next request.",
    )
    effective_on: date | None = Field(
        None, description="Defaults to today. A future date is recorded and shown; the move applies at once."
    )


class TeamJoin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: uuid.UUID
    start_date: date | None = Field(None, description="Defaults to today")


class TeamLeave(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_date: date | None = Field(None, description="Defaults to today")


class LicenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str = Field(max_length=2, examples=["NY"])
    kind: str = Field(max_length=10, description=", ".join(staff_service.LICENCE_KINDS), examples=["MD"])
    number: str = Field(max_length=40)
    expires_on: date
    issued_on: date | None = None


class LicenceRenew(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_on: date
    issued_on: date | None = None


class ClinicianOut(BaseModel):
    staff_id: uuid.UUID
    name: str
    email: str
    npi: str | None
    credentials: list[str]
    licence: LicenceOut = Field(description="The licence for the state asked about that is valid on the day")


# ---------------------------------------------------------------- staff


@router.get("/staff", response_model=list[StaffOut], responses=_ERRORS, summary="Staff, filtered by unit or role")
def list_staff(
    unit: str | None = Query(None, description="Unit code: home unit or a current team in it"),
    role: Role | None = Query(None),
    include_departed: bool = False,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> list[StaffOut]:
    return [
        StaffOut.of(m)
        for m in staff_service.list_staff(session, actor, unit=unit, role=role, include_departed=include_departed)
    ]


@router.get("/staff/{staff_id}", response_model=StaffDetail, responses=_ERRORS, summary="One staff member")
def get_staff(
    staff_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> StaffDetail:
    return _detail(session, actor, staff_id)


@router.post("/staff", status_code=201, response_model=StaffDetail, responses=_ERRORS, summary="Add a staff member")
def create_staff(
    body: StaffCreate,
    request: Request,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
) -> JSONResponse:
    """New logins get an e-mail link to choose a password. Needs org.manage."""

    def act() -> tuple[int, Any]:
        values = body.model_dump(exclude={"name"}) | {"display_name": body.name}
        member = staff_service.hire(session, actor, values, settings=request.app.state.settings)
        return 201, _detail(session, actor, member.id).model_dump(mode="json")

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.patch("/staff/{staff_id}", response_model=StaffDetail, responses=_ERRORS, summary="Change a staff member")
def update_staff(
    staff_id: uuid.UUID, body: StaffUpdate, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> StaffDetail:
    """Only the fields sent change: credentials, NPI, DEA registration, end date. Needs org.manage.
    To change their unit, use `POST /api/v1/org/staff/{staff_id}/move`."""
    staff_service.update_staff(session, actor, staff_id, body.model_dump(exclude_unset=True))
    return _detail(session, actor, staff_id)


@router.post(
    "/staff/{staff_id}/move",
    response_model=StaffDetail,
    summary="Move a staff member to another unit",
    responses={**_ERRORS, **problem_responses(described={409: "The staff member has left and cannot be moved"})},
)
def move_staff(
    staff_id: uuid.UUID,
    body: StaffMove,
    request: Request,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
) -> JSONResponse:
    """Their home unit (`unit`) becomes the one given, at once: the new unit's kind of work decides
    which patient records they may open from their next request on (a pharmacist moved to a Health
    Technology unit opens none). Team memberships and assigned work stay as they are. The move is
    recorded in both units' history (`staff.moved`, `GET /api/v1/org/history`). Needs org.manage;
    the unit must be active and not the one they are in (422 with `errors` on `unit`)."""

    def act() -> tuple[int, Any]:
        staff_service.move_staff(session, actor, staff_id, body.unit, effective_on=body.effective_on)
        return 200, _detail(session, actor, staff_id).model_dump(mode="json")

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.post(
    "/staff/{staff_id}/teams",
    status_code=201,
    response_model=MembershipOut,
    responses=_ERRORS,
    summary="Add a staff member to a team",
)
def join_team(
    staff_id: uuid.UUID, body: TeamJoin, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> MembershipOut:
    membership = staff_service.join_team(session, actor, staff_id, body.team_id, body.start_date)
    session.refresh(membership)
    return MembershipOut.of(membership)


@router.post(
    "/staff/{staff_id}/teams/{membership_id}/end",
    response_model=MembershipOut,
    responses=_ERRORS,
    summary="End a staff member's team membership",
)
def leave_team(
    staff_id: uuid.UUID,
    membership_id: uuid.UUID,
    body: TeamLeave,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> MembershipOut:
    return MembershipOut.of(staff_service.leave_team(session, actor, staff_id, membership_id, body.end_date))


# ---------------------------------------------------------------- licences


@router.get(
    "/staff/{staff_id}/licences",
    response_model=list[LicenceOut],
    responses=_ERRORS,
    summary="A staff member's licences",
)
def licences(
    staff_id: uuid.UUID, actor: Actor = Depends(api_actor), session: Session = Depends(db_session)
) -> list[LicenceOut]:
    return [LicenceOut.of(lic) for lic in staff_service.get_staff(session, actor, staff_id).licences]


@router.post(
    "/staff/{staff_id}/licences", status_code=201, response_model=LicenceOut, responses=_ERRORS, summary="Add a licence"
)
def add_licence(
    staff_id: uuid.UUID,
    body: LicenceCreate,
    request: Request,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
    idempotency_key: str | None = Header(None, alias=idempotency.HEADER, description=_KEY_DOC),
) -> JSONResponse:
    def act() -> tuple[int, Any]:
        licence = staff_service.add_licence(session, actor, staff_id, body.model_dump())
        return 201, LicenceOut.of(licence).model_dump(mode="json")

    return respond_once(request, session, actor, idempotency_key, body.model_dump(mode="json"), act)


@router.post(
    "/staff/{staff_id}/licences/{licence_id}/renew",
    response_model=LicenceOut,
    responses=_ERRORS,
    summary="Renew a licence (a later expiry date)",
)
def renew_licence(
    staff_id: uuid.UUID,
    licence_id: uuid.UUID,
    body: LicenceRenew,
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> LicenceOut:
    return LicenceOut.of(staff_service.renew_licence(session, actor, staff_id, licence_id, body.model_dump()))


# ---------------------------------------------------------------- licensure


@router.get(
    "/licensure",
    response_model=list[ClinicianOut],
    responses=_ERRORS,
    summary="Active clinicians who may treat a patient located in a state",
)
def licensure(
    state: str = Query(..., description="Two-letter state code", examples=["NY"]),
    on: date | None = Query(
        None, description="Day to ask about (default: today); licences are valid through their expiry date"
    ),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> list[ClinicianOut]:
    require(actor, Permission.ORG_READ)
    code, problem = check_state(state)
    if problem or not code:
        raise ValidationFailed({"state": problem or "Give a state."})
    day = on or clock.today()
    result = []
    for m in clinicians_licensed_in(session, code, day):
        valid = [
            lic
            for lic in m.licences
            if lic.state == code
            and lic.kind in staff_service.CLINICIAN_LICENCE_KINDS
            and lic.expires_on >= day
            and (lic.issued_on is None or lic.issued_on <= day)
        ]
        best = max(valid, key=lambda lic: lic.expires_on)
        result.append(
            ClinicianOut(
                staff_id=m.id,
                name=m.user.display_name,
                email=m.user.email,
                npi=m.npi,
                credentials=list(m.credentials),
                licence=LicenceOut.of(best),
            )
        )
    return result


class MayVerifyOut(BaseModel):
    staff_id: uuid.UUID
    state: str
    on: date
    may_verify: bool = Field(description="Active pharmacist with a pharmacist licence for the state valid that day")


@router.get(
    "/staff/{staff_id}/may-verify",
    response_model=MayVerifyOut,
    responses=_ERRORS,
    summary="May this pharmacist verify for a patient located in a state",
)
def may_verify(
    staff_id: uuid.UUID,
    state: str = Query(..., description="Two-letter state code", examples=["NY"]),
    on: date | None = Query(None, description="Day to ask about (default: today)"),
    actor: Actor = Depends(api_actor),
    session: Session = Depends(db_session),
) -> MayVerifyOut:
    staff_service.get_staff(session, actor, staff_id)  # org.read, and 404 for an unknown id
    code, problem = check_state(state)
    if problem or not code:
        raise ValidationFailed({"state": problem or "Give a state."})
    day = on or clock.today()
    return MayVerifyOut(
        staff_id=staff_id, state=code, on=day, may_verify=may_verify_for_state(session, staff_id, code, day)
    )


# ---------------------------------------------------------------- helpers


def _detail(session: Session, actor: Actor, staff_id: uuid.UUID) -> StaffDetail:
    session.flush()
    member = staff_service.get_staff(session, actor, staff_id)
    return StaffDetail(
        **StaffOut.of(member).model_dump(),
        memberships=[MembershipOut.of(ms) for ms in member.memberships],
        open_work=[
            QueueWork(queue_id=q.queue_id, queue=q.queue, team=q.team, open_items=q.count)
            for q in staff_service.open_work(session, actor, staff_id)
        ],
    )
