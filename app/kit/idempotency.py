"""Recognising a repeated request: the same body, byte for byte after canonical JSON."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel


def request_hash(body: BaseModel) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
