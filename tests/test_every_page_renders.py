"""Every GET route, as every demo role: nothing crashes, and a role is refused (403) what it must not see.

The demo is seeded (``careplane.demo.seed_demo``), each demo login gets a fully verified web session,
and every GET route of every router in ``router_modules()`` is requested, path parameters filled from
the demo data. ``ROUTES`` says what each demo role gets from each route, as a row of marks written
out by hand (never derived from the production ``ROLE_PERMISSIONS``, which this test checks); a
route added to the app without an entry here fails ``test_every_get_route_is_listed``, so the table
cannot silently fall behind. Each HTML page is also checked for the accessibility basics
(``tests/a11y.py``), and every POST/PATCH/DELETE route is sent an empty submission, which must never
be a server error."""

from __future__ import annotations

import importlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from careplane.app import router_modules
from careplane.demo import demo_email, seed_demo
from careplane.kernel import clock, work
from careplane.kernel.access import Actor
from careplane.kernel.identity.roles import Role
from careplane.kernel.identity.users import find_by_email
from careplane.kernel.org.models import OrgUnit, StaffMember, Team
from careplane.kernel.org.offboarding import departures
from careplane.kernel.org.staff import service as staff_service
from careplane.kernel.patients.models import Patient
from careplane.kernel.web import SESSION_COOKIE
from careplane.kernel.work.models import WorkQueue
from careplane.units.pharmacy.models import Prescription
from careplane.units.virtual_care.models import Visit
from tests import a11y
from tests.helpers import session_cookie

#: The demo roles, in the order of the columns of ``who`` below. Each demo login works in its role's
#: demo unit (careplane.demo.ROLE_UNITS), whose kind of work also decides what it may do.
COLUMNS = (
    Role.PATIENT,
    Role.CLINICIAN,
    Role.PHARMACIST,
    Role.PHARMACY_TECHNICIAN,
    Role.BILLER,
    Role.EMPLOYER_ADMIN,
    Role.OPERATIONS_LEAD,
    Role.ADMINISTRATOR,
)

# Who may open what, written out by hand (not read from careplane.kernel.access, which this checks):
# one mark per role in COLUMNS order. "x": allowed (the case's ``allowed`` answer), "-": refused
# (403), "4": no such page for them (404).
#                 PCPTBEOA
EVERYONE = "xxxxxxxx"
SEARCH = "-xxxx-x-"  # find patients: staff of units that see patients
REGISTER = "-x----x-"  # register patients (virtual and primary care)
OWN_RECORD = "xxxxx-x-"  # the demo patient's record: the patient, and staff who see patients
OTHER_RECORD = "-xxxx-x-"  # someone else's record: staff only
UPDATE_OTHER = "-x----x-"  # change a record: the clinician and the operations lead
DUPLICATES = "-xxxx-x-"  # possible duplicates are staff work, even of one's own record
MERGE = "------x-"  # merge records: health information management
AUDIT = "------xx"  # read the audit log
OPERATIONS = "------xx"  # the event queue
USERS = "-------x"  # manage staff accounts
ORG_READ = "-xxxx-xx"  # the organisation: every employee (employer admins are customers)
ORG_MANAGE = "------xx"  # change the organisation, hire, hand over
MINE = "x4444444"  # the portal: staff have no record of their own
WORK = "-xxxx-xx"  # work queues: staff see the queues they work, operations every queue
VISIT_QUEUE = "-x----xx"  # Virtual Care's visit queue: its clinicians, and operations
VISIT = "xx----x-"  # a visit: its patient, the clinician who treated it, and the operations lead
PATIENT_ONLY = "x4444444"  # a patient's own list of visits: staff have none
CLINICIAN_ONLY = "-x------"  # a clinician's own hours for video visits
CALL = "xx------"  # a video visit's call: its patient and its booked clinician, nobody else
RX_QUEUE = "--x---xx"  # Pharmacy's verification queue: its pharmacists (not technicians), and operations
RX = "--x---x-"  # a received prescription: a pharmacist licensed in its state, and the operations lead


