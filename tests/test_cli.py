import json
import subprocess
import sys

from app.auth import service as clients
from app.cli import main
from app.kit.db import write_session


def test_clients_create_prints_the_key_alone(api, capsys):
    assert main(["clients", "create", "--role", "partner", "--region", "150428",
                 "--department", "health", "--name", "喀喇沁旗卫健委"]) == 0
    out = capsys.readouterr().out
    key = out.strip()
    assert out == key + "\n" and key.startswith("pck_")
    # the printed key works against the API (a partner may read rulesets but not practitioners)
    assert api.get("/v1/practitioners", headers={"Authorization": f"Bearer {key}"}).status_code == 403


def test_clients_list_and_revoke(capsys):
    main(["clients", "create", "--role", "checker", "--region", "150400", "--name", "settlement"])
    capsys.readouterr()
    assert main(["clients", "list"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["role"], r["region"], r["revoked_at"]) for r in rows] == [("checker", "150400", None)]
    assert main(["clients", "revoke", str(rows[0]["id"])]) == 0
    with write_session() as session:
        assert clients.list_clients(session)[0].revoked_at is not None


def test_bad_client_is_a_clear_error(capsys):
    assert main(["clients", "create", "--role", "partner", "--region", "150428", "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert "department" in err and "Traceback" not in err
    assert main(["clients", "revoke", "424242"]) == 2


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "clients" in done.stdout
