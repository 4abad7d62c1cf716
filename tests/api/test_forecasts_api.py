"""Forecasts through the live server (forecasts.md): settings, forecasts, targets, summaries on a
hand-checked data set for a territory and a role forecast, live figures, snapshots, exclusions,
and who may set and read what. The engine's own rules are in tests/unit/test_forecasts.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from secteur.domain.forecasts import Category
from secteur.services import forecasts as service
from secteur.services.app import Secteur
from secteur.services.record_queries import ListQuery, list_records
from secteur.worker import Worker
from tests.support import territories as ts
from tests.support.orgs import Clock
from tests.support.records_api import (
    admin_id,
    assert_zoho_error,
    client_for,
    make_role,
    make_user,
    root_role,
)

SETTINGS = "/crm/v8/settings/forecast"
FORECASTS = "/crm/v8/forecasts"
TERRITORIES = "/crm/v8/settings/territories"
MANAGEMENT = "/crm/v8/settings/territory_management"
Q1 = "2027-Q1"


# --- helpers -------------------------------------------------------------------------------


def territory_management(api: httpx.Client, enabled: bool) -> None:
    response = api.post(MANAGEMENT, json={"territory_management": {"enabled": enabled}})
    assert response.status_code == 200, response.text


def territory(api: httpx.Client, name: str, parent: str, manager: int | None = None) -> str:
    item: dict[str, Any] = {"name": name, "reporting_to": {"id": parent}}
    if manager is not None:
        item["manager"] = {"id": str(manager)}
    response = api.post(TERRITORIES, json={"territories": [item]})
    assert response.status_code == 201, response.text
    return str(response.json()["territories"][0]["details"]["id"])


def add_members(api: httpx.Client, territory_id: str, *users: int) -> None:
    body = {"users": [{"id": str(u)} for u in users]}
    response = api.put(f"{TERRITORIES}/{territory_id}/users", json=body)
    assert response.status_code == 200, response.text


def deal(
    api: httpx.Client,
    owner: int,
    stage: str,
    amount: float,
    closing: str = "2027-02-15",
    territory_id: str | None = None,
) -> str:
    body = {
        "data": [
            {
                "Deal_Name": f"{stage} {amount}",
                "Owner": {"id": str(owner)},
                "Stage": stage,
                "Amount": amount,
                "Closing_Date": closing,
            }
        ]
    }
    response = api.post("/crm/v8/Deals", json=body)
    assert response.status_code == 201, response.text
    deal_id = str(response.json()["data"][0]["details"]["id"])
    if territory_id is not None:
        assigned = api.post(
            f"/crm/v8/Deals/{deal_id}/actions/assign_territories",
            json={"data": [{"Territories": [{"id": territory_id}]}]},
        )
        assert assigned.status_code == 200, assigned.text
    return deal_id


def create_forecast(api: httpx.Client, period: str = Q1, **extra: Any) -> str:
    response = api.post(FORECASTS, json={"forecasts": [{"period": period, **extra}]})
    assert response.status_code == 201, response.text
    (done,) = response.json()["forecasts"]
    assert done["code"] == "SUCCESS" and done["status"] == "success"
    return str(done["details"]["id"])


def set_targets(api: httpx.Client, forecast: str, *items: dict[str, Any]) -> httpx.Response:
    return api.put(f"{FORECASTS}/{forecast}/targets", json={"targets": list(items)})


def target(node: str, amount: float | None, user: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"node": {"id": node}, "target": amount}
    if user is not None:
        item["user"] = {"id": str(user)}
    return item


def summary(api: httpx.Client, forecast: str, node: str | None = None, **params: str) -> Any:
    if node is not None:
        params["node_id"] = node
    response = api.get(f"{FORECASTS}/{forecast}/summary", params=params)
    assert response.status_code == 200, response.text
    return response.json()["forecast_summary"]


def rows(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Summary rows by node name, member rows by "node/user id"."""
    out: dict[str, dict[str, Any]] = {}
    for row in found:
        key = row["node"]["name"]
        if row["user"] is not None:
            key += "/" + row["user"]["id"]
        out[key] = row
    return out


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        row[k]
        for k in (
            "target",
            "achieved",
            "pipeline",
            "weighted_pipeline",
            "best_case",
            "commit",
            "achieved_pct",
            "shortage_pct",
            "target_mismatch",
            "target_not_set",
        )
    )


