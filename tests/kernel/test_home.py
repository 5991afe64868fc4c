import pytest
from sqlalchemy import select

from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgUnit, StaffMember
from careplane.kernel.org.structure import service as structure
from tests import a11y
from tests.helpers import login
from tests.kernel.work.conftest import _generic_queues  # noqa: F401


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


def _demo(db, settings):  # noqa: ANN001, ANN202
    from careplane.demo import seed_demo

    seed_demo(db, settings, patients=1, seed=7)


def _staff_of(s, role):  # noqa: ANN001, ANN202
    from sqlalchemy import select

    from careplane.demo import demo_email
    from careplane.kernel.identity.users import find_by_email
    from careplane.kernel.org.models import StaffMember

    user = find_by_email(s, demo_email(role))
    return user, s.scalar(select(StaffMember).where(StaffMember.user_id == user.id))


@pytest.mark.usefixtures("_generic_queues")
def test_a_clinician_home_lists_their_work_with_age_and_deadline_and_their_teams_queues(client, db, settings):
    from datetime import timedelta

    from careplane.kernel import clock, work
    from careplane.kernel.access import Actor
    from tests.helpers import session_cookie

    _demo(db, settings)
    with db.unit_of_work() as s:
        user, staff = _staff_of(s, Role.CLINICIAN)
        queue = next(
            q
            for q in work.visible_queues(s, Actor.for_system("tests"))
            if q.place.queue.team_id in {m.team_id for m in staff.memberships}
        )
        late = work.create_item(
            s, queue.place.queue.id, kind="async_visit", title="Itchy rash", due_at=clock.now() - timedelta(minutes=20)
        )
        work.assign(s, Actor.for_system("tests"), late.id, staff.id)
        work.create_item(
            s,
            queue.place.queue.id,
            kind="async_visit",
            title="Ingrown toenail",
            due_at=clock.now() + timedelta(hours=3),
        )
    client.cookies.set("cp_session", session_cookie(db, settings, user))
    page = client.get("/").text
    assert "Your work" in page and "Assigned to you" in page
    assert "Itchy rash" in page and "late by 20 min" in page
    assert "Ingrown toenail" not in page  # not theirs yet: it is counted in the queue instead
    assert f"waiting in {queue.place.queue.name}" in page
    assert "Your API tokens" not in page and "Across the organisation" not in page


def test_the_operations_home_shows_work_by_unit_unfinished_hand_overs_and_expiring_licences(client, db, settings):
    from datetime import timedelta

    from sqlalchemy import select

    from careplane.kernel import clock
    from careplane.kernel.org.models import Licence
    from tests.helpers import session_cookie

    _demo(db, settings)
    with db.unit_of_work() as s:
        user, _ = _staff_of(s, Role.OPERATIONS_LEAD)
        _, clinician = _staff_of(s, Role.CLINICIAN)
        licence = s.scalars(select(Licence).where(Licence.staff_id == clinician.id)).first()
        licence.expires_on = clock.today() + timedelta(days=5)
    client.cookies.set("cp_session", session_cookie(db, settings, user))
    page = client.get("/").text
    assert "Across the organisation" in page and "Open work by unit" in page
    assert "Virtual Care" in page
    assert f"{licence.state} {licence.kind} licence" in page and "in 5 days" in page
    assert "Departures still being handed over" in page


def test_an_employer_admin_home_explains_what_they_will_see_and_shows_no_patient_search(client, db, settings):
    from tests.helpers import session_cookie

    _demo(db, settings)
    with db.unit_of_work() as s:
        user, _ = _staff_of(s, Role.EMPLOYER_ADMIN)
    client.cookies.set("cp_session", session_cookie(db, settings, user))
    page = client.get("/").text
    assert "What you will see here" in page and "de-identified" in page
    assert "Find a patient" not in page and "Your work" not in page


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
    assert (
        f'<a href="/org/units/{ids["pharmacy"]}">Pharmacy Services</a> <span class="badge warn">No lead</span>'
        in page.text
    )
    listed = page.text[page.text.index('id="no-lead-h"') : page.text.index("Departures still being handed over")]
    assert f'href="/org/units/{ids["virtual_care"]}"' not in listed, "units with a lead are not listed"
    assert a11y.problems(page.text) == []

    with db.unit_of_work() as s:
        s.get(OrgUnit, ids["pharmacy"]).lead_staff_id = staff.id
    assert "Units without a lead" not in client.get("/").text, "nothing to say when every unit has a lead"

    login(client, db, role=Role.CLINICIAN)
    with db.unit_of_work() as s:
        s.get(OrgUnit, ids["pharmacy"]).lead_staff_id = None
    assert "Units without a lead" not in client.get("/").text, "only for those who appoint leads"


def test_the_pager_keeps_the_lists_filters_and_counts_what_it_shows():
    from types import SimpleNamespace

    from careplane.kernel.web import templates

    pager = templates.from_string('{% import "macros.html" as m %}{{ m.pager(page, {"view": "open", "state": "NY"}) }}')
    middle = SimpleNamespace(offset=50, limit=50, total=120, rows=[0] * 50, next_offset=100)
    html = pager.render(page=middle)
    assert "120 items, showing 51–100." in html
    assert 'href="?view=open&amp;state=NY&amp;offset=0">Previous' in html
    assert 'href="?view=open&amp;state=NY&amp;offset=100">Next' in html
    last = SimpleNamespace(offset=100, limit=50, total=120, rows=[0] * 20, next_offset=None)
    assert "Next" not in pager.render(page=last)
