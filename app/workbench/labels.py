"""Chinese names of the codes the pages show. Presentation only: the codes stay the domain's."""

from __future__ import annotations

from datetime import datetime

from app.kit.messages import chinese
from app.kit.timeutil import local_zone
from app.notices.content import CATEGORY_NAMES, SANCTION_NAMES
from app.settings import get_settings
from app.shared import regions

STATES = {
    "draft": "草稿", "sent": "已移送", "received": "已签收", "filed": "已立案", "not_filed": "不予立案",
    "concluded": "已结案", "returned": "已退回", "withdrawn": "已撤回", "closed": "已办结",
}
ACTIONS = {
    "create": "创建", "send": "移送", "withdraw": "撤回", "close": "办结", "remind": "催办", "receive": "签收",
    "file": "立案", "decline": "不予立案", "extend": "延期", "conclude": "结案反馈", "return": "退回",
}
# The order the referral page offers the steps in: the usual next step first, undoing ones last.
STEP_ORDER = ["receive", "file", "conclude", "extend", "decline", "send", "close", "remind", "return", "withdraw"]
DEADLINES = {"receipt": "签收", "filing": "立案决定", "conclusion": "结案"}
CLUE_CATEGORIES = {
    "licence_renting": "出租出借执业证书（挂证）", "unlicensed_practice": "非法执业", "medical_conduct": "医疗行为",
    "joint_sanction": "联合惩戒", "joint_sanction_lift": "联合惩戒撤销", "joint_sanction_change": "联合惩戒变更",
    "pricing": "价格违法", "drug_traceability": "药品追溯", "fraud": "欺诈骗保",
    "other": "其他",
}
PENALTIES = {
    "warning": "警告", "fine": "罚款", "confiscation": "没收违法所得", "licence_suspension": "暂停执业",
    "licence_revocation": "吊销执业证书", "order_to_rectify": "责令改正", "no_violation_found": "未发现违法",
    "transferred": "移送其他机关",
}
DIRECTIONS = {"outbound": "医保局移出", "inbound": "部门移入"}
KINDS = {"case": "问题线索", "notification": "联合惩戒通知"}
ROLES = {"bureau": "医疗保障局", "partner": "协作部门"}
STANDINGS = {"active": "正常", "suspended": "暂停", "terminated": "终止", "not_registered": "未登记备案"}
LEDGER_KINDS = {"entry": "记分", "reversal": "撤销", "repair": "修复", "sanction": "处理", "sanction_lift": "解除",
                "registration": "重新登记"}
BASES = {"administrative_penalty": "行政处罚", "agreement_handling": "协议处理"}
SIDES = {"sender": "移送方", "recipient": "接收方"}


def department(code: str | None) -> str:
    if code is None:
        return ""
    catalog = get_settings().department_catalog
    return catalog[code].name if code in catalog else code


def party(code: str, region: str | None = None) -> str:
    """``bureau`` or a department code, as the organisation's name."""
    return "医疗保障局" if code == "bureau" else department(code)


def region(code: str | None) -> str:
    if not code:
        return ""
    name = regions.division_name(code)
    return f"{name}（{code}）" if name else code


def local_time(instant: datetime | None) -> str:
    """An instant as the wall-clock time of the service's zone, to the minute."""
    return instant.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M") if instant else ""


def install(env) -> None:
    """The filters the templates use."""
    env.filters.update(
        state=lambda c: STATES.get(c, c), action=lambda c: ACTIONS.get(c, c),
        deadline_kind=lambda c: DEADLINES.get(c, c), clue=lambda c: CLUE_CATEGORIES.get(c, c),
        penalty=lambda c: PENALTIES.get(c, c), direction=lambda c: DIRECTIONS.get(c, c),
        kind=lambda c: KINDS.get(c, c), role=lambda c: ROLES.get(c, c), standing=lambda c: STANDINGS.get(c, c),
        ledger_kind=lambda c: LEDGER_KINDS.get(c, c), basis=lambda c: BASES.get(c, c),
        side=lambda c: SIDES.get(c, c), category=lambda c: CATEGORY_NAMES.get(c, c),
        sanction=lambda c: SANCTION_NAMES.get(c, c), department=department, party=party, region=region,
        local_time=local_time, zh=chinese,
        in_step_order=lambda actions: sorted(actions, key=lambda a: STEP_ORDER.index(a) if a in STEP_ORDER else 99),
    )
