"""Concurrent registrations over real HTTP: no duplicates, no 500s."""

import httpx
from sqlalchemy import text

from tests.conftest import concurrently, practitioner_body


def test_concurrent_first_registrations_create_one_record(live_server, bureau, engine):
    def put():
        return httpx.put(f"{live_server}/v1/practitioners/D150428000123", json=practitioner_body(),
                         headers=bureau, timeout=30).status_code

    statuses = concurrently([put] * 12)
    assert sorted(statuses) == [200] * 11 + [201]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM practitioners")).scalar_one() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM practitioner_institutions")).scalar_one() == 1


def test_concurrent_registrations_sharing_a_new_institution(live_server, bureau, engine):
    def put(n):
        code = f"D150428{n:06d}"
        return lambda: httpx.put(f"{live_server}/v1/practitioners/{code}", json=practitioner_body(),
                                 headers=bureau, timeout=30).status_code

    assert concurrently([put(n) for n in range(10)]) == [201] * 10
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM institutions")).scalar_one() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM practitioner_institutions")).scalar_one() == 10
