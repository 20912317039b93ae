"""Karaqin Banner's 2025 referrals, replayed through the API (seeds/000_*.txt): 7 clues to the
health commission (3 administrative penalties, 3 not filed, the rest under investigation) and 8
to market regulation (4 penalties, 1 not filed, the rest under investigation). The stats
endpoint must report exactly those figures."""

from decimal import Decimal

import pytest

BANNER, OTHER = "150428", "150429"  # 喀喇沁旗, and 宁城县 beside it in 赤峰市

# (department, clue category, steps): a step is (action, date[, fine]).
PENALTY = lambda sent, fine: [("send", sent), ("receive", "2025-06-03"), ("file", "2025-06-10"),  # noqa: E731
                              ("conclude", "2025-08-15", fine)]
NOT_FILED = lambda sent: [("send", sent), ("receive", "2025-06-03"), ("decline", "2025-06-20")]  # noqa: E731
HEALTH = ([("health", "licence_renting", PENALTY("2025-05-26", "12000.00"))]
          + [("health", "medical_conduct", PENALTY("2025-05-27", fine)) for fine in ("3000.00", "300.00")]
          + [("health", "unlicensed_practice", NOT_FILED("2025-05-28")) for _ in range(3)]
          # under investigation: filed 20 November, 90 days run into 2026
          + [("health", "medical_conduct", [("send", "2025-11-03"), ("receive", "2025-11-05"), ("file", "2025-11-20")])])
MARKET = ([("market_regulation", "licence_renting", PENALTY("2025-05-26", fine))
           for fine in ("5000.00", "5000.00", "2000.00", "1000.00")]
          + [("market_regulation", "drug_traceability", NOT_FILED("2025-05-29"))]
          + [("market_regulation", "pricing", [("send", "2025-12-29")]),  # receipt due 7 Jan 2026: in time
             ("market_regulation", "pricing", [("send", "2025-11-03"), ("receive", "2025-11-04")]),  # filing due 25 Nov
             ("market_regulation", "drug_traceability",
              [("send", "2025-08-01"), ("receive", "2025-08-04"), ("file", "2025-08-05")])])  # conclusion due 3 Nov


@pytest.fixture
def year_replayed(referrals, make_key, api):
    def replay(bureau, health, market, department, category, steps, region=BANNER, inbound=False):
        partner = {"health": health, "market_regulation": market}[department]
        sender, recipient = (partner, bureau) if inbound else (bureau, partner)
        # The institution named is registered by its region's bureau; the banner's practitioner
        # neither lives nor works elsewhere, so another county's referral names the institution only.
        api.put(f"/v1/institutions/H{region}00001", json={"name": f"{region} 医院"}, headers=bureau)
        referral = referrals.create(headers=sender, recipient="bureau" if inbound else department, region=region,
                                    clue_category=category, institutions=[f"H{region}00001"], on="2025-05-13",
                                    practitioners=["D150428000123"] if region == BANNER else [])
        for action, on, *fine in steps:
            extra = {}
            if action == "conclude":
                extra["outcome"] = {"penalty_kinds": ["warning", "fine"], "fine_amount": fine[0],
                                    "decision_number": f"罚〔2025〕{referral['id']}号", "decision_date": on}
            referrals.step(referral["id"], action, sender if action == "send" else recipient, on=on, **extra)
        return referral

    for department, category, steps in HEALTH + MARKET:
        replay(referrals.bureau, referrals.health, referrals.market, department, category, steps)
    # around the banner's figures, what must not count in them:
    other_bureau = make_key("bureau", OTHER)
    other_health = make_key("partner", OTHER, "health")
    replay(other_bureau, other_health, None, "health", "medical_conduct", [("send", "2025-07-01")], region=OTHER)
    replay(referrals.bureau, referrals.health, referrals.market, "market_regulation", "drug_traceability",
           [("send", "2025-09-01")], inbound=True)  # from market regulation to the bureau
    referrals.create(recipient="health", clue_category="licence_renting")  # a draft: never sent
    return referrals


def table(api, headers, **params):
    response = api.get("/v1/referrals/stats", params={"year": 2025, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return {(r["department"], r["direction"]): r for r in response.json()["rows"]}


FIGURES = ("sent", "received", "filed", "not_filed", "concluded_with_penalty", "concluded_without_penalty",
           "pending", "overdue")


def test_the_banners_year(year_replayed, api):
    rows = table(api, year_replayed.bureau, region=BANNER, as_of="2025-12-31")
    health, market = rows[("health", "outbound")], rows[("market_regulation", "outbound")]
    assert {k: health[k] for k in FIGURES} == dict(
        sent=7, received=7, filed=4, not_filed=3, concluded_with_penalty=3, concluded_without_penalty=0,
        pending=1, overdue=0)
    assert {k: market[k] for k in FIGURES} == dict(
        sent=8, received=7, filed=5, not_filed=1, concluded_with_penalty=4, concluded_without_penalty=0,
        pending=3, overdue=2)
    assert Decimal(health["fine_amount"]) == Decimal("15300.00")
    assert Decimal(market["fine_amount"]) == Decimal("13000.00")
    inbound = rows[("market_regulation", "inbound")]
    assert (inbound["sent"], inbound["pending"]) == (1, 1)
    assert rows[("health", "inbound")]["sent"] == 0


def test_the_city_sees_its_banners_and_the_county_beside_it(year_replayed, api, make_key):
    city = make_key("bureau", "150400")
    rows = table(api, city, region="150400", as_of="2025-12-31")
    assert rows[("health", "outbound")]["sent"] == 8 and rows[("market_regulation", "outbound")]["sent"] == 8
    assert table(api, city, year=2024)[("health", "outbound")]["sent"] == 0
    # a bureau cannot ask for a region above or beside its own
    outside = api.get("/v1/referrals/stats", params={"year": 2025, "region": "150400"}, headers=year_replayed.bureau)
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "query.region"
    assert api.get("/v1/referrals/stats", headers=city).json()["errors"][0]["field"] == "query.year"
