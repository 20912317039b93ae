"""Every action by every side from every state, through the API, in both directions and for
both kinds: allowed ones answer 201 with the table's next state, the others 409 naming what
that side may do, and change nothing."""

import itertools

import pytest

from app.referrals.machine import TABLES, Action, Kind, Side, State, allowed

# How to reach each state, as (action, side) steps from a new draft.
S, R = Side.sender, Side.recipient
PATHS = {
    Kind.case: {
        State.draft: [],
        State.sent: [(Action.send, S)],
        State.received: [(Action.send, S), (Action.receive, R)],
        State.filed: [(Action.send, S), (Action.receive, R), (Action.file, R)],
        State.not_filed: [(Action.send, S), (Action.receive, R), (Action.decline, R)],
        State.concluded: [(Action.send, S), (Action.receive, R), (Action.file, R), (Action.conclude, R)],
        State.returned: [(Action.send, S), (Action.return_, R)],
        State.withdrawn: [(Action.withdraw, S)],
        State.closed: [(Action.send, S), (Action.receive, R), (Action.decline, R), (Action.close, S)],
    },
    Kind.notification: {
        State.draft: [],
        State.sent: [(Action.send, S)],
        State.returned: [(Action.send, S), (Action.return_, R)],
        State.withdrawn: [(Action.withdraw, S)],
        State.closed: [(Action.send, S), (Action.receive, R)],
    },
}
CASES = [(d, k, s) for d in ("outbound", "inbound") for k, paths in PATHS.items() for s in paths]


def test_every_state_of_the_table_is_reached():
    for kind, table in TABLES.items():
        states = {s for s, _a in table} | {to for _side, to in table.values()}
        assert states <= set(PATHS[kind])


@pytest.mark.parametrize(("direction", "kind", "state"), CASES, ids=[f"{d}-{k}-{s}" for d, k, s in CASES])
def test_every_action_by_every_side(referrals, direction, kind, state):
    sides = ({S: referrals.bureau, R: referrals.health} if direction == "outbound"
             else {S: referrals.health, R: referrals.bureau})
    recipient = "health" if direction == "outbound" else "bureau"

    def reach():
        referral = referrals.create(headers=sides[S], recipient=recipient, kind=kind)
        for action, side in PATHS[kind][state]:
            referral = referrals.step(referral["id"], action, sides[side])
        assert referral["status"] == state
        return referral

    fixed = reach()
    for action, side in itertools.product(Action, Side):
        step = TABLES[kind].get((state, action))
        if step is not None and step[0] == side:
            continue
        if state == State.draft and side == R:
            # the recipient does not see a draft at all
            assert referrals.post(fixed["id"], action, sides[side]).status_code == 404
            continue
        response = referrals.post(fixed["id"], action, sides[side])
        assert response.status_code == 409, (action, side, response.text)
        problem = response.json()
        assert problem["type"] == "illegal-transition"
        assert problem["allowed"] == allowed(state, side, kind)
        assert problem["state"] == state and problem["action"] == action
    after = referrals.get(fixed["id"], sides[S]).json()
    assert after["status"] == state and len(after["history"]) == len(fixed["history"])

    for (st, action), (side, to) in TABLES[kind].items():
        if st != state:
            continue
        referral = reach()
        moved = referrals.step(referral["id"], action, sides[side])
        assert moved["status"] == to
        last = moved["history"][-1]
        assert (last["action"], last["from_state"], last["to_state"], last["side"]) == (action, state, to, side)
