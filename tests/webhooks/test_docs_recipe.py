"""The by-hand verification recipe of docs/api/webhooks.md works on what the service signs."""

import re
import time
from pathlib import Path

from app.webhooks import signing

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "api" / "webhooks.md").read_text()


def test_documented_hmac_recipe_verifies_our_signatures_and_rejects_others():
    code = re.search(r"or by hand with the standard library:\n\n```python\n(.*?)```", PAGE, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)
    verify = namespace["verify"]
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"type":"referral.created","data":{"id":"R-1"}}'
    headers = signing.headers([new, old], "msg_1", int(time.time()), body)
    assert verify(old, body, headers) and verify(new, body, headers)
    assert not verify(signing.new_secret(), body, headers)
    assert not verify(new, body + b" ", headers)
    stale = signing.headers([new], "msg_1", int(time.time()) - 600, body)
    assert not verify(new, body, stale)
