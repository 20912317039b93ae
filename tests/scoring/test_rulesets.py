"""Ruleset files: loading, validation messages, points, sanctions and selection by region/date."""

from __future__ import annotations

from datetime import date

import pytest

from app.scoring.rulesets import (
    BUNDLED_DIR,
    DefenceRule,
    RulesetError,
    load_ruleset,
    load_rulesets,
    parse_ruleset,
    select_ruleset,
)

RULESETS = {r.id: r for r in load_rulesets()}
NATIONAL_TEXT = (BUNDLED_DIR / "national-2024.toml").read_text(encoding="utf-8")

# One catalogue entry per band; the bundled files share the catalogue and its band codes.
SAMPLE_VIOLATION = {
    "light": "RECORDS-MISSING",
    "heavier": "DUPLICATE-CHARGING",
    "serious": "UPCODING",
    "most_serious": "FRAUD-FABRICATE",
}


def edit(text: str, *replacements: tuple[str, str]) -> str:
    """Apply text replacements, each of which must match exactly once (no silent no-ops)."""
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


# ---------------------------------------------------------------- bundled files


def test_bundled_files_all_load():
    files = sorted(p.name for p in BUNDLED_DIR.glob("*.toml"))
    assert files == ["inner-mongolia-2025.toml", "national-2024.toml", "tianjin-2024.toml"]
    assert [r.id for r in load_rulesets()] == ["national-2024", "tianjin-2024", "inner-mongolia-2025"]
    for name in files:
        assert load_ruleset(BUNDLED_DIR / name).id == name.removesuffix(".toml")


@pytest.mark.parametrize(
    "ruleset_id, jurisdiction, effective_from, warning, repair_cap, lifts",
    [
        ("national-2024", "100000", date(2024, 9, 1), None, 4, False),
        ("tianjin-2024", "120000", date(2024, 10, 1), 6, 4, False),
        ("inner-mongolia-2025", "150000", date(2025, 1, 1), None, 3, True),
    ],
)
def test_bundled_headline_numbers(ruleset_id, jurisdiction, effective_from, warning, repair_cap, lifts):
    r = RULESETS[ruleset_id]
    assert (r.jurisdiction, r.effective_from) == (jurisdiction, effective_from)
    assert r.thresholds.warning == warning
    assert r.thresholds.warning_action == ("interview" if warning else None)
    assert (r.thresholds.suspension, r.thresholds.termination) == (9, 12)
    repair, bars = r.repair, r.reregistration
    assert (repair.points_per_activity, repair.yearly_cap, repair.lifts_sanction) == (1, repair_cap, lifts)
    assert (bars.bar_years_after_accumulation, bars.bar_years_after_single_case) == (1, 3)
    assert r.emergency_exemption and r.band_shift
    assert r.defence.window_working_days == 5


def test_national_catalogue():
    national = RULESETS["national-2024"]
    assert len(national.violation_types) >= 25
    assert len({v.code for v in national.violation_types}) == len(national.violation_types)
    for code in ["FRAUD-FABRICATE", "FRAUD-IMPERSONATION", "FRAUD-CASH-OUT", "FRAUD-FORGE-RECORDS",
                 "FRAUD-LICENCE-RENTING"]:
        assert national.violation(code).band == "most_serious"
    for code in ["RECORDS-MISSING", "CREDENTIAL-NOT-VERIFIED", "TRACE-CODE"]:
        assert national.violation(code).band == "light"
    assert national.violation("NO-SUCH-CODE") is None
    with pytest.raises(KeyError):
        national.band("no_such_band")


def test_bundled_rulesets_differ_in_months_and_bands():
    # The engine's tests run against all three, so it cannot rely on the national numbers.
    months = {rid: tuple(sorted(r.suspension.months_by_total.items())) for rid, r in RULESETS.items()}
    bands = {
        rid: tuple((b.code, b.min, b.max, tuple(sorted(b.points.items()))) for b in r.bands)
        for rid, r in RULESETS.items()
    }
    assert len(set(months.values())) == 3
    assert len(set(bands.values())) == 3
    assert len({r.content_hash() for r in RULESETS.values()}) == 3


