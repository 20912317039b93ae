"""Alembic, driven from code: one place that knows where the migrations are.

Alembic itself is imported only to migrate: importing it (with Mako and Pygments behind it) was a
sixth of the API's start-up, and ``/readyz`` only needs the revision stored in the database and
the newest revisions of the migration files, which are read here directly.

The migrations are the ``migrations`` package, installed beside ``app`` (the wheel carries it), and
the Alembic configuration is built here: an installed service needs no alembic.ini and no source
tree. alembic.ini stays for developers who run the ``alembic`` command itself (``alembic revision``).
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

import migrations

# Where the package was imported from: the checkout in development, site-packages once installed.
MIGRATIONS = Path(migrations.__file__).resolve().parent
VERSIONS = MIGRATIONS / "versions"


def alembic_config(database_url: str):
    from alembic.config import Config

    cfg = Config()  # no file: nothing is read from the working directory
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


# ``revision = '0015'`` and ``down_revision = '0014'`` (or None, or a tuple) at the start of a line.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=(.+)$", re.M)


def _revision_names(source: str) -> dict[str, object]:
    """The ``revision`` and ``down_revision`` of a migration file: read from their own lines (the
    first ``/readyz`` reads every file, and parsing all of them took ~25 ms of CPU), or, where one
    is not a value on a single line, from the whole file's syntax tree."""
    names: dict[str, object] = {}
    try:
        for m in _REVISION_LINE.finditer(source):
            names.setdefault(m.group(1), ast.literal_eval(m.group(2).strip()))
    except (ValueError, SyntaxError):
        names = {}
    if "revision" in names and "down_revision" in names:
        return names
    names = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("revision", "down_revision"):
                names[node.targets[0].id] = ast.literal_eval(node.value)
    return names


@lru_cache
def head_revisions() -> frozenset[str]:
    """The revisions no other revision builds on, from the ``revision`` and ``down_revision`` of
    each migration file (tests/test_migrations.py holds this to Alembic's own answer)."""
    revisions, built_on = set(), set()
    for path in VERSIONS.glob("[!_]*.py"):  # not __init__.py
        names = _revision_names(path.read_text())
        revisions.add(names["revision"])
        down = names.get("down_revision")
        built_on.update(down if isinstance(down, (tuple, list)) else [down] if down else [])
    return frozenset(revisions - built_on)


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database is at (Alembic's version table); empty for a database never migrated."""
    with engine.connect() as conn:
        try:
            return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        except DBAPIError:  # no version table yet
            return set()
