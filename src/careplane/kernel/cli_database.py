"""The database a ``careplane`` command works on: the one the settings name (``CAREPLANE_DATABASE_URL``,
or the embedded SQLite file under ``CAREPLANE_DATA_DIR``). Every command gets it here. (Imports
are inside, so that ``careplane --help`` loads no database driver.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from careplane.kernel.db import Database


def database() -> Database:
    from careplane.kernel.db import Database
    from careplane.settings import get_settings

    return Database.configured(get_settings())