# ---------------------------------------------------------------- points

# (general, important, primary) per band, written out rather than derived from min/max.
EXPECTED_POINTS = {
    "national-2024": {
        "light": (1, 2, 3), "heavier": (4, 5, 6), "serious": (7, 8, 9), "most_serious": (10, 11, 12),
    },
    "tianjin-2024": {
        "light": (1, 2, 3), "heavier": (4, 6, 6), "serious": (7, 8, 9), "most_serious": (10, 11, 12),
    },
    "inner-mongolia-2025": {
        "light": (1, 1, 2), "heavier": (3, 4, 5), "serious": (6, 7, 8), "most_serious": (9, 10, 12),
    },
}
POINT_CASES = [
    (rid, band, tier, value)
    for rid, table in EXPECTED_POINTS.items()
    for band, values in table.items()
    for tier, value in zip(("general", "important", "primary"), values)
]


@pytest.mark.parametrize("ruleset_id, band, tier, expected", POINT_CASES)
def test_points_by_band_and_tier(ruleset_id, band, tier, expected):
    r = RULESETS[ruleset_id]
    assert r.points(SAMPLE_VIOLATION[band], tier) == expected
    assert r.band(band).points[tier] == expected


@pytest.mark.parametrize(
    "ruleset_id, violation, circumstances, band, primary_points",
    [
        ("national-2024", "DUPLICATE-CHARGING", None, "heavier", 6),
        ("national-2024", "DUPLICATE-CHARGING", "mitigating", "light", 3),
        ("national-2024", "DUPLICATE-CHARGING", "aggravating", "serious", 9),
        ("national-2024", "RECORDS-MISSING", "mitigating", "light", 3),  # clipped at the bottom
        ("national-2024", "RECORDS-MISSING", "aggravating", "heavier", 6),
        ("national-2024", "FRAUD-FABRICATE", "aggravating", "most_serious", 12),  # clipped at the top
        ("national-2024", "FRAUD-FABRICATE", "mitigating", "serious", 9),
        ("inner-mongolia-2025", "UPCODING", "aggravating", "most_serious", 12),
        ("inner-mongolia-2025", "DUPLICATE-CHARGING", "mitigating", "light", 2),
        ("tianjin-2024", "UPCODING", "mitigating", "heavier", 6),
    ],
)
def test_circumstances_shift_one_band(ruleset_id, violation, circumstances, band, primary_points):
    r = RULESETS[ruleset_id]
    assert r.band_for(violation, circumstances).code == band
    assert r.points(violation, "primary", circumstances) == primary_points


@pytest.mark.parametrize("circumstances", [None, "mitigating", "aggravating"])
def test_no_shift_when_band_shift_is_off(circumstances):
    r = parse_ruleset(edit(NATIONAL_TEXT, ("band_shift = true", "band_shift = false")))
    assert r.band_for("DUPLICATE-CHARGING", circumstances).code == "heavier"
    assert r.points("DUPLICATE-CHARGING", "general", circumstances) == 4


def test_unknown_violation_is_a_key_error():
    with pytest.raises(KeyError):
        RULESETS["national-2024"].band_for("NO-SUCH-CODE", None)
    with pytest.raises(KeyError):
        RULESETS["national-2024"].points("NO-SUCH-CODE", "general")


# ---------------------------------------------------------------- suspension months


@pytest.mark.parametrize(
    "ruleset_id, total, months",
    [
        ("national-2024", 9, 2), ("national-2024", 10, 4), ("national-2024", 11, 6),
        ("national-2024", 14, 6),  # above the largest key: the largest key's value
        ("tianjin-2024", 9, 3), ("tianjin-2024", 10, 4), ("tianjin-2024", 11, 6),
        ("inner-mongolia-2025", 9, 1), ("inner-mongolia-2025", 10, 2), ("inner-mongolia-2025", 11, 3),
        ("inner-mongolia-2025", 12, 3),
    ],
)
def test_suspension_months(ruleset_id, total, months):
    assert RULESETS[ruleset_id].suspension_months(total) == months