@dataclass(frozen=True)
class Case:
    """A GET route: who may open it (marks as above) and what an allowed visitor gets (``ok`` = a
    2xx page or a redirect; a number = exactly that status)."""

    path: str  # the route's template, as the router declares it
    url: str  # with its path parameters filled from the demo data (names in braces, see ``fill``)
    who: str = EVERYONE
    allowed: str | int = "ok"

    def expected(self, role: Role) -> str | int:
        mark = self.who[COLUMNS.index(role)]
        return self.allowed if mark == "x" else 404 if mark == "4" else 403


# Path parameters: {own} the demo patient, {other} a synthetic patient, {staff} the demo clinician's
# staff record, {unit} Virtual Care, {team} one of its teams, {queue} its visit queue, {item} an item in
# it, {video} the demo patient's booked video visit, {nope} an id that does not exist.
ROUTES: list[Case] = [
    Case("/", "/"),
    Case("/healthz", "/healthz"),
    Case("/readyz", "/readyz"),
    Case("/metrics", "/metrics"),
    Case("/api/docs", "/api/docs"),
    Case("/api/docs/assets/{name}", "/api/docs/assets/swagger-ui.css"),
    Case("/api/docs/assets/{name}", "/api/docs/assets/nope.js", allowed=404),
    Case("/api/v1/openapi.json", "/api/v1/openapi.json"),
    # identity: a logged-in visitor of the login pages is sent on, never shown an error
    Case("/login", "/login"),
    Case("/mfa", "/mfa"),
    Case("/mfa/enrol", "/mfa/enrol"),
    Case("/password/forgot", "/password/forgot"),
    Case("/password/reset/{token}", "/password/reset/not-a-real-token", allowed=400),  # "link invalid" page
    Case("/verify-email/{token}", "/verify-email/not-a-real-token", allowed=400),
    Case("/confirm-email", "/confirm-email"),  # a confirmed account is sent home
    Case("/profile", "/profile"),
    Case("/api/v1/me", "/api/v1/me"),
    Case("/api/v1/me/tokens", "/api/v1/me/tokens"),
    Case("/admin/users", "/admin/users", USERS),
    Case("/admin/users/new", "/admin/users/new", USERS),
    Case("/admin/users/{user_id}/edit", "/admin/users/{nope}/edit", USERS, allowed=404),
    # patient registry, staff side
    Case("/patients", "/patients", SEARCH),
    Case("/patients", "/patients?q=demo", SEARCH),
    Case("/patients", "/patients?q=%25%27%22%3Cx%3E_", SEARCH),
    Case("/patients/results", "/patients/results?q=demo", SEARCH),
    Case("/patients/new", "/patients/new", REGISTER),
    Case("/patients/{patient_id}", "/patients/{own}", OWN_RECORD),
    Case("/patients/{patient_id}", "/patients/{other}", OTHER_RECORD),
    Case("/patients/{patient_id}/edit", "/patients/{other}/edit", UPDATE_OTHER),
    Case(
        "/patients/{patient_id}/duplicates/{pair_id}/merge",
        "/patients/{other}/duplicates/{nope}/merge",
        MERGE,
        allowed=404,
    ),
    Case("/api/v1/patients", "/api/v1/patients?q=demo", SEARCH),
    Case("/api/v1/patients/{patient_id}", "/api/v1/patients/{own}", OWN_RECORD),
    Case("/api/v1/patients/{patient_id}", "/api/v1/patients/{other}", OTHER_RECORD),
    Case("/api/v1/patients/{patient_id}/consents", "/api/v1/patients/{own}/consents", OWN_RECORD),
    Case("/api/v1/patients/{patient_id}/consents", "/api/v1/patients/{other}/consents", OTHER_RECORD),
    Case("/api/v1/patients/{patient_id}/allergies", "/api/v1/patients/{own}/allergies", OWN_RECORD),
    Case(
        "/api/v1/patients/{patient_id}/allergies",
        "/api/v1/patients/{other}/allergies?include_inactive=true",
        OTHER_RECORD,
    ),
    Case("/api/v1/patients/{patient_id}/duplicates", "/api/v1/patients/{own}/duplicates", DUPLICATES),
    Case("/api/v1/patients/{patient_id}/duplicates", "/api/v1/patients/{other}/duplicates", DUPLICATES),
    # the portal: staff have no record of their own (404), a logged-in visitor is sent from /register
    Case("/my", "/my", MINE),
    Case("/register", "/register"),
    # audit, operations, mail
    Case("/ops/audit", "/ops/audit", AUDIT),
    Case("/ops/audit", "/ops/audit?patient={own}", AUDIT),
    Case("/ops/audit", "/ops/audit?since=yesterday&tz=Mars/Base", AUDIT, allowed=422),
    Case("/api/v1/audit", "/api/v1/audit", AUDIT),
    Case("/ops/events", "/ops/events", OPERATIONS),
    # the mailbox is off outside `careplane demo` (tests/kernel/identity/test_mailbox.py renders it)
    Case("/mailbox", "/mailbox", allowed=404),
    Case("/mailbox/{mail_id}", "/mailbox/{nope}", allowed=404),
    # organisation
    Case("/org", "/org", ORG_READ),
    Case("/org/history", "/org/history", ORG_READ),
    Case("/org/history", "/org/history?unit=not-a-uuid", ORG_READ),
    Case("/org/history", "/org/history?unit={unit}", ORG_READ),
    Case("/org/units/{unit_id}", "/org/units/{unit}", ORG_READ),
    Case("/org/units/new", "/org/units/new", ORG_MANAGE),
    *(
        Case("/org/units/{unit_id}/{action}", f"/org/units/{{unit}}/{action}", ORG_MANAGE)
        for action in ("rename", "lead", "teams", "merge", "split")
    ),
    *(
        Case("/org/teams/{team_id}/{action}", f"/org/teams/{{team}}/{action}", ORG_MANAGE)
        for action in ("queues", "move", "people")
    ),
    Case("/org/staff", "/org/staff", ORG_READ),
    Case("/org/staff", "/org/staff?role=clinician", ORG_READ),
    Case("/org/staff", "/org/staff?role=nobody&unit=nowhere", ORG_READ),
    Case("/org/staff", "/org/staff?sort=-expiry&unit=virtual_care", ORG_READ),
    Case("/org/staff/{staff_id}", "/org/staff/{staff}", ORG_READ),
    Case("/org/staff/new", "/org/staff/new", ORG_MANAGE),
    Case("/org/staff/{staff_id}/edit", "/org/staff/{staff}/edit", ORG_MANAGE),
    Case("/org/staff/{staff_id}/teams", "/org/staff/{staff}/teams", ORG_MANAGE),
    Case("/org/staff/import", "/org/staff/import", ORG_MANAGE),
    Case("/org/staff/{staff_id}/offboard", "/org/staff/{staff}/offboard", ORG_MANAGE),
    Case("/org/departures", "/org/departures", ORG_MANAGE),
    Case("/org/departures/{departure_id}", "/org/departures/{departure}", ORG_MANAGE),
    Case("/org/departures/{departure_id}/report", "/org/departures/{departure}/report", ORG_MANAGE),
    Case("/org/staff/{staff_id}/offboard", "/org/staff/{leaver}/offboard", ORG_MANAGE),  # -> departure
    Case("/org/staff/{staff_id}", "/org/staff/{leaver}", ORG_READ),
    Case("/org/departures/{departure_id}", "/org/departures/{nope}", ORG_MANAGE, allowed=404),
    Case("/org/departures/{departure_id}/report", "/org/departures/{nope}/report", ORG_MANAGE, allowed=404),
    Case("/api/v1/org/units", "/api/v1/org/units", ORG_READ),
    Case("/api/v1/org/units/{unit_id}", "/api/v1/org/units/{unit}", ORG_READ),
    Case("/api/v1/org/history", "/api/v1/org/history", ORG_READ),
    Case("/api/v1/org/staff", "/api/v1/org/staff", ORG_READ),
    Case("/api/v1/org/staff/{staff_id}", "/api/v1/org/staff/{staff}", ORG_READ),
    Case("/api/v1/org/staff/{staff_id}/licences", "/api/v1/org/staff/{staff}/licences", ORG_READ),
    Case("/api/v1/org/staff/{staff_id}/offboard", "/api/v1/org/staff/{staff}/offboard", ORG_MANAGE),
    Case("/api/v1/org/licensure", "/api/v1/org/licensure?state=NY", ORG_READ),
    Case("/api/v1/org/staff/{staff_id}/may-verify", "/api/v1/org/staff/{staff}/may-verify?state=NY", ORG_READ),
    Case("/api/v1/org/departures/{departure_id}", "/api/v1/org/departures/{departure}", ORG_MANAGE),
    Case("/api/v1/org/departures/{departure_id}", "/api/v1/org/departures/{nope}", ORG_MANAGE, allowed=404),
    # work queues
    Case("/work", "/work", WORK),
    Case("/work/queues/{queue_id}", "/work/queues/{queue}", VISIT_QUEUE),
    Case("/work/queues/{queue_id}", "/work/queues/{queue}?view=overdue&offset=-3", VISIT_QUEUE),
    Case("/work/queues/{queue_id}", "/work/queues/{nope}", allowed=404),
    Case("/api/v1/work/queues", "/api/v1/work/queues", WORK),
    Case("/api/v1/work/queues/{queue_id}/items", "/api/v1/work/queues/{queue}/items", VISIT_QUEUE),
    Case(
        "/api/v1/work/queues/{queue_id}/items",
        "/api/v1/work/queues/{queue}/items?assignee=me&overdue=true",
        VISIT_QUEUE,
    ),
    Case("/api/v1/work/items/{item_id}", "/api/v1/work/items/{item}", VISIT_QUEUE),
    Case("/api/v1/work/items/{item_id}", "/api/v1/work/items/{nope}", allowed=404),
    # Virtual Care's condition catalog: a public price list (a patient's own state by default)
    Case("/virtual-care/conditions", "/virtual-care/conditions"),
    Case("/virtual-care/conditions", "/virtual-care/conditions?state=NY"),
    Case("/virtual-care/conditions", "/virtual-care/conditions?state=ZZ", allowed=422),
    Case("/api/v1/virtual-care/conditions", "/api/v1/virtual-care/conditions?state=NY&visit_type=message"),
    Case("/api/v1/virtual-care/conditions", "/api/v1/virtual-care/conditions?state=ZZ", allowed=422),
    Case("/api/v1/virtual-care/conditions/{code}", "/api/v1/virtual-care/conditions/uti"),
    Case("/api/v1/virtual-care/conditions/{code}", "/api/v1/virtual-care/conditions/nope", allowed=404),
    # Virtual Care's visits: {visit} is the demo patient's, completed by the demo clinician
    Case("/virtual-care/visits", "/virtual-care/visits"),  # staff are sent to the queue
    Case("/virtual-care/visits/new", "/virtual-care/visits/new", PATIENT_ONLY),
    Case("/virtual-care/visits/new", "/virtual-care/visits/new?condition=uti", PATIENT_ONLY),
    Case("/virtual-care/visits/{visit_id}", "/virtual-care/visits/{visit}", VISIT),
    Case("/virtual-care/visits/{visit_id}", "/virtual-care/visits/{nope}", allowed=404),
    Case("/virtual-care/visits/{visit_id}/summary.pdf", "/virtual-care/visits/{visit}/summary.pdf", VISIT),
    Case(
        "/virtual-care/visits/{visit_id}/attachments/{attachment_id}",
        "/virtual-care/visits/{visit}/attachments/{nope}",
        VISIT,
        allowed=404,
    ),
    Case("/virtual-care/queue", "/virtual-care/queue", VISIT_QUEUE),
    Case("/virtual-care/queue", "/virtual-care/queue?view=mine&state=ny&condition=uti&offset=0", VISIT_QUEUE),
    Case("/virtual-care/lead", "/virtual-care/lead", VISIT_QUEUE),  # its lead (the demo clinician), operations
    Case("/api/v1/virtual-care/visits", "/api/v1/virtual-care/visits", PATIENT_ONLY),
    Case("/api/v1/virtual-care/visits/{visit_id}", "/api/v1/virtual-care/visits/{visit}", VISIT),
    Case("/api/v1/virtual-care/visits/{visit_id}", "/api/v1/virtual-care/visits/{nope}", allowed=404),
    Case(
        "/api/v1/virtual-care/visits/{visit_id}/summary.pdf", "/api/v1/virtual-care/visits/{visit}/summary.pdf", VISIT
    ),
    Case(
        "/api/v1/virtual-care/visits/{visit_id}/attachments/{attachment_id}",
        "/api/v1/virtual-care/visits/{visit}/attachments/{nope}",
        VISIT,
        allowed=404,
    ),
    Case("/api/v1/virtual-care/diagnoses", "/api/v1/virtual-care/diagnoses?q=cystitis&condition=uti"),
    # Virtual Care's video visits: {video} is the demo patient's, booked with the demo clinician
    Case("/virtual-care/availability", "/virtual-care/availability", CLINICIAN_ONLY),
    Case("/virtual-care/visits/{visit_id}", "/virtual-care/visits/{video}", VISIT),
    Case("/virtual-care/visits/{visit_id}/room", "/virtual-care/visits/{video}/room", CALL),
    Case("/api/v1/virtual-care/availability", "/api/v1/virtual-care/availability", CLINICIAN_ONLY),
    Case("/api/v1/virtual-care/slots", "/api/v1/virtual-care/slots?state=NY&condition=uti"),
    Case("/api/v1/virtual-care/slots", "/api/v1/virtual-care/slots?state=WY&condition=uti", allowed=422),
    Case("/api/v1/virtual-care/visits/{visit_id}/booking", "/api/v1/virtual-care/visits/{video}/booking", VISIT),
    Case(
        "/api/v1/virtual-care/visits/{visit_id}/booking",
        "/api/v1/virtual-care/visits/{visit}/booking",
        VISIT,
        allowed=404,
    ),
    # Pharmacy's drug catalog: no patient data, readable by anyone logged in
    Case("/pharmacy/drugs", "/pharmacy/drugs"),
    Case("/pharmacy/drugs", "/pharmacy/drugs?q=amoxicilin"),
    Case("/pharmacy/drugs", "/pharmacy/drugs?q=zzzzqqq"),
    Case("/api/v1/pharmacy/drugs", "/api/v1/pharmacy/drugs?q=bactrim&limit=5"),
    Case("/api/v1/pharmacy/drugs", "/api/v1/pharmacy/drugs?q=bactrim&limit=0", allowed=422),
    Case("/api/v1/pharmacy/drugs/{product_id}", "/api/v1/pharmacy/drugs/amoxicillin-500mg-cap"),
    Case("/api/v1/pharmacy/drugs/{product_id}", "/api/v1/pharmacy/drugs/nope", allowed=404),
    # Pharmacy's verification: {rx} a prescription the demo signed for a patient in NY or NJ
    Case("/pharmacy/queue", "/pharmacy/queue", RX_QUEUE),
    Case("/pharmacy/queue", "/pharmacy/queue?view=mine&offset=0", RX_QUEUE),
    Case("/pharmacy/prescriptions/{prescription_id}", "/pharmacy/prescriptions/{rx}", RX),
    Case("/pharmacy/prescriptions/{prescription_id}", "/pharmacy/prescriptions/{nope}", allowed=404),
    Case("/api/v1/pharmacy/prescriptions/{prescription_id}", "/api/v1/pharmacy/prescriptions/{rx}", RX),
    Case("/api/v1/pharmacy/prescriptions/{prescription_id}", "/api/v1/pharmacy/prescriptions/{nope}", allowed=404),
]


