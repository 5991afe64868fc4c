"""A unit plugs in by its declaration alone.

``tests/fake_unit`` declares a unit the way a real one does (``UNIT = Unit(...)``); installed, it
has its API route, page, navigation entry, home panel, chart and portal sections, permission,
queue, scheduled job, event handler, CLI commands, demo data and hand-over, and no kernel file
names it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from careplane.app import create_app
from careplane.demo import seed_demo
from careplane.kernel import jobs, units
from careplane.kernel.access import Actor, Permission, registry
from careplane.kernel.events import publish
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.models import OrgUnit, Team
from careplane.kernel.org.structure import service as structure
from careplane.kernel.patients import service
from careplane.kernel.work.models import WorkItem, WorkQueue
from careplane.kernel.worker import Worker
from tests import fake_unit
from tests.fake_unit import jobs as fake_jobs
from tests.helpers import api_token, bearer, login, units_installed
from tests.kernel.org.test_departures import add_items, lead_actor, make_staff, offboard
from tests.kernel.org.test_handover import drain, status

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def installed() -> Iterator[None]:
    with units_installed(fake_unit.UNIT):
        yield


@pytest.fixture
def lab_client(installed, db, settings) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(create_app(settings, db)) as client:
        yield client


def _patient(db) -> object:  # noqa: ANN001
    with db.unit_of_work() as s:
        return service.register_patient(
            s,
            Actor.for_system("test"),
            {"given_name": "Lab", "family_name": "Patient", "birth_date": "1970-03-04", "sex_at_birth": "male"},
        )


def test_its_api_route_answers_those_its_permission_allows(lab_client, db):
    clinician = login(lab_client, db, role=Role.CLINICIAN, unit="fake_lab")
    lab_client.cookies.clear()
    answer = lab_client.get("/api/v1/fake-lab/ping", headers=bearer(api_token(db, clinician)))
    assert answer.status_code == 200 and answer.json()["unit"] == "fake_lab"
    elsewhere = login(lab_client, db, role=Role.CLINICIAN, unit="virtual_care")
    lab_client.cookies.clear()
    refused = lab_client.get("/api/v1/fake-lab/ping", headers=bearer(api_token(db, elsewhere)))
    assert refused.status_code == 403  # the role holds the permission only in a unit doing the lab's work
    assert "/api/v1/fake-lab/ping" in lab_client.get("/api/v1/openapi.json").json()["paths"]


def test_its_page_nav_entry_and_home_panel_show_to_its_staff(lab_client, db):
    login(lab_client, db, role=Role.CLINICIAN, unit="fake_lab")
    page = lab_client.get("/fake-lab")
    assert page.status_code == 200 and "3 lab orders to draw." in page.text  # its own template folder
    home = lab_client.get("/")
    assert 'href="/fake-lab"' in home.text
    assert "Lab orders waiting" in home.text and "2 lab orders are waiting for you." in home.text


def test_its_nav_entry_and_panel_stay_hidden_from_others(lab_client, db):
    login(lab_client, db, role=Role.BILLER, unit="revenue_cycle")
    home = lab_client.get("/")
    assert 'href="/fake-lab"' not in home.text and "Lab orders waiting" not in home.text
    assert lab_client.get("/fake-lab").status_code == 403


def test_its_chart_section_shows_for_allowed_roles_only(lab_client, db):
    patient = _patient(db)
    login(lab_client, db, role=Role.CLINICIAN, unit="fake_lab")
    chart = lab_client.get(f"/patients/{patient.id}")
    assert chart.status_code == 200
    assert "Lab results" in chart.text and f"No lab results for MRN {patient.mrn} yet." in chart.text
    lab_client.cookies.clear()
    login(lab_client, db, role=Role.CLINICIAN, unit="virtual_care")  # may read the chart, not order labs
    other = lab_client.get(f"/patients/{patient.id}")
    assert other.status_code == 200 and "Lab results" not in other.text


def test_its_portal_section_shows_on_the_patients_own_page(lab_client, db):
    patient = _patient(db)
    login(lab_client, db, role=Role.PATIENT, patient_id=patient.id)
    page = lab_client.get("/my")
    assert page.status_code == 200 and "My lab results" in page.text


def test_its_permission_is_in_the_registry(installed):
    known = registry()
    assert known.descriptions[fake_unit.ORDER] == "Order a lab test"
    assert fake_unit.ORDER in known.role_permissions[Role.CLINICIAN]
    assert known.function_permissions["fake_lab"] == {Permission.PATIENT_READ, fake_unit.ORDER}


def test_the_registry_forgets_it_once_it_is_gone():
    with units_installed(fake_unit.UNIT):
        assert fake_unit.ORDER in registry().descriptions
    assert fake_unit.ORDER not in registry().descriptions


def test_its_unit_team_and_queue_are_seeded(installed, db):
    with db.unit_of_work() as s:
        structure.ensure_units(s)
        unit = s.scalar(select(OrgUnit).where(OrgUnit.code == "fake_lab"))
        team = s.scalar(select(Team).where(Team.unit_id == unit.id))
        queues = [q.name for q in s.scalars(select(WorkQueue).where(WorkQueue.team_id == team.id))]
    assert (unit.name, unit.function, team.name, queues) == ("Fake Lab", "fake_lab", "Lab desk", ["Lab orders"])


def test_its_job_and_event_handler_run_in_the_worker(installed, db, settings):
    fake_jobs.HANDLED.clear()
    Worker(db, settings, name="test")  # loads every installed unit's handlers
    assert "fake_lab.sweep" in jobs.registered()
    with db.unit_of_work() as s:
        publish(s, fake_jobs.LabResulted(order="LAB-1"))
    drain(db, settings)
    assert fake_jobs.HANDLED == ["LAB-1"]


def test_its_cli_commands_are_under_careplane(tmp_path):
    installed_now = ",".join(f"{u.package}:UNIT" for u in units.installed()) + ",tests.fake_unit:UNIT"
    env = dict(os.environ, CAREPLANE_UNITS=installed_now, CAREPLANE_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "careplane.cli", "fake-lab", "hello"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello from the fake lab"


def test_the_demo_seeds_its_data(installed, db, settings):
    seed_demo(db, settings, patients=0)
    with db.unit_of_work() as s:
        titles = list(s.scalars(select(WorkItem.title).join(WorkQueue).where(WorkQueue.name == "Lab orders")))
    assert titles == ["Draw a lipid panel"]


def test_a_departing_persons_work_in_it_is_handed_over(installed, db, settings):
    with db.unit_of_work() as s:
        structure.ensure_units(s)
        queue = s.scalar(select(WorkQueue).where(WorkQueue.key == "fake_lab.orders"))
    _, leaver = make_staff(db)
    _, successor = make_staff(db)
    orders = add_items(db, queue, leaver, 2, kind="lab_order")
    departure = offboard(db, lead_actor(db), leaver, successor_staff_id=successor.id)
    drain(db, settings)
    done = status(db, departure)
    assert done.complete and done.reports["fake_lab"].moved == {"lab_order": 2}
    with db.unit_of_work() as s:
        assert {i.assignee_staff_id for i in s.scalars(select(WorkItem).where(WorkItem.id.in_(orders)))} == {
            successor.id
        }


def test_no_kernel_file_names_a_unit():
    kernel = ROOT / "src" / "careplane" / "kernel"
    named = [
        str(path.relative_to(ROOT))
        for path in kernel.rglob("*.py")
        if "careplane.units" in path.read_text() or "fake_lab" in path.read_text()
    ]
    assert named == []
