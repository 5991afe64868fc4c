from careplane.kernel.identity.roles import Role
from tests.helpers import login


def test_staff_home_shows_figures_for_their_role(client, db):
    login(client, db, role=Role.OPERATIONS_LEAD)
    page = client.get("/")
    assert page.status_code == 200
    assert "Dead letters" in page.text
    assert "Refused accesses, last 24 h" in page.text
    assert "Find a patient" in page.text
    assert "Locked accounts" not in page.text  # administrators only


def test_billing_home_has_no_operations_figures(client, db):
    login(client, db, role=Role.BILLER)
    page = client.get("/")
    assert "Find a patient" in page.text
    assert "Dead letters" not in page.text


def test_anonymous_goes_to_login(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
