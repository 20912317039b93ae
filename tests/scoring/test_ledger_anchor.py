"""Tampering by someone with write access to the database, which the hash chain alone lets through,
found by ``ledger verify`` against signed checkpoints of every chain head and by deriving every
stored standing again from the ledger.

Each row's hash needs no secret, so a chain stays consistent after its last row is deleted, after
the whole chain is deleted, or after a row is edited and every hash after it recomputed; and the
standing check reads only the ``standings`` cache, which no chain covers.
"""

import json

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from app.cli import main
from app.kit.db import read_session, write_session
from app.scoring import anchor, integrity, ledger, signing
from app.settings import get_settings

OTHER_KEY = "b3RoZXIga2V5IG5vdCB0aGUgc2VydmljZSdzIG93biE="  # base64 of "other key not the service's own!"


def run(engine, sql, **params):
    with engine.begin() as conn:
        return conn.execute(text(sql), params)


def person_id(engine, code):
    return run(engine, "SELECT id FROM practitioners WHERE code = :code", code=code).scalar_one()


def verify(capsys, *args):
    """(exit code, stdout, stderr) of ``ledger verify``."""
    capsys.readouterr()
    code = main(["ledger", "verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def checkpoint(capsys):
    capsys.readouterr()
    assert main(["ledger", "checkpoint"]) == 0
    return json.loads(capsys.readouterr().out)


def recompute_hashes(engine, pid):
    """What anyone with the database can do: the hash needs no secret."""
    with read_session() as session:
        rows = ledger.rows_of(session, pid)
    prev = ledger.GENESIS
    for row in rows:
        row.prev_hash, row.hash = prev, ledger.row_hash(prev, row)
        prev = row.hash
        run(engine, "UPDATE ledger SET prev_hash = :ph, hash = :h WHERE id = :id", ph=row.prev_hash, h=row.hash, id=row.id)


def rederive_standings(capsys):
    """Make the cache agree with the edited ledger, as a careful insider would: only the anchor is left."""
    verify(capsys, "--repair-standings")


@pytest.fixture
def scored(scoring, capsys):
    """Two people with two scores each, anchored by a checkpoint; verify passes before anything is touched."""
    codes = [scoring.register(code=f"D210402{n:06d}") for n in (1, 2)]
    for code in codes:
        scoring.score(code, f"{code}-a", "2025-03-01", points=5)
        scoring.score(code, f"{code}-b", "2025-03-02", points=2, violation="RECORDS-MISSING")
    checkpoint(capsys)
    code, _out, err = verify(capsys)
    assert code == 0, err
    assert "0 rows in 0 chains not yet anchored" in err
    return codes


@pytest.fixture
def key(monkeypatch):
    """Set the signing and public keys for one test: key(signing=..., public=[...])."""
    settings = get_settings()

    def set_keys(signing_key=None, public=()):
        monkeypatch.setattr(settings, "ledger_signing_key", SecretStr(signing_key) if signing_key else None)
        monkeypatch.setattr(settings, "ledger_public_keys", list(public))

    return set_keys


def suite_public():
    return signing.public_text(signing.read_private(get_settings().ledger_signing_key.get_secret_value()).public_key())


# ---------------------------------------------------------------- the four findings


def test_a_deleted_last_row_is_found(scored, engine, capsys):
    pid = person_id(engine, scored[0])
    run(engine, "DELETE FROM ledger WHERE practitioner_id = :p AND seq = 2", p=pid)
    rederive_standings(capsys)
    code, out, _err = verify(capsys)
    assert code == 1
    assert f"practitioner {pid} row 1: chain ends at row 1; checkpoint 1 names row 2 (rows deleted from its end)" in out
    assert "broken" not in out and "standing" not in out  # the chain itself still links


def test_a_deleted_chain_is_found(scored, engine, capsys):
    pid = person_id(engine, scored[0])
    run(engine, "DELETE FROM ledger WHERE practitioner_id = :p", p=pid)
    run(engine, "DELETE FROM standings WHERE practitioner_id = :p", p=pid)
    code, out, _err = verify(capsys)
    assert code == 1
    assert out.startswith(f"practitioner {pid}: chain missing: checkpoint 1 names 2 rows")


def test_a_row_edited_with_its_hashes_recomputed_is_found(scored, engine, capsys):
    pid = person_id(engine, scored[0])
    run(engine, "UPDATE ledger SET points = 1 WHERE practitioner_id = :p AND seq = 1", p=pid)
    recompute_hashes(engine, pid)
    rederive_standings(capsys)
    code, out, _err = verify(capsys)
    assert code == 1
    assert f"practitioner {pid} row 2: hash differs from checkpoint 1" in out and "history rewritten" in out
    assert "content does not match" not in out  # every link holds: only the checkpoint tells


def test_a_rewrite_under_rows_added_since_the_checkpoint_is_found(scored, scoring, engine, capsys):
    """The chain grew past its checkpointed head, then older history was rewritten under it."""
    scoring.score(scored[0], "later", "2025-04-01", points=1, violation="RECORDS-MISSING")
    pid = person_id(engine, scored[0])
    run(engine, "UPDATE ledger SET points = 4 WHERE practitioner_id = :p AND seq = 1", p=pid)
    recompute_hashes(engine, pid)
    rederive_standings(capsys)
    code, out, _err = verify(capsys)
    assert code == 1 and f"practitioner {pid} row 2: hash differs from checkpoint 1" in out


def test_an_edited_standing_is_found_and_rewritten(scoring, engine, capsys):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=9, violation="UPCODING")
    scoring.score(code, "b", "2025-03-05", points=3, violation="RECORDS-MISSING")
    assert scoring.standing(code, "2025-06-01")["status"] == "terminated"
    assert verify(capsys)[0] == 0
    # Blank the cached row: the check answers a person with no first year without reading further.
    run(engine, "UPDATE standings SET first_year = NULL, last_year = NULL")
    answer = scoring.standing(code, "2025-06-01")
    assert (answer["status"], answer["billing_allowed"]) == ("active", True)
    pid = person_id(engine, code)
    status, out, err = verify(capsys)
    assert status == 1
    assert out == f"practitioner {pid} ({code}) standing differs from the ledger: years None–None where the ledger gives 2025–9999\n"
    # An edited timeline, too
    run(engine, "UPDATE standings SET timeline = :t", t=json.dumps({"registered_on": "2020-01-01", "totals": {},
        "repaired": {}, "repair_effect": {}, "sanctions": [], "reregistrations": []}))
    status, out, err = verify(capsys, "--repair-standings")
    assert status == 1
    assert "timeline.sanctions, timeline.totals, years None–None" in out and "(rewritten from the ledger)" in out
    assert "1 stored standings differ from the ledger, 1 rewritten" in err
    answer = scoring.standing(code, "2025-06-01")
    assert (answer["status"], answer["billing_allowed"]) == ("terminated", False)
    assert verify(capsys)[0] == 0
    audited = run(engine, "SELECT action, object FROM audit_log WHERE action = 'standing.repair'").all()
    assert [tuple(r) for r in audited] == [("standing.repair", f"practitioner:{code}")]


def test_a_deleted_standing_is_found(scoring, engine, capsys):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=9, violation="UPCODING")
    run(engine, "DELETE FROM standings")
    status, out, _err = verify(capsys)
    assert status == 1 and "standing differs from the ledger: no stored standing" in out


