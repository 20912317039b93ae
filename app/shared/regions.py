"""Administrative-division codes (GB/T 2260) and the region scope rule.

A code is six digits: province (2), prefecture (2), county (2). A province-level code ends in
``0000`` and covers every code with the same first two digits; a prefecture-level code ends in
``00`` and covers the codes sharing its first four. ``100000`` is the national scope (中华人民共和国)
and covers everything. Pure functions, no I/O beyond python-stdnum's bundled division table.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from stdnum import numdb

NATIONAL = "100000"

_PROVINCE = re.compile(r'(\d\d) province="[^"]*"')
_COUNTY = re.compile(r'  (\d{4}) county="([^"]*)"')


@lru_cache(maxsize=1)
def _counties() -> dict[str, str] | None:
    """Every six-digit code of python-stdnum's GB/T 2260 table (``stdnum/cn/loc.dat``) with its
    ``county`` property, read in one pass: ~20 ms of CPU where numdb's general reader took ~100,
    and the table is read at start-up, where the bundled rulesets' jurisdictions are checked. The file has two levels, a province's two digits and under it each county's four;
    a line of any other shape gives None, and numdb answers instead. Where a code comes twice
    the later line wins, as in numdb. tests/test_regions.py holds the two equal for every code."""
    return read_counties(resources.files(numdb.__package__).joinpath("cn/loc.dat").read_text(encoding="utf-8"))


def read_counties(text: str) -> dict[str, str] | None:
    names: dict[str, str] = {}
    province = None
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        if county := _COUNTY.fullmatch(line):
            if province is None:
                return None
            names[province + county.group(1)] = county.group(2)
        elif _PROVINCE.fullmatch(line):
            province = line[:2]
        else:
            return None
    return names


@lru_cache(maxsize=4096)
def division_name(code: str) -> str | None:
    """The Chinese name of a division code, or None when the code is not a known division.

    Uses python-stdnum's GB/T 2260 table, which keeps historical codes too (a code that was
    valid once stays valid: old ledgers and ID numbers still carry it).
    """
    if code == NATIONAL:
        return "全国"
    if len(code) != 6 or not code.isdigit():
        return None
    counties = _counties()
    if counties is not None:
        county = counties.get(code)
    else:
        info: dict[str, str] = {}
        for _part, props in numdb.get("cn/loc").info(code):
            info.update(props)
        county = info.get("county")
    if not county:
        return None
    # Historical names look like "[1983-]喀喇沁旗" or "[-2010]崇文区,[2010-]东城区": keep the newest.
    newest = county.split(",")[-1]
    return newest.split("]", 1)[1] if newest.startswith("[") else newest


def is_valid_region(code: str) -> bool:
    return division_name(code) is not None


def level(code: str) -> str:
    """national | province | prefecture | county."""
    if code == NATIONAL:
        return "national"
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def covers(scope: str, region: str) -> bool:
    """Whether a caller bound to ``scope`` may see or act on an object in ``region``."""
    kind = level(scope)
    if kind == "national":
        return True
    if kind == "province":
        return region[:2] == scope[:2]
    if kind == "prefecture":
        return region[:4] == scope[:4]
    return region == scope


def within(column, scope: str):
    """SQL: ``column`` (a region code column) lies inside ``scope``, the same rule as ``covers``.
    National is every row; a county is equality; otherwise a prefix match the index can use."""
    from sqlalchemy import true
    from sqlmodel import col

    if level(scope) == "county":
        return col(column) == scope
    prefix = scope_prefix(scope)
    return col(column).startswith(prefix) if prefix else true()


def scope_prefix(scope: str) -> str:
    """The code prefix that every region inside ``scope`` starts with (for SQL ``LIKE``)."""
    kind = level(scope)
    return {"national": "", "province": scope[:2], "prefecture": scope[:4]}.get(kind, scope)