# --- a small territory organisation, written out ---------------------------------------------


class TerritoryOrg:
    """Acme (root) → Europe (manager Eve) → France (no manager: Eve by TER-6), Germany.
    Members: France Alice and Bob, Germany Carl, Europe Eve."""

    def __init__(self, app: Secteur, api: httpx.Client) -> None:
        territory_management(api, True)
        found = api.get(TERRITORIES).json()["territories"]
        (root,) = [x for x in found if x["reporting_to"] is None]
        self.root = str(root["id"])
        rep_role = make_role(app, "Rep", root_role(app))
        self.alice = make_user(app, "alice@acme.test", rep_role)
        self.bob = make_user(app, "bob@acme.test", rep_role)
        self.carl = make_user(app, "carl@acme.test", rep_role)
        self.eve = make_user(app, "eve@acme.test", rep_role)
        self.europe = territory(api, "Europe", self.root, manager=self.eve)
        self.france = territory(api, "France", self.europe)
        self.germany = territory(api, "Germany", self.europe)
        add_members(api, self.france, self.alice, self.bob)
        add_members(api, self.germany, self.carl)
        add_members(api, self.europe, self.eve)

    def deals(self, api: httpx.Client) -> dict[str, str]:
        """Closing in 2027-Q1 unless said; probabilities are the Stage picklist's."""
        return {
            "alice_won": deal(api, self.alice, "Closed Won", 10_000, territory_id=self.france),
            "bob_won": deal(api, self.bob, "Closed Won", 5_000, territory_id=self.france),
            # Carl is no member of France: his deal there counts for France (FC-7).
            "carl_in_france": deal(api, self.carl, "Closed Won", 2_000, territory_id=self.france),
            # commit, 90 %: weighted 7 200
            "alice_commit": deal(
                api, self.alice, "Negotiation/Review", 8_000, territory_id=self.france
            ),
            # pipeline, 10 %: weighted 2 000
            "bob_open": deal(api, self.bob, "Qualification", 20_000, territory_id=self.france),
            "carl_won": deal(api, self.carl, "Closed Won", 7_000, territory_id=self.germany),
            # best case, 75 %: weighted 3 000
            "carl_best": deal(
                api, self.carl, "Proposal/Price Quote", 4_000, territory_id=self.germany
            ),
            "carl_lost": deal(api, self.carl, "Closed Lost", 9_000, territory_id=self.germany),
            # Closing in Q2: not in this forecast.
            "carl_q2": deal(
                api, self.carl, "Closed Won", 50_000, "2027-04-15", territory_id=self.germany
            ),
            # In no territory: in no territory forecast.
            "nowhere": deal(api, self.alice, "Closed Won", 99_000),
        }

    def targets(self, api: httpx.Client, forecast: str) -> None:
        response = set_targets(
            api,
            forecast,
            target(self.root, 100_000),
            target(self.europe, 40_000),
            target(self.france, 25_000),
            target(self.germany, 15_000),
            target(self.france, 15_000, self.alice),
            target(self.france, 5_000, self.bob),
        )
        assert response.status_code == 200, response.text


@pytest.fixture
def org(app: Secteur, api: httpx.Client) -> TerritoryOrg:
    return TerritoryOrg(app, api)


