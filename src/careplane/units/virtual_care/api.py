"""JSON API of Virtual Care under /api/v1/virtual-care/: so far the condition catalog, public (a price list).

Parse, call the service, serialise; errors are problem+json. Importing this module loads and checks
the catalog (``catalog.shipped``), so the app does not start with a broken one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.web import db_session
from careplane.units.virtual_care.catalog import fhir_questionnaire, shipped
from careplane.units.virtual_care.services import prices as service
from careplane.units.virtual_care.services import ratings

shipped()  # start-up check: a catalog that does not validate stops the app here, naming every problem

router = APIRouter(route_class=GuardedRoute, prefix="/api/v1/virtual-care", tags=["virtual care"])

_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


class EligibilityOut(BaseModel):
    min_age: int = Field(description="Youngest age treated, in years")
    max_age: int | None = Field(description="Oldest age treated, in years (none: no upper limit)")
    sexes: list[str] = Field(description="Sexes at birth treated: female, male")
    pregnancy_allowed: bool = Field(description="Whether a pregnant patient may be treated online")


class PriceOut(BaseModel):
    cents: int = Field(description="Price of one visit in US cents", examples=[3900])
    display: str = Field(examples=["$39.00"])


class RatingOut(BaseModel):
    average: float = Field(description="1 (poor) to 5 (excellent)", examples=[4.6])
    count: int


class ConditionOut(BaseModel):
    code: str = Field(examples=["uti"])
    name: str
    description: str
    eligibility: EligibilityOut
    state: str = Field(description="The state the prices are for")
    prices: dict[str, PriceOut] = Field(
        description="Price per visit type (message, video): only the one asked for, or both"
    )
    questionnaire: str = Field(description="Where the condition's intake questionnaire (FHIR) is")
    rating: RatingOut | None = Field(description=f"Patients' average rating, once {ratings.SHOWN_FROM} have rated")


@router.get(
    "/conditions",
    response_model=list[ConditionOut],
    summary="Conditions treated online, with their prices in a state",
    responses={422: {"description": "Unknown state code or visit type: `errors` names each", **_PROBLEM}},
)
def conditions(
    state: str = Query(..., description="Two-letter code of the state the patient is in", examples=["NY"]),
    visit_type: str | None = Query(None, description="message or video (default: both prices)", examples=["message"]),
    session: Session = Depends(db_session),
) -> list[ConditionOut]:
    rated = ratings.by_condition(session)
    return [
        ConditionOut(
            code=p.condition.code,
            name=p.condition.name,
            description=p.condition.description,
            eligibility=EligibilityOut(
                min_age=p.condition.eligibility.min_age,
                max_age=p.condition.eligibility.max_age,
                sexes=list(p.condition.eligibility.sexes),
                pregnancy_allowed=p.condition.eligibility.pregnancy_allowed,
            ),
            state=p.state,
            prices={k: PriceOut(cents=m.cents, display=m.format()) for k, m in p.prices.items()},
            questionnaire=f"{router.prefix}/conditions/{p.condition.code}",
            rating=RatingOut(average=r.average, count=r.count) if (r := rated.get(p.condition.code)) else None,
        )
        for p in service.price_list(state, visit_type)
    ]


@router.get(
    "/conditions/{code}",
    summary="A condition's intake as a FHIR R4 Questionnaire",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "A FHIR R4 Questionnaire resource",
            "content": {"application/fhir+json": {"schema": {"type": "object"}}},
        },
        404: {"description": "No condition with this code", **_PROBLEM},
    },
)
def condition_questionnaire(code: str) -> JSONResponse:
    return JSONResponse(fhir_questionnaire(service.condition(code)), media_type="application/fhir+json")
