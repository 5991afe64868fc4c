"""Two (or more) people claiming the same item at the same moment: exactly one wins, on both engines.

Each claimant runs in its own thread and its own transaction; a barrier releases them together, so
their reads overlap. Without the row lock taken before the item is read, several would see it
unassigned and each would "win"."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from careplane.kernel import work
from careplane.kernel.access import Actor
from careplane.kernel.db import Database
from careplane.kernel.errors import Conflict
from careplane.kernel.work.models import WorkItem
from tests.kernel.work.builders import VISITS, item, person, seed, staff_id

CLAIMANTS = 4
ROUNDS = 5


def test_exactly_one_of_several_simultaneous_claims_wins(db: Database):
    seed(db)
    people = [person(db, licences=("TX",)) for _ in range(CLAIMANTS)]
    ids = {staff_id(db, p): p for p in people}
    for _ in range(ROUNDS):
        item_id = item(db, VISITS.key, state="TX")
        barrier = threading.Barrier(CLAIMANTS)

        def attempt(actor: Actor, item_id=item_id, barrier=barrier) -> str:  # noqa: ANN001
            try:
                with db.unit_of_work() as s:
                    barrier.wait(timeout=10)
                    work.claim(s, actor, item_id)
                return "won"
            except Conflict:
                return "taken"

        with ThreadPoolExecutor(CLAIMANTS) as pool:
            outcomes = list(pool.map(attempt, people))
        assert sorted(outcomes) == ["taken"] * (CLAIMANTS - 1) + ["won"]
        winner = people[outcomes.index("won")]
        with db.unit_of_work() as s:
            saved = s.get(WorkItem, item_id)
            assert ids[saved.assignee_staff_id] is winner
