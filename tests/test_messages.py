"""Problems in English and Chinese (Accept-Language), one 422 type, and clear answers for a body
that is not JSON or is broken JSON (docs/api/errors.md)."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from app.kit import messages
from app.kit.messages import CHINESE, ENGLISH, ZH, Message, negotiate, t

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = {"NotFound", "Conflict", "Invalid", "Forbidden", "Unauthenticated", "TooManyRequests", "PayloadTooLarge",
            "DatabaseUnavailable", "IllegalTransition", "UnsupportedMediaType", "UnsafeUrl", "DateRefused"}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# --- the catalogue ---------------------------------------------------------------------------------

@pytest.mark.database_independent
def test_every_key_has_chinese_with_the_same_parameters():
    for key, chinese in ZH.items():
        assert key.strip() and chinese.strip(), key
        if key.startswith("pydantic:"):
            continue  # the English is pydantic's own; the parameters are its ctx
        assert _placeholders(chinese) == _placeholders(key), key
        assert chinese != key, key  # translated, not copied


@pytest.mark.database_independent
def test_reversible_keys_are_catalogued():
    assert set(messages.REVERSIBLE) <= set(ZH)


def _message_args(call: ast.Call) -> list[ast.expr]:
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
    if name in PROBLEMS:
        return call.args[:1]
    if name == "field_error":
        return call.args[1:2]
    return []


@pytest.mark.database_independent
def test_every_raise_site_uses_a_catalogued_message():
    """A problem's detail and a field error's message are ``t("catalogued key", ...)``, a value
    (a variable, a message passed on), or a literal the catalogue reads back (REVERSIBLE):
    never a literal or an f-string it cannot translate."""
    found, bad = 0, []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Name) and node.func.id == "t":
                found += 1
                key = node.args[0]
                if not (isinstance(key, ast.Constant) and key.value in ZH):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: t() of an uncatalogued key")
                continue
            for arg in _message_args(node):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                if isinstance(arg, ast.JoinedStr) or isinstance(arg, ast.BinOp):
                    bad.append(f"{where}: a built string, not t()")
                elif isinstance(arg, ast.Constant) and arg.value not in messages.REVERSIBLE:
                    bad.append(f"{where}: a literal not in the catalogue: {arg.value!r}")
    assert found > 100
    assert not bad, "\n".join(bad)


@pytest.mark.database_independent
def test_messages_render_in_both_languages_with_their_parameters():
    message = t("No practitioner {code} in your region", code="D150428000123")
    assert message == "No practitioner D150428000123 in your region" and isinstance(message, str)
    assert message.render(CHINESE) == "您的辖区内没有执业人员 D150428000123"
    assert message.render(ENGLISH) == message
    nested = t("Repair not acceptable: {why}; nothing was recorded", why=t("there are no points to repair in {year}", year=2025))
    assert nested.render(CHINESE) == "信用修复不可接受：2025 年没有可修复的记分；未作记录"
    listed = t("must be one of {choices}", choices=["a", "b"])
    assert listed == "must be one of a, b" and listed.render(CHINESE) == "应为以下之一：a、b"


@pytest.mark.database_independent
def test_english_from_the_pure_modules_is_read_back():
    message = messages.from_text("re-registration is barred until 2027-03-01")
    assert isinstance(message, Message) and message.render(CHINESE) == "2027-03-01 之前不得重新登记"
    assert messages.from_text("something else entirely") == "something else entirely"


@pytest.mark.database_independent
@pytest.mark.parametrize(("header", "language"), [
    (None, ENGLISH), ("", ENGLISH), ("zh", CHINESE), ("zh-CN", CHINESE), ("zh-Hans-CN", CHINESE),
    ("en-US,en;q=0.9", ENGLISH), ("zh-CN,zh;q=0.9,en;q=0.8", CHINESE), ("en;q=0.5, zh;q=0.8", CHINESE),
    ("zh;q=0.4, en;q=0.5", ENGLISH), ("zh;q=0", ENGLISH), ("fr, de", ENGLISH), ("fr, zh;q=0.1", CHINESE),
    ("*", ENGLISH), ("zh;q=abc", ENGLISH), ("ZH-cn", CHINESE),
])
def test_accept_language(header, language):
    assert negotiate(header) == language


# --- through the API -------------------------------------------------------------------------------

def test_not_found_in_chinese_keeps_its_type(api, bureau):
    english = api.get("/v1/practitioners/D150428000123", headers=bureau)
    chinese = api.get("/v1/practitioners/D150428000123", headers={**bureau, "Accept-Language": "zh-CN,en;q=0.5"})
    assert english.status_code == chinese.status_code == 404
    assert english.headers["content-language"] == "en" and chinese.headers["content-language"] == "zh-CN"
    assert "Accept-Language" in chinese.headers["vary"]
    assert english.json()["type"] == chinese.json()["type"] == "not-found"
    assert english.json()["title"] == "Not found" and chinese.json()["title"] == "未找到"
    assert english.json()["detail"] == "No practitioner D150428000123 in your region"
    assert chinese.json()["detail"] == "您的辖区内没有执业人员 D150428000123"


def test_validation_messages_in_chinese(api, bureau):
    response = api.put("/v1/practitioners/D150428000123", json={}, headers={**bureau, "Accept-Language": "zh"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "validation-error" and problem["title"] == "请求校验未通过"
    assert problem["detail"].startswith("无效字段：")
    assert {e["message"] for e in problem["errors"]} == {"必填"}
    assert {e["type"] for e in problem["errors"]} == {"missing"}


def test_a_business_rule_422_has_the_same_type_as_a_schema_422(api, bureau):
    response = api.get("/v1/practitioners", params={"region": "110000"}, headers=bureau)
    if response.status_code != 422:  # the route may not take region: any business-rule 422 does
        response = api.get("/v1/referrals", params={"cursor": "nonsense"}, headers=bureau)
    assert response.status_code == 422, response.text
    assert response.json()["type"] == "validation-error"
    assert response.json()["title"] == "Request validation failed"


def test_a_body_without_json_content_type_is_415_saying_so(api, bureau):
    for headers in ({}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}):
        response = api.put("/v1/practitioners/D150428000123", content=b'{"name": "x"}', headers={**bureau, **headers})
        assert response.status_code == 415, response.text
        problem = response.json()
        assert problem["type"] == "unsupported-media-type"
        assert "Content-Type: application/json" in problem["detail"]
    chinese = api.put("/v1/practitioners/D150428000123", content=b"{}", headers={**bureau, "Accept-Language": "zh"})
    assert chinese.status_code == 415 and "请求体须以 JSON 发送" in chinese.json()["detail"]


def test_broken_json_names_line_and_column(api, bureau):
    body = b'{\n  "name": "x"\n  "region": "150428"\n}'
    response = api.put("/v1/practitioners/D150428000123", content=body,
                       headers={**bureau, "Content-Type": "application/json"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "validation-error"
    assert problem["errors"] == [{"field": "body", "type": "json_invalid",
                                  "message": "invalid JSON at line 3, column 3: Expecting ',' delimiter"}]
    chinese = api.put("/v1/practitioners/D150428000123", content=body,
                      headers={**bureau, "Content-Type": "application/json", "Accept-Language": "zh-CN"})
    assert chinese.json()["errors"][0]["message"] == "JSON 无效，第 3 行第 3 列：此处应为逗号 ','"


def test_problems_from_middleware_are_in_the_language_asked_for(api, bureau):
    response = api.put("/v1/practitioners/D150428000123", json={"name": "a\u0000b"},
                       headers={**bureau, "Accept-Language": "zh"})
    assert response.status_code == 422 and response.headers["content-language"] == "zh-CN"
    problem = response.json()
    assert problem["title"] == "请求校验未通过" and problem["errors"][0]["message"] == "不能包含 NUL 字符（U+0000）"


def test_unauthenticated_in_chinese(api):
    response = api.get("/v1/practitioners/D150428000123", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 401
    assert response.json()["type"] == "unauthenticated" and response.json()["title"] == "缺少或无效的 API 密钥"


@pytest.mark.database_independent
def test_a_date_refusal_keeps_its_own_message_in_chinese():
    from pydantic import TypeAdapter, ValidationError

    from app.kit.timeutil import Day

    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Day).validate_python("31/12/2025")
    message = messages.pydantic_message(refused.value.errors()[0])
    assert message.startswith("must be a date (2025-12-31)")
    assert message.render(CHINESE).startswith("应为日期（2025-12-31）")


def test_an_unknown_path_and_a_wrong_method_in_chinese(api):
    missing = api.get("/v1/nothing-here", headers={"Accept-Language": "zh"})
    assert missing.status_code == 404 and missing.json()["type"] == "http-not-found"
    assert missing.json()["title"] == "未找到" and missing.json()["detail"] == "未找到"
    wrong = api.delete("/healthz", headers={"Accept-Language": "zh"})
    assert wrong.status_code == 405 and wrong.json()["title"] == "不允许的请求方法"
