"""JSON API of Pharmacy under /api/v1/pharmacy/: so far the drug catalog, for any logged-in user.

A drug catalog is no patient data, but it is the unit's working list, not a public price list: a
caller logs in (a session or an API token), as for the rest of the API. Parse, call the service,
serialise; errors are problem+json. Importing this module loads and checks the catalog
(``catalog.shipped``), so the app does not start with a broken one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from careplane.kernel.access import Actor
from careplane.kernel.guarded_route import GuardedRoute
from careplane.kernel.problem_docs import problem_responses
from careplane.kernel.web import api_actor
from careplane.units.pharmacy import service
from careplane.units.pharmacy.catalog import Product, shipped

shipped()  # start-up check: a catalog that does not validate stops the app here, naming every problem

router = APIRouter(route_class=GuardedRoute, prefix="/api/v1/pharmacy", tags=["pharmacy"])


class ProductOut(BaseModel):
    id: str = Field(description="The product's stable id (a slug)", examples=["amoxicillin-500mg-cap"])
    name: str = Field(description="Ingredients, strength, route and form, as a pharmacist reads them")
    ingredients: list[str] = Field(description="Active ingredients, lower case, as labelled")
    brand: str = Field(description="The product's brand, or for a generic the reference brand it is equivalent to")
    strength: str = Field(examples=["500 mg"])
    dose_form: str = Field(examples=["capsule"])
    route: str = Field(examples=["oral"])
    dea_schedule: str = Field(description="DEA schedule CII to CV, or empty when not controlled")
    therapeutic_class: str
    generic: bool = Field(description="Dispensed as the generic equivalent of `brand`")
    allergy_classes: list[str] = Field(description="Codes of the allergy classes it belongs to, e.g. `penicillins`")
    unit: str = Field(description="What one unit of the costs is: a tablet, a tube (30 g), ...")
    acquisition_cents: int = Field(description="What the pharmacy pays per unit, in US cents")
    cash_price_cents: int = Field(description="The cash price per unit, in US cents")
    rxcui: str = Field(description="RxNorm RxCUI, empty when no named source gave it")
    ndc: str = Field(description="An 11-digit NDC of one package (FDA NDC Directory), empty when it lists none")

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        return cls(
            id=p.id,
            name=p.name,
            ingredients=list(p.ingredients),
            brand=p.brand,
            strength=p.strength,
            dose_form=p.dose_form,
            route=p.route,
            dea_schedule=p.dea_schedule,
            therapeutic_class=p.therapeutic_class,
            generic=p.generic,
            allergy_classes=list(p.allergy_classes),
            unit=p.unit,
            acquisition_cents=p.acquisition_cents,
            cash_price_cents=p.cash_price_cents,
            rxcui=p.rxcui,
            ndc=p.ndc,
        )


@router.get(
    "/drugs",
    response_model=list[ProductOut],
    summary="Search the drug catalog by ingredient, brand, strength, RxCUI or NDC (typos forgiven)",
    responses=problem_responses(401, 422),
)
def drugs(
    q: str = Query(..., max_length=service.MAX_QUERY, description="What to look for", examples=["amoxicilin 500"]),
    limit: int = Query(20, ge=1, le=service.MAX_LIMIT, description="At most this many products, best first"),
    actor: Actor = Depends(api_actor),
) -> list[ProductOut]:
    return [ProductOut.of(p) for p in service.search_drugs(q, limit)]


@router.get(
    "/drugs/{product_id}",
    response_model=ProductOut,
    summary="One product of the drug catalog",
    responses=problem_responses(401, described={404: "No product with this id"}),
)
def drug(product_id: str, actor: Actor = Depends(api_actor)) -> ProductOut:
    return ProductOut.of(service.drug(product_id))
