"""The message catalogue: every title and detail a problem can carry, in English and Chinese.

A message is written where it is raised, gettext-style, with its English template as its key:
``t("No practitioner {code} in your region", code=code)``. ``ZH`` holds the Chinese of every key
(tests/test_messages.py checks both that and that every raise site uses a key from here). The
result is a ``Message``: a ``str`` whose value is the English text, so logs, ``str(exc)`` and
JSON stay English, that also keeps its key and parameters, so the problem handler renders it
again in the language the client asked for (``Accept-Language``, app/kit/errors.py).

Parameters are codes, numbers, dates and other messages (rendered in the same language); a list
is joined with ", " in English and "、" in Chinese. The ``type`` of a problem never changes with
the language; only ``title``, ``detail`` and the ``message`` of each entry of ``errors``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

ENGLISH, CHINESE = "en", "zh-CN"
LANGUAGES = (ENGLISH, CHINESE)


class Message(str):
    """English text that knows its catalogue key and parameters."""

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, params: dict[str, Any] | None = None, english: str | None = None) -> Message:
        params = params or {}
        text = english if english is not None else _fill(key, params, ENGLISH)
        obj = super().__new__(cls, text)
        obj.key, obj.params = key, params
        return obj

    def render(self, language: str) -> str:
        if language != CHINESE:
            return str.__str__(self)
        template = ZH.get(self.key)
        if template is None:
            return str.__str__(self)
        try:
            return _fill(template, self.params, language)
        except (KeyError, IndexError, ValueError):  # a mistranslated template: English, not a 500
            return str.__str__(self)

    def __reduce__(self):
        return (Message, (self.key, self.params, str.__str__(self)))


def t(key: str, /, **params: Any) -> Message:
    """The message ``key`` (an English template of ZH) with its parameters."""
    return Message(key, params)


class Joined(Message):
    """Messages joined, as "a: x; b: y", each in the language asked for."""

    def __new__(cls, items: list[Any], separator: str = "; ") -> Joined:
        obj = str.__new__(cls, separator.join(str(i) for i in items))
        obj.key, obj.params, obj.items, obj.separator = separator, {}, list(items), separator
        return obj

    def render(self, language: str) -> str:
        separator = self.separator.strip() + " " if language != CHINESE else "；"
        return separator.join(str(_param(item, language)) for item in self.items)

    def __reduce__(self):
        return (Joined, (self.items, self.separator))


def field_list(errors: list[dict]) -> Joined:
    """The ``errors`` of a problem as one line: "body.a: must not be empty; body.b: ..."."""
    return Joined([t("{field}: {message}", field=e["field"], message=e["message"]) for e in errors])


def render(value: Any, language: str) -> Any:
    """A message in ``language``; anything else as it is."""
    return value.render(language) if isinstance(value, Message) else value


def _param(value: Any, language: str) -> Any:
    if isinstance(value, Message):
        return value.render(language)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return ("、" if language == CHINESE else ", ").join(str(_param(v, language)) for v in items)
    return value


def _fill(template: str, params: dict[str, Any], language: str) -> str:
    return template.format_map({k: _param(v, language) for k, v in params.items()})


def from_text(text: Any) -> Any:
    """A message for English text built outside this catalogue (the pure rule modules may not
    import it): the first key whose template the text fits, with the parameters read back out of
    it; the text itself when none fits (it then stays English in every language)."""
    if not isinstance(text, str) or isinstance(text, Message):
        return text
    for key, pattern in _patterns():
        match = pattern.fullmatch(text)
        if match:
            return Message(key, match.groupdict(), english=text)
    return text


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for key in REVERSIBLE:
        parts = re.split(r"\{(\w+)\}", key)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        out.append((key, re.compile(regex, re.DOTALL)))
    return out


# ---------------------------------------------------------------- Accept-Language


def negotiate(header: str | None) -> str:
    """``zh``, ``zh-CN`` (any ``zh-*``) -> Chinese; ``en*`` or ``*`` -> English; the highest q wins,
    the earlier one on a tie; q=0 refuses; nothing usable -> English."""
    best, best_q = ENGLISH, 0.0
    for item in (header or "").split(","):
        tag, *params = (part.strip() for part in item.split(";"))
        tag = tag.lower()
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag == "zh" or tag.startswith("zh-"):
            language = CHINESE
        elif tag == "en" or tag.startswith("en-") or tag == "*":
            language = ENGLISH
        else:
            continue
        if q > best_q:
            best, best_q = language, q
    return best


# ---------------------------------------------------------------- titles, by problem type

# The English titles are the problem classes' own (app/kit/errors.py); these are their Chinese.
TITLES_ZH: dict[str, str] = {
    "not-found": "未找到",
    "conflict": "冲突",
    "illegal-transition": "当前状态下不允许此操作",
    "unauthenticated": "缺少或无效的 API 密钥",
    "forbidden": "您的角色无权执行此操作",
    "rate-limited": "请求过于频繁",
    "payload-too-large": "请求体过大",
    "validation-error": "请求校验未通过",
    "unsupported-media-type": "不支持的媒体类型",
    "internal-error": "服务器内部错误",
    "database-unavailable": "数据库暂不可用",
}

# Problems Starlette raises itself (an unknown path, a wrong method): type ``http-*``, by status.
HTTP_TITLES_ZH: dict[int, str] = {
    400: "请求有误", 401: "未认证", 403: "禁止访问", 404: "未找到", 405: "不允许的请求方法",
    406: "无法提供可接受的格式", 409: "冲突", 411: "缺少请求体长度", 413: "请求体过大",
    415: "不支持的媒体类型", 422: "请求校验未通过", 429: "请求过于频繁", 500: "服务器内部错误",
    503: "服务暂不可用",
}


def title(type_: str, status: int, english: str, language: str) -> str:
    if language != CHINESE:
        return english
    return TITLES_ZH.get(type_) or HTTP_TITLES_ZH.get(status) or english


# ---------------------------------------------------------------- pydantic's own messages

# Chinese for pydantic's validation errors, by error type, with their ``ctx`` values. English is
# pydantic's own message. A type left out stays English in Chinese too (docs/api/errors.md).
PYDANTIC_ZH: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不是允许的字段",
    "json_invalid": "不是有效的 JSON：{error}",
    "json_type": "应为 JSON 字符串、字节或字节数组",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为数组",
    "tuple_type": "应为数组",
    "set_type": "应为数组",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数，不能有小数部分",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值（true 或 false）",
    "decimal_type": "应为十进制数",
    "decimal_parsing": "应为十进制数，如 5000.00",
    "decimal_max_digits": "总位数不能超过 {max_digits} 位",
    "decimal_max_places": "小数不能超过 {decimal_places} 位",
    "decimal_whole_digits": "整数部分不能超过 {whole_digits} 位",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "至多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符合要求（{pattern}）",
    "too_short": "至少 {min_length} 项",
    "too_long": "至多 {max_length} 项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应大于或等于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应小于或等于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "finite_number": "应为有限数值",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "date_type": "应为日期",
    "date_parsing": "应为日期，格式 YYYY-MM-DD",
    "date_from_datetime_parsing": "应为日期，格式 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期，不能带时刻",
    "datetime_type": "应为时刻",
    "datetime_parsing": "应为 ISO 8601 时刻，如 2025-12-31T09:30:00+08:00",
    "datetime_from_date_parsing": "应为 ISO 8601 时刻，如 2025-12-31T09:30:00+08:00",
    "timezone_aware": "时刻须带时区偏移，如 +08:00",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID",
    "url_type": "应为 URL",
    "url_parsing": "不是有效的 URL",
    "url_scheme": "URL 协议应为 {expected_schemes}",
    "url_too_long": "URL 至多 {max_length} 个字符",
    "string_unicode": "应为有效的 Unicode 字符串",
    "string_nul": "不能包含 NUL 字符（U+0000）",
    "union_tag_invalid": "类型标签 {tag} 无效，应为 {expected_tags}",
    "union_tag_not_found": "缺少用于区分类型的字段 {discriminator}",
    "bytes_type": "应为字节串",
    "none_required": "应为 null",
}


def pydantic_message(error: dict) -> str:
    """The message of one pydantic error: the app's own when a validator raised one, pydantic's
    English otherwise, which knows its Chinese (PYDANTIC_ZH) when its type has one."""
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, Exception) and cause.args and isinstance(cause.args[0], Message):
        return cause.args[0]
    if isinstance(ctx.get("message"), Message):  # app/kit/timeutil.py's custom errors
        return ctx["message"]
    english = str(error.get("msg", "invalid")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    kind = str(error.get("type", ""))
    if kind in PYDANTIC_ZH:
        params = {k: (v.args[0] if isinstance(v, Exception) and v.args else v) for k, v in ctx.items()}
        return Message(f"pydantic:{kind}", params, english=english)
    return from_text(english)


# ---------------------------------------------------------------- the details

ZH: dict[str, str] = {
    # pydantic's, by type (the English is pydantic's own)
    **{f"pydantic:{kind}": text for kind, text in PYDANTIC_ZH.items()},
    # HTTP (Starlette's own details)
    "Not Found": "未找到",
    "Method Not Allowed": "不允许的请求方法",
    # request format (app/kit/errors.py)
    "The request body must be sent as JSON: set the header Content-Type: application/json (it was {content_type})":
        "请求体须以 JSON 发送：请设置请求头 Content-Type: application/json（收到的是 {content_type}）",
    "invalid JSON at line {line}, column {column}: {error}": "JSON 无效，第 {line} 行第 {column} 列：{error}",
    # a stream of score cases (app/scoring/bulk.py)
    "A stream of cases must be sent as NDJSON: set the header Content-Type: application/x-ndjson (it was {content_type})":
        "批量案件须以 NDJSON 发送：请设置请求头 Content-Type: application/x-ndjson（收到的是 {content_type}）",
    "Line {line} is longer than {limit} bytes; nothing of it was recorded": "第 {line} 行超过 {limit} 字节，未记录其任何内容",
    "The database is unavailable for a moment; send the line again": "数据库暂时不可用，请重新发送该行",
    "Invalid fields: {fields}": "无效字段：{fields}",
    "{field}: {message}": "{field}：{message}",
    "invalid JSON": "JSON 无效",
    "Expecting value": "此处应为一个值",
    "Expecting ',' delimiter": "此处应为逗号 ','",
    "Expecting ':' delimiter": "此处应为冒号 ':'",
    "Expecting property name enclosed in double quotes": "此处应为以双引号括起的属性名",
    "Extra data": "JSON 结束后还有多余内容",
    "Unterminated string starting at": "字符串未结束",
    "Invalid control character at": "含有无效的控制字符",
    "Invalid \\escape": "无效的转义符",
    "Invalid \\uXXXX escape": "无效的 \\uXXXX 转义符",
    "The error has been logged.": "错误已记录。",
    # authentication and roles
    "Send the API key as 'Authorization: Bearer <key>'": "请以请求头 'Authorization: Bearer <密钥>' 发送 API 密钥",
    "The API key is unknown or revoked": "API 密钥不存在或已吊销",
    "Role '{role}' may not {action}": "角色 '{role}' 不能执行 {action}",
    "Invalid API client": "API 客户端无效",
    "No API client {client_id}": "没有 API 客户端 {client_id}",
    "must be one of {choices}": "应为以下之一：{choices}",
    "not a GB/T 2260 division code": "不是 GB/T 2260 行政区划代码",
    "a partner needs one of {departments}": "协作部门客户端须指定以下之一：{departments}",
    "only partner clients have a department": "只有协作部门客户端才有所属部门",
    "must not be empty": "不能为空",
    # calendar
    "The calendar year is not valid; nothing was stored: {problems}": "该年度日历无效，未保存：{problems}",
    "Send the year's days either as days (with an optional notice) or as toml":
        "请以 days（可附 notice）或 toml 二者之一发送该年度的日期",
    "No official days loaded for {year}: its deadlines are counted with weekends only":
        "尚未载入 {year} 年的法定节假日安排：该年期限暂只按周末计算",
    "The notice of a toml document goes inside it": "toml 文档的 notice 应写在文档内",
    "send either days or toml, not both and not neither": "days 与 toml 须且只能发送其一",
    "missing: which year these days are for": "缺失：这些日期属于哪一年",
    "is {given}, but the days were sent for {year}": "是 {given}，但这些日期是按 {year} 年发送的",
    "{day} is outside {year}: each day goes in the file of its own year": "{day} 不在 {year} 年内：每个日期应放在其所属年份的文件中",
    "{day} is a {weekday}: only a Saturday or Sunday can be an adjusted working day (kind workday)":
        "{day} 是 {weekday}：只有周六或周日才能是调休上班日（kind workday）",
    "{day} is listed twice (also days.{other})": "{day} 重复列出（另见 days.{other}）",
    "lists no holiday: a year's notice always has some": "没有列出任何节假日：年度安排总会有节假日",
    # due process
    "No score proposal {proposal_id} in your region": "您的辖区内没有记分告知 {proposal_id}",
    "The defence window of proposal {id} closed on {day}": "记分告知 {id} 的陈述申辩期已于 {day} 截止",
    "No score entry {entry_id} in your region": "您的辖区内没有记分条目 {entry_id}",
    "Entry {entry_id}": "记分条目 {entry_id}",
    "Proposal {id}": "记分告知 {id}",
    "Appeal {id}": "申诉 {id}",
    "The appeal window of entry {entry_id} closed on {day}": "记分条目 {entry_id} 的申诉期已于 {day} 截止",
    "No appeal {appeal_id} in your region": "您的辖区内没有申诉 {appeal_id}",
    "{what} is {state}: '{action}' is not allowed; allowed: {allowed}":
        "{what} 当前状态为 {state}：不允许 '{action}'；允许的操作：{allowed}",
    "none": "无",
    "appealed (appeal {appeal_id} {status})": "已申诉（申诉 {appeal_id}，{status}）",
    # plumbing
    "The request body exceeds {max_bytes} bytes": "请求体超过 {max_bytes} 字节",
    "The database is unavailable for a moment; send the request again": "数据库暂时不可用，请重新发送请求",
    "must not contain NUL characters (U+0000)": "不能包含 NUL 字符（U+0000）",
    "is nested too deep": "嵌套层级过深",
    "Unknown query parameter": "未知的查询参数",
    "A query parameter was given more than once": "查询参数重复给出",
    "is not a parameter of this operation": "不是此操作的参数",
    "given more than once; it takes one value": "重复给出；此参数只接受一个值",
    "not a cursor from a previous page": "不是上一页返回的游标",
    "not a cursor of the standing feed (a next_cursor or a snapshot's cursor)":
        "不是资格变动流的游标（应为 next_cursor 或快照给出的游标）",
    "More than {item} for this client; retry after {retry_after} s": "此客户端超过 {item} 的限额；请在 {retry_after} 秒后重试",
    "must be a date (2025-12-31) or an ISO 8601 instant with offset (2025-12-31T09:30:00+08:00)":
        "应为日期（2025-12-31）或带时区偏移的 ISO 8601 时刻（2025-12-31T09:30:00+08:00）",
    "must be an ISO 8601 instant with offset, e.g. 2025-12-31T09:30:00+08:00 or 2025-12-31T01:30:00Z":
        "应为带时区偏移的 ISO 8601 时刻，如 2025-12-31T09:30:00+08:00 或 2025-12-31T01:30:00Z",
    "an instant needs its offset (Z, +08:00): without one it is ambiguous": "时刻须带时区偏移（Z、+08:00）：否则有歧义",
    "lies beyond the calendar (years 1 to 9999) in UTC or in the service's time zone":
        "在 UTC 或本服务时区下超出日历范围（1 至 9999 年）",
    # notices
    "is not a GB/T 2260 division code": "不是 GB/T 2260 行政区划代码",
    "Region {region} is outside your region": "地区 {region} 不在您的辖区内",
    "is in the future": "是将来的日期",
    "must lie between {year}-01-01 and today": "应在 {year}-01-01 与今天之间",
    "Revision {revision} of the {year} notice for {region} was published since; nothing was published":
        "{region} 的 {year} 年度公示已另行发布第 {revision} 版；本次未发布",
    "No notice {notice_id}": "没有公示 {notice_id}",
    "Notice {id} has no previous revision and no notice for {year} to compare with":
        "公示 {id} 没有上一版本，也没有 {year} 年的公示可供比较",
    "Another revision of the {year} notice for {region} was published at the same time; read it and publish again if a correction is still needed":
        "{region} 的 {year} 年度公示同时发布了另一版本；请先查看，如仍需更正再重新发布",
    # practitioners and institutions
    "must be 1-2 uppercase letters followed by 12 digits, e.g. D150428000123": "应为 1-2 个大写字母加 12 位数字，如 D150428000123",
    "digits {digits} after the prefix are not a GB/T 2260 division code": "前缀后的数字 {digits} 不是 GB/T 2260 行政区划代码",
    "must be H (medical institution) or P (retail pharmacy) followed by 11 digits":
        "应为 H（医疗机构）或 P（零售药店）加 11 位数字",
    "digits {digits} after the letter are not a GB/T 2260 division code": "字母后的数字 {digits} 不是 GB/T 2260 行政区划代码",
    "must be a 6-digit GB/T 2260 division code, e.g. 150428": "应为 6 位 GB/T 2260 行政区划代码，如 150428",
    "not a valid resident ID number: the address code is not a GB/T 2260 division":
        "不是有效的居民身份证号码：地址码不是 GB/T 2260 行政区划",
    "not a valid resident ID number: {reason}": "不是有效的居民身份证号码：{reason}",
    "No practitioner {code} in your region": "您的辖区内没有执业人员 {code}",
    "Region {region} is outside your region {caller_region}": "地区 {region} 不在您的辖区 {caller_region} 内",
    "Institutions not acceptable; nothing was recorded": "机构信息不可接受；未作记录",
    "No institution {code} in your region": "您的辖区内没有机构 {code}",
    "registered_on is fixed at first registration ({registered_on}); a new registration after a termination is recorded as a registration, not by PUT":
        "registered_on 以首次登记为准（{registered_on}）；终止后重新登记应作为登记记录，而不是通过 PUT",
    "no practitioner {code} is registered": "没有登记执业人员 {code}",
    "no institution {code} is registered": "没有登记机构 {code}",
    "{code} is not registered: the bureau of region {region} registers it first":
        "{code} 未登记：须先由地区 {region} 的医保部门登记",
    "{code} is registered as {name}; rename it in the institution registry": "{code} 登记的名称为 {name}；请在机构登记中更名",
    "{code} neither lives nor works in region {region}": "{code} 既不居住也不执业于地区 {region}",
    "the institution is outside region {region}": "该机构不在地区 {region} 内",
    # referrals
    "No referral {referral_id} for you": "没有您可查看的移送 {referral_id}",
    "This Idempotency-Key was already used with a different body; nothing was changed":
        "此 Idempotency-Key 已用于内容不同的请求；未作任何更改",
    "Referral not acceptable; nothing was stored": "移送不可接受；未保存",
    "Event on referral {id} not acceptable; nothing was changed": "移送 {id} 的办理步骤不可接受；未作任何更改",
    "Department {department} is not switched on for referrals": "部门 {department} 未开通移送",
    "outside your region {region}": "不在您的辖区 {region} 内",
    "{department} takes {categories}": "{department} 受理的线索类别为：{categories}",
    "name at least one institution or practitioner": "请至少填写一个机构或执业人员",
    "Referral {id}": "移送 {id}",
    "Referral {id} has changed since step {after_step} (it is at step {last_step}); nothing was changed":
        "移送 {id} 在第 {after_step} 步之后已有变动（现为第 {last_step} 步）；未作任何更改",
    "'{type}' needs a reason": "'{type}' 须填写理由",
    "'{type}' needs the outcome": "'{type}' 须填写处理结果",
    "only '{action}' carries an outcome": "只有 '{action}' 才填写处理结果",
    "no_violation_found excludes every other kind": "no_violation_found 不能与其他处理种类同时选择",
    "a penalty needs its decision number": "处罚须填写决定书文号",
    "a partner department sends to '{bureau}'": "协作部门只能移送给 '{bureau}'",
    "no such score case in your region": "您的辖区内没有该记分案件",
    "is before the referral's previous step": "早于该移送的上一步",
    "a {kind} needs its amount": "{kind} 须填写金额",
    "only with the penalty kind '{kind}'": "仅在处罚种类为 '{kind}' 时填写",
    "is before the case was filed": "早于立案日期",
    "used before with a different body": "已用于内容不同的请求",
    # scoring
    "must be at most {length} characters": "至多 {length} 个字符",
    "is in the future: the ledger as it stands now is the answer without known_at":
        "是将来的时刻：不带 known_at 的查询即返回当前账本",
    "No practitioner {code} known at {known_at}": "在 {known_at} 时尚无执业人员 {code} 的记录",
    "No practitioner {code} is registered": "没有登记执业人员 {code}",
    "No ruleset in force for {region} on {on}": "{on} 时 {region} 没有生效的记分规则",
    "No ruleset {ruleset_id}": "没有记分规则 {ruleset_id}",
    "give a responsibility tier or explicit points": "请给出责任档次或明确的分值",
    "notified_on is only for procedure 'notify'": "notified_on 仅用于 'notify' 程序",
    "Case {case_ref} (id {id}) was already recorded with a different body; a repeat must be identical, a correction is a reversal and a new case":
        "案件 {case_ref}（id {id}）已按不同内容记录；重复提交须完全相同，更正应先撤销再新建案件",
    "Case {case_ref} is not acceptable; nothing was recorded": "案件 {case_ref} 不可接受；未作记录",
    "No score case {case_id} in your region": "您的辖区内没有记分案件 {case_id}",
    "Repair not acceptable; nothing was recorded": "信用修复不可接受；未作记录",
    "the yearly repair cap of {cap} points is reached for {year}": "{year} 年已达到每年 {cap} 分的修复上限",
    "there are no points to repair in {year}": "{year} 年没有可修复的记分",
    "Repair not acceptable: {why}; nothing was recorded": "信用修复不可接受：{why}；未作记录",
    "{code}: {problem}": "{code}：{problem}",
    "the practitioner is not terminated: there is nothing to re-register from": "该执业人员未被终止：无需重新登记",
    "re-registration is barred until {day}": "{day} 之前不得重新登记",
    "institution region {region} is outside your region {caller_region}": "机构所在地区 {region} 不在您的辖区 {caller_region} 内",
    "no ruleset is in force for {region} on that date": "该日期 {region} 没有生效的记分规则",
    "must lie between the decision date and today": "应在决定日期与今天之间",
    "Reference {reference} was already used for another repair": "编号 {reference} 已用于另一项信用修复",
    "no practitioner {practitioner} is registered": "没有登记执业人员 {practitioner}",
    "unknown in ruleset {id}": "记分规则 {id} 中没有此项",
    "{points} is outside the band {name} ({min}-{max})": "{points} 超出档次 {name} 的范围（{min}-{max}）",
    "must be {min_months}-{max_months} under {id}": "按 {id} 应为 {min_months}-{max_months}",
    "must be one of {choices} under {id}": "按 {id} 应为以下之一：{choices}",
    "differs from the first request with this case_ref or Idempotency-Key": "与使用同一 case_ref 或 Idempotency-Key 的首次请求不同",
    "{practitioner} is registered in {region} and does not work at {institution}: only their home region's bureau, or one where they work, may score them":
        "{practitioner} 登记于 {region} 且不在 {institution} 执业：只有其登记地或执业地的医保部门可以记分",
    "{code} has {count} entries in this case: name the act each one scores (entries of one act share it and count once, at the highest points)":
        "{code} 在本案中有 {count} 条记分：请注明每条所记的行为（同一行为的各条共用一个行为标识，按最高分值计一次）",
    "repeats entry {entry}: the same rule for the same act": "与第 {entry} 条重复：同一行为适用了同一规则",
    "{code} is not a GB/T 2260 division code": "{code} 不是 GB/T 2260 行政区划代码",
    "a total of {total} does not reach suspension": "合计 {total} 分未达到暂停的分值",
    "invalid TOML: {error}": "TOML 无效：{error}",
    # simulations
    "Simulation not acceptable; nothing was stored": "模拟不可接受；未保存",
    "No simulation {simulation_id} of yours": "没有您的模拟 {simulation_id}",
    "Simulation {id} is {state} ({percent}%): its report exists once it is done": "模拟 {id} 当前为 {state}（{percent}%）：完成后才有报告",
    "The draft ruleset is not valid: {problems}": "规则草案无效：{problems}",
    "is in the future: there is nothing to replay": "是将来的年份：没有可回放的记录",
    "{jurisdiction} and the region {region} do not overlap": "{jurisdiction} 与地区 {region} 没有重叠",
    # webhooks
    "must not contain control characters": "不能包含控制字符",
    "No webhook endpoint {endpoint_id} of yours": "没有您的 webhook 端点 {endpoint_id}",
    "No delivery {delivery_id} of yours": "没有您的投递 {delivery_id}",
    "The delivery is already queued": "该投递已在队列中",
    "The URL {problem}": "URL {problem}",
    "A partner department receives only {receivable}; not receivable: {unreachable}":
        "协作部门只能接收 {receivable}；不能接收：{unreachable}",
    "{field} cannot be null": "{field} 不能为 null",
    "must not contain control characters or spaces (percent-encode them)": "不能包含控制字符或空格（请使用百分号编码）",
    "port must be a number from 1 to 65535 in ASCII digits": "端口须为 1 至 65535 的 ASCII 数字",
    "port must be a number from 1 to 65535, not 0": "端口须为 1 至 65535 的数字，不能为 0",
    "must be an https:// URL": "须为 https:// URL",
    "has no host": "缺少主机名",
    "must not carry credentials": "不能包含用户名或密码",
    "must not have a fragment": "不能包含片段（#）",
    "not a valid URL": "不是有效的 URL",
    "host does not resolve": "主机名无法解析",
    "must be an https:// URL: plain http only to a host and port listed in APP_WEBHOOK_ALLOWED_HOSTS (host:port, e.g. receiver.local:8080){hint}":
        "须为 https:// URL：只有列入 APP_WEBHOOK_ALLOWED_HOSTS 的主机和端口（host:port，如 receiver.local:8080）才可使用 http{hint}",
    "host and port are not allowed: APP_WEBHOOK_ONLY_ALLOWED_HOSTS is on and they are not listed in APP_WEBHOOK_ALLOWED_HOSTS (host:port, e.g. receiver.local:8443)":
        "主机和端口不被允许：APP_WEBHOOK_ONLY_ALLOWED_HOSTS 已开启，而它们未以 host:port 形式（如 receiver.local:8443）列入 APP_WEBHOOK_ALLOWED_HOSTS",
    "host resolves to a private, loopback, link-local or reserved address: to allow it, list it in APP_WEBHOOK_ALLOWED_HOSTS as host:port (e.g. 10.1.2.3:8080){hint}":
        "主机解析为私有、环回、链路本地或保留地址：如需允许，请以 host:port 形式（如 10.1.2.3:8080）列入 APP_WEBHOOK_ALLOWED_HOSTS{hint}",
    "; loopback (127.0.0.1, localhost) on any port is allowed only when APP_ENVIRONMENT=development":
        "；任意端口的环回地址（127.0.0.1、localhost）只在 APP_ENVIRONMENT=development 时允许",
    # workbench
    "must be a year between 2000 and 2100": "应为 2000 至 2100 之间的年份",
    "'{value}' is not one of {choices}": "'{value}' 不是以下之一：{choices}",
    "must be at least {length} characters": "至少 {length} 个字符",
    "must not start or end with a space": "首尾不能有空格",
    "The password {problem}": "密码{problem}",
    "Workbench users are bureau or partner staff": "工作台用户只能是医保部门或协作部门的工作人员",
    "No workbench user {user_id}": "没有工作台用户 {user_id}",
    "A workbench user named {name} already exists": "已有名为 {name} 的工作台用户",
}

# Keys that English text from outside the catalogue may be read back into (``from_text``): the
# messages of the pure rule modules and of the calendar files. Not every key: "{code}: {problem}"
# would fit any text with a colon.
REVERSIBLE: tuple[str, ...] = (
    "Not Found",
    "Method Not Allowed",
    # app/kit/openapi.py's (unknown and repeated query parameters)
    "Unknown query parameter",
    "A query parameter was given more than once",
    "is not a parameter of this operation",
    "given more than once; it takes one value",
    "invalid JSON",
    "Expecting value",
    "Expecting ',' delimiter",
    "Expecting ':' delimiter",
    "Expecting property name enclosed in double quotes",
    "Extra data",
    "Unterminated string starting at",
    "Invalid control character at",
    "Invalid \\escape",
    "Invalid \\uXXXX escape",
    "missing: which year these days are for",
    "is {given}, but the days were sent for {year}",
    "{day} is outside {year}: each day goes in the file of its own year",
    "{day} is a {weekday}: only a Saturday or Sunday can be an adjusted working day (kind workday)",
    "{day} is listed twice (also days.{other})",
    "lists no holiday: a year's notice always has some",
    "the practitioner is not terminated: there is nothing to re-register from",
    "re-registration is barred until {day}",
    "{code} is not a GB/T 2260 division code",
    "a total of {total} does not reach suspension",
    "invalid TOML: {error}",
)


def chinese(value: Any) -> Any:
    """A message, or English text the catalogue can read back, in Chinese (the workbench's pages)."""
    value = from_text(value)
    return value.render(CHINESE) if isinstance(value, Message) else value
