import re

import pytest
from fastapi.testclient import TestClient

from app.kit.db import write_session
from app.workbench import service as users
from tests.referrals.conftest import referrals  # noqa: F401  (the referral helpers, shared)

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page put in its forms."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture
def make_user():
    """make_user(role, region, department=None, name=None) -> the stored user (password PASSWORD)."""
    counter = iter(range(1, 1000))

    def make(role: str = "partner", region: str = "150428", department: str | None = "health",
             name: str | None = None):
        with write_session() as session:
            return users.create_user(session, role=role, region=region, department=department,
                                     name=name or f"{role}-{region}-{department or ''}-{next(counter)}",
                                     password=PASSWORD)

    return make


class Browser:
    """A browser without scripts: its own cookie jar, forms posted with the page's CSRF token."""

    def __init__(self, app, base_url: str = "http://testserver"):
        self.client = TestClient(app, base_url=base_url, raise_server_exceptions=False, follow_redirects=False)

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def sign_in(self, name: str, password: str = PASSWORD, next_: str = ""):
        page = self.client.get("/workbench/login")
        return self.client.post("/workbench/login", data={"name": name, "password": password, "next": next_,
                                                          "csrf_token": csrf_of(page.text)})

    def submit(self, page_path: str, action: str, data: dict, **kw):
        """Post ``data`` to ``action`` with the CSRF token of the page at ``page_path``."""
        page = self.client.get(page_path)
        assert page.status_code == 200, page.text
        return self.client.post(action, data={**data, "csrf_token": csrf_of(page.text)}, **kw)

    def step(self, referral_id: int, action: str, **fields):
        """A lifecycle step through the referral page's form for it."""
        page = self.client.get(f"/workbench/referrals/{referral_id}")
        assert page.status_code == 200, page.text
        after = re.search(rf'id="form-{action}".*?name="after_step" value="(\d+)"', page.text, re.S)
        data = {"action": action, "csrf_token": csrf_of(page.text), **fields}
        if after:
            data["after_step"] = after.group(1)
        return self.client.post(f"/workbench/referrals/{referral_id}/events", data=data)


@pytest.fixture
def browser(app):
    """browser(user=None) -> a Browser, signed in as ``user`` when given."""

    def make(user=None, base_url: str = "http://testserver") -> Browser:
        b = Browser(app, base_url)
        if user is not None:
            response = b.sign_in(user.name)
            assert response.status_code == 303, response.text
        return b

    return make


@pytest.fixture(autouse=True)
def _named_in_referrals(register_named):
    """The practitioners and institutions the pages' referrals name: they must be registered."""
