"""The organisation: units, teams, staff, licences, restructuring, departures and hand-over."""

from careplane.kernel.org.staff.licensure import clinicians_licensed_in, may_verify_for_state

# A team's queues (``Team.queues``) are the work package's table: loaded with the organisation's.
from careplane.kernel.work import models as _work_models  # noqa: E402, F401, I001

__all__ = ["clinicians_licensed_in", "may_verify_for_state"]
