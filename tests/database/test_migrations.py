"""The schema is built by the migrations, and the migrations match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from examportal.extensions import db
from sandbox_crm.models import Base as SandboxBase


def test_migrations_built_every_table(app):
    tables = set(inspect(db.engine).get_table_names())
    expected = {t.name for t in db.metadata.sorted_tables} | {t.name for t in SandboxBase.metadata.sorted_tables}
    assert expected <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, [db.metadata, SandboxBase.metadata])
    assert diff == [], f"models differ from the migrations; regenerate or add a migration: {diff}"