def test_suspension_months_below_threshold_is_an_error():
    with pytest.raises(ValueError):
        RULESETS["national-2024"].suspension_months(8)


# ---------------------------------------------------------------- selection

NATIONAL_2026 = RULESETS["national-2024"].model_copy(
    update={"id": "national-2026", "effective_from": date(2026, 1, 1)}
)
HEPING_2025 = RULESETS["tianjin-2024"].model_copy(  # a county (Heping District, Tianjin) rule
    update={"id": "heping-2025", "jurisdiction": "120101", "effective_from": date(2025, 7, 1)}
)
CHIFENG_2025 = RULESETS["inner-mongolia-2025"].model_copy(  # a prefecture (Chifeng) rule
    update={"id": "chifeng-2025", "jurisdiction": "150400", "effective_from": date(2025, 3, 1)}
)


@pytest.mark.parametrize(
    "region, on, expected",
    [
        ("110101", date(2024, 8, 31), None),  # before any ruleset
        ("110101", date(2024, 9, 1), "national-2024"),  # Beijing: only national covers it
        ("110101", date(2030, 1, 1), "national-2024"),
        ("120101", date(2024, 9, 30), "national-2024"),
        ("120101", date(2024, 10, 1), "tianjin-2024"),
        ("120000", date(2025, 5, 1), "tianjin-2024"),
        ("150428", date(2024, 12, 31), "national-2024"),
        ("150428", date(2025, 1, 1), "inner-mongolia-2025"),
        ("150400", date(2025, 6, 1), "inner-mongolia-2025"),
    ],
)
def test_select_bundled(region, on, expected):
    selected = select_ruleset(load_rulesets(), region, on)
    assert (selected.id if selected else None) == expected


@pytest.mark.parametrize(
    "region, on, expected",
    [
        ("110101", date(2025, 12, 31), "national-2024"),
        ("110101", date(2026, 1, 1), "national-2026"),  # newer national replaces older national
        ("120102", date(2026, 1, 1), "tianjin-2024"),  # ... but not a province's own rule
        ("120101", date(2025, 6, 30), "tianjin-2024"),
        ("120101", date(2025, 7, 1), "heping-2025"),  # county beats province once in force
        ("120101", date(2026, 6, 1), "heping-2025"),
        ("150428", date(2025, 2, 28), "inner-mongolia-2025"),
        ("150428", date(2025, 3, 1), "chifeng-2025"),  # prefecture beats province
        ("150102", date(2025, 3, 1), "inner-mongolia-2025"),  # Hohhot: not under Chifeng
    ],
)
def test_select_more_specific_wins(region, on, expected):
    rulesets = [*load_rulesets(), NATIONAL_2026, HEPING_2025, CHIFENG_2025]
    assert select_ruleset(rulesets, region, on).id == expected


# ---------------------------------------------------------------- validation

MINIMAL = """
id = "mini-2024"
name = "最小规则"
jurisdiction = "110000"
effective_from = 2024-01-01
band_shift = true
emergency_exemption = true
violation_types = [
  { code = "V-1", name = "甲", band = "low" },
  { code = "V-2", name = "乙", band = "low" },
  { code = "V-3", name = "丙", band = "high" },
  { code = "V-4", name = "丁", band = "high" },
]

[[bands]]
code = "low"
name = "低"
min = 1
max = 3
points = { general = 1, important = 2, primary = 3 }

[[bands]]
code = "high"
name = "高"
min = 4
max = 6
points = { general = 4, important = 5, primary = 6 }

[thresholds]
warning = 3
warning_action = "interview"
suspension = 5
termination = 8

[suspension]
min_months = 1
max_months = 6
months_by_total = { 5 = 1, 6 = 2, 7 = 3 }

[reregistration]
bar_years_after_accumulation = 1
bar_years_after_single_case = 3

[repair]
points_per_activity = 1
yearly_cap = 4
lifts_sanction = false
activities = ["policy_training"]
"""

