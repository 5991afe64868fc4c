"""Virtual Care: message-based and video visits, the clinician queue, state licensure routing, response-time promises.

The unit's public face: its declaration (``UNIT``, how it plugs into the platform: see
:mod:`careplane.kernel.units`) and the few read-only queries other units may call.
"""

from careplane.kernel.access import Permission
from careplane.kernel.identity.roles import Role
from careplane.kernel.org.staff.service import CLINICIAN_LICENCE_KINDS
from careplane.kernel.units import NavEntry, Panel, QueueSpec, Unit

CODE = "virtual_care"
NAME = "Virtual Care"
_PAGES = "careplane.units.virtual_care"

UNIT = Unit(
    code=CODE,
    name=NAME,
    package=__name__,
    order=10,
    # Patient records: the clinicians who treat them find, register, correct and merge them.
    patient_permissions=frozenset(
        {
            Permission.PATIENT_READ,
            Permission.PATIENT_UPDATE,
            Permission.PATIENT_SEARCH,
            Permission.PATIENT_REGISTER,
            Permission.PATIENT_MERGE,
        }
    ),
    first_team="Async visits",
    queues=(
        QueueSpec(
            "virtual_care.visits",
            "Visit queue",
            roles=(Role.CLINICIAN.value,),
            licence_kinds=CLINICIAN_LICENCE_KINDS,
            item_page="/virtual-care/visits/{subject_id}",
        ),
    ),
    routers=(
        f"{_PAGES}.api",
        f"{_PAGES}.visits_api",
        f"{_PAGES}.pages",
        f"{_PAGES}.portal_pages",
        f"{_PAGES}.workspace_pages",
        f"{_PAGES}.video_api",
        f"{_PAGES}.video_pages",
        f"{_PAGES}.signalling",
    ),
    models=(f"{_PAGES}.models", f"{_PAGES}.video_models"),
    handlers=(f"{_PAGES}.handlers", f"{_PAGES}.promise_watch", f"{_PAGES}.reminders"),
    nav=(
        NavEntry("Online visits", "/virtual-care/visits", role=Role.PATIENT, order=6),
        NavEntry("Conditions and prices", "/virtual-care/conditions", role=Role.PATIENT, order=7),
        NavEntry("Visit queue", "/virtual-care/queue", role=Role.CLINICIAN, order=20),
        NavEntry("My video hours", "/virtual-care/availability", role=Role.CLINICIAN, order=21),
        NavEntry("Virtual Care lead", "/virtual-care/lead", permission=Permission.OPERATIONS, order=45, area="Work"),
    ),
    home_panels=(
        Panel("vc-queue", "Online visits", f"{_PAGES}.workspace_pages:home_panel", roles=(Role.CLINICIAN.value,)),
        Panel("vc-video-agenda", "Video visits", f"{_PAGES}.video_pages:agenda_panel", roles=(Role.CLINICIAN.value,)),
    ),
    portal_sections=(
        Panel("vc-my-visits", "My online visits", f"{_PAGES}.portal_pages:portal_section", order=10),
        Panel("vc-my-video-visits", "My video visits", f"{_PAGES}.video_pages:portal_section", order=11),
    ),
    chart_sections=(
        Panel(
            "vc-visits", "Online visits", f"{_PAGES}.workspace_pages:chart_section", permission=Permission.PATIENT_READ
        ),
    ),
    hand_over=f"{_PAGES}.handlers:hand_over",
    demo=f"{_PAGES}.demo:seed",
)

__all__ = ["CODE", "NAME", "UNIT"]