def test_FC_6_to_FC_10_hand_checked_territory_forecast_rolls_deals_up_by_their_territory(
    api: httpx.Client, org: TerritoryOrg
) -> None:
    """FC-4, FC-6 … FC-10 end to end: every figure below was worked out by hand."""
    org.deals(api)
    forecast = create_forecast(api)
    org.targets(api, forecast)

    top = rows(summary(api, forecast))
    # Acme: Europe's deals only (99 000 has no territory). achieved 24 000 / 100 000 = 24 %;
    # uncovered 100 000 − 24 000 − 32 000 = 44 000 → 44 %; Europe's 40 000 ≠ 100 000: mismatch.
    assert figures(top["Acme"]) == (
        100_000, 24_000, 32_000, 12_200, 4_000, 8_000, 24.0, 44.0, True, False
    )  # fmt: skip
    # Europe = France + Germany: achieved 17 000 + 7 000, pipeline 28 000 + 4 000, weighted
    # 9 200 + 3 000; targets 25 000 + 15 000 = 40 000: no mismatch. 24 000 / 40 000 = 60 %.
    assert figures(top["Europe"]) == (
        40_000, 24_000, 32_000, 12_200, 4_000, 8_000, 60.0, 0.0, False, False
    )  # fmt: skip
    assert set(top) == {"Acme", "Europe"}

    europe = rows(summary(api, forecast, org.europe))
    # Germany: won 7 000 (the lost 9 000 and the Q2 50 000 do not count); best case 4 000 at
    # 75 % = 3 000. 7 000 / 15 000 = 46.67 %; (15 000 − 7 000 − 4 000) / 15 000 = 26.67 %.
    assert figures(europe["Germany"]) == (
        15_000, 7_000, 4_000, 3_000, 4_000, 0, 46.67, 26.67, False, False
    )  # fmt: skip

    france = rows(summary(api, forecast, org.france))
    # France: won 10 000 + 5 000 + 2 000 (Carl's, FC-7); open 8 000 (commit, 90 % = 7 200) +
    # 20 000 (10 % = 2 000). 17 000 / 25 000 = 68 %. Members' 15 000 + 5 000 ≠ 25 000: mismatch.
    assert figures(france["France"]) == (
        25_000, 17_000, 28_000, 9_200, 0, 8_000, 68.0, 0.0, True, False
    )  # fmt: skip
    # FC-10: Alice's deals in France: won 10 000, commit 8 000 → 66.67 %, fully covered.
    alice = france[f"France/{org.alice}"]
    assert figures(alice) == (15_000, 10_000, 8_000, 7_200, 0, 8_000, 66.67, 0.0, False, False)
    # Bob: won 5 000 of 5 000 → 100 %, a star (FC-9).
    bob = france[f"France/{org.bob}"]
    assert figures(bob)[:3] == (5_000, 5_000, 20_000) and bob["achieved_pct"] == 100.0
    assert bob["star"] is True and alice["star"] is False
    assert len(france) == 3  # no member row for Carl: he has no target in France

    # Without descendants Europe counts only deals in Europe itself: none.
    alone = summary(api, forecast, org.europe, include_child="false")[0]
    assert (alone["achieved"], alone["pipeline"]) == (0, 0)


def test_FC_12_a_deal_saved_now_shows_on_the_next_read_and_the_drill_down_lists_it(
    app: Secteur, api: httpx.Client, org: TerritoryOrg
) -> None:
    made = org.deals(api)
    forecast = create_forecast(api)
    assert rows(summary(api, forecast, org.europe))["Germany"]["achieved"] == 7_000
    new = deal(api, org.carl, "Closed Won", 1_000, territory_id=org.germany)
    assert rows(summary(api, forecast, org.europe))["Germany"]["achieved"] == 8_000
    moved = api.put(f"/crm/v8/Deals/{made['bob_open']}", json={"data": [{"Stage": "Closed Won"}]})
    assert moved.status_code == 200, moved.text
    france = rows(summary(api, forecast, org.france))["France"]
    assert (france["achieved"], france["pipeline"]) == (37_000, 8_000)

    # The deals behind France's achieved figure, and behind Carl's in Europe.
    with app.read() as tx:
        actor = ts.admin(tx)
        deals = tx.state.module("Deals")
        assert deals is not None

        def listed(node: str, user: int | None, categories: list[Category]) -> set[str]:
            condition = service.deals_condition(
                tx, actor, int(forecast), int(node), user, categories
            )
            page = list_records(tx, actor, deals, ListQuery(conditions=(condition,)))
            return {str(r.id) for r in page.records}

        won = [Category.CLOSED_WON]
        assert listed(org.france, None, won) == {
            made["alice_won"], made["bob_won"], made["carl_in_france"], made["bob_open"]
        }  # fmt: skip
        assert listed(org.europe, org.carl, won) == {made["carl_in_france"], made["carl_won"], new}
        assert listed(org.germany, None, [Category.BEST_CASE]) == {made["carl_best"]}