LOW_BAND = """code = "low"
name = "低"
min = 1
max = 3
points = { general = 1, important = 2, primary = 3 }"""
HIGH_BAND = """code = "high"
name = "高"
min = 4
max = 6
points = { general = 4, important = 5, primary = 6 }"""
BOTH_BANDS = f"[[bands]]\n{LOW_BAND}\n\n[[bands]]\n{HIGH_BAND}"
VIOLATIONS = MINIMAL[MINIMAL.index("violation_types = [") : MINIMAL.index("]\n\n[[bands]]") + 1]
DEFENCE_ZERO = '[defence]\nwindow_working_days = 0\n\n[repair]'


def test_minimal_document_is_valid_and_fills_defaults():
    r = parse_ruleset(MINIMAL)
    assert r.note == ""
    assert r.defence == DefenceRule(window_working_days=5)
    assert r.suspension_months(7) == 3


# (case id, replacements on MINIMAL, field path the message must name)
BROKEN = [
    ("id-pattern", [('"mini-2024"', '"Mini_2024"')], "id"),
    ("jurisdiction-unknown", [('"110000"', '"999999"')], "jurisdiction"),
    ("effective-not-date", [("2024-01-01", '"soon"')], "effective_from"),
    ("extra-field", [("band_shift = true", "band_shift = true\ncolour = 1")], "colour"),
    ("missing-field", [("termination = 8\n", "")], "thresholds.termination"),
    ("no-bands", [(BOTH_BANDS, "bands = []")], "bands"),
    ("first-band-below-1", [("min = 1\n", "min = 0\n")], "bands.0.min"),
    ("band-gap", [("min = 4\n", "min = 5\n"), ("general = 4,", "general = 5,")], "bands.1.min"),
    ("band-overlap", [("min = 4\n", "min = 3\n")], "bands.1.min"),
    ("bands-unsorted", [(BOTH_BANDS, f"[[bands]]\n{HIGH_BAND}\n\n[[bands]]\n{LOW_BAND}")], "bands.1.min"),
    ("band-max-below-min", [("max = 6\n", "max = 3\n")], "bands.1.max"),
    ("duplicate-band-code", [('code = "high"', 'code = "low"')], "bands.1.code"),
    ("band-code-pattern", [('code = "high"', 'code = "High"')], "bands.1.code"),
    ("tier-below-band", [("general = 4,", "general = 3,")], "bands.1.points.general"),
    ("tier-above-band", [("primary = 6", "primary = 7")], "bands.1.points.primary"),
    ("tiers-decreasing", [("important = 5, primary = 6", "important = 6, primary = 5")],
     "bands.1.points.primary"),
    ("tier-missing", [("important = 2, primary = 3", "important = 2")], "bands.0.points.primary"),
    ("tier-unknown", [("important = 2,", "important = 2, chief = 3,")], "bands.0.points.chief"),
    ("warning-not-below-suspension", [("warning = 3", "warning = 5")], "thresholds.warning"),
    ("warning-zero", [("warning = 3", "warning = 0")], "thresholds.warning"),
    ("warning-without-action", [('warning_action = "interview"\n', "")], "thresholds.warning_action"),
    ("action-without-warning", [("warning = 3\n", "")], "thresholds.warning_action"),
    ("action-unknown", [('"interview"', '"fine"')], "thresholds.warning_action"),
    ("termination-not-above-suspension",
     [("termination = 8", "termination = 5"), ("{ 5 = 1, 6 = 2, 7 = 3 }", "{ 5 = 1 }")],
     "thresholds.termination"),
    ("months-missing-total", [("6 = 2, ", "")], "suspension.months_by_total"),
    ("months-extra-total", [("7 = 3 }", "7 = 3, 8 = 3 }")], "suspension.months_by_total.8"),
    ("months-out-of-range", [("7 = 3 }", "7 = 9 }")], "suspension.months_by_total.7"),
    ("months-min-above-max", [("max_months = 6", "max_months = 0")], "suspension.max_months"),
    ("months-min-zero", [("min_months = 1", "min_months = 0")], "suspension.min_months"),
    ("repair-zero-points", [("points_per_activity = 1", "points_per_activity = 0")],
     "repair.points_per_activity"),
    ("defence-zero-days", [("[repair]", DEFENCE_ZERO)], "defence.window_working_days"),
    ("violation-code-pattern", [('code = "V-1"', 'code = "v-1"')], "violation_types.0.code"),
    ("violation-code-duplicate", [('code = "V-2"', 'code = "V-1"')], "violation_types.1.code"),
    ("violation-unknown-band", [('"丁", band = "high"', '"丁", band = "extreme"')], "violation_types.3.band"),
    ("no-violation-types", [(VIOLATIONS, "violation_types = []")], "violation_types"),
]


