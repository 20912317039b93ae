"""The same migrations build the schema on SQLite and PostgreSQL, both ways."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app import migrate
from app.models import metadata
from tests import dbutil


def test_upgrade_downgrade_upgrade_matches_the_models():
    url = dbutil.create_database("pct_mig")
    engine = create_engine(url)
    try:
        migrate.upgrade(url)
        assert set(inspect(engine).get_table_names()) >= set(metadata.tables)
        migrate.downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set()
        migrate.upgrade(url)
        assert migrate.current_revisions(engine) == migrate.head_revisions()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
    finally:
        engine.dispose()
        dbutil.drop_database(url)
