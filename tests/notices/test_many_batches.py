"""A notice of a few hundred varied people read and written in many small batches: its rows are the
pure rules' rows for every person in code order, and its bytes are those the notices published
before the freeze was made faster (the hashes below were computed by that code, commit ec5253c).

The people are written straight into the tables with timelines from ``standing.derive`` over
random facts: points on both sides of ``as_of``, repairs, warnings (Tianjin), suspensions that
run across 1 January, terminations with and without re-registration, several institutions, an
institution without a name, and people whose stored span of years leaves the notice's year out.
"""

import csv
import hashlib
import io
import json
import random
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from app.kit.db import write_session
from app.notices import content, service
from app.practitioners.models import Institution, Practitioner, PractitionerInstitution
from app.scoring import catalog, standing
from app.scoring.models import StandingRecord
from app.scoring.rulesets import select_ruleset
from app.shared import regions

REGIONS = ["150428", "150402", "150102", "120101", "110101"]
NAMES = ["王小明", "李", "欧阳春晓", " 赵德胜 ", "孙丽", "Zhang Wei", "🏥医生", 'quote " back\\slash']

# sha256 of the JSON download after its header (rows and summary) and of the CSV download, as
# published under the sanction rules of 2026-12 (a score at or above a level calls for its
# sanction; see docs/rules.md): the same data must keep giving the same bytes.
NATIONAL_AFTER_HEADER = "a466f83ae2906e2662181855f568db312a89bb890d3abf38c50cff5697caf19b"
NATIONAL_CSV = "7cd90e82f6ff717eff73620c473712d7acb8321a533bd73cdf11707df773062b"
PREFECTURE_AFTER_HEADER = "8d8c7990a3c51f5058070bca832f3b1fce8b1a094b6eeb59ec39e8d44177024c"


def _facts(rng: random.Random, region: str, rulesets: list) -> standing.Facts | None:
    registered_on = date(2015, 1, 1) + timedelta(days=rng.randrange(3000))
    entries, repairs, reregistrations = [], [], []
    case = 0
    for n in range(rng.choice([0, 1, 1, 2, 3, 5])):
        on = date(2024, 9, 1) + timedelta(days=rng.randrange(470))  # to mid-December 2025
        ruleset = select_ruleset(rulesets, region, on)
        case += rng.random() < 0.7
        points = rng.choice([1, 1, 2, 3, 3, 4, 6, 9, 10, 12])
        months = rng.choice([None, None, None, 1, 3]) if points >= 6 else None
        entries.append(standing.Entry(1000 + n, case, on, points, ruleset.id, months))
    for n in range(rng.choice([0, 0, 0, 1, 2])):
        on = date(2025, 1, 1) + timedelta(days=rng.randrange(340))
        repairs.append(standing.Repair(2000 + n, on, rng.choice([1, 2]), select_ruleset(rulesets, region, on).id))
    if rng.random() < 0.1:
        reregistrations.append(date(2025, 1, 1) + timedelta(days=rng.randrange(1500)))
    if not (entries or repairs or rng.random() < 0.5):
        return None  # never scored: no standings row
    return standing.Facts(registered_on, tuple(entries), tuple(repairs), tuple(reregistrations))


@pytest.fixture
def many_people(engine):
    """About 600 people; returns their (practitioner, institutions, timeline or None) in code order."""
    rng = random.Random(20251)
    people = []
    with write_session() as session:
        rulesets = catalog.rulesets(session)
        ordered = list(rulesets.values())
        institutions = []
        for region in REGIONS:
            for n in range(1, 5):
                institutions.append(Institution(code=f"H{region}{n:05d}", region=region,
                                                name=None if n == 4 else f"{regions.division_name(region)}第{n}医院"))
        session.add_all(institutions)
        codes: dict[str, None] = {}  # in the order drawn (a set's order varies from run to run)
        while len(codes) < 600:
            region = rng.choice(REGIONS)
            codes[rng.choice(["D", "N", "Y", "YN"]) + region + f"{rng.randrange(10**6):06d}"] = None
        for code in codes:
            region = code[-12:-6]
            practitioner = Practitioner(
                code=code, name=rng.choice(NAMES), id_number_encrypted="x", id_number_hash=code,
                id_number_masked="150***********0014", category=rng.choice(list(content.CATEGORY_NAMES)),
                region=region, registered_on=date(2015, 1, 1))
            session.add(practitioner)
            session.flush()
            sites = rng.sample([i for i in institutions if i.region == region], rng.choice([1, 1, 1, 2, 3]))
            session.add_all(PractitionerInstitution(practitioner_id=practitioner.id, institution_code=i.code)
                            for i in sites)
            facts = _facts(rng, region, ordered)
            timeline = standing.derive(facts, rulesets) if facts else None
            if timeline is not None:
                first, last = timeline.years() or (None, None)
                session.add(StandingRecord(practitioner_id=practitioner.id, timeline=json.dumps(timeline.to_json()),
                                           first_year=first, last_year=last))
            people.append((SimpleNamespace(code=code, name=practitioner.name, category=practitioner.category,
                                           region=region),
                           sorted((i.code, i.name) for i in sites), timeline))
        session.commit()
    return sorted(people, key=lambda p: p[0].code)