# ---------------------------------------------------------------- rows since, and checkpoints over them


def test_rows_after_the_latest_checkpoint_are_not_yet_anchored_and_no_error(scored, scoring, capsys):
    scoring.score(scored[0], "later", "2025-04-01", points=1, violation="RECORDS-MISSING")
    scoring.register(code="D210402000003")
    scoring.score("D210402000003", "new", "2025-04-01", points=1, violation="RECORDS-MISSING")
    code, out, err = verify(capsys)
    assert (code, out) == (0, "")
    assert "2 rows in 2 chains not yet anchored" in err and "latest checkpoint 1 at" in err
    second = checkpoint(capsys)
    assert (second["id"], second["chains"], second["rows"], second["heads_moved"]) == (2, 3, 6, 2)
    code, _out, err = verify(capsys)
    assert code == 0 and "latest checkpoint 2" in err and "0 rows in 0 chains not yet anchored" in err


def test_no_checkpoint_is_written_over_a_cut_chain(scored, engine, capsys, monkeypatch, caplog):
    """A new checkpoint would bless the cut: the writer refuses, and verify still finds it."""
    pid = person_id(engine, scored[0])
    run(engine, "DELETE FROM ledger WHERE practitioner_id = :p AND seq = 2", p=pid)
    capsys.readouterr()
    assert main(["ledger", "checkpoint"]) == 1
    out, err = capsys.readouterr()
    assert f"practitioner {pid} row 1: chain ends at row 1" in out and "refused" in err
    monkeypatch.setattr(get_settings(), "ledger_checkpoint_minutes", 0.000001)  # due at once
    assert anchor.write_if_due() == 0  # the worker logs an error and writes nothing either
    assert "the ledger does not extend checkpoint 1 (1 findings)" in caplog.text
    assert run(engine, "SELECT count(*) FROM ledger_checkpoints").scalar_one() == 1
    assert verify(capsys)[0] == 1


