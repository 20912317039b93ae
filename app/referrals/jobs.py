"""Referral jobs for the worker and the CLI: each opens its own write session."""

from __future__ import annotations

from datetime import date

from app.kit.db import write_session
from app.referrals import service


def emit_overdue(today: date | None = None) -> int:
    """Report newly missed deadlines (``referral.overdue``); returns how many."""
    with write_session() as session:
        return service.emit_overdue(session, today)