def test_FC_13_excluded_territories_and_users_leave_the_forecast(
    api: httpx.Client, org: TerritoryOrg
) -> None:
    org.deals(api)
    forecast = create_forecast(api, exclusions={"territories": [{"id": org.germany}]})
    europe = rows(summary(api, forecast, org.europe))
    assert europe["Europe"]["achieved"] == 17_000 and "Germany" not in europe
    excluded = {"exclusions": {"territories": [], "users": [{"id": str(org.carl)}]}}
    response = api.put(f"{FORECASTS}/{forecast}", json={"forecasts": [excluded]})
    assert response.status_code == 200, response.text
    europe = rows(summary(api, forecast, org.europe))
    # Carl's 2 000 in France and 7 000 in Germany are gone; his best case 4 000 too.
    assert (europe["Europe"]["achieved"], europe["Germany"]["pipeline"]) == (15_000, 0)
    got = api.get(f"{FORECASTS}/{forecast}").json()["forecasts"][0]
    assert got["exclusions"]["users"] == [{"id": str(org.carl)}]
    bad = api.put(
        f"{FORECASTS}/{forecast}", json={"forecasts": [{"exclusions": {"roles": [{"id": "1"}]}}]}
    )
    assert bad.status_code == 400
    assert (
        bad.json()["forecasts"][0]["details"]["json_path"] == "$.forecasts[0].exclusions.roles[0]"
    )


def test_FC_4_one_target_per_node_and_one_per_user_in_each_node_they_belong_to(
    api: httpx.Client, org: TerritoryOrg
) -> None:
    add_members(api, org.germany, org.alice)
    forecast = create_forecast(api)
    response = set_targets(
        api,
        forecast,
        target(org.france, 1_000),
        target(org.france, 2_000),  # replaces the first
        target(org.france, 700, org.alice),
        target(org.germany, 300, org.alice),  # Alice is in Germany too: her target there
        target(org.germany, 50, org.bob),  # Bob is not in Germany
        target(org.france, -1),
    )
    assert response.status_code == 207, response.text
    codes = [r["code"] for r in response.json()["targets"]]
    assert codes == ["SUCCESS"] * 4 + ["INVALID_DATA"] * 2
    assert response.json()["targets"][4]["details"]["api_name"] == "user"
    found = api.get(f"{FORECASTS}/{forecast}/targets").json()["targets"]
    assert sorted(
        (x["node"]["name"], x["user"]["id"] if x["user"] else "", x["target"]) for x in found
    ) == sorted(
        [("France", "", 2_000), ("France", str(org.alice), 700), ("Germany", str(org.alice), 300)]
    )
    removed = set_targets(api, forecast, target(org.france, None))
    assert removed.json()["targets"][0]["message"] == "Target removed"
    assert len(api.get(f"{FORECASTS}/{forecast}/targets").json()["targets"]) == 2
    assert rows(summary(api, forecast, org.europe))["France"]["target_not_set"] is True


def test_FC_5_managers_set_the_targets_below_them_and_users_never_their_own(
    app: Secteur, base_url: str, api: httpx.Client, org: TerritoryOrg
) -> None:
    forecast = create_forecast(api)
    with client_for(app, base_url, "eve@acme.test") as eve:
        # Eve manages Europe: France's and Germany's targets, and (TER-6) France's members.
        done = set_targets(
            eve,
            forecast,
            target(org.france, 25_000),
            target(org.france, 15_000, org.alice),
            target(org.europe, 40_000),  # Europe's own target is set from above
            target(org.europe, 9_000, org.eve),  # her own, as Europe's manager: allowed
        )
        assert done.status_code == 207, done.text
        outcome = done.json()["targets"]
        assert [r["code"] for r in outcome] == ["SUCCESS", "SUCCESS", "NO_PERMISSION", "SUCCESS"]
        assert outcome[2]["message"] == "only the manager of the territory above sets this target"
    # Once an administrator sets Eve's own target, she can no longer change it.
    assert set_targets(api, forecast, target(org.europe, 10_000, org.eve)).status_code == 200
    with client_for(app, base_url, "eve@acme.test") as eve:
        again = set_targets(eve, forecast, target(org.europe, 12_000, org.eve))
        assert again.status_code == 400
        assert again.json()["targets"][0]["code"] == "NO_PERMISSION"
        assert again.json()["targets"][0]["message"] == (
            "your manager set this target; only they can change it"
        )
    with client_for(app, base_url, "alice@acme.test") as alice:
        own = set_targets(alice, forecast, target(org.france, 99_999, org.alice))
        assert own.json()["targets"][0]["code"] == "NO_PERMISSION"
        assert own.json()["targets"][0]["message"] == "you cannot set your own target"
        # Alice reads France (she is in it), not Europe (above her).
        assert (
            alice.get(f"{FORECASTS}/{forecast}/summary", params={"node_id": org.france}).status_code
            == 200
        )
        refused = alice.get(f"{FORECASTS}/{forecast}/summary", params={"node_id": org.europe})
        assert_zoho_error(refused, 403, "NO_PERMISSION")
        assert_zoho_error(alice.get(f"{FORECASTS}/{forecast}/summary"), 403, "NO_PERMISSION")
        # Targets of nodes she may not read are left out of her list.
        listed = alice.get(f"{FORECASTS}/{forecast}/targets").json()["targets"]
        assert {x["node"]["name"] for x in listed} == {"France"}
    with client_for(app, base_url, "eve@acme.test") as eve:
        assert (
            eve.get(f"{FORECASTS}/{forecast}/summary", params={"node_id": org.france}).status_code
            == 200
        )
        # Forecasts themselves are the administrators'.
        assert_zoho_error(
            eve.post(FORECASTS, json={"forecasts": [{"period": "2027-Q2"}]}), 403, "NO_PERMISSION"
        )


