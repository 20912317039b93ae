"""PUT/GET/list/search of the practitioner registry (登记备案)."""

import pytest
from sqlalchemy import text

from tests.conftest import practitioner_body

ID = "150428198001010014"


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def test_register_then_update(api, bureau):
    created = api.put("/v1/practitioners/D150428000123", json=practitioner_body(), headers=bureau)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["code"] == "D150428000123"
    assert body["region_name"] == "喀喇沁旗"
    assert body["institutions"] == [{"code": "H15042800001", "name": "喀喇沁旗医院", "region": "150428"}]

    updated = api.put(
        "/v1/practitioners/D150428000123",
        json=practitioner_body(
            category="pharmacist",
            institutions=[{"code": "H15042800001"}, {"code": "P15042800007", "name": "某某大药房"}],
        ),
        headers=bureau,
    )
    assert updated.status_code == 200
    assert updated.json()["category"] == "pharmacist"
    # multi-site practice; an omitted name keeps the known one
    assert [i["code"] for i in updated.json()["institutions"]] == ["H15042800001", "P15042800007"]
    assert updated.json()["institutions"][0]["name"] == "喀喇沁旗医院"

    got = api.get("/v1/practitioners/D150428000123", headers=bureau).json()
    assert got == updated.json()


def test_repeated_put_changes_nothing(api, bureau, engine):
    first = api.put("/v1/practitioners/D150428000123", json=practitioner_body(), headers=bureau).json()
    again = api.put("/v1/practitioners/D150428000123", json=practitioner_body(), headers=bureau)
    assert again.status_code == 200
    assert again.json()["updated_at"] == first["updated_at"]
    assert count(engine, "practitioners") == 1


def test_id_number_is_encrypted_masked_and_never_returned(api, bureau, engine):
    response = api.put("/v1/practitioners/D150428000123", json=practitioner_body(), headers=bureau)
    assert ID not in response.text
    assert response.json()["id_number_masked"] == "150***********0014"
    assert "id_number" not in response.json()
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM practitioners")).mappings().one()
    assert all(ID not in str(value) for value in row.values())


def test_search_by_exact_id_number(api, bureau, register):
    register("D150428000123")
    register("D150428000124", id_number="210402199003150034", name="李某")
    found = api.post("/v1/practitioners/search", json={"id_number": ID}, headers=bureau)
    assert found.status_code == 200
    assert [p["code"] for p in found.json()] == ["D150428000123"]
    assert api.post("/v1/practitioners/search", json={"id_number": "120101197511200049"}, headers=bureau).json() == []
    bad = api.post("/v1/practitioners/search", json={"id_number": "150428198001010015"}, headers=bureau)
    assert bad.status_code == 422
    assert ID[:-1] not in bad.text  # the value is not echoed back


@pytest.mark.parametrize(
    ("field", "bad_value", "error_field"),
    [
        ("id_number", "150428198001010015", "body.id_number"),  # checksum
        ("id_number", "1504281980010100", "body.id_number"),  # length
        ("category", "surgeon", "body.category"),
        ("region", "999999", "body.region"),
        ("region", "15042", "body.region"),
        ("institutions", [{"code": "X15042800001"}], "body.institutions.0.code"),
        ("institutions", [{"code": "H99999900001"}], "body.institutions.0.code"),
        ("institutions", [], "body.institutions"),
        ("registered_on", "2024-02-30", "body.registered_on"),
        ("name", "", "body.name"),
    ],
)
def test_each_bad_field_is_named_and_nothing_is_stored(api, bureau, engine, field, bad_value, error_field):
    response = api.put("/v1/practitioners/D150428000123", json=practitioner_body(**{field: bad_value}), headers=bureau)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [error_field]
    assert count(engine, "practitioners") == 0
    assert count(engine, "institutions") == 0


@pytest.mark.parametrize("code", ["d150428000123", "D999999000123", "D15042800012", "150428000123"])
def test_bad_path_code_is_named(api, bureau, engine, code):
    response = api.put(f"/v1/practitioners/{code}", json=practitioner_body(), headers=bureau)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["path.code"]
    assert count(engine, "practitioners") == 0


def test_several_bad_fields_are_all_named(api, bureau):
    response = api.put(
        "/v1/practitioners/D999999000123",
        json=practitioner_body(id_number="1", category="x", region="1"),
        headers=bureau,
    )
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"path.code", "body.id_number", "body.category", "body.region"}


def test_unknown_fields_are_refused(api, bureau):
    response = api.put("/v1/practitioners/D150428000123", json=practitioner_body(status="active"), headers=bureau)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.status"


def test_registered_on_is_fixed_after_first_registration(api, bureau, register):
    register()
    response = api.put("/v1/practitioners/D150428000123", json=practitioner_body(registered_on="2025-01-01"), headers=bureau)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert api.get("/v1/practitioners/D150428000123", headers=bureau).json()["registered_on"] == "2024-01-01"


def test_unknown_practitioner_is_404(api, bureau):
    response = api.get("/v1/practitioners/D150428000999", headers=bureau)
    assert response.status_code == 404
    assert response.json()["type"] == "not-found"


def test_list_filters_and_pages(api, bureau, register):
    register("D150428000001")
    register("D150428000002", category="nurse")
    register("D150428000003", institutions=[{"code": "P15042800007"}], category="pharmacist")
    register("D150402000004", region="150402")  # another county of Chifeng
    register("D210402000005", region="150000")  # registered at province level

    def codes(**params):
        r = api.get("/v1/practitioners", params=params, headers=bureau)
        assert r.status_code == 200, r.text
        return [p["code"] for p in r.json()["items"]]

    assert codes() == ["D150402000004", "D150428000001", "D150428000002", "D150428000003", "D210402000005"]
    assert codes(region="150428") == ["D150428000001", "D150428000002", "D150428000003"]
    assert codes(region="150400") == ["D150402000004", "D150428000001", "D150428000002", "D150428000003"]
    assert codes(category="nurse") == ["D150428000002"]
    assert codes(institution="P15042800007") == ["D150428000003"]

    seen, cursor = [], None
    while True:
        page = api.get("/v1/practitioners", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=bureau).json()
        seen += [p["code"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == codes()


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "query.limit"), ({"limit": 501}, "query.limit"), ({"region": "999999"}, "query.region"),
     ({"category": "x"}, "query.category"), ({"institution": "H1"}, "query.institution")],
)
def test_bad_list_parameters(api, bureau, params, field):
    response = api.get("/v1/practitioners", params=params, headers=bureau)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
