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


def test_navigation_marks_only_the_closest_entry_as_current(client, db):
    login(client, db, role=Role.OPERATIONS_LEAD)
    page = client.get("/org/staff").text
    assert page.count('aria-current="page"') == 1
    assert 'href="/org/staff" aria-current="page"' in page


def test_not_found_page_keeps_the_logged_in_navigation(client, db):
    login(client, db, role=Role.OPERATIONS_LEAD)
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "Log out" in page.text and 'href="/ops/audit"' in page.text
