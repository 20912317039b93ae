import pytest

from tests.conftest import practitioner_body
from tests.shared_fixtures import violation_with

# Inner Mongolia: 150428 喀喇沁旗 and 150402 红山区, both under 150400 赤峰市.
PEOPLE = [
    # code, name, id number, region, institution, category
    ("D150428000101", "王小明", "150428198001010014", "150428", ("H15042800001", "喀喇沁旗医院"), "physician"),
    ("D150428000102", "李红梅", "210402199003150034", "150428", ("H15042800001", "喀喇沁旗医院"), "nurse"),
    ("D150402000103", "赵德胜", "120101197511200049", "150402", ("P15040200007", "红山区康民大药房"), "pharmacist"),
    ("D150402000104", "孙丽", "12010119751120105X", "150402", ("H15040200002", "赤峰市医院"), "physician"),
]


@pytest.fixture
def notice_world(api, make_key, clock):
    """Four people in 赤峰市: 王 9 points (suspended), 李 3, 赵 12 at once (terminated), 孙 unscored."""
    bureau = make_key("bureau", "150400", name="赤峰市医疗保障局")
    clock.set("2025-12-20")
    for code, name, id_number, region, (inst, inst_name), category in PEOPLE:
        body = practitioner_body(name=name, id_number=id_number, region=region, category=category,
                                 institutions=[{"code": inst, "name": inst_name}], registered_on="2020-01-01")
        assert api.put(f"/v1/practitioners/{code}", json=body, headers=bureau).status_code == 201

    def score(code, ref, day, points, institution="H15042800001"):
        entry = {"practitioner": code, "violation_type": violation_with(points, "inner-mongolia-2025"),
                 "points": points}
        body = {"case_ref": ref, "basis": "agreement_handling", "decision_number": f"赤医保〔2025〕{ref}号",
                "decision_date": day, "institution": institution, "entries": [entry]}
        response = api.post("/v1/score-cases", json=body, headers=bureau)
        assert response.status_code == 201, response.text
        return response.json()["entries"][0]

    score("D150428000101", "1", "2025-03-01", 5)
    score("D150428000101", "2", "2025-06-02", 4)
    score("D150428000102", "3", "2025-04-01", 3)
    score("D150402000103", "4", "2025-05-01", 12, institution="P15040200007")

    class World:
        headers = bureau
        people = PEOPLE

        def publish(self, region="150400", year=2025, **body):
            response = api.post("/v1/notices", json={"region": region, "year": year, **body}, headers=bureau)
            assert response.status_code == 201, response.text
            return response.json()

    World.score = staticmethod(score)
    return World()
