import pytest

from app.kit.timeutil import local_date
from app.referrals.machine import Action

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

# What each action carries so that it is valid when allowed. A function, not a constant: the
# decision date is today's, read when the action is sent (a run crossing midnight in Asia/Shanghai
# would otherwise send yesterday's date for a referral received today).
def payload(action: Action) -> dict:
    return {
        Action.decline: {"reason": "证据不足"},
        Action.return_: {"reason": "不属于本部门职责"},
        Action.extend: {"reason": "案情复杂"},
        Action.withdraw: {"reason": "重复移送"},
        Action.conclude: {"outcome": {"penalty_kinds": ["warning", "fine"], "fine_amount": "5000.00",
                                      "decision_number": "喀卫罚〔2025〕1号", "decision_date": local_date().isoformat()}},
    }.get(action, {})


def referral_body(**overrides) -> dict:
    body = {
        "recipient": "health", "region": "150428", "clue_category": "licence_renting",
        "summary": "某诊所疑似医师挂证", "institutions": ["H15042800001"], "practitioners": ["D150428000123"],
        "evidence": [{"uri": "https://files.example.cn/evidence/1.pdf", "sha256": SHA}],
        "on": "2025-05-13",  # the day Karaqin set up two-way referral with the health commission
    }
    body.update(overrides)
    return body


@pytest.fixture
def referrals(api, make_key):
    """Keys for both sides in Karaqin Banner (150428) and helpers to drive referrals."""

    class Referrals:
        bureau = make_key("bureau", "150428")
        health = make_key("partner", "150428", "health")
        market = make_key("partner", "150428", "market_regulation")

        def create(self, headers=None, expect=201, **fields):
            response = api.post("/v1/referrals", json=referral_body(**fields), headers=headers or self.bureau)
            assert response.status_code == expect, response.text
            return response.json()

        def post(self, referral_id, action, headers, **fields):
            body = {"type": str(action), **payload(Action(action)), **fields}
            return api.post(f"/v1/referrals/{referral_id}/events", json=body, headers=headers)

        def step(self, referral_id, action, headers, **fields):
            response = self.post(referral_id, action, headers, **fields)
            assert response.status_code == 201, response.text
            return response.json()

        def get(self, referral_id, headers=None):
            return api.get(f"/v1/referrals/{referral_id}", headers=headers or self.bureau)

    return Referrals()


@pytest.fixture(autouse=True)
def _named_in_referrals(register_named):
    """The practitioners and institutions the referrals name: references must be registered."""
