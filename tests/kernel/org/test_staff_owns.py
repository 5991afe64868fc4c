"""A licence or team membership is changed only through the staff member it belongs to, on every
edge: the service refuses another member's, so the API and the pages answer alike."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from careplane.kernel.errors import NotFound, ValidationFailed
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import Licence, TeamMembership
from careplane.kernel.org.staff import service as staff_service
from careplane.kernel.web import CSRF_COOKIE
from tests.helpers import api_token, bearer, login, make_user
from tests.kernel.org.test_staff import NPI_A, NPI_B, OPS, hire, licence, units_and_teams

EXPIRES = date(2027, 1, 31)


@pytest.fixture
def two(db):  # noqa: ANN001, ANN201
    """Two staff members; the first has a licence and a team membership, the second neither."""
    ids = units_and_teams(db)
    owner = hire(db, npi=NPI_A, unit="virtual_care", team="Async West")
    other = hire(db, npi=NPI_B, roles=["pharmacist"], credentials=["RPh"])
    lic = licence(db, owner.id, "NY", "MD", EXPIRES)
    with db.unit_of_work() as s:
        membership = s.scalar(select(TeamMembership).where(TeamMembership.staff_id == owner.id))
    assert ids and membership is not None
    return owner, other, lic, membership


def _expiry(db, licence_id):  # noqa: ANN001, ANN202
    with db.unit_of_work() as s:
        return s.get(Licence, licence_id).expires_on


def test_the_service_refuses_another_members_licence_and_membership(db, two):
    owner, other, lic, membership = two
    with db.unit_of_work() as s:
        with pytest.raises(ValidationFailed) as caught:
            staff_service.renew_licence(s, OPS, other.id, lic.id, {"expires_on": "2028-01-31"})
        assert caught.value.errors == {"licence_id": "This staff member has no such licence."}
        with pytest.raises(ValidationFailed):
            staff_service.renew_licence(s, OPS, owner.id, uuid.uuid4(), {"expires_on": "2028-01-31"})
        with pytest.raises(NotFound, match="no such team membership"):
            staff_service.leave_team(s, OPS, other.id, membership.id)
    with db.unit_of_work() as s:
        assert s.get(TeamMembership, membership.id).end_date is None
    assert _expiry(db, lic.id) == EXPIRES


def test_the_api_refuses_another_members_licence_and_membership(client, db, two):
    owner, other, lic, membership = two
    ops = bearer(api_token(db, make_user(db, role=Role.OPERATIONS_LEAD)))
    renew = client.post(
        f"/api/v1/org/staff/{other.id}/licences/{lic.id}/renew", headers=ops, json={"expires_on": "2028-01-31"}
    )
    assert renew.status_code == 422 and renew.headers["content-type"].startswith("application/problem+json")
    assert renew.json()["errors"] == [{"field": "licence_id", "message": "This staff member has no such licence."}]
    leave = client.post(f"/api/v1/org/staff/{other.id}/teams/{membership.id}/end", headers=ops, json={})
    assert leave.status_code == 404 and leave.headers["content-type"].startswith("application/problem+json")
    assert _expiry(db, lic.id) == EXPIRES
    # through its owner it works
    assert (
        client.post(
            f"/api/v1/org/staff/{owner.id}/licences/{lic.id}/renew", headers=ops, json={"expires_on": "2028-01-31"}
        ).status_code
        == 200
    )


def test_the_page_refuses_another_members_licence(client, db, two):
    owner, other, lic, _ = two
    login(client, db, role=Role.OPERATIONS_LEAD)
    client.get("/login")
    token = client.cookies.get(CSRF_COOKIE)
    refused = client.post(
        f"/org/staff/{other.id}/licences/{lic.id}/renew",
        data={"csrf_token": token, "expires_on": "2028-01-31"},
        follow_redirects=False,
    )
    assert refused.status_code == 422 and "This staff member has no such licence." in refused.text
    assert _expiry(db, lic.id) == EXPIRES
    done = client.post(
        f"/org/staff/{owner.id}/licences/{lic.id}/renew",
        data={"csrf_token": token, "expires_on": "2028-01-31"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and _expiry(db, lic.id) == date(2028, 1, 31)
