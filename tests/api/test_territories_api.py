"""Territories through the live server (territories.md; OAS territories.json,
territory_users.json, users_territories.json): settings, the tree, members, run rules and
previews. Record-side territory endpoints are in test_territory_records_api.py."""

from __future__ import annotations

import re
from typing import Any

import httpx
import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.services import profiles
from secteur.services.app import Secteur
from tests.support import territories as ts
from tests.support.orgs import ADMIN_EMAIL
from tests.support.records_api import (
    admin_id,
    assert_zoho_error,
    client_for,
    deactivate,
    insert_fast,
    make_role,
    make_user,
    profile_id,
    root_role,
    set_profile,
)

TERRITORIES = "/crm/v8/settings/territories"
MANAGEMENT = "/crm/v8/settings/territory_management"
ZOHO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
NOT_ENABLED = "Territory Management is not enabled"


# --- helpers -------------------------------------------------------------------------------


def enable(api: httpx.Client, **settings: Any) -> str:
    """Turn territory management on through the API; the root territory's id."""
    response = api.post(MANAGEMENT, json={"territory_management": {"enabled": True, **settings}})
    assert response.status_code == 200, response.text
    return root(api)["id"]


def root(api: httpx.Client) -> dict[str, Any]:
    found = api.get(TERRITORIES).json()["territories"]
    (top,) = [t for t in found if t["reporting_to"] is None]
    return dict(top)


def create(api: httpx.Client, name: str, parent: str, **extra: Any) -> str:
    response = api.post(
        TERRITORIES, json={"territories": [{"name": name, "reporting_to": {"id": parent}, **extra}]}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["territories"][0]["details"]["id"])


def get(api: httpx.Client, territory_id: str, **params: str) -> dict[str, Any]:
    response = api.get(f"{TERRITORIES}/{territory_id}", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json()["territories"][0])


def by_name(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in api.get(TERRITORIES).json()["territories"]}


def item(response: httpx.Response, key: str = "territories", index: int = 0) -> dict[str, Any]:
    return dict(response.json()[key][index])


def members(api: httpx.Client, territory_id: str) -> set[str]:
    response = api.get(f"{TERRITORIES}/{territory_id}/users")
    if response.status_code == 204:
        return set()
    assert response.status_code == 200, response.text
    return {u["id"] for u in response.json()["users"]}


def add_members(api: httpx.Client, territory_id: str, *user_ids: str) -> httpx.Response:
    return api.put(
        f"{TERRITORIES}/{territory_id}/users", json={"users": [{"id": u} for u in user_ids]}
    )


def territory_state(app: Secteur) -> tuple[Any, ...]:
    """Everything a territory request could change."""
    with app.read() as tx:
        return tuple(
            tx.conn.execute(sa.select(*columns)).one()
            for columns in (
                (
                    sa.func.count(t.territories.c.id),
                    sa.func.coalesce(sa.func.sum(t.territories.c.version), 0),
                    sa.func.count(t.territories.c.archived_time),
                ),
                (sa.func.count(t.territory_members.c.user_id),),
                (sa.func.count(t.record_territories.c.record_id),),
                (sa.func.count(t.jobs.c.id),),
                (sa.func.count(t.audit_events.c.id),),
                (t.org.c.settings,),
            )
        )


def territory_admin_profile(app: Secteur) -> int:
    """A copy of Standard that may manage territories (not an administrator)."""
    with app.write() as tx:
        new = profiles.clone_profile(
            tx, ts.admin(tx), profile_id(app, "Standard"), {"name": "Territory admins"}
        )
    with app.write() as tx:
        profiles.update_profile(
            tx,
            ts.admin(tx),
            new,
            {"permissions_details": [{"name": "manage_territories", "enabled": True}]},
            None,
        )
    return new


# --- TER-1: off by default, administrators only ---------------------------------------------


def test_TER_1_territory_management_is_off_in_a_new_org(api: httpx.Client) -> None:
    response = api.get(MANAGEMENT)
    assert response.status_code == 200
    assert response.json() == {
        "territory_management": {
            "enabled": False,
            "start_from": "scratch",
            "deal_rule": False,
            "cascade": True,
            "limits": {
                "Accounts": 10,
                "Contacts": 10,
                "Leads": 10,
                "Deals": 1,
                "users_per_territory": 100,
            },
        }
    }


def test_TER_1_while_off_territory_endpoints_answer_feature_not_enabled(
    api: httpx.Client, app: Secteur
) -> None:
    before = territory_state(app)
    admin = str(admin_id(app))
    calls = [
        api.get(TERRITORIES),
        api.get(f"{TERRITORIES}/1"),
        api.get(f"{TERRITORIES}/1/__child_territories"),
        api.get(f"{TERRITORIES}/actions/associated_users_count"),
        api.post(TERRITORIES, json={"territories": [{"name": "X", "reporting_to": {"id": "1"}}]}),
        api.put(TERRITORIES, json={"territories": [{"id": "1", "name": "X"}]}),
        api.put(f"{TERRITORIES}/1", json={"territories": [{"name": "X"}]}),
        api.delete(TERRITORIES, params={"ids": "1"}),
        api.delete(f"{TERRITORIES}/1"),
        api.post(
            f"{TERRITORIES}/actions/transfer_and_delete",
            json={"territories": [{"id": "1", "transfer_to_id": "2"}]},
        ),
        api.post(
            f"{TERRITORIES}/actions/run_rules",
            json={"run_rules": {"module": {"api_name": "Accounts"}}},
        ),
        api.post(
            f"{TERRITORIES}/actions/preview_rules",
            json={"preview_rules": {"module": {"api_name": "Accounts"}}},
        ),
        api.get(f"{TERRITORIES}/actions/scheduled_run_rule_jobs", params={"job_id": "1"}),
    ]
    for response in calls:
        body = assert_zoho_error(response, 400, "FEATURE_NOT_ENABLED")
        assert body["message"] == NOT_ENABLED
    member_calls = [
        api.get(f"{TERRITORIES}/1/users"),
        api.put(f"{TERRITORIES}/1/users", json={"users": [{"id": admin}]}),
        api.delete(f"{TERRITORIES}/1/users", params={"ids": admin}),
        api.get(f"{TERRITORIES}/1/users/{admin}"),
        api.put(f"{TERRITORIES}/1/users/{admin}"),
        api.delete(f"{TERRITORIES}/1/users/{admin}"),
        api.get(f"/crm/v8/users/{admin}/territories"),
        api.put(f"/crm/v8/users/{admin}/territories", json={"territories": [{"id": "1"}]}),
        api.delete(f"/crm/v8/users/{admin}/territories", params={"ids": "1"}),
        api.get(f"/crm/v8/users/{admin}/territories/1"),
        api.delete(f"/crm/v8/users/{admin}/territories/1"),
    ]
    for response in member_calls:
        body = assert_zoho_error(response, 403, "TERRITORY_NOT_ENABLED")
        assert body["message"] == NOT_ENABLED
    assert territory_state(app) == before