def test_FC_3_a_second_forecast_of_the_same_hierarchy_and_period_is_duplicate_data(
    api: httpx.Client,
) -> None:
    first = create_forecast(api)
    response = api.post(FORECASTS, json={"forecasts": [{"period": Q1}, {"period": "2027-Q2"}]})
    assert response.status_code == 207
    duplicate, created = response.json()["forecasts"]
    assert duplicate["code"] == "DUPLICATE_DATA"
    assert duplicate["details"] == {
        "api_name": "period", "json_path": "$.forecasts[0].period", "id": first
    }  # fmt: skip
    assert created["code"] == "SUCCESS"
    bad = api.post(FORECASTS, json={"forecasts": [{"period": "2027-13"}, {}]})
    assert bad.status_code == 400
    assert [r["code"] for r in bad.json()["forecasts"]] == ["INVALID_DATA", "MANDATORY_NOT_FOUND"]
    listed = api.get(FORECASTS).json()["forecasts"]
    assert [(f["hierarchy"], f["period"], f["archived"]) for f in listed] == [
        ("role", "2027-Q2", False),
        ("role", Q1, False),
    ]
    assert listed[1]["months"] == {"from": "2027-01", "to": "2027-03"}
    deleted = api.delete(f"{FORECASTS}/{first}")
    assert deleted.status_code == 200 and deleted.json()["forecasts"][0]["code"] == "SUCCESS"
    assert_zoho_error(api.get(f"{FORECASTS}/{first}"), 400, "INVALID_DATA")
    create_forecast(api)  # the period is free again


def test_FC_2_switching_hierarchies_archives_forecasts_and_never_deletes_them(
    api: httpx.Client,
) -> None:
    role_forecast = create_forecast(api)
    territory_management(api, True)
    got = api.get(f"{FORECASTS}/{role_forecast}").json()["forecasts"][0]
    assert (got["hierarchy"], got["archived"]) == ("role", True)
    # Still readable, no longer changed.
    assert summary(api, role_forecast)[0]["node"]["name"] == "CEO"
    refused = set_targets(
        api, role_forecast, target(summary(api, role_forecast)[0]["node"]["id"], 1)
    )
    assert_zoho_error(refused, 400, "NOT_ALLOWED")
    territory_forecast = create_forecast(api)  # the same period, on the other hierarchy
    wrong = api.post(FORECASTS, json={"forecasts": [{"period": "2027-Q3", "hierarchy": "role"}]})
    assert wrong.json()["forecasts"][0]["details"]["supported_values"] == ["territory"]
    territory_management(api, False)
    listed = {f["id"]: f for f in api.get(FORECASTS).json()["forecasts"]}
    assert listed[role_forecast]["archived"] is False
    assert listed[territory_forecast]["archived"] is True
    assert summary(api, territory_forecast)[0]["node"]["name"] == "Acme"


