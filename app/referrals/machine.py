"""The referral state machine (docs/api/referrals.md): states, actions, and which side may post
which action from which state. Pure data and one function; the service is the only caller.

A referral has a sender and a recipient; either may be the bureau or a partner department, so
permissions are by side, not by role. Two kinds share the states: a ``case`` (a clue to
investigate, with feedback) and a ``notification`` (a joint-sanction notice) that needs only
receipt, so receiving it closes it.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    draft = "draft"
    sent = "sent"
    received = "received"
    filed = "filed"
    not_filed = "not_filed"
    concluded = "concluded"
    returned = "returned"
    withdrawn = "withdrawn"
    closed = "closed"


class Action(StrEnum):
    send = "send"          # 移送 (also re-send after a return)
    withdraw = "withdraw"  # 撤回
    close = "close"        # 办结
    remind = "remind"      # 催办: no change of state
    receive = "receive"    # 签收
    file = "file"          # 立案
    decline = "decline"    # 不予立案
    extend = "extend"      # 延期: the filing decision, once
    conclude = "conclude"  # 结案, with the outcome
    return_ = "return"     # 退回: wrong recipient or incomplete


class Side(StrEnum):
    sender = "sender"
    recipient = "recipient"


class Kind(StrEnum):
    case = "case"
    notification = "notification"


S, R = Side.sender, Side.recipient

# (state, action) -> (side allowed to post it, next state)
CASE: dict[tuple[State, Action], tuple[Side, State]] = {
    (State.draft, Action.send): (S, State.sent),
    (State.draft, Action.withdraw): (S, State.withdrawn),
    (State.sent, Action.receive): (R, State.received),
    (State.sent, Action.return_): (R, State.returned),
    (State.sent, Action.withdraw): (S, State.withdrawn),
    (State.sent, Action.remind): (S, State.sent),
    (State.received, Action.file): (R, State.filed),
    (State.received, Action.decline): (R, State.not_filed),
    (State.received, Action.extend): (R, State.received),
    (State.received, Action.return_): (R, State.returned),
    (State.received, Action.remind): (S, State.received),
    (State.filed, Action.conclude): (R, State.concluded),
    (State.filed, Action.remind): (S, State.filed),
    (State.concluded, Action.close): (S, State.closed),
    (State.not_filed, Action.close): (S, State.closed),
    (State.returned, Action.send): (S, State.sent),
    # Beyond the procedure's own steps, which only say a returned referral may be fixed and re-sent:
    # without this a referral the sender decides not to re-send would stay open for ever.
    (State.returned, Action.withdraw): (S, State.withdrawn),
}

NOTIFICATION: dict[tuple[State, Action], tuple[Side, State]] = {
    (State.draft, Action.send): (S, State.sent),
    (State.draft, Action.withdraw): (S, State.withdrawn),
    (State.sent, Action.receive): (R, State.closed),
    (State.sent, Action.return_): (R, State.returned),
    (State.sent, Action.withdraw): (S, State.withdrawn),
    (State.sent, Action.remind): (S, State.sent),
    (State.returned, Action.send): (S, State.sent),
    (State.returned, Action.withdraw): (S, State.withdrawn),
}

TABLES: dict[Kind, dict[tuple[State, Action], tuple[Side, State]]] = {
    Kind.case: CASE, Kind.notification: NOTIFICATION,
}

# What an action must carry.
NEEDS_REASON = frozenset({Action.decline, Action.return_, Action.extend})
NEEDS_OUTCOME = frozenset({Action.conclude})
# Actions allowed only once in a referral's life.
ONCE = frozenset({Action.extend})

# Where the recipient still owes a step (a deadline runs).
PENDING = frozenset({State.sent, State.received, State.filed})
TERMINAL = frozenset({State.withdrawn, State.closed})


class NotAllowed(Exception):
    def __init__(self, state: State, action: Action, side: Side, allowed: list[str]):
        super().__init__(f"{action} by the {side} is not allowed from {state}")
        self.state, self.action, self.side, self.allowed = state, action, side, allowed


def allowed(state: State, side: Side, kind: Kind = Kind.case, used: frozenset[Action] = frozenset()) -> list[str]:
    """The actions ``side`` may post from ``state`` (``used``: once-only actions already taken)."""
    return sorted(
        a.value for (st, a), (who, _to) in TABLES[kind].items()
        if st == state and who == side and a not in (used & ONCE)
    )


def next_state(state: State, action: Action, side: Side, kind: Kind = Kind.case,
               used: frozenset[Action] = frozenset()) -> State:
    """The state after ``side`` posts ``action``; ``NotAllowed`` (with the allowed ones) otherwise."""
    step = TABLES[kind].get((State(state), Action(action)))
    if step is None or step[0] != side or (action in ONCE and action in used):
        raise NotAllowed(State(state), Action(action), Side(side), allowed(State(state), Side(side), kind, used))
    return step[1]
