"""The shipped migrations build exactly the schema the models describe, on both engines."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from careplane.kernel import schema
from careplane.kernel.db import Base


def _only_careplane_tables(name, type_, parent_names):  # noqa: ANN001, ANN202
    """Other tests create scratch tables of their own in the same database; leave those out."""
    table = name if type_ == "table" else parent_names.get("table_name")
    return table is None or table in Base.metadata.tables


def test_migrations_match_the_models(db):
    schema.upgrade(db)  # already at head: must be a no-op
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": _only_careplane_tables}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert schema.current_revision(db) == schema.head_revision()


def test_downgrade_to_nothing_and_back(db):
    from alembic import command

    config = schema.alembic_config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert schema.current_revision(db) is None
    schema.upgrade(db)
    assert schema.current_revision(db) == schema.head_revision()