def test_TER_1_only_an_administrator_can_turn_it_on_or_off(
    app: Secteur, base_url: str, api: httpx.Client
) -> None:
    make_user(app, "boss@acme.test", root_role(app), profile="Standard")
    # Even a profile that may manage territories cannot switch the feature.
    keeper = make_user(app, "keeper@acme.test", root_role(app))
    set_profile(app, keeper, territory_admin_profile(app))
    before = territory_state(app)
    for email in ("boss@acme.test", "keeper@acme.test"):
        with client_for(app, base_url, email) as other:
            response = other.post(MANAGEMENT, json={"territory_management": {"enabled": True}})
            assert_zoho_error(response, 403, "NO_PERMISSION")
            assert other.get(MANAGEMENT).json()["territory_management"]["enabled"] is False
    with client_for(app, base_url, ADMIN_EMAIL, "ZohoCRM.modules.ALL") as narrow:
        response = narrow.post(MANAGEMENT, json={"territory_management": {"enabled": True}})
        assert_zoho_error(response, 401, "OAUTH_SCOPE_MISMATCH")
    assert territory_state(app) == before

    enable(api)
    with client_for(app, base_url, "boss@acme.test") as other:
        response = other.post(MANAGEMENT, json={"territory_management": {"enabled": False}})
        assert_zoho_error(response, 403, "NO_PERMISSION")
    response = api.post(MANAGEMENT, json={"territory_management": {"enabled": False}})
    assert response.status_code == 200, response.text
    answer = response.json()["territory_management"]
    assert answer["code"] == "SUCCESS" and answer["status"] == "success"
    assert answer["details"]["enabled"] is False
    assert_zoho_error(api.get(TERRITORIES), 400, "FEATURE_NOT_ENABLED")


def test_TER_1_bad_settings_are_refused_and_change_nothing(app: Secteur, api: httpx.Client) -> None:
    before = territory_state(app)
    for raw, code in (
        (b"{not json", "INVALID_DATA"),
        (b"", "REQUIRED_PARAM_MISSING"),
        (b"[]", "INVALID_DATA"),
        (b'{"enabled": true}', "REQUIRED_PARAM_MISSING"),
        (b'{"territory_management": true}', "INVALID_DATA"),
    ):
        assert_zoho_error(api.post(MANAGEMENT, content=raw), 400, code)
    for settings, api_name in (
        ({"enabled": "yes"}, "enabled"),
        ({"enabled": True, "start_from": "nowhere"}, "start_from"),
        ({"limits": {"Accounts": 0}}, "limits.Accounts"),
        ({"limits": {"Accounts": "3"}}, "limits.Accounts"),
        ({"limits": {"Tasks": 3}}, "limits.Tasks"),
        ({"limits": []}, "limits"),
        ({"cascade": None}, "cascade"),
    ):
        response = api.post(MANAGEMENT, json={"territory_management": settings})
        assert response.status_code == 400, response.text
        answer = response.json()["territory_management"]
        assert answer["code"] == "INVALID_DATA" and answer["status"] == "error", answer
        assert answer["details"]["api_name"] == api_name
        assert answer["details"]["json_path"] == f"$.territory_management.{api_name}"
    assert territory_state(app) == before


# --- TER-2: how the tree starts -------------------------------------------------------------


