"""Rotating the master secret: the old one keeps reading until `secrets rekey` has rewritten
everything, after which the service works without it."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from app.cli import main
from app.kit.db import read_session
from app.practitioners.models import Practitioner
from app.settings import get_settings
from app.webhooks import service as webhooks
from app.webhooks.models import WebhookEndpoint

OLD, NEW = "old-master-secret-of-at-least-32-characters", "new-master-secret-of-at-least-32-characters"


@pytest.fixture
def master(monkeypatch):
    settings = get_settings()

    def use(current: str, *previous: str) -> None:
        monkeypatch.setattr(settings, "id_encryption_key", current)
        monkeypatch.setattr(settings, "id_encryption_previous_keys", list(previous))

    use(OLD)
    return use


def stored() -> list[tuple[str, str]]:
    with read_session() as session:
        return [(p.id_number_encrypted, p.id_number_hash) for p in session.exec(select(Practitioner))]


def endpoint_secret_opens(endpoint_id: int) -> bool:
    with read_session() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        try:
            webhooks.signing_secrets(endpoint, endpoint.created_at)
        except Exception:
            return False
        return True


def test_rotation_keeps_every_number_and_secret_readable(api, master, register, bureau, monkeypatch, capsys):
    monkeypatch.setattr(get_settings(), "webhook_allowed_hosts", ["127.0.0.1:9"])
    register("D150428000123", id_number="150428198001010014")
    register("D150428000124", id_number="110101199003070038")
    endpoint = api.post("/v1/webhook-endpoints", headers=bureau,
                        json={"url": "http://127.0.0.1:9/hook", "event_types": ["score.recorded"]}).json()
    search = lambda number: [p["code"] for p in api.post(  # noqa: E731
        "/v1/practitioners/search", json={"id_number": number}, headers=bureau).json()]
    before = stored()

    # Step 1: the new master in force, the old one kept: everything still found and opened.
    master(NEW, OLD)
    assert search("150428198001010014") == ["D150428000123"]
    assert endpoint_secret_opens(endpoint["id"])
    # Without the old master nothing stored opens or matches: the rotation is real.
    master(NEW)
    assert search("150428198001010014") == [] and not endpoint_secret_opens(endpoint["id"])

    # Step 2: rewrite, then step 3: drop the old master.
    master(NEW, OLD)
    assert main(["secrets", "rekey", "--batch", "1"]) == 0
    assert json.loads(capsys.readouterr().out) == {"id_numbers_read": 2, "id_numbers_rewritten": 2,
                                                   "webhook_secrets_rewritten": 1}
    after = stored()
    assert all(a[0] != b[0] and a[1] != b[1] for a, b in zip(after, before))
    master(NEW)
    assert search("150428198001010014") == ["D150428000123"]
    assert search("110101199003070038") == ["D150428000124"]
    assert endpoint_secret_opens(endpoint["id"])

    # Running it again rewrites nothing.
    assert main(["secrets", "rekey"]) == 0
    assert json.loads(capsys.readouterr().out)["id_numbers_rewritten"] == 0 and stored() == after