def test_no_checkpoint_is_written_over_edited_heads(scored, engine, capsys):
    """Deleting a chain and its stored heads would leave nothing to compare with: the latest
    checkpoint's digest no longer matches its heads, so verify says so and the writer refuses."""
    pid = person_id(engine, scored[0])
    run(engine, "DELETE FROM ledger WHERE practitioner_id = :p", p=pid)
    run(engine, "DELETE FROM standings WHERE practitioner_id = :p", p=pid)
    run(engine, "DELETE FROM ledger_checkpoint_heads WHERE practitioner_id = :p", p=pid)
    code, out, _err = verify(capsys)
    assert code == 1 and "checkpoints: checkpoint 1: its stored heads do not give its signed digest" in out
    capsys.readouterr()
    assert main(["ledger", "checkpoint"]) == 1
    assert run(engine, "SELECT count(*) FROM ledger_checkpoints").scalar_one() == 1


# ---------------------------------------------------------------- the checkpoints themselves


def test_a_forged_checkpoint_fails_its_signature(scored, engine, capsys):
    """Cut a chain, then make the checkpoint agree: its digest and heads edited, the signature kept."""
    pid = person_id(engine, scored[0])
    run(engine, "DELETE FROM ledger WHERE practitioner_id = :p AND seq = 2", p=pid)
    row = run(engine, "SELECT hash FROM ledger WHERE practitioner_id = :p AND seq = 1", p=pid).scalar_one()
    run(engine, "UPDATE ledger_checkpoint_heads SET seq = 1, hash = :h WHERE practitioner_id = :p", h=row, p=pid)
    with read_session() as session:
        heads = list(anchor.current_heads(session.connection()))
    run(engine, "UPDATE ledger_checkpoints SET digest = :d, rows = rows - 1", d=anchor.digest_of(heads))
    rederive_standings(capsys)
    code, out, _err = verify(capsys)
    assert code == 1
    assert out == "checkpoints: checkpoint 1: signature does not verify under key %s\n" % signing.configured().signing_id


def test_a_checkpoint_signed_by_another_key_is_refused(scored, engine, capsys, key):
    """Cut a chain and sign a new checkpoint over it with a key of one's own."""
    pid = person_id(engine, scored[0])
    run(engine, "DELETE FROM ledger WHERE practitioner_id = :p", p=pid)
    run(engine, "DELETE FROM standings WHERE practitioner_id = :p", p=pid)
    run(engine, "DELETE FROM ledger_checkpoint_heads")
    run(engine, "DELETE FROM ledger_checkpoints")
    forger = signing.Keys(signing.read_private(OTHER_KEY))
    forger = signing.Keys(forger.private, {forger.signing_id: forger.private.public_key()})
    with write_session() as session:
        forged, _moved = anchor.write(session, forger)
    code, out, _err = verify(capsys)
    assert code == 1
    assert out == (f"checkpoints: checkpoint 1: signed by key {forged.key_id}, which is not a trusted key "
                   "(APP_LEDGER_PUBLIC_KEYS)\n")
    # Naming the service's key id does not help: the signature is not its.
    run(engine, "UPDATE ledger_checkpoints SET key_id = :k", k=signing.configured().signing_id)
    code, out, _err = verify(capsys)
    assert code == 1 and "signature does not verify under key" in out


def test_a_checkpoint_deleted_after_a_notice_printed_it_is_found(scored, scoring, engine, capsys, api, make_key):
    bureau = make_key("bureau", "210000")
    notice = api.post("/v1/notices", json={"region": "210400", "year": 2025}, headers=bureau)
    assert notice.status_code == 201, notice.text
    assert notice.json()["ledger_checkpoint"]["id"] == 1
    run(engine, "DELETE FROM ledger_checkpoint_heads")
    run(engine, "DELETE FROM ledger_checkpoints")
    code, out, _err = verify(capsys)
    assert code == 1 and f"checkpoints: checkpoint 1: printed in notice {notice.json()['id']}, missing (deleted)" in out


