"""The tour (docs/tour.md) as a newcomer runs it: every ``sh`` block, in order, in one bash shell,
against a real server on a new development database, with the key ``python -m app setup`` printed.

Each block must exit 0 (it runs under ``set -euo pipefail``: an answer without the field the block
reads is a failure), and every ``# → answer`` line of a block must be a line of what it printed, in
order (``…`` stands for anything within the line). The README's tour is the start of the same
page: each of its ``sh`` blocks must be one of these, word for word.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests import processes
from tests.processes import ROOT

pytestmark = pytest.mark.database_independent  # its own SQLite file, as make run's

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
EXPECTED = re.compile(r"^\s*# → (.*)$", re.M)
SERVED_AT = "http://127.0.0.1:8000"


def sh_blocks(text: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == "sh"]


def section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _matches(expected: str, line: str) -> bool:
    return re.fullmatch(".*".join(map(re.escape, expected.split("…"))), line.rstrip()) is not None


def _check_answers(number: int, block: str, output: str) -> None:
    lines = output.splitlines()
    at = 0
    for expected in EXPECTED.findall(block):
        while at < len(lines) and not _matches(expected, lines[at]):
            at += 1
        assert at < len(lines), f"block {number}: no line {expected!r} (in order) in what it printed:\n{output}"
        at += 1


@pytest.fixture
def newcomer(tmp_path):
    """A working directory as after ``make run``: ``.venv/bin/python`` runs this interpreter with the
    project importable, ``var/app.db`` is a new development database, and the server listens."""
    (tmp_path / "app").symlink_to(ROOT / "app")  # the what-if draft starts from a bundled ruleset
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    (venv / "python").chmod(0o755)
    (tmp_path / "var").mkdir()
    env = {**os.environ, "APP_ENVIRONMENT": "development", "APP_DATABASE_URL": f"sqlite:///{tmp_path}/var/app.db",
           "APP_WEBHOOK_EMBEDDED_WORKER": "true",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "app", "setup"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    key = re.search(r"^\s*export KEY=(pck_\S+)$", done.stderr, re.M)
    assert key, done.stderr
    server, url = processes.start_api(tmp_path / "server.log", env)
    try:
        yield tmp_path, {**env, "KEY": key.group(1)}, url
    finally:
        processes.terminate(server, timeout=30)


def test_the_tour_runs_as_written(newcomer):
    cwd, env, url = newcomer
    blocks = sh_blocks((ROOT / "docs" / "tour.md").read_text())
    assert len(blocks) >= 8
    script = ["set -euo pipefail"]
    for number, block in enumerate(blocks, 1):
        script += [f"echo '@@@ block {number}'", block.replace(SERVED_AT, url), f"echo '@@@ done {number}'"]
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    outputs = dict(re.findall(r"^@@@ block (\d+)\n(.*?)(?=^@@@ done \1$)", done.stdout, re.M | re.S))
    finished = set(re.findall(r"^@@@ done (\d+)$", done.stdout, re.M))
    for number, block in enumerate(blocks, 1):
        assert str(number) in finished, (
            f"block {number} failed (exit {done.returncode}):\n{block}\n--- stdout:\n{done.stdout[-3000:]}\n"
            f"--- stderr:\n{done.stderr[-3000:]}")
        _check_answers(number, block, outputs[str(number)])
    assert done.returncode == 0


def test_the_readme_tour_is_the_executed_one():
    tour = sh_blocks((ROOT / "docs" / "tour.md").read_text())
    readme = sh_blocks(section((ROOT / "README.md").read_text(), "## Five-minute tour"))
    assert len(readme) >= 4
    for block in readme:
        assert block in tour, f"README tour block not on docs/tour.md (so not run by this test):\n{block}"


def test_answers_are_matched_line_by_line():
    assert _matches("{…'sent': 1, …}", "{'a': 2, 'sent': 1, 'b': 3}")
    assert not _matches("5", "15")
    assert not _matches("sent", "sent_on")
