"""401 without a valid key, 403 for a verb the role lacks, 404 outside the caller's region."""

import pytest
from sqlmodel import select

from app.auth import service as clients
from app.kit.db import write_session
from tests.conftest import practitioner_body


def test_missing_malformed_unknown_and_revoked_keys_are_401(api, make_key):
    url = "/v1/practitioners/D150428000123"
    assert api.get(url).status_code == 401
    assert api.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.get(url, headers={"Authorization": "Bearer pck_unknown"}).status_code == 401
    headers = make_key("bureau", "150428")
    assert api.get(url, headers=headers).status_code == 404  # authenticated: just not found
    with write_session() as session:
        clients.revoke_client(session, clients.list_clients(session)[-1].id)
    response = api.get(url, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("role", "department", "read", "write"),
    [
        ("bureau", None, 200, 200),
        ("partner", "health", 403, 403),
        ("checker", None, 403, 403),
        ("admin", None, 403, 403),
    ],
)
def test_registry_verbs_by_role(api, register, make_key, role, department, read, write):
    register()
    headers = make_key(role, "150000", department)
    assert api.get("/v1/practitioners/D150428000123", headers=headers).status_code == read
    assert api.get("/v1/practitioners", headers=headers).status_code == read
    assert api.post("/v1/practitioners/search", json={"id_number": "150428198001010014"}, headers=headers).status_code == read
    put = api.put("/v1/practitioners/D150428000123", json=practitioner_body(), headers=headers)
    assert put.status_code == write
    if write == 403:
        assert put.json()["type"] == "forbidden"


@pytest.mark.parametrize(
    ("scope", "visible"),
    [("100000", True), ("150000", True), ("150400", True), ("150428", True), ("150429", False),
     ("150500", False), ("210000", False)],
)
def test_bureau_sees_only_its_region_and_below(api, register, make_key, scope, visible):
    register("D150428000123")  # in 150428 Karaqin Banner, under 150400 Chifeng, under 150000
    headers = make_key("bureau", scope)
    got = api.get("/v1/practitioners/D150428000123", headers=headers)
    assert got.status_code == (200 if visible else 404)
    listed = api.get("/v1/practitioners", headers=headers).json()["items"]
    assert [p["code"] for p in listed] == (["D150428000123"] if visible else [])
    found = api.post("/v1/practitioners/search", json={"id_number": "150428198001010014"}, headers=headers).json()
    assert len(found) == (1 if visible else 0)
    # an out-of-scope update is a 404 too, and changes nothing
    put = api.put("/v1/practitioners/D150428000123", json=practitioner_body(name="改名"), headers=headers)
    assert put.status_code == (200 if visible else 404)


def test_bureau_cannot_register_or_filter_outside_its_region(api, make_key):
    county = make_key("bureau", "150428")
    response = api.put("/v1/practitioners/D150402000001", json=practitioner_body(region="150402"), headers=county)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.region"
    listed = api.get("/v1/practitioners", params={"region": "150400"}, headers=county)
    assert listed.status_code == 422
    assert listed.json()["errors"][0]["field"] == "query.region"


def test_the_home_bureau_moves_a_practitioner_and_the_new_region_takes_them_over(api, register, make_key):
    register("D150428000123")
    county = make_key("bureau", "150428")
    tianjin = make_key("bureau", "120000")
    body = practitioner_body(region="120101", institutions=[{"code": "H15042800001"}])
    assert api.put("/v1/practitioners/D150428000123", json=body, headers=tianjin).status_code == 404  # not theirs yet
    moved = api.put("/v1/practitioners/D150428000123", json=body, headers=county)
    assert moved.status_code == 200, moved.text
    assert moved.json()["region"] == "120101"
    assert api.get("/v1/practitioners/D150428000123", headers=tianjin).status_code == 200
    assert api.get("/v1/practitioners/D150428000123", headers=county).status_code == 404  # no longer theirs
    with write_session() as session:
        from app.shared.events import Event
        [event] = session.exec(select(Event).where(Event.type == "practitioner.moved")).all()
    assert (event.region, event.also_region) == ("150428", "120101")


@pytest.mark.parametrize(
    ("role", "region", "department", "field"),
    [
        ("mayor", "150000", None, "role"),
        ("bureau", "999999", None, "region"),
        ("partner", "150000", None, "department"),
        ("partner", "150000", "police", "department"),
        ("bureau", "150000", "health", "department"),
    ],
)
def test_client_creation_is_validated(role, region, department, field):
    from app.kit.errors import Invalid

    with write_session() as session, pytest.raises(Invalid) as exc:
        clients.create_client(session, role=role, region=region, department=department, name="x")
    assert [e["field"] for e in exc.value.extras["errors"]] == [field]
    with write_session() as session:
        assert clients.list_clients(session) == []


def test_keys_are_stored_only_as_hashes(make_key, engine):
    from sqlalchemy import text

    key = make_key("checker", "150428")["Authorization"].split()[1]
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM api_clients")).mappings().one()
    assert all(key not in str(v) for v in row.values())
    assert key.startswith(row["key_prefix"])


def test_a_key_revoked_elsewhere_stops_working_within_the_cache_time(api, make_key, engine, monkeypatch):
    """The CLI revokes in another process: running servers notice within auth_cache_seconds."""
    from sqlalchemy import text

    from app.auth import deps

    url = "/v1/practitioners/D150428000123"
    headers = make_key("bureau", "150428")
    clock = [1000.0]
    monkeypatch.setattr(deps, "monotonic", lambda: clock[0])
    assert api.get(url, headers=headers).status_code == 404  # authenticated, and remembered
    with engine.begin() as conn:  # as another process would: straight to the database
        conn.execute(text("UPDATE api_clients SET revoked_at = CURRENT_TIMESTAMP"))
    clock[0] += 4.9
    assert api.get(url, headers=headers).status_code == 404
    clock[0] += 0.2  # past the default 5 seconds
    assert api.get(url, headers=headers).status_code == 401
