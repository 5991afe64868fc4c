"""The append-only, hash-chained log of every access to patient data."""

from careplane.kernel.audit.models import AuditEntry
from careplane.kernel.audit.record import record

__all__ = ["AuditEntry", "record"]
