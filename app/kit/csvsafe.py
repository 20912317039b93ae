"""Spreadsheet-safe CSV cells (OWASP, CSV injection): a text cell that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is read by Excel and its peers as a formula. Such a cell
is written with a leading apostrophe, which those programs show as text and do not display.
Every CSV the service writes passes its text cells through ``cell``."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value):
    """The value as written: text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