def test_a_checkpoint_deleted_from_the_middle_is_found(scored, engine, capsys):
    checkpoint(capsys)
    checkpoint(capsys)
    run(engine, "DELETE FROM ledger_checkpoint_heads WHERE checkpoint_id = 2")
    run(engine, "DELETE FROM ledger_checkpoints WHERE id = 2")
    code, out, _err = verify(capsys)
    assert code == 1 and out == "checkpoints: checkpoint 3: checkpoint 2 missing (deleted)\n"


# ---------------------------------------------------------------- keys


def test_without_a_key_nothing_is_signed_and_verify_says_it_cannot_tell(scoring, capsys, key, engine):
    key(signing_key=None)
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=5)
    capsys.readouterr()
    assert main(["ledger", "checkpoint"]) == 2
    assert "no ledger signing key" in capsys.readouterr().err
    assert anchor.write_if_due() == 0
    assert run(engine, "SELECT count(*) FROM ledger_checkpoints").scalar_one() == 0
    status, out, err = verify(capsys)
    assert (status, out) == (2, "") and "unverifiable: no ledger key configured" in err
    # A broken link is still tampering, key or not.
    run(engine, "UPDATE ledger SET points = 1")
    assert verify(capsys)[0] == 1


def test_a_verifier_needs_only_the_public_key(scored, capsys, key):
    public = suite_public()
    key(signing_key=None, public=[public])
    code, _out, err = verify(capsys)
    assert code == 0, err
    capsys.readouterr()
    assert main(["ledger", "checkpoint"]) == 2  # and cannot sign


def test_after_a_rotation_old_checkpoints_verify_with_the_old_public_key(scored, scoring, capsys, key, engine):
    old_public = suite_public()
    key(signing_key=OTHER_KEY, public=[old_public])
    scoring.score(scored[0], "later", "2025-04-01", points=1, violation="RECORDS-MISSING")
    second = checkpoint(capsys)
    assert second["key_id"] != signing.key_id(signing.read_public(old_public))
    assert verify(capsys)[0] == 0
    # Forget the old public key: checkpoint 1 can no longer be told from a forgery.
    key(signing_key=OTHER_KEY)
    code, out, _err = verify(capsys)
    assert code == 1 and "checkpoint 1: signed by key" in out and "not a trusted key" in out


def test_an_unreadable_key_is_a_clear_error(capsys, key):
    key(signing_key="not a key")
    capsys.readouterr()
    assert main(["ledger", "verify"]) == 2
    assert "APP_LEDGER_SIGNING_KEY: not base64 nor PEM" in capsys.readouterr().err
    assert main(["ledger", "checkpoint"]) == 2


def test_keygen_prints_a_key_that_signs_and_its_public_key(capsys, tmp_path, monkeypatch):
    from app.settings import Settings

    monkeypatch.delenv("APP_LEDGER_SIGNING_KEY")  # the suite's, which would win over the file

    assert main(["ledger", "keygen"]) == 0
    out, err = capsys.readouterr()
    (tmp_path / ".env").write_text(out)
    settings = Settings(_env_file=tmp_path / ".env")
    keys = signing.configured(settings)
    assert keys.private is not None and list(keys.trusted) == [keys.signing_id]
    assert f"key id {keys.signing_id}" in err
    key_id, signature = keys.sign(b"x")
    assert keys.check(key_id, signature, b"x") is None and keys.check(key_id, signature, b"y")
    pem = keys.private.private_bytes(*_pem())
    assert signing.read_private(pem.decode()).public_key() == keys.private.public_key()


def _pem():
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()


def test_the_key_can_come_from_a_file(tmp_path, monkeypatch):
    from app.settings import Settings

    path = tmp_path / "ledger.key"
    path.write_text(OTHER_KEY + "\n")
    keys = signing.configured(Settings(ledger_signing_key=None, ledger_signing_key_file=path))
    assert keys.signing_id == signing.key_id(signing.read_private(OTHER_KEY).public_key())
    with pytest.raises(signing.KeyProblem, match="APP_LEDGER_SIGNING_KEY_FILE"):
        signing.configured(Settings(ledger_signing_key=None, ledger_signing_key_file=tmp_path / "missing"))


# ---------------------------------------------------------------- the worker and the notices