def _expected_rows(people, scope: str, year: int, as_of: date) -> list[str]:
    rows = []
    for practitioner, sites, timeline in people:
        if timeline is None or not regions.covers(scope, practitioner.region):
            continue
        row = content.row_for(practitioner.code, practitioner.name, practitioner.category, practitioner.region,
                              sites, timeline, year, as_of)
        if row is not None:
            rows.append(content.canonical(row))
    return rows


def _download(api, notice_id: int, fmt: str) -> bytes:
    response = api.get(f"/v1/notices/{notice_id}", params={"format": fmt})
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("batch", [7, 5000])
def test_a_notice_read_in_many_batches_has_the_rules_rows_and_the_same_bytes(
        api, make_key, clock, many_people, monkeypatch, batch):
    monkeypatch.setattr(service, "BATCH", batch)
    clock.set("2025-12-20")
    bureau = make_key("bureau", "100000")
    published = {}
    for scope in ("100000", "150400"):
        response = api.post("/v1/notices", json={"region": scope, "year": 2025, "as_of": "2025-09-30"},
                            headers=bureau)
        assert response.status_code == 201, response.text
        published[scope] = response.json()

    national = published["100000"]
    document = _download(api, national["id"], "json")
    assert hashlib.sha256(document).hexdigest() == national["sha256"]
    expected = _expected_rows(many_people, "100000", 2025, date(2025, 9, 30))
    assert len(expected) > 300 and national["rows"] == len(expected)
    header = '{"notice":' + content.canonical(json.loads(document)["notice"]) + ',"rows":['
    assert document.decode().startswith(header)
    after_header = document[len(header.encode()):]
    assert after_header.decode().startswith(",".join(expected) + '],"summary":')
    sanctions = [s for r in expected for s in json.loads(r)["sanctions"]]
    assert {s["kind"] for s in sanctions} == {"warning", "suspension", "termination"}
    assert any(s["kind"] == "suspension" and s["starts_on"] < "2025" for s in sanctions)  # across 1 January
    assert any(s["kind"] == "termination" and s["ends_on"] for s in sanctions)  # re-registered
    assert any(json.loads(r)["repaired"] for r in expected)
    assert any(len(json.loads(r)["institutions"]) > 1 for r in expected)
    assert hashlib.sha256(after_header).hexdigest() == NATIONAL_AFTER_HEADER

    table = _download(api, national["id"], "csv")
    lines = list(csv.reader(io.StringIO(table.decode("utf-8-sig"))))
    assert len(lines) == len(expected) + 1 and [line[0] for line in lines[1:]] == [
        str(n) for n in range(1, len(expected) + 1)]
    assert hashlib.sha256(table).hexdigest() == NATIONAL_CSV

    prefecture = published["150400"]
    document = _download(api, prefecture["id"], "json")
    assert hashlib.sha256(document).hexdigest() == prefecture["sha256"]
    header = '{"notice":' + content.canonical(json.loads(document)["notice"]) + ',"rows":['
    after_header = document[len(header.encode()):]
    expected = _expected_rows(many_people, "150400", 2025, date(2025, 9, 30))
    assert 0 < len(expected) < national["rows"]
    assert after_header.decode().startswith(",".join(expected) + '],"summary":')
    assert hashlib.sha256(after_header).hexdigest() == PREFECTURE_AFTER_HEADER
