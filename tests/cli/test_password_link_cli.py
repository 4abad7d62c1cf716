"""`secteur user password-link`: how an operator gives a password to a user made by the CLI or
the API (the same one-time link as the Users settings page)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from secteur.services import sessions
from secteur.services.app import Secteur
from tests.cli.test_cli import ADMIN, PASSWORD, Run, make_runner
from tests.support.orgs import settings_for

REP = "rep@acme.test"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Run:
    run = make_runner(tmp_path, database_url)
    run("init", "--org", "Acme", "--admin-email", ADMIN, "--admin-password", PASSWORD)
    json.loads(run("user", "create", "--email", REP, "--last-name", "Rep").stdout)
    return run


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def test_password_link_prints_only_a_one_time_link_that_sets_the_users_password(
    cli: Run, database_url: str
) -> None:
    result = cli("user", "password-link", REP.upper(), "--base-url", "https://crm.acme.test/")
    link = result.stdout.strip()
    assert result.stdout.count("\n") == 1
    assert link.startswith("https://crm.acme.test/set-password?token=")
    assert "72 hours" in result.stderr

    app = Secteur(settings_for(database_url))
    try:
        with app.write() as tx:
            session = sessions.use_password_link(tx, token_of(link), "a-new-password-1")
            rep_id = session.session.user_id
            assert tx.state.directory.users[rep_id].email == REP
        with app.write() as tx:
            assert sessions.sign_in(tx, REP, "a-new-password-1", "test").session.user_id == rep_id
            assert sessions.password_link_user(tx, token_of(link)) is None
    finally:
        app.dispose()


def test_a_new_password_link_replaces_the_previous_one(cli: Run, database_url: str) -> None:
    first = cli("user", "password-link", REP).stdout.strip()
    second = cli("user", "password-link", REP).stdout.strip()
    assert first.startswith("http://127.0.0.1:8000/set-password?token=")
    app = Secteur(settings_for(database_url))
    try:
        with app.read() as tx:
            assert sessions.password_link_user(tx, token_of(first)) is None
            assert sessions.password_link_user(tx, token_of(second)) is not None
    finally:
        app.dispose()


def test_password_link_for_an_unknown_email_fails_with_one_line(cli: Run) -> None:
    result = cli("user", "password-link", "nobody@acme.test", check=False)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "nobody@acme.test" in result.stderr