def test_the_table_has_a_column_for_every_role_and_a_mark_for_every_column():
    assert set(COLUMNS) == set(Role) and len(COLUMNS) == len(Role)
    assert all(len(case.who) == len(COLUMNS) and set(case.who) <= {"x", "-", "4"} for case in ROUTES)


def _get_routes() -> set[str]:
    found = {"/", "/api/docs", "/api/v1/openapi.json"}
    for name in router_modules():
        for route in importlib.import_module(name).router.routes:
            if "GET" in (getattr(route, "methods", None) or ()):
                found.add(route.path)
    return found


def test_every_get_route_is_listed():
    assert _get_routes() <= {case.path for case in ROUTES}


def _demo_ids(db) -> dict[str, str]:  # noqa: ANN001
    """Ids the path parameters are filled with; adds one departure to the seeded demo."""
    with db.unit_of_work() as s:
        own = find_by_email(s, demo_email(Role.PATIENT)).patient_id
        other = s.scalar(select(Patient.id).where(Patient.id != own).order_by(Patient.mrn).limit(1))
        clinician = find_by_email(s, demo_email(Role.CLINICIAN))
        staff = s.scalar(select(StaffMember.id).where(StaffMember.user_id == clinician.id))
        unit = s.scalar(select(OrgUnit.id).where(OrgUnit.code == "virtual_care"))
        team = s.scalar(select(Team.id).where(Team.unit_id == unit).order_by(Team.name).limit(1))
        # one departure (a biller hands over to the demo clinician), so its pages have something to show
        system = Actor.for_system("tests")
        leaver = staff_service.hire(
            s,
            system,
            {
                "email": "leaver@example.org",
                "display_name": "Lee Leaver",
                "roles": ["biller"],
                "start_date": "2024-01-02",
            },
        ).id
        departure = departures.offboard(s, system, leaver, successor_staff_id=staff).id
        # one visit waiting in Virtual Care's queue, for the demo patient
        queue = s.scalar(select(WorkQueue.id).where(WorkQueue.team_id == team).order_by(WorkQueue.name).limit(1))
        item = work.create_item(
            s, queue, kind="async_visit", title="Sore throat", patient_id=own, due_at=clock.now() + timedelta(hours=2)
        ).id
    with db.unit_of_work() as s:
        visit = s.scalar(
            select(Visit.id)
            .where(Visit.patient_id == own, Visit.visit_type == "message")
            .order_by(Visit.created_at)
            .limit(1)
        )
        video = s.scalar(select(Visit.id).where(Visit.patient_id == own, Visit.visit_type == "video"))
        rx = s.scalar(
            select(Prescription.id)
            .where(Prescription.state.in_(("NY", "NJ")))
            .order_by(Prescription.rx_number)
            .limit(1)
        )
    ids = {
        "visit": visit,
        "video": video,
        "rx": rx,
        "own": own,
        "other": other,
        "staff": staff,
        "unit": unit,
        "team": team,
        "departure": departure,
        "leaver": leaver,
        "queue": queue,
        "item": item,
        "nope": uuid.uuid4(),
    }
    assert all(ids.values()), ids
    return {k: str(v) for k, v in ids.items()}


