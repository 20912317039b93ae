"""Plain HTML forms into the API's own input schemas, and errors back onto the form's fields.

A form is validated by exactly the schema the API validates JSON with; the pages add no rule of
their own. Field paths (``body.outcome.fine_amount``) name the form field that holds the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from app.kit.messages import chinese, pydantic_message
from app.notices.schemas import NoticeIn
from app.referrals.machine import Action
from app.referrals.schemas import EventIn, ReferralIn

# Shorter Chinese for the commonest pydantic complaints on a form; the rest from the catalogue.
_MESSAGES = {
    "missing": "必填",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "timezone_aware": "时刻须带时区偏移，如 +08:00",
    "decimal_parsing": "应为金额，如 5000.00",
    "decimal_max_places": "最多两位小数",
    "greater_than_equal": "不能为负数",
    "int_parsing": "应为整数",
    "enum": "取值无效",
    "too_short": "至少选择一项",
    "string_pattern_mismatch": "格式不正确",
}

# Where a field of the schemas lives on the forms (the rest keep their own name).
_FIELDS = {"type": "action"}


class FormErrors(Exception):
    """The form's values were refused: ``errors`` maps form field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def form_field(path: str) -> str:
    """The form field holding a schema field: ``body.outcome.fine_amount`` -> ``fine_amount``,
    ``body.institutions.0`` -> ``institutions``, ``body.outcome.practitioners.1`` ->
    ``outcome_practitioners``."""
    parts = [p for p in re.sub(r"^(body|query|path)\.", "", path).split(".") if not p.isdigit()] or ["form"]
    if parts[0] == "outcome" and len(parts) > 1:
        return f"outcome_{parts[1]}" if parts[1] in ("practitioners", "institutions") else parts[1]
    return _FIELDS.get(parts[0], parts[0])


def problem_errors(errors: list[dict] | None) -> dict[str, list[str]]:
    """The ``errors`` of a problem (service or validation) by form field."""
    out: dict[str, list[str]] = {}
    for e in errors or ():
        out.setdefault(form_field(e.get("field") or "form"), []).append(chinese(e.get("message") or ""))
    return out


def _validate(schema: type[BaseModel], data: dict) -> BaseModel:
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        out: dict[str, list[str]] = {}
        for err in exc.errors():
            field = form_field(".".join(str(p) for p in err["loc"]))
            message = _MESSAGES.get(err["type"]) or chinese(pydantic_message(err))
            out.setdefault(field, []).append(message)
        raise FormErrors(out) from None


def _text(form: Mapping, name: str) -> str | None:
    """A text field, ``None`` when left empty (the schema's default then applies)."""
    value = (form.get(name) or "").strip()
    return value or None


def _codes(form: Mapping, name: str) -> list[str]:
    """Codes typed one per line, or separated by commas or spaces (、 and ， too)."""
    return [c for c in re.split(r"[\s,，、;；]+", (form.get(name) or "").strip().upper()) if c]


def _present(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


def event_in(form: FormData) -> EventIn:
    """A lifecycle step from a referral page's form."""
    data = _present({"type": _text(form, "action"), "reason": _text(form, "reason"), "on": _text(form, "on")})
    if data.get("type") == Action.conclude.value:
        data["outcome"] = _present({
            "penalty_kinds": form.getlist("penalty_kinds"),
            "fine_amount": _text(form, "fine_amount"), "confiscated_amount": _text(form, "confiscated_amount"),
            "decision_number": _text(form, "decision_number"), "decision_date": _text(form, "decision_date"),
            "practitioners": _codes(form, "outcome_practitioners"),
            "institutions": _codes(form, "outcome_institutions"),
        })
    return _validate(EventIn, data)


def referral_in(form: FormData, recipient: str) -> ReferralIn:
    """A new referral from the sending form (``recipient``: the department, or ``bureau``)."""
    return _validate(ReferralIn, _present({
        "recipient": recipient, "region": _text(form, "region"), "clue_category": _text(form, "clue_category"),
        "summary": _text(form, "summary"), "institutions": _codes(form, "institutions"),
        "practitioners": _codes(form, "practitioners"), "on": _text(form, "on"),
        "evidence": _evidence(form),
    }))


def _evidence(form: FormData) -> list[dict]:
    """Evidence lines ``<uri> <sha256>``, one per line."""
    items = []
    for line in (form.get("evidence") or "").splitlines():
        parts = line.split()
        if parts:
            items.append({"uri": parts[0], "sha256": parts[1].lower() if len(parts) > 1 else ""})
    return items


def notice_in(form: FormData) -> NoticeIn:
    return _validate(NoticeIn, _present({"year": _text(form, "year"), "region": _text(form, "region"),
                                         "as_of": _text(form, "as_of"), "contact": _text(form, "contact")}))


def whole_number(form: Mapping, name: str) -> int | None:
    """A hidden counter the page put in the form (a step number, a revision); None if absent."""
    value = _text(form, name)
    if value is None:
        return None
    if not value.isdigit():
        raise FormErrors({name: ["应为整数"]})
    return int(value)
