"""Command line: ``practitioner-credit <command>`` (or ``python -m app <command>``). Output meant for
scripts goes to stdout alone.

Exit codes, for every command: 0 done; 1 the thing checked does not hold (``ledger verify`` found
tampering, ``worker check`` found no fresh heartbeat, a simulation failed); 2 usage, bad input or
configuration (argparse's own code), or unverifiable; 3 the database is not migrated to this
release's schema (run ``practitioner-credit migrate``), said in one line before anything is done.
"""

from __future__ import annotations

import argparse
import getpass
import importlib.metadata
import json
import os
import shlex
import shutil
import sys
from datetime import date
from pathlib import Path

from fastapi_problem.error import Problem
from sqlmodel import Session

from app import audit, migrate
from app.audit.service import cli_caller
from app.auth import service as clients
from app.calendar.files import CalendarFileError
from app.kit.db import get_engine, write_session
from app.scoring.rulesets import RulesetError
from app.settings import get_settings
from app.shared import regions
from app.workbench import service as users
from app.workbench.rules import new_password

FAILED, USAGE, NOT_MIGRATED = 1, 2, 3


def cmd_migrate(_args) -> int:
    migrate.upgrade(get_settings().database_url)
    return 0


def cmd_setup(args) -> int:
    """Everything ``make run`` needs before serving: schema at head, rulesets, the bundled
    working-day calendar, a first key."""
    from app.calendar import service as calendars
    from app.scoring import catalog

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    with write_session() as session:
        added = catalog.sync_bundled(session)
        if added:
            print(f"rulesets loaded: {', '.join(added)}", file=sys.stderr)
        years, kept = calendars.sync_bundled(session, cli_caller())
        if years:
            print(f"calendar years loaded: {', '.join(map(str, years))}", file=sys.stderr)
        if kept:
            print(f"calendar years kept as an administrator loaded them (the bundled file differs): "
                  f"{', '.join(map(str, kept))}", file=sys.stderr)
        if clients.count_clients(session) == 0 and settings.environment == "development":
            client, key = clients.create_client(
                session, role="bureau", region=settings.dev_bureau_region, name="development bureau"
            )
            print(_first_run_banner(client.region, key, args.port), file=sys.stderr)
        if users.count_users(session) == 0 and settings.environment == "development":
            print(_dev_users_banner(session, settings.dev_bureau_region, args.port), file=sys.stderr)
    return 0


DEV_USERS = (("dev-bureau", "bureau", None), ("dev-health", "partner", "health"))


def _dev_users_banner(session: Session, region: str, port: int) -> str:
    """Create a bureau and a partner user for the workbench; their passwords are shown only now."""
    lines = []
    for name, role, department in DEV_USERS:
        password = new_password()
        users.create_user(session, role=role, region=region, name=name, password=password,
                          department=department, actor=cli_caller())
        lines.append(f"    {name:<12} {password}   ({role}{', ' + department if department else ''}, region {region})")
    accounts = "\n".join(lines)
    return f"""
  Workbench (pages for bureau and partner staff): http://127.0.0.1:{port}/workbench/
  Sign in with one of these development users (passwords shown only now):

{accounts}

  More users: {this_command()} users create --role partner --department health --region 150428 --name 喀喇沁旗卫健委-李
"""


def this_command() -> str:
    """How to run this command line again from the caller's shell, for the hints it prints.

    ``make run`` runs ``.venv/bin/python -m app``: a bare ``python -m app`` would find no installed
    dependencies outside the virtualenv, so the hint names the interpreter that is running, relative
    to the working directory when it lies below it. The console script is named bare only where the
    shell finds that same file on its PATH; likewise ``python``.
    """
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script) == "practitioner-credit":
        return _as_typed(script, "practitioner-credit")
    return f"{_as_typed(sys.executable, 'python')} -m app"


def _as_typed(path: str, name: str) -> str:
    """``name`` if the shell resolves it to ``path`` (links not followed: a virtualenv's python is a
    link to the system's, which lacks the dependencies), else ``path`` relative to the working
    directory when below it, else absolute."""
    path = os.path.abspath(path)
    found = shutil.which(name)
    if found and os.path.abspath(found) == path:
        return name
    relative = os.path.relpath(path)
    if relative.startswith(".."):
        return shlex.quote(path)
    return shlex.quote(relative if os.sep in relative else os.path.join(".", relative))


