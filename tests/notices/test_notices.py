"""Public notices: content and masking, the revision chain and its hashes, CSV, the delta."""

import csv
import hashlib
import io
import json

from app.cli import main as cli
from tests.conftest import practitioner_body
from tests.notices.conftest import PEOPLE


def download(api, notice_id, fmt):
    response = api.get(f"/v1/notices/{notice_id}", params={"format": fmt})
    assert response.status_code == 200, response.text
    return response


def test_the_notice_lists_scored_people_with_their_sanctions(api, notice_world):
    meta = notice_world.publish(contact="0476-1234567")
    assert meta["rows"] == 3 and meta["revision"] == 1 and meta["previous"] is None
    assert meta["title"] == "赤峰市2025年度定点医药机构相关人员医保支付资格记分情况公示"
    assert meta["issued_by"] == "赤峰市医疗保障局" and meta["as_of"] == "2025-12-20"
    doc = download(api, meta["id"], "json").json()
    rows = {r["code"]: r for r in doc["rows"]}
    assert list(rows) == ["D150402****03", "D150428****01", "D150428****02"]  # in code order
    wang = rows["D150428****01"]
    assert (wang["name"], wang["points"], wang["category"]) == ("王**", 9, "physician")
    assert wang["institutions"] == [{"code": "H15042800001", "name": "喀喇沁旗医院"}]
    assert [(s["kind"], s["starts_on"], s["ends_on"]) for s in wang["sanctions"]] == [
        ("suspension", "2025-06-02", "2025-07-01")]
    zhao = rows["D150402****03"]
    assert zhao["name"] == "赵**" and zhao["sanctions"][0]["kind"] == "termination"
    assert zhao["sanctions"][0]["reregistration_from"] == "2028-05-01"  # 12 in one case: 3 years
    assert rows["D150428****02"]["sanctions"] == []
    summary = doc["summary"]
    assert (summary["people"], summary["suspended"], summary["terminated"]) == (3, 1, 1)
    assert {b["band"]: b["people"] for b in summary["by_points"]} == {
        "light": 0, "heavier": 1, "serious": 0, "most_serious": 2}
    assert meta["summary"] == summary
    # the joint-sanction notices the suspension and the termination sent, by department
    notices = {(r["department"], r["direction"]): r["notifications"] for r in summary["referrals"]}
    assert notices == {("health", "outbound"): 2, ("market_regulation", "outbound"): 1}


def test_no_full_name_code_or_id_number_in_any_format(api, notice_world):
    meta = notice_world.publish()
    outputs = [json.dumps(meta, ensure_ascii=False), download(api, meta["id"], "json").text,
               download(api, meta["id"], "csv").content.decode("utf-8-sig"),
               api.get(f"/notices/{meta['id']}").text,
               json.dumps(api.get("/v1/notices").json(), ensure_ascii=False)]
    for code, name, id_number, *_ in PEOPLE:
        for text in outputs:
            assert name not in text and id_number not in text and code not in text
            assert id_number[:6] + id_number[6:14] not in text  # not even the birth date part


def test_the_hash_of_the_json_download_is_the_published_hash(api, notice_world):
    meta = notice_world.publish()
    response = download(api, meta["id"], "json")
    assert hashlib.sha256(response.content).hexdigest() == meta["sha256"]
    assert response.headers["x-notice-sha256"] == meta["sha256"]
    assert meta["sha256"] in api.get(f"/notices/{meta['id']}").text


def test_a_correction_is_a_new_revision_linked_to_the_first(api, notice_world):
    first = notice_world.publish()
    first_bytes = download(api, first["id"], "json").content
    notice_world.score("D150402000104", "5", "2025-11-03", 2, institution="H15040200002")
    second = notice_world.publish()
    assert second["revision"] == 2 and second["rows"] == 4
    assert second["previous"] == {"id": first["id"], "sha256": first["sha256"]}
    assert download(api, first["id"], "json").content == first_bytes  # the first stays as it was
    assert hashlib.sha256(download(api, second["id"], "json").content).hexdigest() == second["sha256"]
    assert download(api, first["id"], "meta").json()["next_revision_id"] == second["id"]
    page = api.get(f"/notices/{first['id']}").text
    assert f'href="/notices/{second["id"]}"' in page


