"""`secteur forecast show` and `secteur forecast snapshot` on a small territory org
(forecasts.md, FC-7, FC-12)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from secteur.config import Settings
from secteur.demo import prepare_demo
from secteur.services import forecasts, territory_assignment
from secteur.services import records as record_service
from secteur.services import territories as territory_service
from secteur.services.app import Secteur
from tests.cli.test_cli import secteur_command
from tests.support import territories as ts
from tests.support.orgs import TEST_SECRET

# Each call is a process start: SQLite only (the services are tested on both databases).
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


def secteur(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SECTEUR_DATABASE_URL": url, "SECTEUR_SECRET_KEY": TEST_SECRET}
    return subprocess.run(
        [*secteur_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )


def deal(app: Secteur, name: str, stage: str, amount: int, closing: str, territory: int) -> None:
    (deal_id,) = ts.insert(
        app,
        "Deals",
        [{"Deal_Name": name, "Stage": stage, "Amount": amount, "Closing_Date": closing}],
    )
    with app.write() as tx:
        deals = tx.state.module("Deals")
        assert deals is not None
        actor = ts.admin(tx)
        record = record_service.get_record(tx, actor, deals, deal_id)
        territory_assignment.assign_manually(tx, actor, deals, record, [territory])


def small_org(app: Secteur) -> tuple[int, int, int]:
    root = ts.enable(app)
    europe = ts.create(app, "Europe", root)
    france = ts.create(app, "France", europe)
    deal(app, "Won", "Closed Won", 10_000, "2027-02-01", france)
    deal(app, "Open", "Negotiation/Review", 8_000, "2027-03-01", france)
    deal(app, "Later", "Closed Won", 4_000, "2027-05-01", france)
    with app.write() as tx:
        actor = ts.admin(tx)
        forecast = forecasts.create_forecast(tx, actor, {"period": "2027-Q1"})
        problems = forecasts.set_targets(
            tx,
            actor,
            forecast,
            [{"node": europe, "target": 20_000}, {"node": france, "target": 10_000}],
        )
        assert problems == [None, None]
        # A territory with no deals and no target.
        territory_service.create_territory(
            tx, actor, 0, {"name": "Spain", "reporting_to": {"id": europe}}
        )
    return europe, france, forecast


@sqlite_only
def test_forecast_show_prints_the_roll_up_as_a_tree(app: Secteur, org_url: str) -> None:
    small_org(app)
    shown = secteur(org_url, "forecast", "show", "--period", "2027-Q1")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "Territory forecast 2027-Q1 — FY2027 Q1 (Jan 2027 – Mar 2027)"
    text = shown.stdout
    # Europe: France's 10 000 won of 20 000 (50 %); 8 000 in commit at 90 % → weighted 7 200.
    # Its 20 000 ≠ France's 10 000 (Spain has none): the targets below differ (FC-6).
    assert (
        "Europe  target 20,000 · achieved 10,000 · pipeline 8,000 · weighted 7,200 · "
        "50.00 %  [⚠ targets below differ]"
    ) in text
    assert "France  target 10,000 · achieved 10,000 · pipeline 8,000 · weighted 7,200 · " in text
    assert "100.00 %  [★ star]" in text
    assert "Spain  target — · achieved 0 · pipeline 0 · weighted 0 · —  [no target]" in text
    # The tree: France and Spain are drawn under Europe, under the root.
    assert [line.index("Europe") for line in lines if "Europe" in line] == [
        lines[2].index("Europe")
    ]
    assert lines[3].index("France") > lines[2].index("Europe")

    below = secteur(org_url, "forecast", "show", "--period", "2027-Q1", "--territory", "france")
    assert below.returncode == 0, below.stderr
    assert "Europe" not in below.stdout and "France  target 10,000" in below.stdout

    q2 = secteur(org_url, "forecast", "show", "--period", "2027-Q2")
    assert q2.returncode == 0, q2.stderr
    assert "(no forecast saved: no targets)" in q2.stdout
    assert "France  target — · achieved 4,000" in q2.stdout

    by_role = secteur(org_url, "forecast", "show", "--period", "2027-Q1", "--by", "role")
    assert by_role.returncode == 0, by_role.stderr
    # Role forecasts follow the owners' roles (FC-11): the administrator owns all three deals.
    assert "CEO  target — · achieved 10,000 · pipeline 8,000" in by_role.stdout

    wrong = secteur(org_url, "forecast", "show", "--period", "2027-13")
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == "error: a quarterly period is written like 2027-Q1"
    nobody = secteur(org_url, "forecast", "show", "--territory", "Atlantis")
    assert nobody.returncode == 1 and "no territory named Atlantis" in nobody.stderr


@sqlite_only
def test_forecast_snapshot_keeps_the_figures(app: Secteur, org_url: str) -> None:
    _, _, forecast = small_org(app)
    taken = secteur(org_url, "forecast", "snapshot", "--period", "2027-Q1")
    assert taken.returncode == 0, taken.stderr
    printed = json.loads(taken.stdout)
    assert printed["forecast_id"] == str(forecast)
    with app.read() as tx:
        (snapshot,) = forecasts.snapshots(tx, forecast)
        assert str(snapshot.id) == printed["snapshot_id"]
        changes = forecasts.compare(tx, forecast, snapshot.id, None)
        assert not any(c.changed for c in changes)
        assert {c.name for c in changes} >= {"Europe", "France", "Spain"}
    missing = secteur(org_url, "forecast", "snapshot", "--period", "2027-Q3")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: there is no territory forecast for 2027-Q3"


def test_the_readme_forecast_commands_run_on_the_demo(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    prepare_demo(Settings(database_url=url, secret_key=TEST_SECRET, data_dir=tmp_path))
    shown = secteur(url, "forecast", "show", "--territory", "EMEA", "--by", "territory")
    assert shown.returncode == 0, shown.stderr
    # The demo has this fiscal year's forecasts, with targets down to the countries.
    assert "(no forecast saved: no targets)" not in shown.stdout
    assert re.search(r"EMEA  target [\d,]+ · achieved ", shown.stdout)
    assert len(shown.stdout.splitlines()) > 10
    assert secteur(url, "forecast", "show", "--period", "2027-Q1").returncode == 0
