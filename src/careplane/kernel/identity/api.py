"""JSON API about the caller: who am I, and my personal API tokens. No rules here."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from careplane.kernel.access import Actor
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.identity import service
from careplane.kernel.identity.models import ApiToken, User
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor, csrf_protect, db_session

router = APIRouter(
    route_class=GuardedRoute,
    prefix="/api/v1/me",
    tags=["me"],
    dependencies=[Depends(csrf_protect)],
    responses=problem_responses(described={401: "No valid API token or session."}),
)


class Me(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str
    roles: list[str]
    unit: str | None
    patient_id: uuid.UUID | None = Field(description="For patient users: the patient record they may see.")
    mfa_enabled: bool
    email_verified: bool


class TokenInfo(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenInfo:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            expires_at=token.expires_at,
        )


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, examples=["reporting script"])
    expires_days: int | None = Field(None, ge=1, le=service.MAX_TOKEN_DAYS, description="Empty: never expires.")


class TokenCreated(TokenInfo):
    token: str = Field(description="The secret token (`cpt_...`). Returned only in this response.")


def current_user(actor: Actor = Depends(api_actor), session: Session = Depends(db_session)) -> User:
    user = session.get(User, actor.user_id)
    assert user is not None  # the credential was just checked against it
    return user


@router.get("", response_model=Me, summary="The caller's account")
def me(user: User = Depends(current_user)) -> Me:
    return Me(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        roles=sorted(user.roles),
        unit=user.unit,
        patient_id=user.patient_id,
        mfa_enabled=user.mfa_enabled,
        email_verified=user.email_verified_at is not None,
    )


@router.get("/tokens", response_model=list[TokenInfo], summary="The caller's working API tokens")
def list_tokens(user: User = Depends(current_user), session: Session = Depends(db_session)) -> list[TokenInfo]:
    return [TokenInfo.of(t) for t in service.list_api_tokens(session, user)]


@router.post(
    "/tokens",
    response_model=TokenCreated,
    status_code=201,
    summary="Create an API token",
    responses=problem_responses(
        described={
            403: "The caller authenticated with an API token: tokens are made only from a logged-in web "
            "session (password and second factor).",
            422: "Invalid name or expiry.",
        }
    ),
)
def create_token(
    body: TokenCreate,
    actor: Actor = Depends(api_actor),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> TokenCreated:
    """Needs a logged-in web session (with its CSRF token); a call made with an API token is refused,
    so that no token outlives the revocation of the one that made it."""
    raw, token = service.create_api_token(session, user, body.name, body.expires_days, via=actor.via)
    return TokenCreated(token=raw, **TokenInfo.of(token).model_dump())


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    summary="Revoke an API token",
    responses=problem_responses(described={404: "No such token of the caller."}),
)
def revoke_token(
    token_id: uuid.UUID, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> Response:
    service.revoke_api_token(session, user, token_id)
    return Response(status_code=204)
