"""Work items and queues every unit uses: a unit declares its queues (:func:`ensure_queue`), puts its
work into them (:func:`create_item`) and lets its staff claim, release and complete it; the access
policy (:mod:`careplane.kernel.work.policy`) decides who may see and take what. Hand-over, the
operations pages and the departure report see every item without knowing what it is.
See docs/work-queues.md.
"""

from careplane.kernel.work.holdings import open_counts_by_unit, open_items_of
from careplane.kernel.work.items import assign, cancel, claim, complete, create_item, release
from careplane.kernel.work.listing import ItemFilter, get_item, list_items, visible_queues
from careplane.kernel.work.models import OpenTo, WorkItem, WorkItemStatus, WorkQueue
from careplane.kernel.work.queues import QueueDeclaration, ensure_queue, queue_by_key

__all__ = [
    "ItemFilter",
    "OpenTo",
    "QueueDeclaration",
    "WorkItem",
    "WorkItemStatus",
    "WorkQueue",
    "assign",
    "cancel",
    "claim",
    "complete",
    "create_item",
    "ensure_queue",
    "get_item",
    "list_items",
    "open_counts_by_unit",
    "open_items_of",
    "queue_by_key",
    "release",
    "visible_queues",
]