def _first_run_banner(region: str, key: str, port: int) -> str:
    return f"""
  New database: created a development bureau key for region {region} (shown only now).

    export KEY={key}
    curl -s -X PUT http://127.0.0.1:{port}/v1/practitioners/D150428000123 \\
      -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
      -d '{{"name":"王某某","id_number":"150428198001010014","category":"physician","region":"150428",
           "institutions":[{{"code":"H15042800001","name":"喀喇沁旗医院"}}],"registered_on":"2024-01-01"}}'
    curl -s http://127.0.0.1:{port}/v1/practitioners/D150428000123 -H "Authorization: Bearer $KEY"

  More keys: {this_command()} clients create --role bureau --region 150428 --name "county bureau"
"""


def cmd_clients_create(args) -> int:
    with Session(get_engine()) as session:
        _client, key = clients.create_client(
            session, role=args.role, region=args.region, name=args.name, department=args.department,
            actor=cli_caller(),
        )
    print(key)
    return 0


def cmd_clients_revoke(args) -> int:
    with Session(get_engine()) as session:
        client = clients.revoke_client(session, args.id, actor=cli_caller())
        print(f"revoked client {client.id} ({client.name}) at {client.revoked_at.isoformat()}", file=sys.stderr)
    return 0


def cmd_clients_list(_args) -> int:
    with Session(get_engine()) as session:
        for c in clients.list_clients(session):
            row = {
                "id": c.id, "name": c.name, "role": c.role, "region": c.region, "department": c.department,
                "key_prefix": c.key_prefix, "created_at": c.created_at.isoformat(),
                "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
            }
            print(json.dumps(row, ensure_ascii=False))
    return 0


def _password_for_new_user(generate: bool) -> tuple[str, bool]:
    """(password, generated): typed twice at a terminal, one line on a pipe; empty generates one."""
    if generate:
        return new_password(), True
    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass("Password (at least 12 characters; empty: generate one): ")
        if first and getpass.getpass("The same password again: ") != first:
            raise SystemExit("error: the two passwords differ; nothing was created")
    else:
        first = sys.stdin.readline().rstrip("\r\n") if sys.stdin is not None else ""
    return (first, False) if first else (new_password(), True)


def cmd_users_create(args) -> int:
    password, generated = _password_for_new_user(args.generate_password)
    with write_session() as session:
        user = users.create_user(session, role=args.role, region=args.region, name=args.name, password=password,
                                 department=args.department, actor=cli_caller())
    print(f"created workbench user {user.id} ({user.name}); sign in at /workbench/", file=sys.stderr)
    if generated:
        print(password)  # shown once, alone on stdout
    return 0


def cmd_users_list(_args) -> int:
    with Session(get_engine()) as session:
        for u in users.list_users(session):
            print(json.dumps({"id": u.id, "name": u.name, "role": u.role, "region": u.region,
                              "department": u.department, "created_at": u.created_at.isoformat(),
                              "disabled_at": u.disabled_at.isoformat() if u.disabled_at else None},
                             ensure_ascii=False))
    return 0


def cmd_users_disable(args) -> int:
    with write_session() as session:
        user = users.disable_user(session, args.id, actor=cli_caller())
    print(f"disabled workbench user {user.id} ({user.name}); their sessions have ended", file=sys.stderr)
    return 0


def cmd_users_set_password(args) -> int:
    password, generated = _password_for_new_user(args.generate_password)
    with write_session() as session:
        user = users.set_password(session, args.id, password, actor=cli_caller())
    print(f"new password for workbench user {user.id} ({user.name}); their sessions have ended", file=sys.stderr)
    if generated:
        print(password)
    return 0


def cmd_worker_check(args) -> int:
    """The worker's health check (docker-compose.yml): 0 when it beat within --max-age seconds."""
    from app import worker

    path = get_settings().worker_heartbeat_file
    age = worker.heartbeat_age(path)
    if age is None:
        print(f"unhealthy: no worker heartbeat in {path}", file=sys.stderr)
        return FAILED
    if age > args.max_age:
        print(f"unhealthy: the worker's last heartbeat was {age:.0f} s ago (more than {args.max_age:g})", file=sys.stderr)
        return FAILED
    print(f"ok: the worker beat {age:.0f} s ago", file=sys.stderr)
    return 0


