"""The forecast screen over HTTP (issue 6): create a period's forecast, set targets in place,
read live figures, drill down to children and to the deals behind a number."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import httpx

from secteur.domain.forecasts import Period
from secteur.services import forecasts, sessions
from secteur.services.app import Secteur
from tests.support.records_api import make_user, root_role
from tests.support.territories import create, enable, insert, rule
from tests.support.web import browser_client, csrf_of


def text(response: httpx.Response) -> str:
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())
    return words.replace(" :", ":")


def this_quarter() -> Period:
    return Period.containing(datetime.now(UTC).date(), "quarterly")


def a_day_in(period: Period) -> str:
    first, _ = period.months()
    return f"{first // 100}-{first % 100:02d}-15"


def europe(app: Secteur) -> dict[str, int]:
    root = enable(app)
    ids = {"root": root}
    ids["france"] = create(app, "France", root, accounts=rule("Billing_Country", "equal", "France"))
    ids["spain"] = create(app, "Spain", root, accounts=rule("Billing_Country", "equal", "Spain"))
    paris, madrid = insert(
        app,
        "Accounts",
        [
            {"Account_Name": "Paris SA", "Billing_Country": "France"},
            {"Account_Name": "Madrid SL", "Billing_Country": "Spain"},
        ],
    )
    day = a_day_in(this_quarter())
    insert(
        app,
        "Deals",
        [
            # France: 10,000 won + 4,000 won; 20,000 open at 10 %.
            {
                "Deal_Name": "P1",
                "Stage": "Closed Won",
                "Amount": 10_000,
                "Closing_Date": day,
                "Account_Name": {"id": str(paris)},
            },
            {
                "Deal_Name": "P2",
                "Stage": "Closed Won",
                "Amount": 4_000,
                "Closing_Date": day,
                "Account_Name": {"id": str(paris)},
            },
            {
                "Deal_Name": "P3",
                "Stage": "Qualification",
                "Amount": 20_000,
                "Closing_Date": day,
                "Account_Name": {"id": str(paris)},
            },
            # Spain: 6,000 won.
            {
                "Deal_Name": "M1",
                "Stage": "Closed Won",
                "Amount": 6_000,
                "Closing_Date": day,
                "Account_Name": {"id": str(madrid)},
            },
        ],
    )
    return ids


def test_a_period_without_forecast_offers_to_create_it(app: Secteur, base_url: str) -> None:
    enable(app)
    with browser_client(base_url) as client:
        page = client.get("/forecasts")
        assert f"No forecast for {this_quarter().key} yet" in text(page)
        created = client.post(
            "/forecasts", data={"csrf_token": csrf_of(page.text), "period": this_quarter().key}
        )
        assert created.status_code == 303
    with app.read() as tx:
        assert forecasts.find_forecast(tx, forecasts.current_kind(tx), this_quarter().key)


def test_targets_set_in_place_and_figures_rolled_up_from_live_deals(
    app: Secteur, base_url: str
) -> None:
    ids = europe(app)
    with browser_client(base_url) as client:
        page = client.get("/forecasts")
        client.post(
            "/forecasts", data={"csrf_token": csrf_of(page.text), "period": this_quarter().key}
        )
        page = client.get("/forecasts")
        csrf = csrf_of(page.text)
        with app.read() as tx:
            forecast = forecasts.find_forecast(tx, forecasts.current_kind(tx), this_quarter().key)
        assert forecast is not None
        for node, amount in (
            (ids["root"], "40,000"),
            (ids["france"], "28000"),
            (ids["spain"], "12000"),
        ):
            saved = client.post(
                f"/forecasts/{forecast.id}/targets",
                data={
                    "csrf_token": csrf,
                    "node": str(ids["root"]),
                    "target_node": str(node),
                    "target": amount,
                },
            )
            assert saved.status_code == 303
        words = text(client.get("/forecasts"))
        # Root: 20,000 won of 40,000 → 50 %; pipeline 20,000 (weighted 2,000).
        assert "Target 40,000" in words and "Achieved 20,000 50 % of target" in words
        assert "Pipeline 20,000 weighted 2,000" in words
        assert "14,000 50 % 20,000" in words, "France: 14,000 of 28,000, pipeline 20,000"
        assert "6,000 50 %" in words, "Spain: 6,000 of 12,000"
        assert "mismatch" not in words, "28,000 + 12,000 = 40,000"
        # FC-12: a deal saved now is in the next read.
        insert(
            app,
            "Deals",
            [
                {
                    "Deal_Name": "M2",
                    "Stage": "Closed Won",
                    "Amount": 6_000,
                    "Closing_Date": a_day_in(this_quarter()),
                    "Account_Name": {"id": _account(app, "Madrid SL")},
                }
            ],
        )
        assert "Achieved 26,000 65 % of target" in text(client.get("/forecasts"))
        drill = text(client.get("/forecasts", params={"node": ids["france"]}))
        assert "France and below" in drill
        deals = client.get(
            f"/forecasts/{forecast.id}/deals",
            params={"node": ids["france"], "figure": "achieved"},
        )
        assert "P1" in deals.text and "P2" in deals.text and "P3" not in deals.text
        assert "2 deals of France" in text(deals)


def _account(app: Secteur, name: str) -> str:
    import sqlalchemy as sa

    with app.read() as tx:
        module = tx.state.module("Accounts")
        assert module is not None
        rt = tx.state.table(module)
        field = module.field("Account_Name")
        assert field is not None
        found = tx.conn.execute(sa.select(rt.table.c.id).where(rt.column(field) == name))
        return str(found.scalar_one())


def test_FC_5_a_rep_sees_no_target_inputs_and_cannot_post_one(app: Secteur, base_url: str) -> None:
    ids = europe(app)
    rep = make_user(app, "rep@acme.test", root_role(app))
    with app.write() as tx:
        token = sessions.create_password_link(tx, tx.state.directory.users[rep], None)
    with app.write() as tx:
        sessions.use_password_link(tx, token, "rep-password-1")
    with browser_client(base_url) as admin:
        page = admin.get("/forecasts")
        admin.post(
            "/forecasts", data={"csrf_token": csrf_of(page.text), "period": this_quarter().key}
        )
    with app.read() as tx:
        forecast = forecasts.find_forecast(tx, forecasts.current_kind(tx), this_quarter().key)
    assert forecast is not None
    with browser_client(base_url, "rep@acme.test", "rep-password-1") as client:
        page = client.get("/forecasts")
        assert 'name="target"' not in page.text
        refused = client.post(
            f"/forecasts/{forecast.id}/targets",
            data={
                "csrf_token": csrf_of(page.text),
                "node": "",
                "target_node": str(ids["france"]),
                "target": "1",
            },
        )
    assert refused.status_code in (303, 403)
    with app.read() as tx:
        assert forecasts.targets(tx, forecast.id) == []


def test_a_member_starts_at_their_territory_and_sees_no_snapshots_of_the_whole(
    app: Secteur, base_url: str
) -> None:
    from secteur.services import territories as territory_service
    from tests.support.territories import admin

    ids = europe(app)
    rep = make_user(app, "rep@acme.test", root_role(app))
    with app.write() as tx:
        territory_service.add_members(tx, admin(tx), ids["france"], [rep])
        token = sessions.create_password_link(tx, tx.state.directory.users[rep], None)
    with app.write() as tx:
        sessions.use_password_link(tx, token, "rep-password-1")
    with browser_client(base_url) as client:
        page = client.get("/forecasts")
        client.post(
            "/forecasts", data={"csrf_token": csrf_of(page.text), "period": this_quarter().key}
        )
    with browser_client(base_url, "rep@acme.test", "rep-password-1") as client:
        page = client.get("/forecasts")
    assert page.status_code == 200
    words = text(page)
    assert "France and below" in words and "Achieved 14,000" in words
    assert "Take a snapshot now" not in words
    assert f'node={ids["root"]}"' not in page.text, "no link to a node the member may not read"
