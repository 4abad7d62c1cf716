"""TER-31: closed-won revenue, sales-cycle length and top performers by territory, rolled up
the tree, over the deals the caller may see."""

from __future__ import annotations

from datetime import timedelta

import httpx

from secteur.services.app import Secteur
from tests.support import territories as setup

REPORTS = "/crm/v8/settings/territories/actions/reports"


def test_TER_31_revenue_cycle_and_top_performers_by_territory(
    app: Secteur, api: httpx.Client
) -> None:
    root = setup.enable(app)
    europe = setup.create(
        app, "Europe", root, accounts=setup.rule("Billing_Country", "in", ["France", "Spain"])
    )
    france = setup.create(
        app, "France", europe, accounts=setup.rule("Billing_Country", "equal", "France")
    )
    setup.create(app, "Spain", europe, accounts=setup.rule("Billing_Country", "equal", "Spain"))
    [paris, madrid] = setup.insert(
        app,
        "Accounts",
        [
            {"Account_Name": "Paris SA", "Billing_Country": "France"},
            {"Account_Name": "Madrid SL", "Billing_Country": "Spain"},
        ],
    )
    today = app.clock().date()
    in_ten_days = (today + timedelta(days=10)).isoformat()
    in_twenty_days = (today + timedelta(days=20)).isoformat()

    def deal(name: str, account: int, amount: float, stage: str, closing: str) -> dict[str, object]:
        return {
            "Deal_Name": name,
            "Account_Name": {"id": str(account)},
            "Amount": amount,
            "Stage": stage,
            "Closing_Date": closing,
        }

    setup.insert(
        app,
        "Deals",
        [
            deal("A", paris, 1000.0, "Closed Won", in_ten_days),
            deal("B", paris, 3000.0, "Closed Won", in_twenty_days),
            deal("C", madrid, 500.0, "Closed Won", in_ten_days),
            deal("Lost", madrid, 9000.0, "Closed Lost", in_ten_days),
            deal("Open", paris, 7000.0, "Qualification", in_ten_days),
        ],
    )
    response = api.get(REPORTS)
    assert response.status_code == 200, response.text
    body = response.json()["territory_reports"]
    rows = {row["territory"]["name"]: row for row in body["territories"]}
    assert rows["France"]["own"]["closed_won_amount"] == 4000.0
    assert rows["France"]["own"]["closed_won_deals"] == 2
    assert rows["France"]["own"]["sales_cycle_days"] == {"average": 15.0, "median": 15.0}
    assert rows["Spain"]["own"]["closed_won_amount"] == 500.0
    # Rolled up: Europe holds no deal itself, but its sub-territories' deals count once.
    assert rows["Europe"]["own"]["closed_won_deals"] == 0
    assert rows["Europe"]["with_sub_territories"]["closed_won_amount"] == 4500.0
    assert rows["Europe"]["with_sub_territories"]["closed_won_deals"] == 3
    assert [r["territory"]["name"] for r in body["territories"]][:2] == ["Acme", "Europe"]
    [top] = body["top_performers"]  # every deal is the admin's
    assert top["closed_won_amount"] == 4500.0
    assert [t["name"] for t in top["territories"]] == ["France", "Spain"]
    assert str(france) in {t["id"] for t in top["territories"]}

    window = api.get(REPORTS, params={"from": in_twenty_days, "to": in_twenty_days}).json()
    only = {r["territory"]["name"]: r for r in window["territory_reports"]["territories"]}
    assert only["France"]["own"]["closed_won_amount"] == 3000.0
    assert "Spain" not in only

    bad = api.get(REPORTS, params={"from": "last week"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_DATA"
    assert bad.json()["details"] == {"param_name": "from"}


def test_TER_31_reports_need_territory_management(api: httpx.Client) -> None:
    response = api.get(REPORTS)
    assert response.status_code == 400
    assert response.json()["code"] == "FEATURE_NOT_ENABLED"