def cmd_worker(_args) -> int:
    from app import worker
    from app.kit import observability

    # The same JSON lines as the API, through the same masking of keys and ID numbers.
    observability.configure_logging(get_settings().log_level)
    return worker.main()


# ``ledger verify`` and ``ledger checkpoint`` exit codes (docs/ledger.md): 0 all holds;
# 1 tampering found (a broken link, a chain departing from the latest checkpoint, a bad checkpoint,
# a stored standing that differs from the ledger); 2 usage or configuration, or unverifiable
# (no key to check signatures with, or none to sign with), as every other command's errors.
OK, TAMPERED, UNVERIFIABLE = 0, 1, 2


def cmd_ledger_verify(args) -> int:
    from app.scoring import integrity, signing

    try:
        report, repaired = integrity.run(repair=args.repair_standings)
    except signing.KeyProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return UNVERIFIABLE
    for line in integrity.lines(report, repaired=bool(repaired)):
        print(line)
    for line in integrity.summary(report, repaired):
        print(line, file=sys.stderr)
    return TAMPERED if report.tampered else UNVERIFIABLE if report.unverifiable else OK


def cmd_ledger_checkpoint(_args) -> int:
    from app.scoring import anchor, signing

    try:
        keys = signing.configured()
    except signing.KeyProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return UNVERIFIABLE
    if keys.private is None:
        print("error: no ledger signing key (APP_LEDGER_SIGNING_KEY or APP_LEDGER_SIGNING_KEY_FILE): no checkpoint "
              "written; create one with: python -m app ledger keygen", file=sys.stderr)
        return UNVERIFIABLE
    with write_session() as session:
        try:
            checkpoint, moved = anchor.write(session, keys)
        except anchor.NotExtended as exc:
            for finding in exc.findings:
                where = (f"practitioner {finding.practitioner_id}" if finding.practitioner_id is not None else "checkpoints") + (
                    f" row {finding.seq}" if finding.seq is not None else "")
                print(f"{where}: {finding.problem}")
            print(f"refused: the ledger does not extend checkpoint {exc.checkpoint_id}; no checkpoint written "
                  "(python -m app ledger verify says more)", file=sys.stderr)
            return TAMPERED
    print(json.dumps({"id": checkpoint.id, "created_at": checkpoint.created_at.isoformat(), "digest": checkpoint.digest,
                      "chains": checkpoint.chains, "rows": checkpoint.rows, "heads_moved": moved,
                      "key_id": checkpoint.key_id}))
    return OK


def cmd_ledger_keygen(_args) -> int:
    """A new signing key: the private key is printed once, here, and stored nowhere by the service."""
    from app.scoring import signing

    private = signing.new_key()
    public = private.public_key()
    print(f"APP_LEDGER_SIGNING_KEY={signing.private_text(private)}")
    print(f"APP_LEDGER_PUBLIC_KEYS='[\"{signing.public_text(public)}\"]'")
    print(f"key id {signing.key_id(public)}. Give APP_LEDGER_SIGNING_KEY to the worker (and whoever runs "
          "'ledger checkpoint') from a secret store, never the database; it is not shown again. Give the public "
          "key to verifiers, and after a rotation keep the old public key in APP_LEDGER_PUBLIC_KEYS so the "
          "checkpoints it signed still verify.", file=sys.stderr)
    return OK


def cmd_close_windows(args) -> int:
    from app.dueprocess import service as dueprocess

    total = 0
    while handled := dueprocess.close_windows(args.today):
        total += handled
    print(f"{total} proposals confirmed after their defence window closed", file=sys.stderr)
    return 0


def cmd_recompute(_args) -> int:
    from app.scoring import service as scoring

    seen, moved = scoring.recompute_all()
    print(f"{seen} practitioners recomputed; {moved} changed (each announced as a write would)", file=sys.stderr)
    return 0


