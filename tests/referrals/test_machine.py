"""The state machine table, every (kind, state, action, side) combination: allowed ones move to
the table's state, all others raise NotAllowed listing what that side may do."""

import itertools

import pytest

from app.referrals.machine import (
    CASE,
    NOTIFICATION,
    TABLES,
    Action,
    Kind,
    NotAllowed,
    Side,
    State,
    allowed,
    next_state,
)

ALL = list(itertools.product(Kind, State, Action, Side))


@pytest.mark.parametrize(("kind", "state", "action", "side"), ALL,
                         ids=[f"{k}-{s}-{a}-{d}" for k, s, a, d in ALL])
def test_every_combination(kind, state, action, side):
    step = TABLES[kind].get((state, action))
    if step is not None and step[0] == side:
        assert next_state(state, action, side, kind) == step[1]
        assert action.value in allowed(state, side, kind)
    else:
        with pytest.raises(NotAllowed) as raised:
            next_state(state, action, side, kind)
        assert action.value not in raised.value.allowed
        assert raised.value.allowed == allowed(state, side, kind)


def test_the_lifecycle_of_domain_md():
    s, r = Side.sender, Side.recipient
    path = [(Action.send, s), (Action.receive, r), (Action.file, r), (Action.conclude, r), (Action.close, s)]
    state = State.draft
    for action, side in path:
        state = next_state(state, action, side)
    assert state == State.closed
    assert next_state(State.received, Action.decline, r) == State.not_filed
    assert next_state(State.not_filed, Action.close, s) == State.closed
    assert next_state(State.sent, Action.return_, r) == State.returned
    assert next_state(State.returned, Action.send, s) == State.sent


def test_only_the_recipient_acts_on_what_it_received_and_only_the_sender_sends_withdraws_closes():
    for table in (CASE, NOTIFICATION):
        for (_state, action), (side, _to) in table.items():
            if action in (Action.receive, Action.file, Action.decline, Action.conclude, Action.return_, Action.extend):
                assert side == Side.recipient
            else:
                assert side == Side.sender


def test_terminal_states_allow_nothing():
    for kind, state, side in itertools.product(Kind, (State.withdrawn, State.closed), Side):
        assert allowed(state, side, kind) == []


def test_a_notification_is_closed_by_its_receipt():
    assert next_state(State.sent, Action.receive, Side.recipient, Kind.notification) == State.closed
    assert allowed(State.sent, Side.recipient, Kind.notification) == ["receive", "return"]
    for action in (Action.file, Action.decline, Action.conclude, Action.extend):
        with pytest.raises(NotAllowed):
            next_state(State.sent, action, Side.recipient, Kind.notification)


def test_the_extension_is_allowed_once():
    assert next_state(State.received, Action.extend, Side.recipient) == State.received
    with pytest.raises(NotAllowed) as raised:
        next_state(State.received, Action.extend, Side.recipient, used=frozenset({Action.extend}))
    assert raised.value.allowed == ["decline", "file", "return"]