def test_every_page_and_api_read_as_every_demo_role(client, db, settings):
    seed_demo(db, settings, patients=3, seed=7)
    ids = _demo_ids(db)
    problems: list[str] = []
    for role in Role:
        with db.unit_of_work() as s:
            user = find_by_email(s, demo_email(role))
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, session_cookie(db, settings, user))
        for case in ROUTES:
            url = case.url.format(**ids)
            response = client.get(url, follow_redirects=False)
            status = response.status_code
            if (
                status == 200
                and response.headers["content-type"].startswith("text/html")
                and not url.startswith(("/api/", "/docs/"))
            ):
                problems += [f"{role.value} GET {url}: {p}" for p in a11y.problems(response.text)]
            expected = case.expected(role)
            if status >= 500:
                problems.append(f"{role.value} GET {url}: {status} (server error)")
            elif isinstance(expected, int):
                if status != expected:
                    problems.append(f"{role.value} GET {url}: {status}, expected {expected}")
            elif not (200 <= status < 400):
                problems.append(f"{role.value} GET {url}: {status}, expected a page or a redirect")
    assert not problems, "\n".join(problems)


def test_every_page_redirects_or_refuses_an_anonymous_visitor(client, db, settings):
    seed_demo(db, settings, patients=1, seed=7)
    ids = _demo_ids(db)
    open_to_all = {
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/docs",
        "/api/docs/assets/{name}",
        "/api/v1/openapi.json",
        "/login",
        "/password/forgot",
        "/password/reset/{token}",
        "/verify-email/{token}",
        "/register",
        "/mailbox",
        "/mailbox/{mail_id}",
        "/virtual-care/conditions",
        "/api/v1/virtual-care/conditions",
        "/api/v1/virtual-care/conditions/{code}",
    }
    problems = []
    for case in ROUTES:
        url = case.url.format(**ids)
        response = client.get(url, follow_redirects=False)
        if case.path in open_to_all:
            if response.status_code >= 500:
                problems.append(f"anonymous GET {url}: {response.status_code} (server error)")
            if response.headers["content-type"].startswith("text/html") and not url.startswith(("/docs/", "/api/")):
                problems += [f"anonymous GET {url}: {p}" for p in a11y.problems(response.text)]
            continue
        expected = (401,) if url.startswith("/api/") else (303,)
        if response.status_code not in expected:
            problems.append(f"anonymous GET {url}: {response.status_code}, expected {expected[0]}")
    assert not problems, "\n".join(problems)


