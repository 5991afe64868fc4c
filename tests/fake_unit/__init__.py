"""A unit that exists only in the tests: declared once, the way a real unit is, to prove that a unit
plugs in by its declaration alone (tests/test_unit_plugin.py). No kernel file names it."""

from careplane.kernel.access import Permission
from careplane.kernel.identity.roles import Role
from careplane.kernel.units import NavEntry, Panel, PermissionSpec, QueueSpec, Unit

CODE = "fake_lab"
ORDER = "fake_lab.order"

UNIT = Unit(
    code=CODE,
    name="Fake Lab",
    package=__name__,
    order=99,
    patient_permissions=frozenset({Permission.PATIENT_READ}),
    permissions=(
        PermissionSpec(ORDER, "Order a lab test", roles=frozenset({Role.CLINICIAN}), functions=frozenset({CODE})),
    ),
    routers=("tests.fake_unit.routes",),
    handlers=("tests.fake_unit.jobs",),
    first_team="Lab desk",
    queues=(QueueSpec("fake_lab.orders", "Lab orders"),),
    nav=(NavEntry("Lab", "/fake-lab", permission=ORDER, order=30),),
    home_panels=(Panel("fake-lab-waiting", "Lab orders waiting", "tests.fake_unit.panels:home", permission=ORDER),),
    chart_sections=(Panel("fake-lab-results", "Lab results", "tests.fake_unit.panels:chart", permission=ORDER),),
    portal_sections=(Panel("fake-lab-mine", "My lab results", "tests.fake_unit.panels:portal"),),
    cli="tests.fake_unit.cli:app",
    demo="tests.fake_unit.demo:seed",
)
