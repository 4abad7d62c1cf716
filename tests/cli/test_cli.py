"""The `secteur` command as operators and scripts use it (core.md, CLI output contracts)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ADMIN = "ops@acme.test"
PASSWORD = "a-long-enough-password"
Run = Callable[..., subprocess.CompletedProcess[str]]


def secteur_command() -> list[str]:
    script = Path(sys.executable).with_name("secteur")
    return [str(script)] if script.exists() else [sys.executable, "-m", "secteur.cli"]


def make_runner(tmp_path: Path, database_url: str) -> Run:
    env = {
        **os.environ,
        "SECTEUR_DATA_DIR": str(tmp_path / "data"),
        "SECTEUR_DATABASE_URL": database_url,
        "SECTEUR_SECRET_KEY": "cli-test-secret-0123456789-abcdefghijklmnop",
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*secteur_command(), *args], env=env, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"secteur {' '.join(args)} failed: {result.stderr}")
        return result

    return run


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """The command on SQLite (each call is a process start: the PostgreSQL leg is below)."""
    return make_runner(tmp_path, f"sqlite:///{tmp_path / 'cli.db'}")


@pytest.fixture
def pg_run(tmp_path: Path, pg_admin_url: str) -> Iterator[Run]:
    from tests.support import postgres

    url = postgres.create_database(pg_admin_url)
    yield make_runner(tmp_path, url)
    postgres.drop_database(pg_admin_url, url)


@pytest.fixture
def initialised(run: Run) -> Run:
    run("init", "--org", "Acme", "--admin-email", ADMIN, "--admin-password", PASSWORD)
    return run


def test_init_creates_an_org_and_refuses_to_run_twice(run: Run) -> None:
    first = run("init", "--org", "Acme", "--admin-email", ADMIN, "--admin-password", PASSWORD)
    assert first.stdout == ""
    again = run(
        "init", "--org", "Acme", "--admin-email", ADMIN, "--admin-password", PASSWORD, check=False
    )
    assert again.returncode != 0
    assert again.stderr.strip().count("\n") == 0 and "already" in again.stderr


def test_auth_token_prints_the_bare_access_token_and_nothing_else(initialised: Run) -> None:
    result = initialised("auth", "token", "--user", ADMIN, "--scope", "ZohoCRM.modules.ALL")
    token = result.stdout
    assert token.endswith("\n") and token.count("\n") == 1
    assert token.strip().startswith("1000.") and " " not in token.strip()


def test_auth_client_create_and_grant_print_json(initialised: Run) -> None:
    client = json.loads(initialised("auth", "client", "create", "--name", "Integration").stdout)
    assert client["client_id"].startswith("1000.") and len(client["client_secret"]) >= 32
    grant = json.loads(
        initialised(
            "auth",
            "grant",
            "--client",
            client["client_id"],
            "--user",
            ADMIN,
            "--scope",
            "ZohoCRM.modules.ALL",
        ).stdout
    )
    assert grant["code"].startswith("1000.") and grant["expires_in"] > 0


def test_failures_exit_non_zero_with_one_line_on_stderr(initialised: Run) -> None:
    cases = [
        ("auth", "token", "--user", "nobody@acme.test"),
        ("auth", "grant", "--client", "1000.UNKNOWN", "--user", ADMIN),
        ("auth", "token", "--user", ADMIN, "--scope", "NotAScope"),
        ("export", "Unicorns"),
    ]
    for args in cases:
        result = initialised(*args, check=False)
        assert result.returncode != 0, args
        assert result.stdout == "", args
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)


def test_commands_that_need_an_org_say_so_on_an_empty_database(run: Run) -> None:
    result = run("auth", "token", "--user", ADMIN, check=False)
    assert result.returncode != 0 and "secteur init" in result.stderr


def test_user_create_makes_an_active_user_who_can_get_a_token(initialised: Run) -> None:
    created = json.loads(
        initialised("user", "create", "--email", "rep@acme.test", "--last-name", "Rep").stdout
    )
    assert created["email"] == "rep@acme.test" and created["id"].isdigit()
    token = initialised("auth", "token", "--user", "rep@acme.test").stdout.strip()
    assert token.startswith("1000.")


def test_db_upgrade_is_idempotent(initialised: Run) -> None:
    assert initialised("db", "upgrade").returncode == 0
    assert initialised("db", "upgrade").returncode == 0


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_import_then_export_round_trips_the_records(initialised: Run, tmp_path: Path) -> None:
    source = tmp_path / "accounts.csv"
    _write_csv(
        source,
        [
            {
                "Account_Name": "Zürich Rück AG",
                "Billing_Country": "Switzerland",
                "Industry": "insurance",
                "Annual_Revenue": "1500000.5",
                "Employees": "120",
            },
            {
                "Account_Name": 'Quote "and, comma"',
                "Billing_Country": "France",
                "Industry": "",
                "Annual_Revenue": "",
                "Employees": "7",
            },
        ],
    )
    result = initialised("import", "Accounts", str(source))
    assert "Imported 2" in result.stderr
    exported = initialised("export", "Accounts").stdout
    rows = list(csv.DictReader(exported.splitlines()))
    by_name = {r["Account_Name"]: r for r in rows}
    assert set(by_name) == {"Zürich Rück AG", 'Quote "and, comma"'}
    assert by_name["Zürich Rück AG"]["Industry"] == "Insurance"
    assert float(by_name["Zürich Rück AG"]["Annual_Revenue"]) == 1500000.5
    assert by_name['Quote "and, comma"']["Employees"] == "7"
    assert by_name["Zürich Rück AG"]["Owner"] == ADMIN


def test_a_bad_row_imports_nothing_and_reports_each_bad_row(
    initialised: Run, tmp_path: Path
) -> None:
    source = tmp_path / "accounts.csv"
    _write_csv(
        source,
        [
            {"Account_Name": "Good One", "Industry": "Software", "Employees": "3"},
            {"Account_Name": "", "Industry": "Software", "Employees": "3"},
            {"Account_Name": "Bad Industry", "Industry": "Alchemy", "Employees": "3"},
            {"Account_Name": "Bad Number", "Industry": "Software", "Employees": "three"},
        ],
    )
    result = initialised("import", "Accounts", str(source), check=False)
    assert result.returncode != 0
    assert "row 3: Account_Name" in result.stderr
    assert "row 4: Industry" in result.stderr
    assert "row 5: Employees" in result.stderr
    assert "nothing was imported" in result.stderr
    exported = initialised("export", "Accounts").stdout
    assert len(exported.strip().splitlines()) == 1  # the header only


def test_partial_import_keeps_the_good_rows(initialised: Run, tmp_path: Path) -> None:
    source = tmp_path / "accounts.csv"
    _write_csv(
        source,
        [{"Account_Name": "Good One", "Employees": "3"}, {"Account_Name": "Bad", "Employees": "x"}],
    )
    result = initialised("import", "Accounts", str(source), "--partial", check=False)
    assert result.returncode != 0
    assert "Imported 1 record(s); 1 rejected" in result.stderr
    exported = list(csv.DictReader(initialised("export", "Accounts").stdout.splitlines()))
    assert [r["Account_Name"] for r in exported] == ["Good One"]


def test_import_refuses_unknown_columns(initialised: Run, tmp_path: Path) -> None:
    source = tmp_path / "accounts.csv"
    _write_csv(source, [{"Account_Name": "A", "Colour": "blue"}])
    result = initialised("import", "Accounts", str(source), check=False)
    assert result.returncode != 0 and "Colour" in result.stderr


def test_serve_refuses_a_missing_or_known_secret(initialised: Run, tmp_path: Path) -> None:
    env_run = subprocess.run(
        [*secteur_command(), "serve", "--port", "1"],
        env={
            **os.environ,
            "SECTEUR_DATA_DIR": str(tmp_path / "data"),
            "SECTEUR_SECRET_KEY": "changeme",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert env_run.returncode != 0
    assert "SECTEUR_SECRET_KEY" in env_run.stderr


def test_on_postgresql_init_import_and_export_work_alike(pg_run: Run, tmp_path: Path) -> None:
    pg_run("init", "--org", "Acme", "--admin-email", ADMIN, "--admin-password", PASSWORD)
    source = tmp_path / "contacts.csv"
    _write_csv(
        source,
        [
            {"Last_Name": "Ünal", "Email": "u@x.test", "Lead_Source": "chat"},
            {"Last_Name": "Smith", "Email": "", "Lead_Source": ""},
        ],
    )
    assert "Imported 2" in pg_run("import", "Contacts", str(source)).stderr
    rows = list(csv.DictReader(pg_run("export", "Contacts").stdout.splitlines()))
    assert sorted(r["Last_Name"] for r in rows) == ["Smith", "Ünal"]
    assert {r["Lead_Source"] for r in rows} == {"Chat", ""}
    token = pg_run("auth", "token", "--user", ADMIN).stdout.strip()
    assert token.startswith("1000.")