def test_the_accessibility_check_finds_what_it_looks_for():
    bad = (
        '<html><body><h1>A</h1><h3>C</h3><form><input name="q"><select name="s"></select>'
        '<button type="submit"></button><a href="/x"></a></form></body></html>'
    )
    assert a11y.problems(bad) == [
        "<html> has no lang attribute",
        "<input name='q'> has no label",
        "<select name='s'> has no label",
        "<button {'type': 'submit'}> has no text",
        "<a {'href': '/x'}> has no text",
        "heading level jumps from h1 to h3",
    ]
    good = (
        '<html lang="en"><body><h1>A</h1><h2>B</h2><form><label for="q">Find</label><input id="q" name="q">'
        '<label>Kind <select name="s"></select></label><input type="hidden" name="t">'
        '<button type="submit">Go</button><a href="/x" aria-label="Home"></a></form></body></html>'
    )
    assert a11y.problems(good) == []


def _unsafe_routes() -> list[tuple[str, str]]:
    found = []
    for name in router_modules():
        for route in importlib.import_module(name).router.routes:
            for method in sorted(set(getattr(route, "methods", None) or ()) & {"POST", "PATCH", "PUT", "DELETE"}):
                found.append((method, route.path))
    return found


def test_every_form_and_api_change_survives_an_empty_submission(app, db, settings):
    """Empty or missing input is a field error, a refusal or a redirect, never a server error; a form
    shown again with its errors meets the same accessibility basics as any page."""
    client = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
    seed_demo(db, settings, patients=1, seed=7)
    ids = _demo_ids(db)
    params = {
        "patient_id": ids["other"],
        "staff_id": ids["staff"],
        "unit_id": ids["unit"],
        "team_id": ids["team"],
        "departure_id": ids["departure"],
        "consent_id": ids["nope"],
        "licence_id": ids["nope"],
        "membership_id": ids["nope"],
        "token_id": ids["nope"],
        "user_id": ids["nope"],
        "delivery_id": ids["nope"],
        "pair_id": ids["nope"],
        "allergy_id": ids["nope"],
        "token": "not-a-real-token",
        "queue_id": ids["queue"],
        "item_id": ids["item"],
        "visit_id": ids["visit"],
        "prescription_id": ids["rx"],
        "on": "2030-01-07",  # a date of a clinician's hours
    }
    problems = []
    for role in (Role.OPERATIONS_LEAD, Role.ADMINISTRATOR, Role.CLINICIAN, Role.PATIENT):
        with db.unit_of_work() as s:
            user = find_by_email(s, demo_email(role))
        for method, path in _unsafe_routes():
            client.cookies.clear()
            client.cookies.set(SESSION_COOKIE, session_cookie(db, settings, user))
            client.get("/healthz")
            token = client.get("/profile").cookies.get("cp_csrf") or client.cookies.get("cp_csrf")
            actions = (
                ["rename", "lead", "teams", "merge", "split"]
                if path.endswith("/{action}") and "units" in path
                else ["queues", "move", "people"]
                if path.endswith("/{action}")
                else [None]
            )
            for action in actions:
                url = path.format(**params, action=action)
                if url.startswith("/api/"):
                    response = client.request(method, url, json={}, headers={"X-CSRF-Token": token or ""})
                else:
                    response = client.request(method, url, data={"csrf_token": token or ""}, follow_redirects=False)
                if response.status_code >= 500:
                    problems.append(f"{role.value} {method} {url}: {response.status_code}")
                elif response.headers.get("content-type", "").startswith("text/html"):  # a form with its errors
                    problems += [f"{role.value} {method} {url}: {p}" for p in a11y.problems(response.text)]
    assert not problems, "\n".join(problems)


