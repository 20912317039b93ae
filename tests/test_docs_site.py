"""The documentation site builds with ``mkdocs build --strict``: a link to a page or an anchor that
does not exist, a page left out of the navigation, or any other warning fails the suite (and so CI,
which runs ``make test``). mkdocs.yml's ``validation`` makes unresolved links and anchors warnings.

Also: nothing in the documentation, the code or the tests points at documents that are not in the
repository.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.processes import ROOT

pytestmark = pytest.mark.database_independent


def test_the_site_builds_strict(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-5000:]
    assert (site / "index.html").is_file() and (site / "tour" / "index.html").is_file()


def test_strict_build_fails_on_a_broken_anchor(tmp_path):
    """The check has teeth: a page linking to a missing anchor of another page stops the build."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the runbook](ops.md#no-such-section).\n")
    (docs / "ops.md").write_text("# Ops\n\n## Backups\n")
    config = (ROOT / "mkdocs.yml").read_text()
    config = config[:config.index("\nnav:")] + "\nnav:\n  - index.md\n  - ops.md\n"
    (tmp_path / "mkdocs.yml").write_text(config)
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode != 0
    assert "no-such-section" in done.stderr


OUTSIDE = re.compile(r"\.\./shared|shared/domain|house plan|the issue\b|the plan\b", re.I)


def test_nothing_points_outside_the_repository():
    """Documents outside the repository (a shared domain note, a planning document, an issue) mean
    nothing to a reader of this one: say what is meant instead."""
    found = []
    paths = [ROOT / "README.md", ROOT / "mkdocs.yml"]
    for folder in ("app", "tests", "bench", "migrations", "docs"):
        paths += [p for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".md", ".toml", ".html", ".lua"}]
    for path in paths:
        if path == ROOT / "tests" / "test_docs_site.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_readme_links_resolve():
    """The README is read on the forge, outside the site: its relative links must name files."""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(((?!https?:|#|<)[^)#\s]+)(?:#[^)]*)?\)", readme)
    assert len(targets) > 20
    assert [t for t in targets if not (ROOT / t).exists()] == []


def test_every_setting_is_in_the_configuration_page():
    from app.settings import Settings

    page = (ROOT / "docs" / "configuration.md").read_text()
    assert [name for name in Settings.model_fields if f"`APP_{name.upper()}`" not in page] == []