def cmd_notices_publish(args) -> int:
    from app.notices import service as notices

    with write_session() as session:
        notice = notices.publish(session, None, region=args.region, year=args.year, as_of=args.as_of,
                                 contact=args.contact, issued_by=args.issued_by)
    print(json.dumps({"id": notice.id, "revision": notice.revision, "rows": notice.row_count,
                      "sha256": notice.sha256, "page": f"/notices/{notice.id}"}, ensure_ascii=False))
    return 0


def cmd_secrets_rekey(args) -> int:
    """After a master-secret rotation: rewrite stored ID numbers and webhook secrets under the
    current master, in batches, each its own transaction (safe to stop and run again)."""
    from app.practitioners import service as practitioners
    from app.webhooks import service as webhooks

    read = rewritten = 0
    after: int | None = 0
    while after is not None:
        with write_session() as session:
            n, changed, after = practitioners.rekey_id_numbers(session, after_id=after, batch=args.batch)
        read, rewritten = read + n, rewritten + changed
    with write_session() as session:
        secrets = webhooks.reseal_secrets(session)
        audit.record(session, cli_caller(), "secrets.rekey", "service", "secrets", regions.NATIONAL,
                     {"id_numbers_read": read, "id_numbers_rewritten": rewritten, "webhook_secrets_rewritten": secrets})
        session.commit()
    print(json.dumps({"id_numbers_read": read, "id_numbers_rewritten": rewritten,
                      "webhook_secrets_rewritten": secrets}))
    return 0


def cmd_rulesets_simulate(args) -> int:
    """Replay a region's year under a draft ruleset, here and now; the summary on stdout."""
    from pydantic import ValidationError

    from app.scoring.rulesets import parse_ruleset
    from app.simulations import service as simulations
    from app.simulations.schemas import SimulationIn

    path = Path(args.draft)
    text = path.read_text(encoding="utf-8")
    parse_ruleset(text, source=path.name)  # a bad draft stops here, naming the file and the field
    try:
        body = SimulationIn(draft=text, region=args.region, year=args.year)
    except ValidationError as exc:
        for err in exc.errors():
            print(f"error: {'.'.join(map(str, err['loc']))}: {err['msg']}", file=sys.stderr)
        return 2
    simulation = simulations.run_now(cli_caller(), body)
    print(simulations.describe(simulation).model_dump_json(indent=2))
    if simulation.state != "done":
        return 1
    if args.csv:
        # The operator at the server's console reads codes in full, as the bureau does.
        with open(args.csv, "w", encoding="utf-8", newline="") as out:
            for chunk in simulations.csv_chunks(simulation, reveal=True):
                out.write(chunk)
        print(f"{simulation.people} practitioners written to {args.csv}", file=sys.stderr)
    return 0


def cmd_calendar_load(args) -> int:
    """A year's official days from a file, as a first version or a correction."""
    from app.calendar import files
    from app.calendar import service as calendars

    try:
        data = files.read(args.file)  # a bad file stops here, naming each field
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    with write_session() as session:
        loaded = calendars.load(session, cli_caller(), data, calendars.CLI)
        out = calendars.load_out(session, loaded)
    print(out.model_dump_json(exclude={"days"}))
    what = ("unchanged: the same days were already in force" if not out.changed
            else f"loaded {data.year} (revision {out.revision}); deadlines recomputed: "
                 f"{out.recomputed.proposals} proposals, {out.recomputed.appeals} appeals")
    print(what, file=sys.stderr)
    if out.recomputed.confirmed_before_deadline:
        print("confirmed by themselves before the deadline this version gives them (review): proposals "
              + ", ".join(map(str, out.recomputed.confirmed_before_deadline)), file=sys.stderr)
    return 0


def cmd_calendar_list(_args) -> int:
    from app.calendar import service as calendars

    with Session(get_engine()) as session:
        listed = calendars.years(session)
    for y in listed.items:
        print(y.model_dump_json(exclude={"days"}))
    through = listed.covered_through
    print(f"covered through {through}" if through else f"{listed.today.year} is not covered: deadlines are "
          "provisional (weekends only)", file=sys.stderr)
    return 0