def test_the_worker_writes_a_checkpoint_when_due_and_after_a_notice(scoring, engine, api, make_key, monkeypatch):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=5)
    assert anchor.write_if_due() == 1  # none yet
    assert anchor.write_if_due() == 0  # the latest is fresh
    bureau = make_key("bureau", "210000")
    notice = api.post("/v1/notices", json={"region": "210400", "year": 2025}, headers=bureau).json()
    assert notice["ledger_checkpoint"]["id"] == 1
    assert anchor.write_if_due() == 1  # a notice was published since
    assert anchor.write_if_due() == 0
    monkeypatch.setattr(get_settings(), "ledger_checkpoint_minutes", 0.000001)
    assert anchor.write_if_due() == 1  # the interval has passed
    assert run(engine, "SELECT count(*) FROM ledger_checkpoints").scalar_one() == 3
    from app.worker import registered_jobs

    assert "ledger.checkpoint" in [job.name for job in registered_jobs()]


def test_a_notice_prints_the_latest_checkpoint(scored, api, make_key, capsys):
    latest = checkpoint(capsys)
    bureau = make_key("bureau", "210000")
    meta = api.post("/v1/notices", json={"region": "210400", "year": 2025}, headers=bureau).json()
    named = meta["ledger_checkpoint"]
    assert (named["id"], named["digest"]) == (latest["id"], latest["digest"])
    assert named["at"] == latest["created_at"] and named["key_id"] == latest["key_id"]
    document = api.get(f"/v1/notices/{meta['id']}", params={"format": "json"}).json()
    assert document["notice"]["ledger_checkpoint"] == named  # inside what the notice's hash covers
    page = api.get(f"/notices/{meta['id']}").text
    assert f'<span class="hash" id="ledger-digest">{latest["digest"]}</span>' in page and "第 2 号" in page


def test_a_notice_before_any_checkpoint_says_there_was_none(scoring, api, make_key):
    code = scoring.register()
    scoring.score(code, "a", "2025-03-01", points=5)
    bureau = make_key("bureau", "210000")
    meta = api.post("/v1/notices", json={"region": "210400", "year": 2025}, headers=bureau).json()
    assert meta["ledger_checkpoint"] is None
    assert "发布时尚无签名校验点" in api.get(f"/notices/{meta['id']}").text


# ---------------------------------------------------------------- the digest, and many chains


def test_the_digest_is_sha256_over_sorted_heads():
    import hashlib

    heads = [(10, 2, "b" * 64), (2, 5, "a" * 64)]
    assert anchor.digest_of(heads) == hashlib.sha256(
        f"2 5 {'a' * 64}\n10 2 {'b' * 64}\n".encode()).hexdigest()
    assert integrity.Report().tampered is False


def test_many_chains_in_small_batches(scoring, engine, capsys, monkeypatch):
    """Heads streamed, moved chains stored and people verified a few at a time: the same answers."""
    monkeypatch.setattr(anchor, "BATCH", 2)
    monkeypatch.setattr(anchor, "PEOPLE", 2)
    monkeypatch.setattr(integrity, "PEOPLE", 2)
    codes = [scoring.register(code=f"D210402{n:06d}") for n in range(1, 8)]
    for code in codes:
        scoring.score(code, f"{code}-a", "2025-03-01", points=2, violation="RECORDS-MISSING")
    first = checkpoint(capsys)
    assert (first["chains"], first["rows"], first["heads_moved"]) == (7, 7, 7)
    for code in codes[::2]:
        scoring.score(code, f"{code}-b", "2025-03-02", points=1, violation="RECORDS-MISSING")
    second = checkpoint(capsys)
    assert (second["chains"], second["rows"], second["heads_moved"]) == (7, 11, 4)
    with read_session() as session:
        heads = list(anchor.current_heads(session.connection()))
        assert list(anchor.anchored_heads(session.connection(), 2)) == heads
    assert second["digest"] == anchor.digest_of(heads)
    assert verify(capsys)[0] == 0
    pids = [person_id(engine, c) for c in codes]
    run(engine, "DELETE FROM ledger WHERE practitioner_id = :p AND seq = 2", p=pids[2])
    run(engine, "DELETE FROM ledger WHERE practitioner_id = :p", p=pids[5])
    rederive_standings(capsys)
    code, out, _err = verify(capsys)
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [f"practitioner {pids[2]} row 1", f"practitioner {pids[5]}"]


def test_two_writers_at_once_build_one_on_the_other(scored, capsys):
    """The worker and an operator's 'ledger checkpoint' at the same moment: each takes the lock in
    turn, so the second builds on the first and both verify."""
    from tests.conftest import concurrently

    keys = signing.configured()

    def write():
        with write_session() as session:
            return anchor.write(session, keys)[0].id

    assert sorted(concurrently([write, write, write])) == [2, 3, 4]
    code, out, err = verify(capsys)
    assert (code, out) == (0, "") and "latest checkpoint 4" in err
