"""`secteur territories …` on the demo org: the demo's tree, run rules with progress, and an
explanation a person can read (TER-24, TER-27)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.config import Settings
from secteur.demo import prepare_demo
from secteur.services.app import Secteur
from tests.cli.test_cli import secteur_command

SECRET = "cli-test-secret-0123456789-abcdefghijklmnop"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    data = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{data / 'demo.db'}"
    prepare_demo(Settings(database_url=url, secret_key=SECRET, data_dir=data))
    return url


def secteur(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SECTEUR_DATABASE_URL": url, "SECTEUR_SECRET_KEY": SECRET}
    return subprocess.run(
        [*secteur_command(), *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_the_demo_has_a_tree_of_a_few_hundred_territories_with_managers_and_members(
    demo_url: str,
) -> None:
    app = Secteur(Settings(database_url=demo_url, secret_key=SECRET))
    try:
        with app.read() as tx:
            tree = tx.state.territory.tree
            assert tx.state.territory.settings.enabled and tree is not None
            assert 200 <= len(tree) <= 1000
            assert max(tree.depth.values()) >= 4
            assert sum(1 for x in tree.by_id.values() if x.manager_id is not None) >= 6
            members = tx.conn.execute(sa.select(sa.func.count()).select_from(t.territory_members))
            assert members.scalar_one() >= 10
            accounts = tx.conn.execute(
                sa.select(sa.func.count())
                .select_from(t.record_territories)
                .where(t.record_territories.c.module == "Accounts")
            ).scalar_one()
            assert accounts >= 1000
    finally:
        app.dispose()


def test_TER_27_explain_prints_the_walk_with_the_values_seen(demo_url: str) -> None:
    app = Secteur(Settings(database_url=demo_url, secret_key=SECRET))
    try:
        with app.read() as tx:
            rt = tx.state.tables["Accounts"]
            account_id = tx.conn.execute(sa.select(rt.table.c.id).limit(1)).scalar_one()
    finally:
        app.dispose()
    text = secteur(demo_url, "territories", "explain", "Accounts", str(account_id))
    assert text.returncode == 0, text.stderr
    assert "Assigned by rules:" in text.stdout
    assert "→ ASSIGNED" in text.stdout
    assert "skipped (its parent did not match)" in text.stdout
    assert "— record has" in text.stdout
    as_json = secteur(demo_url, "territories", "explain", "Accounts", str(account_id), "--json")
    explanation = json.loads(as_json.stdout)["explanation"]
    assert len(explanation["assigned"]) == 1
    assert any(entry["assigned"] for entry in explanation["trace"])
    missing = secteur(demo_url, "territories", "explain", "Accounts", "1")
    assert missing.returncode == 1 and missing.stderr.startswith("error:")


def test_TER_24_run_rules_follows_the_job_and_prints_its_result(demo_url: str) -> None:
    done = secteur(demo_url, "territories", "run-rules", "Accounts")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "COMPLETED"
    assert result["records"] >= 1000
    # The demo's accounts were assigned on save: a run finds nothing to change.
    assert result["gained"] == result["lost"] == 0
    assert "Run rules" in done.stderr and f"{result['records']}/{result['records']}" in done.stderr
    refused = secteur(demo_url, "territories", "run-rules", "Contacts")
    assert refused.returncode == 1
    assert "Contacts follow their accounts" in refused.stderr