def test_TER_2_from_scratch_there_is_only_the_root_named_after_the_org(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    response = api.get(TERRITORIES)
    assert response.status_code == 200
    body = response.json()
    assert body["info"] == {"per_page": 200, "count": 1, "page": 1, "more_records": False}
    (territory,) = body["territories"]
    admin = {"id": str(admin_id(app)), "name": "Ada Admin"}
    assert territory == {
        "id": root_id,
        "name": "Acme",
        "api_name": "Acme",
        "description": None,
        "manager": None,
        "reporting_to": None,
        "permission_type": "read_write_delete",
        "sequence": 1,
        "created_by": admin,
        "created_time": territory["created_time"],
        "modified_by": admin,
        "modified_time": territory["modified_time"],
        "account_rule_criteria": None,
        "deal_rule_criteria": None,
        "$version": 1,
    }
    assert ZOHO_TIME.match(territory["created_time"]) and ZOHO_TIME.match(
        territory["modified_time"]
    )
    single = api.get(f"{TERRITORIES}/{root_id}")
    assert single.headers["etag"] == '"1"'
    assert single.json()["territories"] == [territory]


def test_TER_2_copying_the_roles_builds_the_same_tree_with_members_and_managers(
    app: Secteur, api: httpx.Client
) -> None:
    manager_role = make_role(app, "Sales Manager", root_role(app))
    rep_role = make_role(app, "Sales Rep", manager_role)
    make_role(app, "Support", root_role(app))
    mgr = make_user(app, "mgr@acme.test", manager_role)
    rep1 = make_user(app, "rep1@acme.test", rep_role)
    rep2 = make_user(app, "rep2@acme.test", rep_role)

    enable(api, start_from="roles")

    tree = by_name(api)
    assert set(tree) == {"CEO", "Sales Manager", "Sales Rep", "Support"}
    assert tree["CEO"]["reporting_to"] is None
    assert tree["Sales Manager"]["reporting_to"]["id"] == tree["CEO"]["id"]
    assert tree["Sales Rep"]["reporting_to"] == {
        "id": tree["Sales Manager"]["id"],
        "name": "Sales Manager",
    }
    assert tree["Support"]["reporting_to"]["id"] == tree["CEO"]["id"]
    assert tree["Sales Manager"]["manager"] == {"id": str(mgr), "name": "Mgr"}
    assert tree["CEO"]["manager"]["id"] == str(admin_id(app))
    assert tree["Support"]["manager"] is None
    assert members(api, tree["Sales Rep"]["id"]) == {str(rep1), str(rep2)}
    assert members(api, tree["Sales Manager"]["id"]) == {str(mgr)}
    assert members(api, tree["Support"]["id"]) == set()
    assert api.get(MANAGEMENT).json()["territory_management"]["start_from"] == "roles"


# --- TER-4, TER-5: the tree and what a territory holds --------------------------------------


def test_TER_4_a_territory_needs_a_parent_and_a_move_never_makes_a_cycle(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    a = create(api, "A", root_id)
    a1 = create(api, "A1", a)
    before = territory_state(app)

    missing = api.post(TERRITORIES, json={"territories": [{"name": "Orphan"}]})
    assert missing.status_code == 400
    error = item(missing)
    assert error["code"] == "MANDATORY_NOT_FOUND" and error["status"] == "error"
    assert error["details"]["api_name"] == "reporting_to"
    assert error["details"]["json_path"] == "$.territories[0].reporting_to"

    cycle = api.put(f"{TERRITORIES}/{a}", json={"territories": [{"reporting_to": {"id": a1}}]})
    assert cycle.status_code == 400
    assert item(cycle)["code"] == "INVALID_DATA"
    assert item(cycle)["details"]["json_path"] == "$.territories[0].reporting_to"
    itself = api.put(TERRITORIES, json={"territories": [{"id": a, "reporting_to": {"id": a}}]})
    assert item(itself)["code"] == "INVALID_DATA"
    moved_root = api.put(
        f"{TERRITORIES}/{root_id}", json={"territories": [{"reporting_to": {"id": a}}]}
    )
    assert item(moved_root)["code"] == "NOT_ALLOWED"
    unknown_parent = api.post(
        TERRITORIES, json={"territories": [{"name": "B", "reporting_to": {"id": "999999"}}]}
    )
    assert item(unknown_parent)["code"] == "INVALID_DATA"
    assert territory_state(app) == before
    assert get(api, a)["reporting_to"]["id"] == root_id

    mixed = api.post(
        TERRITORIES,
        json={
            "territories": [
                {"name": "B", "reporting_to": {"id": root_id}},
                {"name": "C"},
                {"name": "A2", "reporting_to": {"id": int(a)}},  # ids as JSON numbers too
            ]
        },
    )
    assert mixed.status_code == 207, mixed.text
    assert [r["status"] for r in mixed.json()["territories"]] == ["success", "error", "success"]
    assert set(by_name(api)) == {"Acme", "A", "A1", "A2", "B"}

    # A move that is not a cycle: A1 goes under B and reads back there.
    b = by_name(api)["B"]["id"]
    moved = api.put(TERRITORIES, json={"territories": [{"id": a1, "reporting_to": {"id": b}}]})
    assert moved.status_code == 200, moved.text
    assert get(api, a1)["reporting_to"] == {"id": b, "name": "B"}


def test_TER_5_names_are_unique_among_siblings(app: Secteur, api: httpx.Client) -> None:
    root_id = enable(api)
    a = create(api, "North", root_id)
    create(api, "South", root_id)
    before = territory_state(app)

    duplicate = api.post(
        TERRITORIES, json={"territories": [{"name": " north ", "reporting_to": {"id": root_id}}]}
    )
    assert duplicate.status_code == 400
    error = item(duplicate)
    assert error["code"] == "DUPLICATE_DATA"
    assert error["details"]["api_name"] == "name"
    assert error["details"]["json_path"] == "$.territories[0].name"
    rename = api.put(TERRITORIES, json={"territories": [{"id": a, "name": "SOUTH"}]})
    assert item(rename)["code"] == "DUPLICATE_DATA"
    assert territory_state(app) == before

    # The same name under another parent is fine.
    create(api, "North", a)
    assert create(api, "South Coast", a)


def test_TER_5_a_territory_holds_description_manager_permission_rules_and_order(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    rep = make_user(app, "rep@acme.test", root_role(app))
    rule = ts.rule("Billing_Country", "equal", "France")
    lead_rule = ts.rule("Country", "equal", "France")
    territory_id = create(
        api,
        "France",
        root_id,
        description="d" * 250,
        manager={"id": str(rep)},
        permission_type="read_only",
        account_rule_criteria=rule,
        lead_rule_criteria=lead_rule,
    )
    found = get(api, territory_id)
    assert found["description"] == "d" * 250
    assert found["manager"] == {"id": str(rep), "name": "Rep"}
    assert found["permission_type"] == "read_only"
    assert found["account_rule_criteria"]["field"]["api_name"] == "Billing_Country"
    assert found["account_rule_criteria"]["comparator"] == "equal"
    assert found["account_rule_criteria"]["value"] == "France"
    assert found["deal_rule_criteria"] is None
    # The lead and contact rules only when asked for (Zoho's `include`).
    assert "lead_rule_criteria" not in found and "contact_rule_criteria" not in found
    included = get(api, territory_id, include="lead_rule_criteria,contact_rule_criteria")
    assert included["lead_rule_criteria"]["field"]["api_name"] == "Country"
    assert included["contact_rule_criteria"] is None
    listed = api.get(TERRITORIES, params={"include": "lead_rule_criteria"}).json()
    assert all("lead_rule_criteria" in t for t in listed["territories"])
    assert_zoho_error(api.get(TERRITORIES, params={"include": "owner"}), 400, "INVALID_DATA")

    # Partial update: what is not sent keeps its value; the version moves.
    updated = api.put(
        f"{TERRITORIES}/{territory_id}",
        json={"territories": [{"manager": None, "account_rule_criteria": None}]},
    )
    assert updated.status_code == 200, updated.text
    assert item(updated) == {
        "code": "SUCCESS",
        "details": {"id": territory_id},
        "message": "Territory updated successfully",
        "status": "success",
    }
    found = get(api, territory_id)
    assert found["manager"] is None and found["account_rule_criteria"] is None
    assert found["description"] == "d" * 250 and found["$version"] == 2

    # Sibling order: `sequence` is kept and orders the listing.
    first = create(api, "Zulu", root_id, sequence=1)
    api.put(TERRITORIES, json={"territories": [{"id": territory_id, "sequence": 2}]})
    order = [t["name"] for t in api.get(TERRITORIES).json()["territories"]]
    assert order == ["Acme", "Zulu", "France"]
    assert get(api, first)["sequence"] == 1


def test_TER_5_bad_values_fail_their_item_with_a_json_path(app: Secteur, api: httpx.Client) -> None:
    root_id = enable(api)
    target = create(api, "Target", root_id)
    base = {"name": "New", "reporting_to": {"id": root_id}}
    cases = [
        ({**base, "description": "d" * 251}, "INVALID_DATA", "description"),
        ({**base, "description": 12}, "INVALID_DATA", "description"),
        ({**base, "name": ""}, "MANDATORY_NOT_FOUND", "name"),
        ({**base, "name": ["x"]}, "MANDATORY_NOT_FOUND", "name"),
        ({**base, "name": "n" * 101}, "INVALID_DATA", "name"),
        ({**base, "permission_type": "everything"}, "INVALID_DATA", "permission_type"),
        ({**base, "manager": {"id": "123456789"}}, "INVALID_DATA", "manager"),
        ({**base, "reporting_to": "x"}, "INVALID_DATA", "reporting_to"),
        ({**base, "sequence": "1"}, "INVALID_DATA", "sequence"),
        (
            {**base, "deal_rule_criteria": {"group_operator": "and", "group": "x"}},
            "INVALID_DATA",
            "deal_rule_criteria",
        ),
    ]
    before = territory_state(app)
    for body, code, api_name in cases:
        response = api.post(TERRITORIES, json={"territories": [body]})
        assert response.status_code == 400, (body, response.text)
        error = item(response)
        assert set(error) == {"code", "details", "message", "status"}
        assert (error["code"], error["details"]["api_name"]) == (code, api_name), error
        assert error["details"]["json_path"].startswith(f"$.territories[0].{api_name}"), error
        update = api.put(TERRITORIES, json={"territories": [{**body, "id": target}]})
        assert update.status_code == 400, (body, update.text)
        assert item(update)["code"] in (code, "INVALID_DATA")
    assert territory_state(app) == before


def test_TER_5_if_match_with_an_old_version_is_a_conflict(api: httpx.Client) -> None:
    root_id = enable(api)
    territory_id = create(api, "East", root_id)
    tag = api.get(f"{TERRITORIES}/{territory_id}").headers["etag"]
    first = api.put(
        f"{TERRITORIES}/{territory_id}",
        json={"territories": [{"description": "one"}]},
        headers={"If-Match": tag},
    )
    assert first.status_code == 200, first.text
    stale = api.put(
        f"{TERRITORIES}/{territory_id}",
        json={"territories": [{"description": "two"}]},
        headers={"If-Match": tag},
    )
    assert_zoho_error(stale, 409, "CONFLICT")
    assert get(api, territory_id)["description"] == "one"


def test_TER_5_reading_the_tree_by_ids_pages_and_children(api: httpx.Client) -> None:
    root_id = enable(api)
    a = create(api, "A", root_id)
    b = create(api, "B", root_id)
    a1 = create(api, "A1", a)
    create(api, "A2", a)

    order = [t["name"] for t in api.get(TERRITORIES).json()["territories"]]
    assert order == ["Acme", "A", "A1", "A2", "B"]  # pre-order
    chosen = api.get(TERRITORIES, params={"ids": f"{b},{a1},999999"}).json()
    assert [t["name"] for t in chosen["territories"]] == ["A1", "B"]
    page2 = api.get(TERRITORIES, params={"page": 2, "per_page": 2}).json()
    assert [t["name"] for t in page2["territories"]] == ["A1", "A2"]
    assert page2["info"] == {"per_page": 2, "count": 2, "page": 2, "more_records": True}
    assert api.get(TERRITORIES, params={"page": 9}).status_code == 204
    children = api.get(f"{TERRITORIES}/{a}/__child_territories").json()
    assert [t["name"] for t in children["territories"]] == ["A1", "A2"]
    assert api.get(f"{TERRITORIES}/{b}/__child_territories").status_code == 204
    for bad in ({"ids": "x"}, {"per_page": "500"}, {"page": "0"}, {"per_page": "many"}):
        assert_zoho_error(api.get(TERRITORIES, params=bad), 400, "INVALID_DATA")
    for path in (f"{TERRITORIES}/999999", f"{TERRITORIES}/abc", f"{TERRITORIES}/{2**64}"):
        assert_zoho_error(api.get(path), 400, "INVALID_DATA")
    assert_zoho_error(api.get(f"{TERRITORIES}/999999/__child_territories"), 400, "INVALID_DATA")


# --- TER-7: deleting ------------------------------------------------------------------------


def test_TER_7_a_territory_with_children_is_deleted_only_with_a_transfer(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    a = create(api, "A", root_id)
    a1 = create(api, "A1", a)
    b = create(api, "B", root_id)
    (account,) = insert_fast(app, "Accounts", [{"Account_Name": "Globex"}])
    assigned = api.post(
        f"/crm/v8/Accounts/{account}/actions/assign_territories",
        json={"data": [{"Territories": [{"id": a}]}]},
    )
    assert assigned.status_code == 200, assigned.text
    before = territory_state(app)

    single = api.delete(f"{TERRITORIES}/{a}")
    body = assert_zoho_error(single, 400, "DEPENDENT_FIELD_MISSING")
    assert body["details"]["dependee"] == {"api_name": "transfer_to_id"}
    listed = api.delete(TERRITORIES, params={"ids": f"{a},999999"})
    assert listed.status_code == 400
    assert [r["code"] for r in listed.json()["territories"]] == [
        "DEPENDENT_FIELD_MISSING",
        "INVALID_DATA",
    ]
    into_itself = api.post(
        f"{TERRITORIES}/{a}/actions/transfer_and_delete",
        json={"territories": [{"transfer_to_id": a1}]},
    )
    assert item(into_itself)["code"] == "INVALID_DATA"
    no_target = api.post(
        f"{TERRITORIES}/{a}/actions/transfer_and_delete", json={"territories": [{}]}
    )
    assert item(no_target)["code"] == "MANDATORY_NOT_FOUND"
    assert item(no_target)["details"]["json_path"] == "$.territories[0].transfer_to_id"
    assert_zoho_error(api.delete(f"{TERRITORIES}/{root_id}"), 400, "NOT_ALLOWED")
    assert territory_state(app) == before

    moved = api.post(
        f"{TERRITORIES}/{a}/actions/transfer_and_delete",
        json={"territories": [{"transfer_to_id": int(b), "delete_previous_forecasts": False}]},
    )
    assert moved.status_code == 200, moved.text
    assert item(moved) == {
        "code": "SUCCESS",
        "details": {"id": a},
        "message": "Territory deleted successfully",
        "status": "success",
    }
    assert get(api, a1)["reporting_to"] == {"id": b, "name": "B"}
    assert_zoho_error(api.get(f"{TERRITORIES}/{a}"), 400, "INVALID_DATA")
    assert ts.held(app, account) == {int(b): True}
    # A leaf goes with a plain DELETE.
    gone = api.delete(f"{TERRITORIES}/{a1}")
    assert gone.status_code == 200
    assert item(gone)["details"] == {"id": a1}
    assert set(by_name(api)) == {"Acme", "B"}


def test_TER_7_transfer_and_delete_takes_a_batch_with_results_per_item(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    a = create(api, "A", root_id)
    create(api, "A1", a)
    b = create(api, "B", root_id)
    c = create(api, "C", root_id)
    response = api.post(
        f"{TERRITORIES}/actions/transfer_and_delete",
        json={
            "territories": [
                {"id": a, "transfer_to_id": b},
                {"id": "999999", "transfer_to_id": b},
                {"id": c, "transfer_to_id": c},
                "not an object",
                {"id": c, "transfer_to_id": b, "delete_previous_forecasts": "yes"},
            ]
        },
    )
    assert response.status_code == 207, response.text
    codes = [r["code"] for r in response.json()["territories"]]
    assert codes == ["SUCCESS", "INVALID_DATA", "INVALID_DATA", "INVALID_DATA", "INVALID_DATA"]
    assert set(by_name(api)) == {"Acme", "A1", "B", "C"}
    assert by_name(api)["A1"]["reporting_to"]["id"] == b
    deleted = api.delete(TERRITORIES, params={"ids": c})
    assert deleted.status_code == 200
    assert deleted.json()["territories"][0]["code"] == "SUCCESS"


# --- TER-8, TER-9: members ------------------------------------------------------------------


def test_TER_8_the_member_limit_is_configuration(app: Secteur, api: httpx.Client) -> None:
    root_id = enable(api)
    team = create(api, "Team", root_id)
    users = [str(make_user(app, f"u{i}@acme.test", root_role(app))) for i in range(3)]
    limits = {"limits": {"users_per_territory": 2}}
    changed = api.post(MANAGEMENT, json={"territory_management": limits})
    assert changed.status_code == 200, changed.text
    assert api.get(MANAGEMENT).json()["territory_management"]["limits"]["users_per_territory"] == 2

    response = add_members(api, team, *users)
    assert response.status_code == 207, response.text
    results = response.json()["users"]
    assert [r["code"] for r in results] == ["SUCCESS", "SUCCESS", "LIMIT_EXCEEDED"]
    assert results[2]["details"]["limit"] == 2
    assert members(api, team) == set(users[:2])


def test_TER_9_members_are_added_listed_and_removed_from_both_sides(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    rep = make_user(app, "rep@acme.test", root_role(app))
    gone = make_user(app, "gone@acme.test", root_role(app))
    deactivate(app, gone)
    boss = make_user(app, "boss@acme.test", root_role(app))
    team = create(api, "Team", root_id, manager={"id": str(boss)})
    other = create(api, "Other", team)

    added = add_members(api, team, str(rep))
    assert added.status_code == 200, added.text
    assert item(added, "users") == {
        "code": "SUCCESS",
        "details": {"id": str(rep)},
        "message": "User associated with the territory",
        "status": "success",
    }
    again = add_members(api, team, str(rep), str(gone), "999999", "x")
    assert again.status_code == 400
    codes = [(r["code"], r["details"].get("id")) for r in again.json()["users"]]
    assert codes[:3] == [
        ("DUPLICATE_DATA", str(rep)),
        ("INVALID_DATA", str(gone)),
        ("INVALID_DATA", "999999"),
    ]
    assert again.json()["users"][3]["details"]["json_path"] == "$.users[3].id"

    listing = api.get(f"{TERRITORIES}/{team}/users").json()
    (member,) = listing["users"]
    assert member["id"] == str(rep) and member["name"] == "Rep"
    assert member["email"] == "rep@acme.test" and member["status"] == "active"
    assert listing["info"]["count"] == 1
    one = api.get(f"{TERRITORIES}/{team}/users/{rep}")
    assert one.json()["users"][0]["id"] == str(rep)
    assert api.get(f"{TERRITORIES}/{team}/users/{boss}").status_code == 204
    assert_zoho_error(api.get(f"{TERRITORIES}/{team}/users/999999"), 400, "INVALID_DATA")
    counts = api.get(f"{TERRITORIES}/actions/associated_users_count").json()
    assert {c["territory"]["name"]: c["count"] for c in counts["associated_users_count"]} == {
        "Acme": "0",
        "Team": "1",
        "Other": "0",
    }
    assert counts["associated_users_count"][1]["territory"] == {
        "id": team,
        "name": "Team",
        "subordinates": False,
    }

    # The user's side: Zoho's casing under /users/{id}/territories.
    via_user = api.put(
        f"/crm/v8/users/{rep}/territories",
        json={"territories": [{"id": other}, {"id": team}, {"id": "999999"}]},
    )
    assert via_user.status_code == 207, via_user.text
    assert [r["code"] for r in via_user.json()["territories"]] == [
        "SUCCESS",
        "DUPLICATE_DATA",
        "INVALID_DATA",
    ]
    mine = api.get(f"/crm/v8/users/{rep}/territories").json()
    assert mine["territories"] == [
        {
            "id": team,
            "Name": "Team",
            "Manager": {"id": str(boss), "Name": "Boss"},
            "Reporting_To": {"id": root_id, "Name": "Acme"},
        },
        {
            "id": other,
            "Name": "Other",
            "Manager": None,
            "Reporting_To": {"id": team, "Name": "Team"},
        },
    ]
    assert mine["info"]["count"] == 2
    single = api.get(f"/crm/v8/users/{rep}/territories/{other}").json()
    assert single["territories"][0]["Name"] == "Other"
    assert api.get(f"/crm/v8/users/{boss}/territories").status_code == 204
    assert api.get(f"/crm/v8/users/{boss}/territories/{team}").status_code == 204
    assert_zoho_error(api.get("/crm/v8/users/999999/territories"), 400, "INVALID_DATA")

    removed = api.delete(f"/crm/v8/users/{rep}/territories/{other}")
    assert removed.status_code == 200, removed.text
    assert item(removed)["details"] == {"id": other}
    twice = api.delete(f"/crm/v8/users/{rep}/territories", params={"ids": f"{other},999999"})
    assert twice.status_code == 400
    assert [r["code"] for r in twice.json()["territories"]] == ["INVALID_DATA", "INVALID_DATA"]
    dropped = api.delete(f"{TERRITORIES}/{team}/users", params={"ids": f"{rep},{boss}"})
    assert dropped.status_code == 207
    assert [r["code"] for r in dropped.json()["users"]] == ["SUCCESS", "INVALID_DATA"]
    assert members(api, team) == set()

    # One user at a time, on the territory's side.
    single_add = api.put(f"{TERRITORIES}/{team}/users/{boss}")
    assert single_add.status_code == 200, single_add.text
    assert members(api, team) == {str(boss)}
    single_remove = api.delete(f"{TERRITORIES}/{team}/users/{boss}")
    assert single_remove.status_code == 200
    assert members(api, team) == set()


def test_TER_9_only_territory_administrators_change_members_and_never_their_own(
    app: Secteur, base_url: str, api: httpx.Client
) -> None:
    root_id = enable(api)
    team = create(api, "Team", root_id)
    rep = make_user(app, "rep@acme.test", root_role(app))
    keeper = make_user(app, "keeper@acme.test", root_role(app))
    set_profile(app, keeper, territory_admin_profile(app))
    before = territory_state(app)
    with client_for(app, base_url, "rep@acme.test") as other:
        assert_zoho_error(add_members(other, team, str(rep)), 403, "NO_PERMISSION")
        refused = other.put(
            f"/crm/v8/users/{rep}/territories", json={"territories": [{"id": team}]}
        )
        assert_zoho_error(refused, 403, "NO_PERMISSION")
        new = {"territories": [{"name": "X", "reporting_to": {"id": root_id}}]}
        assert_zoho_error(other.post(TERRITORIES, json=new), 403, "NO_PERMISSION")
        # Reading is allowed.
        assert other.get(TERRITORIES).status_code == 200
    assert territory_state(app) == before
    with client_for(app, base_url, "keeper@acme.test") as keeper_api:
        response = add_members(keeper_api, team, str(rep), str(keeper))
        assert response.status_code == 207, response.text
        assert [r["code"] for r in response.json()["users"]] == ["SUCCESS", "NOT_ALLOWED"]
        created = create(keeper_api, "Keeper's", root_id)
        assert get(api, created)["created_by"]["id"] == str(keeper)
    assert members(api, team) == {str(rep)}


def test_TER_9_scopes_are_enforced(app: Secteur, base_url: str, api: httpx.Client) -> None:
    root_id = enable(api)
    with client_for(app, base_url, ADMIN_EMAIL, "ZohoCRM.settings.territories.READ") as reader:
        assert reader.get(TERRITORIES).status_code == 200
        assert reader.get(f"{TERRITORIES}/{root_id}/users").status_code == 204
        write = reader.post(
            TERRITORIES, json={"territories": [{"name": "X", "reporting_to": {"id": root_id}}]}
        )
        assert_zoho_error(write, 401, "OAUTH_SCOPE_MISMATCH")
        assert_zoho_error(
            reader.get(f"/crm/v8/users/{admin_id(app)}/territories"), 401, "OAUTH_SCOPE_MISMATCH"
        )
    with client_for(app, base_url, ADMIN_EMAIL, "ZohoCRM.settings.territories.ALL") as owner:
        assert create(owner, "Scoped", root_id)
        assert owner.get(MANAGEMENT).status_code == 200
    with client_for(app, base_url, ADMIN_EMAIL, "ZohoCRM.users.ALL") as users_only:
        assert users_only.get(f"/crm/v8/users/{admin_id(app)}/territories").status_code == 204
        assert_zoho_error(users_only.get(TERRITORIES), 401, "OAUTH_SCOPE_MISMATCH")


# --- TER-24 … TER-26: run rules and preview -------------------------------------------------


def test_TER_24_run_rules_is_scheduled_once_at_a_time_and_reports_progress(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    paris = create(api, "Paris", root_id)
    ids = insert_fast(
        app,
        "Accounts",
        [{"Account_Name": f"A{i}", "Billing_City": "Paris" if i % 2 else "Lyon"} for i in range(6)],
    )
    # The rule arrives after the accounts: only a run gives them their territory.
    rule = ts.rule("Billing_City", "equal", "Paris")
    api.put(f"{TERRITORIES}/{paris}", json={"territories": [{"account_rule_criteria": rule}]})
    assert all(ts.held(app, i) == {} for i in ids)

    body = {"run_rules": {"module": {"api_name": "Accounts"}}}
    response = api.post(f"{TERRITORIES}/actions/run_rules", json=body)
    assert response.status_code == 202, response.text
    scheduled = response.json()
    job_id = scheduled["run_rules"]["details"]["job_id"]
    assert scheduled == {
        "run_rules": {
            "code": "SCHEDULED",
            "details": {"job_id": job_id},
            "message": "Territory rules scheduled successfully.",
            "status": "success",
        }
    }
    again = api.post(f"{TERRITORIES}/actions/run_rules", json=body)
    assert again.status_code == 400
    assert again.json() == {
        "run_rules": {
            "code": "ALREADY_SCHEDULED",
            "details": {"job_id": job_id},
            "message": again.json()["run_rules"]["message"],
            "status": "error",
        }
    }

    status_url = f"{TERRITORIES}/actions/scheduled_run_rule_jobs"
    queued = api.get(status_url, params={"job_id": job_id}).json()["scheduled_run_rule_jobs"]
    assert queued["job_id"] == job_id and queued["status"] == "IN_PROGRESS"
    assert queued["scheduled_by"] == {"id": str(admin_id(app)), "name": "Ada Admin"}
    assert ZOHO_TIME.match(queued["scheduled_time"])
    assert queued["progress"] == {"done": 0, "total": 0}

    assert ts.run_jobs(app) == 1
    done = api.get(status_url, params={"job_id": job_id}).json()["scheduled_run_rule_jobs"]
    assert done["status"] == "COMPLETED"
    assert done["progress"]["done"] == done["progress"]["total"] == 6
    assert done["result"]["gained"] == 3
    assert [i for i in ids if ts.held(app, i)] == ids[1::2]
    # Another run may start once the first is done.
    assert api.post(f"{TERRITORIES}/actions/run_rules", json=body).status_code == 202

    missing = assert_zoho_error(api.get(status_url), 400, "REQUIRED_PARAM_MISSING")
    assert missing["details"] == {"param_name": "job_id"}
    assert_zoho_error(api.get(status_url, params={"job_id": "x"}), 400, "INVALID_DATA")
    assert_zoho_error(api.get(status_url, params={"job_id": "999999"}), 400, "INVALID_DATA")


def test_TER_24_a_bad_run_request_is_refused_and_schedules_nothing(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    url = f"{TERRITORIES}/actions/run_rules"
    before = territory_state(app)
    for raw, code in (
        (b"{oops", "INVALID_DATA"),
        (b"", "REQUIRED_PARAM_MISSING"),
        (b"[1]", "INVALID_DATA"),
        (b'{"module": "Accounts"}', "REQUIRED_PARAM_MISSING"),
        (b'{"run_rules": []}', "INVALID_DATA"),
    ):
        assert_zoho_error(api.post(url, content=raw), 400, code)
    for spec, code, path in (
        ({}, "MANDATORY_NOT_FOUND", "$.run_rules.module"),
        ({"module": {"api_name": "Contacts"}}, "INVALID_DATA", "$.run_rules.module"),
        ({"module": {"api_name": "Nope"}}, "INVALID_DATA", "$.run_rules.module"),
        (
            {"module": {"api_name": "Accounts"}, "based_on": "luck"},
            "INVALID_DATA",
            "$.run_rules.based_on",
        ),
        (
            {"module": {"api_name": "Accounts"}, "based_on": "territories", "territories": []},
            "MANDATORY_NOT_FOUND",
            "$.run_rules.territories",
        ),
        (
            {
                "module": {"api_name": "Accounts"},
                "based_on": "territories",
                "territories": [{"id": "999999"}],
            },
            "INVALID_DATA",
            "$.run_rules.territories[0].id",
        ),
        (
            {
                "module": {"api_name": "Accounts"},
                "based_on": "criteria",
                "criteria": ts.rule("Nope", "equal", 1),
            },
            "INVALID_DATA",
            "$.run_rules.criteria",
        ),
        (
            {"module": {"api_name": "Accounts"}, "include_child": "yes"},
            "INVALID_DATA",
            "$.run_rules.include_child",
        ),
    ):
        response = api.post(url, json={"run_rules": spec})
        assert response.status_code == 400, (spec, response.text)
        answer = response.json()["run_rules"]
        assert answer["status"] == "error" and answer["code"] == code, (spec, answer)
        assert answer["details"]["json_path"].startswith(path), answer
    assert territory_state(app) == before
    scoped = api.post(
        url,
        json={
            "run_rules": {
                "module": {"api_name": "Leads"},
                "based_on": "territories",
                "territories": [{"id": root_id}],
                "include_child": True,
            }
        },
    )
    assert scoped.status_code == 202, scoped.text


def test_TER_26_preview_reports_gains_and_losses_and_changes_nothing(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    paris = create(
        api, "Paris", root_id, account_rule_criteria=ts.rule("Billing_City", "equal", "Paris")
    )
    lyon = create(api, "Lyon", root_id)
    in_paris, in_lyon = insert_fast(
        app,
        "Accounts",
        [
            {"Account_Name": "P", "Billing_City": "Paris"},
            {"Account_Name": "L", "Billing_City": "Lyon"},
        ],
    )
    assert ts.held(app, in_paris) == {int(paris): False}
    # The rules move: Paris now wants Lyon, and Lyon gets a rule of its own.
    api.put(
        TERRITORIES,
        json={
            "territories": [
                {"id": paris, "account_rule_criteria": ts.rule("Billing_City", "equal", "Nice")},
                {"id": lyon, "account_rule_criteria": ts.rule("Billing_City", "equal", "Lyon")},
            ]
        },
    )
    before = territory_state(app)
    response = api.post(
        f"{TERRITORIES}/actions/preview_rules",
        json={"preview_rules": {"module": {"api_name": "Accounts"}, "record_ids": True}},
    )
    assert response.status_code == 202, response.text
    answer = response.json()["preview_rules"]
    assert answer["code"] == "SCHEDULED" and answer["status"] == "success"
    job_id = answer["details"]["job_id"]
    again = api.post(
        f"{TERRITORIES}/actions/preview_rules",
        json={"run_rules": {"module": {"api_name": "Accounts"}}},
    )
    assert again.json()["preview_rules"]["code"] == "ALREADY_SCHEDULED"

    ts.run_jobs(app)
    status = api.get(
        f"{TERRITORIES}/actions/scheduled_run_rule_jobs", params={"job_id": job_id}
    ).json()["scheduled_run_rule_jobs"]
    assert status["status"] == "COMPLETED" and status["type"] == "preview_rules"
    preview = status["result"]["preview"]
    assert preview == [
        {
            "territory": {"id": paris, "name": "Paris"},
            "gained": 0,
            "lost": 1,
            "record_ids": {"gained": [], "lost": [str(in_paris)], "truncated": False},
        },
        {
            "territory": {"id": lyon, "name": "Lyon"},
            "gained": 1,
            "lost": 0,
            "record_ids": {"gained": [str(in_lyon)], "lost": [], "truncated": False},
        },
    ]
    after = territory_state(app)
    # Only the job's own row changed (its status and result), no assignment.
    assert after[:3] == before[:3] and after[4:] == before[4:]
    assert ts.held(app, in_paris) == {int(paris): False} and ts.held(app, in_lyon) == {}


# --- bad input on every write endpoint -------------------------------------------------------


def test_bad_bodies_on_every_territory_write_are_zoho_errors_and_change_nothing(
    app: Secteur, api: httpx.Client
) -> None:
    root_id = enable(api)
    team = create(api, "Team", root_id)
    admin = str(admin_id(app))
    (account,) = insert_fast(app, "Accounts", [{"Account_Name": "Initech"}])
    writes = [
        ("POST", TERRITORIES, "territories"),
        ("PUT", TERRITORIES, "territories"),
        ("PUT", f"{TERRITORIES}/{team}", "territories"),
        ("POST", f"{TERRITORIES}/actions/transfer_and_delete", "territories"),
        ("POST", f"{TERRITORIES}/{team}/actions/transfer_and_delete", "territories"),
        ("PUT", f"{TERRITORIES}/{team}/users", "users"),
        ("PUT", f"/crm/v8/users/{admin}/territories", "territories"),
        ("POST", "/crm/v8/Accounts/actions/assign_territories", "data"),
        ("POST", "/crm/v8/Accounts/actions/remove_territories", "data"),
        ("POST", f"/crm/v8/Accounts/{account}/actions/assign_territories", "data"),
        ("POST", f"/crm/v8/Accounts/{account}/actions/remove_territories", "data"),
    ]
    before = territory_state(app)
    for method, path, key in writes:
        for raw, status, code in (
            (b"{not json", 400, "INVALID_DATA"),
            (b"", 400, "REQUIRED_PARAM_MISSING"),
            (b'"text"', 400, "INVALID_DATA"),
            (b"{}", 400, "REQUIRED_PARAM_MISSING"),
            (f'{{"{key}": {{}}}}'.encode(), 400, "INVALID_DATA"),
            (f'{{"{key}": []}}'.encode(), 400, "MANDATORY_NOT_FOUND"),
            (b"\xff\xfe", 400, "INVALID_DATA"),
        ):
            response = api.request(method, path, content=raw)
            body = assert_zoho_error(response, status, code)
            assert "Traceback" not in body["message"], (method, path)
        # Items of the wrong type fail one by one, in the envelope.
        for wrong_type in (7, "x", None, [1]):
            response = api.request(method, path, json={key: [wrong_type]})
            assert response.status_code == 400, (method, path, response.text)
            (result,) = response.json()[key]
            assert result["status"] == "error" and result["code"] in (
                "INVALID_DATA",
                "MANDATORY_NOT_FOUND",
            ), (method, path, result)
        # Ids that name nothing, or are not ids at all.
        for wrong in ({"id": "999999"}, {"id": "abc"}, {"id": True}, {"id": -1}):
            # Every id of the item is wrong, so that no path can apply it.
            item_body = {
                "territories": {
                    **wrong,
                    "transfer_to_id": wrong["id"],
                    "reporting_to": wrong,
                    "name": "Q",
                },
                "users": wrong,
                "data": {**wrong, "Territories": [wrong]},
            }[key]
            response = api.request(method, path, json={key: [item_body]})
            assert 400 <= response.status_code < 500, (method, path, wrong, response.text)
            assert response.headers["content-type"].startswith("application/json")
    many = [{"name": f"T{i}", "reporting_to": {"id": root_id}} for i in range(101)]
    assert_zoho_error(api.post(TERRITORIES, json={"territories": many}), 400, "LIMIT_EXCEEDED")
    both = {"users": [{"id": admin}], "territories": [{"id": team}]}
    for path in (f"{TERRITORIES}/999999/users", "/crm/v8/users/999999/territories"):
        assert_zoho_error(api.put(path, json=both), 400, "INVALID_DATA")
    for method, path, params in (
        ("DELETE", TERRITORIES, {}),
        ("DELETE", TERRITORIES, {"ids": "x,y"}),
        ("DELETE", f"{TERRITORIES}/{team}/users", {}),
        ("DELETE", f"/crm/v8/users/{admin}/territories", {"ids": "-1"}),
        ("DELETE", f"{TERRITORIES}/abc", {}),
        ("DELETE", f"{TERRITORIES}/{team}/users/abc", {}),
        ("PUT", f"{TERRITORIES}/{team}/users/999999", {}),
        ("DELETE", f"/crm/v8/users/{admin}/territories/{2**70}", {}),
    ):
        response = api.request(method, path, params=params)
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["code"] in ("REQUIRED_PARAM_MISSING", "INVALID_DATA")
    assert territory_state(app) == before


def test_a_missing_or_forged_token_is_401_on_territory_endpoints(base_url: str) -> None:
    calls = [
        ("POST", MANAGEMENT, "territory_management"),
        ("POST", f"{TERRITORIES}/actions/run_rules", "run_rules"),
        ("POST", f"{TERRITORIES}/actions/preview_rules", "preview_rules"),
        ("POST", TERRITORIES, "territories"),
        ("PUT", f"{TERRITORIES}/1/users", "users"),
        ("PUT", "/crm/v8/users/1/territories", "territories"),
        ("POST", "/crm/v8/Accounts/actions/assign_territories", "data"),
        ("GET", TERRITORIES, None),
        ("GET", "/crm/v8/Accounts/1/actions/explain_territories", None),
    ]
    for method, path, key in calls:
        for headers in ({}, {"Authorization": "Zoho-oauthtoken forged"}):
            body = {key: [{}]} if key else None
            response = httpx.request(method, f"{base_url}{path}", json=body, headers=headers)
            assert_zoho_error(response, 401, "INVALID_TOKEN")
