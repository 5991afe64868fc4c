from sqlalchemy import select

from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgUnit, StaffMember
from careplane.kernel.org.structure import service as structure
from tests import a11y
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


def test_the_operations_leads_home_lists_the_units_without_a_lead(client, db):
    with db.unit_of_work() as s:
        units = {u.code: u for u in structure.ensure_units(s)}
        ids = {code: u.id for code, u in units.items()}
    lead_user = login(client, db, role=Role.OPERATIONS_LEAD)
    with db.unit_of_work() as s:
        staff = StaffMember(user_id=lead_user.id, start_date=units["pharmacy"].effective_from)
        s.add(staff)
        s.flush()
        for unit in s.scalars(select(OrgUnit).where(OrgUnit.code != "pharmacy")):
            unit.lead_staff_id = staff.id
        s.get(OrgUnit, ids["pharmacy"]).name = "Pharmacy Services"

    page = client.get("/")
    assert "Units without a lead" in page.text
    assert f'<a href="/org/units/{ids["pharmacy"]}">Pharmacy Services</a> <span class="badge warn">No lead</span>' in page.text
    assert f'href="/org/units/{ids["virtual_care"]}"' not in page.text, "units with a lead are not listed"
    assert a11y.problems(page.text) == []

    with db.unit_of_work() as s:
        s.get(OrgUnit, ids["pharmacy"]).lead_staff_id = staff.id
    assert "Units without a lead" not in client.get("/").text, "nothing to say when every unit has a lead"

    login(client, db, role=Role.CLINICIAN)
    with db.unit_of_work() as s:
        s.get(OrgUnit, ids["pharmacy"]).lead_staff_id = None
    assert "Units without a lead" not in client.get("/").text, "only for those who appoint leads"