def test_FC_1_settings_are_validated_key_by_key_and_administrators_only(
    app: Secteur, base_url: str, api: httpx.Client
) -> None:
    current = api.get(SETTINGS).json()["forecast"]
    assert current["period"] == "quarterly" and current["amount_field"] == "Amount"
    assert current["stage_categories"]["Negotiation/Review"] == "commit"
    refusals = {
        "period": "weekly",
        "fiscal_year_start_month": 13,
        "fiscal_year_naming": "middle",
        "amount_field": "Deal_Name",
        "date_field": "Amount",
        "type": "profit",
        "stage_categories": {"Qualification": "maybe"},
        "snapshot_every_days": -1,
        "colour": "blue",
    }
    for key, value in refusals.items():
        response = api.put(SETTINGS, json={"forecast": {key: value}})
        assert response.status_code == 400, (key, response.text)
        refused = response.json()["forecast"]
        assert (refused["code"], refused["status"]) == ("INVALID_DATA", "error"), key
        assert refused["details"]["api_name"] == key
        assert refused["details"]["json_path"] == f"$.forecast.{key}"
    unknown_stage = api.put(SETTINGS, json={"forecast": {"stage_categories": {"Nope": "commit"}}})
    assert "Closed Won" in unknown_stage.json()["forecast"]["details"]["supported_values"]
    assert_zoho_error(api.put(SETTINGS, json={}), 400, "REQUIRED_PARAM_MISSING")
    assert api.get(SETTINGS).json()["forecast"] == current  # nothing changed

    changed = api.put(
        SETTINGS,
        json={
            "forecast": {
                "period": "monthly",
                "fiscal_year_start_month": 4,
                "fiscal_year_naming": "end",
                "stage_categories": {"Qualification": "best_case"},
            }
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["forecast"]["code"] == "SUCCESS"
    now = api.get(SETTINGS).json()["forecast"]
    assert (now["period"], now["fiscal_year_start_month"], now["fiscal_year_naming"]) == (
        "monthly", 4, "end"
    )  # fmt: skip
    assert now["stage_categories"]["Qualification"] == "best_case"
    assert now["stage_categories"]["Closed Won"] == "closed_won"  # the others kept
    # A fiscal year from April named by its end: FY2027 M1 is April 2026.
    forecast = create_forecast(api, "2027-01")
    months = api.get(f"{FORECASTS}/{forecast}").json()["forecasts"][0]["months"]
    assert months == {"from": "2026-04", "to": "2026-04"}
    quarter = api.post(FORECASTS, json={"forecasts": [{"period": Q1}]})
    assert quarter.json()["forecasts"][0]["message"] == "a monthly period is written like 2027-03"

    make_user(app, "rep@acme.test", root_role(app))
    with client_for(app, base_url, "rep@acme.test") as rep:
        assert rep.get(SETTINGS).status_code == 200
        assert_zoho_error(
            rep.put(SETTINGS, json={"forecast": {"period": "monthly"}}), 403, "NO_PERMISSION"
        )
    with client_for(app, base_url, "admin@acme.test", "ZohoCRM.modules.ALL") as modules_only:
        assert_zoho_error(modules_only.get(SETTINGS), 401, "OAUTH_SCOPE_MISMATCH")
        assert modules_only.get(FORECASTS).status_code == 200
    with client_for(app, base_url, "admin@acme.test", "ZohoCRM.settings.ALL") as settings_only:
        assert_zoho_error(settings_only.get(FORECASTS), 401, "OAUTH_SCOPE_MISMATCH")


def test_FC_1_a_new_amount_field_rebuilds_the_figures_at_once(
    api: httpx.Client, org: TerritoryOrg
) -> None:
    org.deals(api)
    forecast = create_forecast(api)
    changed = api.put(SETTINGS, json={"forecast": {"amount_field": "Expected_Revenue"}})
    assert changed.status_code == 200, changed.text
    france = rows(summary(api, forecast, org.france))["France"]
    # Expected revenue = amount × probability: won deals at 100 %, 8 000 at 90 % and 20 000 at
    # 10 % → pipeline 7 200 + 2 000.
    assert (france["achieved"], france["pipeline"]) == (17_000, 9_200)


def test_FC_8_a_quantity_forecast_counts_deals_and_weights_them_by_probability(
    api: httpx.Client, org: TerritoryOrg
) -> None:
    org.deals(api)
    changed = api.put(SETTINGS, json={"forecast": {"type": "quantity"}})
    assert changed.status_code == 200, changed.text
    forecast = create_forecast(api)
    france = rows(summary(api, forecast, org.france))["France"]
    # France: 3 won (Alice's, Bob's, Carl's); 2 open: Alice's commit at 90 % and Bob's
    # qualification at 10 % → weighted 0.9 + 0.1 = 1 deal; commit 1, best case 0.
    assert (france["achieved"], france["pipeline"], france["weighted_pipeline"]) == (3, 2, 1)
    assert (france["commit"], france["best_case"]) == (1, 0)
    europe = rows(summary(api, forecast))["Europe"]
    # Europe adds Germany: Carl's won deal and his best case at 75 % (the lost deal and the Q2
    # one do not count) → achieved 4, pipeline 3, weighted 1 + 0.75.
    assert (europe["achieved"], europe["pipeline"], europe["weighted_pipeline"]) == (4, 3, 1.75)


# --- a small role organisation, written out --------------------------------------------------


def test_FC_11_hand_checked_role_forecast_rolls_deals_up_by_their_owners_role(
    app: Secteur, api: httpx.Client
) -> None:
    """FC-11 end to end: CEO (the administrator) → Sales Manager (Mia) → Sales Rep (Ray, Rob)."""
    ceo = root_role(app)
    manager_role = make_role(app, "Sales Manager", ceo)
    rep_role = make_role(app, "Sales Rep", manager_role)
    mia = make_user(app, "mia@acme.test", manager_role)
    ray = make_user(app, "ray@acme.test", rep_role)
    rob = make_user(app, "rob@acme.test", rep_role)
    deal(api, ray, "Closed Won", 3_000)
    deal(api, rob, "Closed Won", 2_000)
    deal(api, rob, "Value Proposition", 10_000)  # pipeline, 40 %: weighted 4 000
    deal(api, mia, "Perception Analysis", 5_000)  # best case, 70 %: weighted 3 500
    deal(api, admin_id(app), "Closed Won", 1_000)  # the CEO role's own
    deal(api, ray, "Closed Won", 4_000, "2026-12-31")  # before the period
    forecast = create_forecast(api)
    response = set_targets(
        api,
        forecast,
        target(str(ceo), 20_000),
        target(str(manager_role), 12_000),
        target(str(rep_role), 8_000),
        target(str(rep_role), 5_000, ray),
        target(str(rep_role), 3_000, rob),
    )
    assert response.status_code == 200, response.text

    top = rows(summary(api, forecast))
    # CEO: won 1 000 + 3 000 + 2 000; open 10 000 + 5 000 (weighted 4 000 + 3 500).
    # 6 000 / 20 000 = 30 %; Sales Manager's 12 000 ≠ 20 000: mismatch.
    assert figures(top["CEO"]) == (20_000, 6_000, 15_000, 7_500, 5_000, 0, 30.0, 0.0, True, False)
    # Sales Manager: 5 000 / 12 000 = 41.67 %; Sales Rep's 8 000 ≠ 12 000: mismatch.
    assert figures(top["Sales Manager"]) == (
        12_000, 5_000, 15_000, 7_500, 5_000, 0, 41.67, 0.0, True, False
    )  # fmt: skip
    reps = rows(summary(api, forecast, str(rep_role)))
    # Sales Rep: 5 000 / 8 000 = 62.5 %; members' 5 000 + 3 000 = 8 000: no mismatch.
    assert figures(reps["Sales Rep"]) == (
        8_000, 5_000, 10_000, 4_000, 0, 0, 62.5, 0.0, False, False
    )  # fmt: skip
    # Ray: 3 000 / 5 000 = 60 %, uncovered (5 000 − 3 000) / 5 000 = 40 %.
    assert figures(reps[f"Sales Rep/{ray}"]) == (
        5_000, 3_000, 0, 0, 0, 0, 60.0, 40.0, False, False
    )  # fmt: skip
    # Rob: 2 000 / 3 000 = 66.67 %, covered by his 10 000 pipeline.
    assert figures(reps[f"Sales Rep/{rob}"])[:3] == (3_000, 2_000, 10_000)
    assert reps[f"Sales Rep/{rob}"]["achieved_pct"] == 66.67

    # FC-13 in a role forecast: without Rob, then without the Sales Rep role.
    exclude = {"exclusions": {"users": [{"id": str(rob)}]}}
    assert api.put(f"{FORECASTS}/{forecast}", json={"forecasts": [exclude]}).status_code == 200
    reps = rows(summary(api, forecast, str(rep_role)))
    assert (reps["Sales Rep"]["achieved"], reps["Sales Rep"]["pipeline"]) == (3_000, 0)
    assert f"Sales Rep/{rob}" not in reps
    exclude = {"exclusions": {"roles": [{"id": str(rep_role)}]}}
    assert api.put(f"{FORECASTS}/{forecast}", json={"forecasts": [exclude]}).status_code == 200
    assert rows(summary(api, forecast))["CEO"]["achieved"] == 1_000

    # Role visibility: Mia reads her role and the one below, not the CEO's.
    base_url = str(api.base_url)
    with client_for(app, base_url, "mia@acme.test") as as_mia:
        node = {"node_id": str(rep_role)}
        assert as_mia.get(f"{FORECASTS}/{forecast}/summary", params=node).status_code == 200
        assert_zoho_error(as_mia.get(f"{FORECASTS}/{forecast}/summary"), 403, "NO_PERMISSION")
        # FC-5 in roles: Mia sets the Sales Rep role's targets and its users', not her own.
        done = set_targets(
            as_mia, forecast, target(str(rep_role), 9_000), target(str(manager_role), 1, mia)
        )
        assert [r["code"] for r in done.json()["targets"]] == ["SUCCESS", "NO_PERMISSION"]


# --- snapshots (FC-12 Beyond) ----------------------------------------------------------------


def test_FC_12_snapshots_keep_the_figures_and_compare_shows_what_changed(
    api: httpx.Client, org: TerritoryOrg
) -> None:
    org.deals(api)
    forecast = create_forecast(api)
    org.targets(api, forecast)
    taken = api.post(f"{FORECASTS}/{forecast}/actions/snapshot")
    assert taken.status_code == 201, taken.text
    first = taken.json()["snapshots"][0]["details"]["id"]
    deal(api, org.carl, "Closed Won", 1_000, territory_id=org.germany)
    assert set_targets(api, forecast, target(org.germany, 16_000)).status_code == 200

    changes = api.get(f"{FORECASTS}/{forecast}/snapshots/{first}/compare", params={"with": "now"})
    assert changes.status_code == 200, changes.text
    by_name = {c["name"]: c for c in changes.json()["forecast_changes"]}
    germany = by_name["Germany"]
    assert germany["before"]["achieved"] == 7_000 and germany["after"]["achieved"] == 8_000
    assert germany["delta"] == {
        "target": 1_000, "achieved": 1_000, "pipeline": 0, "weighted_pipeline": 0
    }  # fmt: skip
    assert by_name["Acme"]["delta"]["achieved"] == 1_000
    assert by_name["France"]["changed"] is False
    # Every node with descendants and every member with a target is in a snapshot.
    assert {"Acme", "Europe", "France", "Germany"} <= set(by_name)
    members = {c["user"]["id"] for c in changes.json()["forecast_changes"] if c["user"]}
    assert members == {str(org.alice), str(org.bob)}

    second = api.post(f"{FORECASTS}/{forecast}/actions/snapshot").json()["snapshots"][0]
    listed = api.get(f"{FORECASTS}/{forecast}/snapshots").json()["snapshots"]
    assert [s["id"] for s in listed] == [second["details"]["id"], first]
    assert listed[0]["scheduled"] is False and listed[0]["taken_by"]["id"]
    between = api.get(
        f"{FORECASTS}/{forecast}/snapshots/{first}/compare",
        params={"with": second["details"]["id"]},
    ).json()["forecast_changes"]
    assert {c["name"]: c["delta"]["achieved"] for c in between}["Europe"] == 1_000
    assert_zoho_error(api.get(f"{FORECASTS}/{forecast}/snapshots/1/compare"), 400, "INVALID_DATA")


def test_FC_12_the_worker_takes_scheduled_snapshots_every_so_many_days(
    app: Secteur, api: httpx.Client, clock: Clock
) -> None:
    with app.read() as tx:
        period = service.current_period(tx)
    current = create_forecast(api, period.key)
    create_forecast(api, period.next().next().key)  # a later period is current too
    past = create_forecast(api, "2001-Q1")  # over: never snapshotted
    assert service.due_snapshots(app) == []  # off by default
    assert api.put(SETTINGS, json={"forecast": {"snapshot_every_days": 7}}).status_code == 200
    worker = Worker(app)
    assert len(worker.take_due_snapshots()) == 2
    assert service.due_snapshots(app) == []
    clock.advance(timedelta(days=6, hours=23))
    assert worker.take_due_snapshots() == []
    clock.advance(timedelta(hours=2))
    assert len(worker.take_due_snapshots()) == 2
    # The token of `api` has expired by now: read through the service.
    with app.read() as tx:
        taken = service.snapshots(tx, int(current))
        assert service.snapshots(tx, int(past)) == []
    assert len(taken) == 2 and all(s.scheduled and s.taken_by is None for s in taken)
