import pytest

from tests.shared_fixtures import violation_with


@pytest.fixture
def due(scoring, api, clock):
    """Helpers for notified cases and the steps of due process, as the national bureau."""

    class Due:
        def count(self, code, ref, day, points, ruleset="national-2024"):
            """A case of the completed procedure: counts at once."""
            return scoring.score(code, ref, day, points=points, ruleset=ruleset,
                                 violation=violation_with(points, ruleset))

        def notify(self, code, ref, day, points, ruleset="national-2024", notified_on=None):
            item = {"practitioner": code, "violation_type": violation_with(points, ruleset), "points": points}
            extra = {"notified_on": notified_on} if notified_on else {}
            response = scoring.post(ref, [item], day=day, ruleset=ruleset, procedure="notify", **extra)
            assert response.status_code == 201, response.text
            return response.json()["entries"][0]

        def act(self, proposal_id, action, **body):
            path = {"defend": "defence", "confirm": "confirmation", "withdraw": "withdrawal"}[action]
            if action == "defend":
                body = {"channel": "practitioner", "text": "收费系统自动拆分，非本人操作", **body}
            else:
                body = {"reason": f"{action} after review", **body}
            return api.post(f"/v1/score-proposals/{proposal_id}/{path}", json=body, headers=scoring.headers)

        def appeal(self, entry_id, **body):
            body = {"channel": "institution", "grounds": "处罚决定已被复议撤销", **body}
            return api.post(f"/v1/score-entries/{entry_id}/appeals", json=body, headers=scoring.headers)

        def decide(self, appeal_id, outcome, reason="复核意见"):
            return api.post(f"/v1/score-appeals/{appeal_id}/decision", json={"outcome": outcome, "reason": reason},
                            headers=scoring.headers)

        def get(self, path, **params):
            response = api.get(path, params=params, headers=scoring.headers)
            assert response.status_code == 200, response.text
            return response.json()

    return Due()
