"""Free-text field types the domains share, bounded by the limits in app/settings.py."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from app.settings import get_settings

_settings = get_settings()

# Defences, appeal grounds, statements, referral summaries (APP_MAX_TEXT_LENGTH).
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=_settings.max_text_length)]
# Reasons for a decision, a reversal, a referral step (APP_MAX_REASON_LENGTH).
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=_settings.max_reason_length)]