def test_csv_opens_in_excel_with_the_right_columns(api, notice_world):
    meta = notice_world.publish()
    response = download(api, meta["id"], "csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # BOM: Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["序号", "姓名", "人员编码", "人员类别", "所在地区", "执业机构", "年度记分", "修复分值", "处理情况"]
    assert len(rows) == 4
    wang = next(r for r in rows if r[2] == "D150428****01")
    assert wang[1] == "王**" and wang[3] == "医师" and wang[4] == "喀喇沁旗" and wang[6] == "9"
    assert wang[5] == "喀喇沁旗医院(H15042800001)"
    assert wang[8] == "暂停医保支付资格 2025-06-02 至 2025-07-01"


def test_delta_between_revisions_and_years(api, notice_world, clock):
    first = notice_world.publish()
    notice_world.score("D150402000104", "5", "2025-11-03", 2, institution="H15040200002")
    notice_world.score("D150428000102", "6", "2025-11-04", 1)
    second = notice_world.publish()
    delta = api.get(f"/v1/notices/{second['id']}/delta").json()
    assert delta["from"]["id"] == first["id"] and delta["to"]["id"] == second["id"]
    changes = {(c["change"], (c.get("after") or c["before"])["code"]) for c in delta["changes"]}
    assert changes == {("added", "D150402****04"), ("changed", "D150428****02")}
    changed = next(c for c in delta["changes"] if c["change"] == "changed")
    assert (changed["before"]["points"], changed["after"]["points"]) == (3, 4)
    # next year: only the terminated person still has a running sanction; the rest drop out
    clock.set("2026-03-01")
    next_year = notice_world.publish(year=2026)
    delta = api.get(f"/v1/notices/{next_year['id']}/delta").json()
    assert delta["from"]["id"] == second["id"]
    assert sorted((c["change"], (c.get("after") or c["before"])["code"]) for c in delta["changes"]) == [
        ("changed", "D150402****03"), ("removed", "D150402****04"), ("removed", "D150428****01"),
        ("removed", "D150428****02")]


def test_reading_is_public_and_publishing_is_scoped(api, notice_world, make_key):
    meta = notice_world.publish()
    assert api.get(f"/v1/notices/{meta['id']}").status_code == 200  # no key
    assert api.get(f"/notices/{meta['id']}").status_code == 200
    assert api.get("/v1/notices/999999").status_code == 404
    assert api.post("/v1/notices", json={"region": "150400", "year": 2025}).status_code == 401
    other = make_key("bureau", "120000")
    assert api.post("/v1/notices", json={"region": "150400", "year": 2025}, headers=other).status_code == 404
    checker = make_key("checker", "100000")
    assert api.post("/v1/notices", json={"region": "150400", "year": 2025}, headers=checker).status_code == 403
    bad = api.post("/v1/notices", json={"region": "150400", "year": 2027}, headers=notice_world.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.year"


def test_the_page_searches_sorts_and_pages_on_the_server(api, notice_world):
    meta = notice_world.publish()
    page = api.get(f"/notices/{meta['id']}", params={"q": "王"}).text
    assert "王**" in page and "李**" not in page and "共 1 条" in page
    by_points = api.get(f"/notices/{meta['id']}", params={"sort": "points"}).text
    assert by_points.index("赵**") < by_points.index("王**") < by_points.index("李**")
    assert "@media print" in page and '<html lang="zh-CN">' in page


def test_publish_from_the_command_line_and_the_event(api, notice_world, engine, capsys):
    assert cli(["notices", "publish", "--year", "2025", "--region", "150428", "--contact", "0476-1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    meta = api.get(f"/v1/notices/{printed['id']}").json()
    assert meta["issued_by"] == "喀喇沁旗医疗保障局" and meta["rows"] == 2 and meta["sha256"] == printed["sha256"]
    from sqlalchemy import text
    with engine.connect() as conn:
        payload = conn.execute(text("SELECT payload FROM events WHERE type = 'notice.published'")).scalar_one()
    assert json.loads(payload)["notice_id"] == printed["id"]


def test_a_suspension_running_into_the_next_year_is_in_that_years_notice(api, notice_world, clock):
    """Notices read only the people whose stored span of years holds the notice's year."""
    notice_world.score("D150402000104", "7", "2025-12-01", 10, institution="H15040200002")  # 2 months
    clock.set("2026-03-01")
    notice = notice_world.publish(year=2026)
    rows = api.get(f"/v1/notices/{notice['id']}?format=json").json()["rows"]
    by_code = {r["code"]: r for r in rows}
    assert set(by_code) == {"D150402****04", "D150402****03"}  # the suspended and the terminated
    assert by_code["D150402****04"]["points"] == 0
    assert [(s["kind"], s["starts_on"], s["ends_on"]) for s in by_code["D150402****04"]["sanctions"]] == [
        ("suspension", "2025-12-01", "2026-01-31")]


def test_csv_cells_that_would_start_a_formula_are_written_as_text(api, notice_world):
    """OWASP CSV injection: a name or institution name beginning with = + - @, a tab or a CR."""
    code = "D150428000101"
    for name, institution in [("=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0"), ("@SUM(1)", "-2+3"),
                              ("-Minus", "=1+1")]:
        body = practitioner_body(name=name, id_number="150428198001010014", region="150428",
                                 institutions=[{"code": "H15042800001"}], registered_on="2020-01-01")
        assert api.put(f"/v1/practitioners/{code}", json=body, headers=notice_world.headers).status_code == 200
        renamed = api.put("/v1/institutions/H15042800001", json={"name": institution}, headers=notice_world.headers)
        assert renamed.status_code == 200, renamed.text
        rows = list(csv.reader(io.StringIO(download(api, notice_world.publish()["id"], "csv").content.decode("utf-8-sig"))))
        wang = next(r for r in rows if r[2] == "D150428****01")
        assert wang[1].startswith("'" + name[0]), wang[1]
        assert wang[5] == f"'{institution}(H15042800001)", wang[5]
    # An ordinary name is unchanged.
    assert next(r for r in rows if r[2] == "D150428****02")[1] == "李**"


def test_the_notice_page_admits_only_its_own_script_and_style_and_no_framing(api, notice_world):
    import re

    from app.kit.pageheaders import inline_hash

    meta = notice_world.publish()
    response = api.get(f"/notices/{meta['id']}")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and response.headers["x-frame-options"] == "DENY"
    for tag in ("script", "style"):
        for body in re.findall(rf"<{tag}>(.*?)</{tag}>", response.text, re.S):
            assert inline_hash(body) in csp, tag
    assert "'unsafe-inline'" not in csp


def test_notices_are_listed_a_page_at_a_time_like_every_other_list(api, notice_world):
    published = [notice_world.publish()["id"] for _ in range(3)]  # three revisions
    first = api.get("/v1/notices", params={"limit": 2})
    assert first.status_code == 200, first.text
    page = first.json()
    assert set(page) == {"items", "next_cursor"}
    assert [n["id"] for n in page["items"]] == published[:2] and page["next_cursor"]
    rest = api.get("/v1/notices", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [n["id"] for n in rest["items"]] == published[2:] and rest["next_cursor"] is None
    assert api.get("/v1/notices", params={"region": "150400", "year": 2024}).json() == {"items": [], "next_cursor": None}
    assert api.get("/v1/notices", params={"cursor": "x"}).status_code == 422


def test_the_csv_has_an_operation_of_its_own_declaring_only_text_csv(api, notice_world):
    meta = notice_world.publish()
    response = api.get(f"/v1/notices/{meta['id']}/csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content == download(api, meta["id"], "csv").content
    assert response.headers["X-Notice-SHA256"] == meta["sha256"]