@pytest.mark.parametrize("replacements, path", [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_document_names_the_field(replacements, path):
    with pytest.raises(RulesetError) as caught:
        parse_ruleset(edit(MINIMAL, *replacements), source="mini.toml")
    message = str(caught.value)
    assert message.startswith("mini.toml: ")
    assert f": {path}" in message, message
    # One fault per document, so each case exercises exactly one rule.
    [(reported, _)] = caught.value.problems
    assert reported == path or reported.startswith(path + "."), reported


def test_broken_national_file_names_file_and_path(tmp_path):
    broken = tmp_path / "national-2024.toml"
    broken.write_text(
        edit(NATIONAL_TEXT, ("{ general = 4, important = 5,", "{ general = 3, important = 5,")),
        encoding="utf-8",
    )
    with pytest.raises(RulesetError, match=r"^national-2024\.toml: bands\.1\.points\.general: "):
        load_ruleset(broken)


def test_bad_toml_is_a_ruleset_error():
    with pytest.raises(RulesetError, match=r"^draft\.toml: invalid TOML"):
        parse_ruleset('id = "unterminated', source="draft.toml")


def test_duplicate_ids_in_directory(tmp_path):
    (tmp_path / "a.toml").write_text(NATIONAL_TEXT, encoding="utf-8")
    (tmp_path / "b.toml").write_text(
        edit(NATIONAL_TEXT, ("effective_from = 2024-09-01", "effective_from = 2025-01-01")), encoding="utf-8"
    )
    with pytest.raises(RulesetError, match=r"b\.toml: id: duplicate id 'national-2024', also in a\.toml"):
        load_rulesets(tmp_path)


def test_same_jurisdiction_and_start_in_directory(tmp_path):
    (tmp_path / "a.toml").write_text(NATIONAL_TEXT, encoding="utf-8")
    renamed = edit(NATIONAL_TEXT, ('id = "national-2024"', 'id = "national-bis"'))
    (tmp_path / "b.toml").write_text(renamed, encoding="utf-8")
    with pytest.raises(RulesetError, match="effective_from"):
        load_rulesets(tmp_path)


def test_directory_loads_sorted_by_jurisdiction_and_date(tmp_path):
    for name in ["inner-mongolia-2025.toml", "national-2024.toml"]:
        (tmp_path / name).write_text((BUNDLED_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "national-2026.toml").write_text(
        edit(NATIONAL_TEXT, ('id = "national-2024"', 'id = "national-2026"'),
             ("effective_from = 2024-09-01", "effective_from = 2026-01-01")),
        encoding="utf-8",
    )
    ids = [r.id for r in load_rulesets(tmp_path)]
    assert ids == ["national-2024", "national-2026", "inner-mongolia-2025"]


def test_content_hash_is_stable_and_sensitive():
    national = RULESETS["national-2024"]
    assert national.content_hash() == parse_ruleset(NATIONAL_TEXT).content_hash()
    assert len(national.content_hash()) == 64
    changed = parse_ruleset(edit(NATIONAL_TEXT, ("yearly_cap = 4", "yearly_cap = 5")))
    assert changed.content_hash() != national.content_hash()