def test_a_nul_byte_in_input_is_refused_whole_on_both_engines(app, db):
    """SQLite would store a NUL character and PostgreSQL refuses it in text: the web edge refuses it first."""
    client = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
    client.get("/login")
    form = client.post(
        "/login",
        data={"email": "a\x00@example.org", "password": "x", "csrf_token": client.cookies.get("cp_csrf")},
        headers={"Accept": "application/json"},
    )
    assert form.status_code == 400 and form.json()["type"].endswith("/invalid-characters")
    query = client.get("/patients?q=a%00b")
    assert query.status_code == 400
    body = client.post("/api/v1/patients", json={"given_name": "A\u0000"})
    # anonymous: refused before its body is read (tests/kernel/test_control_characters.py)
    assert body.status_code == 401
    assert client.get("/login").status_code == 200  # ordinary requests pass untouched


def test_a_malformed_id_or_query_on_a_page_gets_the_styled_error_page(client, db, settings):
    """Every page route that takes an id, given one that does not parse: an HTML 404 with the
    person's navigation and a way back, never the API's JSON."""
    seed_demo(db, settings, patients=1, seed=7)
    with db.unit_of_work() as s:
        admin = find_by_email(s, demo_email(Role.ADMINISTRATOR))
    client.cookies.set(SESSION_COOKIE, session_cookie(db, settings, admin))
    page_routes = sorted(
        {
            case.path
            for case in ROUTES
            if "{" in case.path and "{token}" not in case.path and not case.path.startswith(("/api/", "/docs/"))
        }
    )  # a link's token is not an id
    uuid_routes = []
    for path in page_routes:
        url = re.sub(r"\{[^}]+\}", "not-a-uuid", path)
        response = client.get(url, follow_redirects=False)
        if response.status_code == 200:
            continue  # a free-text parameter (a token, a name): nothing to be malformed
        uuid_routes.append(path)
        assert response.status_code in (400, 404), (url, response.status_code)
        assert response.headers["content-type"].startswith("text/html"), (url, response.text[:200])
        assert "Log out" in response.text and '<a href="/' in response.text, url  # the nav, and a way on
        if response.status_code == 404:
            assert "Back to your home page" in response.text, url
        assert not a11y.problems(response.text), url
    assert "/patients/{patient_id}" in uuid_routes and len(uuid_routes) >= 8
    bad_query = client.get("/patients?q=%00")
    assert bad_query.status_code == 400 and bad_query.headers["content-type"].startswith("text/html")
    assert "Back to your home page" in bad_query.text