def _page_size(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 10000")
    return int(value)


def cmd_mirror(args) -> int:
    """Keep a local replica of every standing (app/scoring/mirror.py): snapshot when empty, then the
    feed. Needs no database of the service's: it reads the service over HTTP with a checker key."""
    import httpx

    from app.scoring import mirror

    try:
        replica = mirror.Replica(args.into)
    except (ValueError, OSError) as exc:
        print(f"error: --into: {exc}", file=sys.stderr)
        return USAGE
    source = mirror.Source(args.source, args.key)
    try:
        if args.once:
            before = replica.cursor
            applied = mirror.catch_up(replica, source, args.limit)
            print(f"{'loaded a snapshot, then ' if before is None else ''}applied {applied} changes; "
                  f"{replica.people()} practitioners; cursor {replica.cursor}", file=sys.stderr)
            print(replica.cursor)
            return 0
        mirror.follow(replica, source, interval=args.interval, limit=args.limit,
                      log=lambda line: print(line, file=sys.stderr, flush=True))
        return 0
    except mirror.MirrorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        # A refused key or request is the caller's to mend; anything else is the source failing.
        return USAGE if exc.status is not None and exc.status < 500 else FAILED
    except httpx.TransportError as exc:
        print(f"error: cannot reach {args.source}: {exc}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return 0
    finally:
        replica.close()


def cmd_referrals_emit_overdue(args) -> int:
    from app.referrals import jobs

    print(jobs.emit_overdue(args.today))
    return 0


def _version() -> str:
    try:
        return importlib.metadata.version("practitioner-credit")
    except importlib.metadata.PackageNotFoundError:  # a bare checkout on PYTHONPATH, never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="practitioner-credit",
        description="The practitioner-credit service's commands (also: python -m app).",
        epilog="Exit codes: 0 done; 1 a check does not hold (ledger verify, worker check); 2 usage, bad input or "
               "configuration; 3 the database is not migrated (run: practitioner-credit migrate).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply database migrations up to head").set_defaults(func=cmd_migrate)
    setup = sub.add_parser("setup", help="migrate, load rulesets and the bundled calendar years, create a "
                           "development key on a new database")
    setup.add_argument("--port", type=int, default=8000, help="port shown in the curl example")
    setup.set_defaults(func=cmd_setup)

    wk = sub.add_parser("worker", help="run the background jobs until SIGTERM; `worker check`: is it alive")
    wk.set_defaults(func=cmd_worker)
    wcheck = wk.add_subparsers(dest="worker_command").add_parser(
        "check", help="exit 0 when the worker on this host wrote its heartbeat (APP_WORKER_HEARTBEAT_FILE) "
        "within --max-age seconds, else 1 (the container health check)")
    wcheck.add_argument("--max-age", type=float, default=300.0,
                        help="seconds a heartbeat stays fresh (default 300: a round may run a long simulation)")
    wcheck.set_defaults(func=cmd_worker_check)

    lg = sub.add_parser("ledger", help="the scoring ledger").add_subparsers(dest="ledger_command", required=True)
    verify = lg.add_parser("verify", help="check every hash chain, every chain head against the latest signed "
                           "checkpoint, every checkpoint's signature and every stored standing against the ledger; "
                           "exit 0 all holds, 1 tampering found, 2 unverifiable (no key configured)")
    verify.add_argument("--repair-standings", action="store_true",
                        help="rewrite each stored standing that differs from the ledger (audited)")
    verify.set_defaults(func=cmd_ledger_verify)
    lg.add_parser("checkpoint", help="sign and store every chain head now (needs APP_LEDGER_SIGNING_KEY); exit 1 "
                  "when the ledger does not extend the latest checkpoint, 2 without a key").set_defaults(
        func=cmd_ledger_checkpoint)
    lg.add_parser("keygen", help="print a new checkpoint signing key (once) and its public key").set_defaults(
        func=cmd_ledger_keygen)

    sc = sub.add_parser("scoring", help="scoring jobs").add_subparsers(dest="scoring_command", required=True)
    cw = sc.add_parser("close-windows", help="confirm proposals whose defence window closed without a defence "
                       "(where the ruleset says so)")
    cw.add_argument("--today", type=date.fromisoformat, default=None, help="the day to close windows as of")
    cw.set_defaults(func=cmd_close_windows)
    sc.add_parser("recompute", help="derive every practitioner's standing again under the current rules and "
                  "announce every sanction created, changed or lifted (after an upgrade that changes the rules)"
                  ).set_defaults(func=cmd_recompute)

    nt = sub.add_parser("notices", help="public notices").add_subparsers(dest="notices_command", required=True)
    pub = nt.add_parser("publish", help="freeze the year's notice for a region (a new revision if one exists)")
    pub.add_argument("--year", type=int, required=True, help="the scoring year the notice covers, e.g. 2025")
    pub.add_argument("--region", required=True, help="GB/T 2260 code; the notice covers the regions below it")
    pub.add_argument("--as-of", type=date.fromisoformat, default=None,
                     help="tally the year as of this date (YYYY-MM-DD); default: the year's end, or today if earlier")
    pub.add_argument("--contact", default=None, help="the contact line printed on the notice (telephone, address)")
    pub.add_argument("--issued-by", default=None, help="default: the region's name + 医疗保障局")
    pub.set_defaults(func=cmd_notices_publish)
    rs = sub.add_parser("rulesets", help="scoring rulesets").add_subparsers(dest="rulesets_command", required=True)
    sim = rs.add_parser("simulate", help="what a draft ruleset would do to a region's year (模拟测算); "
                        "stored like an API simulation, nothing written to the ledger")
    sim.add_argument("--draft", required=True, help="the draft ruleset file (TOML, the format of the bundled ones)")
    sim.add_argument("--region", required=True, help="GB/T 2260 code; the regions below it are included")
    sim.add_argument("--year", type=int, required=True, help="the scoring year to replay, e.g. 2025")
    sim.add_argument("--csv", help="also write the per-practitioner table here (UTF-8 with BOM)")
    sim.set_defaults(func=cmd_rulesets_simulate)

    mr = sub.add_parser("mirror", help="keep a local replica of every standing, from the service's snapshot and "
                        "standing feed, to check claims without a network call (needs a checker key)")
    mr.add_argument("--from", dest="source", required=True, metavar="URL", help="the service's base URL")
    mr.add_argument("--key", required=True, help="an API key of role checker")
    mr.add_argument("--into", required=True, metavar="sqlite:///PATH", help="the replica's SQLite file")
    mr.add_argument("--once", action="store_true", help="catch up, print the cursor reached, and exit (cron, tests)")
    mr.add_argument("--interval", type=float, default=2.0, help="seconds between rounds once caught up (default 2)")
    mr.add_argument("--limit", type=_page_size, default=5_000, metavar="N",
                    help="changes per page, 1..10000 (default 5000)")
    mr.set_defaults(func=cmd_mirror)

    rf = sub.add_parser("referrals", help="referrals to and from partner departments").add_subparsers(
        dest="referrals_command", required=True)
    overdue = rf.add_parser("emit-overdue", help="emit referral.overdue once per newly missed deadline; prints how many")
    overdue.add_argument("--today", type=date.fromisoformat, help="judge deadlines on this date (YYYY-MM-DD); default today")
    overdue.set_defaults(func=cmd_referrals_emit_overdue)

    cal = sub.add_parser(
        "calendar", help="the working-day calendar: official holidays and adjusted working days by year",
        description="Deadlines are counted in Chinese working days. A year without official days loaded is "
                    "counted with weekends only and its deadlines are provisional; loading the year recomputes "
                    "the stored ones, never to an earlier day.").add_subparsers(dest="calendar_command", required=True)
    cload = cal.add_parser("load", help="load a year's file (YEAR.toml, the format of app/calendar/years/), or "
                           "replace a loaded year with a corrected one; prints the result as JSON")
    cload.add_argument("file", type=Path, help="e.g. 2027.toml: year, optional notice, and days = [{date, kind "
                       "(holiday|workday), name}]")
    cload.set_defaults(func=cmd_calendar_load)
    cal.add_parser("list", help="the covered years as JSON lines (source, revision, who loaded them)").set_defaults(
        func=cmd_calendar_list)

    sk = sub.add_parser("secrets", help="the master secret").add_subparsers(dest="secrets_command", required=True)
    rekey = sk.add_parser("rekey", help="after a rotation, rewrite stored ID numbers and webhook secrets under "
                          "APP_ID_ENCRYPTION_KEY (the old one stays in APP_ID_ENCRYPTION_PREVIOUS_KEYS until then)")
    rekey.add_argument("--batch", type=int, default=500,
                       help="rows rewritten per transaction (default 500); each batch commits on its own")
    rekey.set_defaults(func=cmd_secrets_rekey)

    us = sub.add_parser("users", help="manage workbench users (people who sign in to /workbench/)").add_subparsers(
        dest="users_command", required=True)
    ucreate = us.add_parser("create", help="create a user; asks for a password or generates one (printed once)")
    ucreate.add_argument("--role", required=True, choices=["bureau", "partner"],
                         help="bureau: medical-insurance bureau staff; partner: a partner department's staff")
    ucreate.add_argument("--region", required=True, help="GB/T 2260 code of the user's region, e.g. 150428")
    ucreate.add_argument("--department", help="partners: the department (health, market_regulation, ...)")
    ucreate.add_argument("--name", required=True, help="the user name to sign in with, e.g. 喀喇沁旗卫健委-李")
    ucreate.add_argument("--generate-password", action="store_true", help="do not ask: generate and print one")
    ucreate.set_defaults(func=cmd_users_create)
    us.add_parser("list", help="list users as JSON lines").set_defaults(func=cmd_users_list)
    udisable = us.add_parser("disable", help="stop a user signing in; ends their sessions")
    udisable.add_argument("id", type=int, help="the user's id (users list)")
    udisable.set_defaults(func=cmd_users_disable)
    upass = us.add_parser("set-password", help="a new password (asked for or generated); ends sessions, lifts a lock")
    upass.add_argument("id", type=int, help="the user's id (users list)")
    upass.add_argument("--generate-password", action="store_true", help="do not ask: generate and print one")
    upass.set_defaults(func=cmd_users_set_password)

    cl = sub.add_parser("clients", help="manage API clients").add_subparsers(dest="clients_command", required=True)
    create = cl.add_parser("create", help="create a client and print its key alone on stdout")
    create.add_argument("--role", required=True, choices=["bureau", "partner", "checker", "admin"],
                        help="bureau: the bureau's work in its region; partner: a department's referrals (needs "
                        "--department); checker: reads standings only (settlement systems); admin: rulesets, the "
                        "calendar, the whole audit trail, no personal data (docs/api/index.md, Roles and regions)")
    create.add_argument("--region", required=True, help="GB/T 2260 code the client acts for, e.g. 150428")
    create.add_argument("--department", help="partners: the department (health, market_regulation, ...)")
    create.add_argument("--name", required=True, help="a name to recognise the client by, e.g. the calling system")
    create.set_defaults(func=cmd_clients_create)
    revoke = cl.add_parser("revoke", help="revoke a client's key")
    revoke.add_argument("id", type=int, help="the client's id (clients list)")
    revoke.set_defaults(func=cmd_clients_revoke)
    cl.add_parser("list", help="list clients as JSON lines").set_defaults(func=cmd_clients_list)
    return parser


# Commands that run on a database not migrated yet (or need none).
NO_SCHEMA_NEEDED = {cmd_migrate, cmd_setup, cmd_ledger_keygen, cmd_worker_check, cmd_mirror}


def schema_problem() -> str | None:
    """Why the database cannot serve this release's commands, in one line; None when it can."""
    current = migrate.current_revisions(get_engine())
    heads = migrate.head_revisions()
    if current == heads:
        return None
    if not current:
        return "the database is not migrated: run `practitioner-credit migrate` (or `setup`) first"
    return (f"the database schema is at revision {', '.join(sorted(current))}, this release expects "
            f"{', '.join(sorted(heads))}: run `practitioner-credit migrate` (with this release) first")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.func not in NO_SCHEMA_NEEDED:
        from sqlalchemy.exc import OperationalError

        try:
            problem = schema_problem()
        except OperationalError as exc:
            print(f"error: cannot reach the database: {str(exc.orig).strip().splitlines()[0]}", file=sys.stderr)
            return USAGE
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return NOT_MIGRATED
    try:
        return args.func(args)
    except RulesetError as exc:
        print(f"error: invalid ruleset\n{exc}", file=sys.stderr)
        return 2
    except CalendarFileError as exc:
        print(f"error: invalid calendar year\n{exc}", file=sys.stderr)
        return 2
    except Problem as exc:
        errors = exc.extras.get("errors") or []
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or exc.detail or exc.title
        print(f"error: {detail}", file=sys.stderr)
        return 2
