"""Territories on records through the live server (territories.md TER-3, TER-20 … TER-23,
TER-27 … TER-30): assigning and removing by hand, the `Territories` field, explanations,
what members see and change, and lists filtered by territory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from secteur.services import territories as service
from secteur.services.app import Secteur
from tests.support import territories as ts
from tests.support.records_api import (
    admin_id,
    assert_zoho_error,
    client_for,
    insert_fast,
    make_role,
    make_user,
    root_role,
)

TERRITORIES = "/crm/v8/settings/territories"
MANAGEMENT = "/crm/v8/settings/territory_management"
ZOHO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
SYSTEM_ASSIGNED = "Territory id which you are trying to remove was system assigned"


def assign(api: httpx.Client, module: str, *pairs: tuple[Any, list[Any]]) -> httpx.Response:
    body = {
        "data": [{"id": str(r), "Territories": [{"id": str(t)} for t in ts_]} for r, ts_ in pairs]
    }
    return api.post(f"/crm/v8/{module}/actions/assign_territories", json=body)


def remove(api: httpx.Client, module: str, *pairs: tuple[Any, list[Any]]) -> httpx.Response:
    body = {
        "data": [{"id": str(r), "Territories": [{"id": str(t)} for t in ts_]} for r, ts_ in pairs]
    }
    return api.post(f"/crm/v8/{module}/actions/remove_territories", json=body)


def assign_one(api: httpx.Client, module: str, record: Any, *territories: Any) -> httpx.Response:
    return api.post(
        f"/crm/v8/{module}/{record}/actions/assign_territories",
        json={"data": [{"Territories": [{"id": str(t)} for t in territories]}]},
    )


def codes(response: httpx.Response) -> list[str]:
    return [r["code"] for r in response.json()["data"]]


def territories_of(api: httpx.Client, module: str, record: Any) -> list[dict[str, Any]]:
    response = api.get(f"/crm/v8/{module}/{record}")
    assert response.status_code == 200, response.text
    return list(response.json()["data"][0]["Territories"])


def listed(response: httpx.Response) -> list[str]:
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


# --- TER-3: off hides, on restores ----------------------------------------------------------


def test_TER_3_disabling_hides_field_and_filters_and_re_enabling_restores_everything(
    app: Secteur, base_url: str, api: httpx.Client
) -> None:
    root = ts.enable(app)
    north = ts.create(app, "North", root, accounts=ts.rule("Billing_City", "equal", "Lille"))
    team = ts.create(app, "Team", root)
    rep = make_user(app, "rep@acme.test", make_role(app, "Rep", root_role(app)))
    assert api.put(f"{TERRITORIES}/{team}/users", json={"users": [{"id": rep}]}).status_code == 200
    auto, manual = insert_fast(
        app,
        "Accounts",
        [{"Account_Name": "Auto", "Billing_City": "Lille"}, {"Account_Name": "Manual"}],
    )
    assert assign(api, "Accounts", (manual, [team])).status_code == 200
    tree_before = api.get(TERRITORIES).json()["territories"]
    held_before = (ts.held(app, auto), ts.held(app, manual))
    fields = api.get("/crm/v8/settings/fields", params={"module": "Accounts"}).json()["fields"]
    (field,) = [f for f in fields if f["api_name"] == "Territories"]
    assert field["custom_field"] is False and field["data_type"] == "territories"
    with client_for(app, base_url, "rep@acme.test") as rep_api:
        assert listed(rep_api.get("/crm/v8/Accounts")) == [str(manual)]

    off = api.post(MANAGEMENT, json={"territory_management": {"enabled": False}})
    assert off.status_code == 200, off.text

    fields = api.get("/crm/v8/settings/fields", params={"module": "Accounts"}).json()["fields"]
    assert "Territories" not in {f["api_name"] for f in fields}
    record = api.get(f"/crm/v8/Accounts/{auto}").json()["data"][0]
    assert "Territories" not in record
    assert all("Territories" not in r for r in api.get("/crm/v8/Accounts").json()["data"])
    assert_zoho_error(
        api.get(f"/crm/v8/Accounts/{auto}", params={"fields": "Territories"}), 400, "INVALID_DATA"
    )
    assert_zoho_error(
        api.get("/crm/v8/Accounts", params={"territory_id": north}), 400, "FEATURE_NOT_ENABLED"
    )
    assert_zoho_error(
        api.get(f"/crm/v8/Accounts/{auto}/actions/explain_territories"),
        400,
        "FEATURE_NOT_ENABLED",
    )
    assert_zoho_error(assign(api, "Accounts", (auto, [team])), 400, "FEATURE_NOT_ENABLED")
    with client_for(app, base_url, "rep@acme.test") as rep_api:
        assert listed(rep_api.get("/crm/v8/Accounts")) == []

    # Back on (asking for the roles even): the same tree, members and assignments.
    on = api.post(
        MANAGEMENT, json={"territory_management": {"enabled": True, "start_from": "roles"}}
    )
    assert on.status_code == 200, on.text
    assert api.get(TERRITORIES).json()["territories"] == tree_before
    assert {u["id"] for u in api.get(f"{TERRITORIES}/{team}/users").json()["users"]} == {str(rep)}
    assert (ts.held(app, auto), ts.held(app, manual)) == held_before
    assert [t["id"] for t in territories_of(api, "Accounts", auto)] == [str(north)]
    with client_for(app, base_url, "rep@acme.test") as rep_api:
        assert listed(rep_api.get("/crm/v8/Accounts")) == [str(manual)]


# --- TER-20 … TER-22: assigning and removing by hand ----------------------------------------


@dataclass
class Org:
    app: Secteur
    base_url: str
    root: int
    east: int
    east1: int
    west: int
    users: dict[str, int]

    @contextmanager
    def client(self, who: str) -> Iterator[httpx.Client]:
        with client_for(self.app, self.base_url, f"{who}@acme.test") as api:
            yield api


@pytest.fixture
def org(app: Secteur, base_url: str) -> Org:
    """East (managed by mgr) → East 1; West. mgr and rep sit in roles that do not see each
    other's records (or the admin's)."""
    root = ts.enable(app)
    rep_role = make_role(app, "Rep", root_role(app))
    users = {
        "mgr": make_user(app, "mgr@acme.test", make_role(app, "Manager", root_role(app))),
        "rep": make_user(app, "rep@acme.test", rep_role),
        "other": make_user(app, "other@acme.test", rep_role),
    }
    east = ts.create(app, "East", root, manager={"id": str(users["mgr"])})
    east1 = ts.create(app, "East 1", east)
    west = ts.create(app, "West", root)
    return Org(app, base_url, root, east, east1, west, users)


def test_TER_20_admins_assign_any_territory_managers_their_subtree_others_none(
    org: Org, api: httpx.Client
) -> None:
    app, users = org.app, org.users
    mgr_account, rep_account = insert_fast(
        app,
        "Accounts",
        [
            {"Account_Name": "Mgr's", "Owner": {"id": users["mgr"]}},
            {"Account_Name": "Rep's", "Owner": {"id": users["rep"]}},
        ],
    )
    with org.client("mgr") as mgr:
        response = assign(mgr, "Accounts", (mgr_account, [org.east1]), (mgr_account, [org.west]))
        assert response.status_code == 207, response.text
        ok, refused = response.json()["data"]
        assert ok == {
            "code": "SUCCESS",
            "details": {"id": str(mgr_account)},
            "message": "Territories assigned successfully",
            "status": "success",
        }
        assert refused["code"] == "NO_PERMISSION" and refused["status"] == "error"
        assert refused["details"]["id"] == str(org.west)
        assert refused["details"]["json_path"] == "$.data[1].Territories"
        assert codes(assign_one(mgr, "Accounts", mgr_account, org.east)) == ["SUCCESS"]
    with org.client("rep") as rep:
        response = assign(rep, "Accounts", (rep_account, [org.east1]))
        assert response.status_code == 400
        assert codes(response) == ["NO_PERMISSION"]
        # A record the caller cannot see is answered like a missing one.
        hidden = assign(rep, "Accounts", (mgr_account, [org.east1]))
        assert codes(hidden) == ["INVALID_DATA"]
        assert hidden.json()["data"][0]["details"]["json_path"] == "$.data[0].id"
        assert_zoho_error(assign_one(rep, "Accounts", mgr_account, org.east1), 400, "INVALID_DATA")
    assert codes(assign(api, "Accounts", (rep_account, [org.west, org.east1]))) == ["SUCCESS"]
    assert ts.held(app, mgr_account) == {org.east1: True, org.east: True}
    assert ts.held(app, rep_account) == {org.west: True, org.east1: True}


def test_TER_21_hand_assigned_territories_are_removed_by_hand_automatic_ones_never(
    org: Org, api: httpx.Client
) -> None:
    app = org.app
    paris = ts.create(app, "Paris", org.root, accounts=ts.rule("Billing_City", "equal", "Paris"))
    (account,) = insert_fast(
        app,
        "Accounts",
        [
            {
                "Account_Name": "Acme Paris",
                "Billing_City": "Paris",
                "Owner": {"id": org.users["rep"]},
            }
        ],
    )
    assert codes(assign(api, "Accounts", (account, [org.east1, org.west]))) == ["SUCCESS"]
    assert ts.held(app, account) == {paris: False, org.east1: True, org.west: True}

    system = remove(api, "Accounts", (account, [paris]))
    assert system.status_code == 400
    (error,) = system.json()["data"]
    assert error["code"] == "INVALID_DATA" and error["message"] == SYSTEM_ASSIGNED
    assert codes(remove(api, "Accounts", (account, [org.east]))) == ["INVALID_DATA"]
    with org.client("rep") as rep:
        assert codes(remove(rep, "Accounts", (account, [org.east1]))) == ["NO_PERMISSION"]
    with org.client("mgr") as mgr:
        # The manager of East may take East 1 off, not West — but mgr does not see the record
        # until it is in his territories (it is: East 1 is below East).
        assert codes(remove(mgr, "Accounts", (account, [org.west]))) == ["NO_PERMISSION"]
        single = mgr.post(
            f"/crm/v8/Accounts/{account}/actions/remove_territories",
            json={"data": [{"Territories": [{"id": org.east1}]}]},
        )
        assert single.status_code == 200, single.text
        assert single.json()["data"][0]["message"] == "Territories removed successfully"
    assert ts.held(app, account) == {paris: False, org.west: True}
    assert codes(remove(api, "Accounts", (account, [org.west]))) == ["SUCCESS"]
    assert ts.held(app, account) == {paris: False}


def test_TER_22_at_most_ten_records_per_call_and_errors_per_item(
    org: Org, api: httpx.Client
) -> None:
    app = org.app
    accounts = insert_fast(app, "Accounts", [{"Account_Name": f"A{i}"} for i in range(11)])
    (deal,) = insert_fast(
        app,
        "Deals",
        [{"Deal_Name": "Big", "Stage": "Qualification", "Closing_Date": "2030-01-01"}],
    )
    eleven = assign(api, "Accounts", *[(a, [org.west]) for a in accounts])
    body = assert_zoho_error(eleven, 400, "LIMIT_EXCEEDED")
    assert body["details"]["limit"] == 10
    assert all(ts.held(app, a) == {} for a in accounts)

    assert codes(assign(api, "Accounts", (accounts[0], [org.west]))) == ["SUCCESS"]
    mixed = api.post(
        "/crm/v8/Accounts/actions/assign_territories",
        json={
            "data": [
                {"id": accounts[1], "Territories": [{"id": org.west}]},  # ids as numbers
                {"id": str(accounts[0]), "Territories": [{"id": str(org.west)}]},
                {"id": "999999", "Territories": [{"id": str(org.west)}]},
                {"id": str(accounts[2]), "Territories": [{"id": "999999"}]},
                {"id": str(accounts[3]), "Territories": [{"id": org.east}, {"id": org.east}]},
                {"id": str(accounts[4])},
                {"id": str(accounts[5]), "Territories": {"id": org.east}},
                {"Territories": [{"id": org.east}]},
                {"id": str(accounts[6]), "Territories": [{"id": "x"}]},
            ]
        },
    )
    assert mixed.status_code == 207, mixed.text
    assert codes(mixed) == [
        "SUCCESS",
        "DUPLICATE_DATA",
        "INVALID_DATA",
        "INVALID_DATA",
        "DUPLICATE_DATA",
        "MANDATORY_NOT_FOUND",
        "INVALID_DATA",
        "MANDATORY_NOT_FOUND",
        "INVALID_DATA",
    ]
    paths = [r["details"].get("json_path") for r in mixed.json()["data"]]
    assert paths[5:] == [
        "$.data[5].Territories",
        "$.data[6].Territories",
        "$.data[7].id",
        "$.data[8].Territories[0].id",
    ]
    assert ts.held(app, accounts[1]) == {org.west: True}
    assert all(ts.held(app, a) == {} for a in accounts[2:])

    # Deals hold one territory (TER-8): a second one is over the limit.
    assert codes(assign_one(api, "Deals", deal, org.west)) == ["SUCCESS"]
    over = assign_one(api, "Deals", deal, org.east)
    assert over.status_code == 400
    (error,) = over.json()["data"]
    assert error["code"] == "LIMIT_EXCEEDED" and error["details"]["limit"] == 1
    assert_zoho_error(assign_one(api, "Deals", 999999, org.east), 400, "INVALID_DATA")
    assert_zoho_error(assign_one(api, "Nope", deal, org.east), 400, "INVALID_MODULE")
    two = api.post(
        f"/crm/v8/Deals/{deal}/actions/assign_territories",
        json={"data": [{"Territories": [{"id": org.east}]}, {"Territories": [{"id": org.east}]}]},
    )
    assert_zoho_error(two, 400, "LIMIT_EXCEEDED")
    assert ts.held(app, deal) == {org.west: True}


# --- TER-23: the field ----------------------------------------------------------------------


def test_TER_23_the_territories_field_says_how_each_territory_was_assigned(
    app: Secteur, api: httpx.Client
) -> None:
    root = ts.enable(app)
    paris = ts.create(app, "Paris", root, accounts=ts.rule("Billing_City", "equal", "Paris"))
    team = ts.create(app, "Team", root)
    account, plain = insert_fast(
        app,
        "Accounts",
        [{"Account_Name": "Le Shop", "Billing_City": "Paris"}, {"Account_Name": "Plain"}],
    )
    (contact,) = insert_fast(
        app, "Contacts", [{"Last_Name": "Curie", "Account_Name": {"id": account}}]
    )
    assert codes(assign(api, "Accounts", (account, [team]))) == ["SUCCESS"]

    found = territories_of(api, "Accounts", account)
    assert found == [
        {
            "id": str(paris),
            "Name": "Paris",
            "$assigned": "automatically",
            "$assigned_by": None,
            "$assigned_time": found[0]["$assigned_time"],
        },
        {
            "id": str(team),
            "Name": "Team",
            "$assigned": "manually",
            "$assigned_by": {"id": str(admin_id(app)), "name": "Ada Admin"},
            "$assigned_time": found[1]["$assigned_time"],
        },
    ]
    assert all(ZOHO_TIME.match(t["$assigned_time"]) for t in found)
    assert territories_of(api, "Accounts", plain) == []
    # The contact inherits its account's territories (TER-17), automatically.
    inherited = territories_of(api, "Contacts", contact)
    assert [(t["Name"], t["$assigned"]) for t in inherited] == [
        ("Paris", "automatically"),
        ("Team", "automatically"),
    ]

    pages = {
        "list": api.get("/crm/v8/Accounts"),
        "search": api.get("/crm/v8/Accounts/search", params={"word": "shop"}),
        "related": api.get(f"/crm/v8/Accounts/{account}/Contacts"),
        "chosen": api.get("/crm/v8/Accounts", params={"fields": "Account_Name,Territories"}),
    }
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.text)
        for record in response.json()["data"]:
            assert isinstance(record["Territories"], list), name
    by_id = {r["id"]: r for r in pages["list"].json()["data"]}
    assert by_id[str(account)]["Territories"] == found
    narrow = api.get("/crm/v8/Accounts", params={"fields": "Account_Name"}).json()["data"]
    assert all("Territories" not in r for r in narrow)
    # The field is read-only: sent with a record, it is ignored like any read-only field
    # (a record read with the SDK can be written back); assign_territories changes it.
    write = api.put(
        f"/crm/v8/Accounts/{plain}", json={"data": [{"Territories": [{"id": str(team)}]}]}
    )
    assert write.status_code == 200, write.text
    assert territories_of(api, "Accounts", plain) == []


# --- TER-27: explanations -------------------------------------------------------------------


def test_TER_27_explain_traces_the_walk_for_an_account_a_contact_and_a_deal(
    app: Secteur, api: httpx.Client
) -> None:
    root = ts.enable(app)
    europe = ts.create(app, "Europe", root, accounts=ts.rule("Billing_Country", "equal", "France"))
    paris = ts.create(app, "Paris", europe, accounts=ts.rule("Billing_City", "equal", "Paris"))
    americas = ts.create(app, "Americas", root, accounts=ts.rule("Billing_Country", "equal", "USA"))
    ny = ts.create(app, "New York", americas, accounts=ts.rule("Billing_City", "equal", "NYC"))
    manual = ts.create(app, "Key accounts", root)
    (account,) = insert_fast(
        app,
        "Accounts",
        [{"Account_Name": "Louvre", "Billing_Country": "France", "Billing_City": "Paris"}],
    )
    (contact,) = insert_fast(
        app, "Contacts", [{"Last_Name": "Monet", "Account_Name": {"id": account}}]
    )
    (deal,) = insert_fast(
        app,
        "Deals",
        [
            {
                "Deal_Name": "Mona Lisa",
                "Stage": "Qualification",
                "Closing_Date": "2030-01-01",
                "Account_Name": {"id": account},
            }
        ],
    )
    assert codes(assign(api, "Accounts", (account, [manual]))) == ["SUCCESS"]

    response = api.get(f"/crm/v8/Accounts/{account}/actions/explain_territories")
    assert response.status_code == 200, response.text
    explanation = response.json()["explanation"]
    assert explanation["assigned"] == [{"id": str(paris), "name": "Paris"}]
    assert explanation["manual"] == [{"id": str(manual), "name": "Key accounts"}]
    trace = {e["territory"]["name"]: e for e in explanation["trace"]}
    assert trace["Europe"]["matched"] is True and trace["Europe"]["skipped"] is None
    assert trace["Europe"]["rule"]["field"]["api_name"] == "Billing_Country"
    assert trace["Europe"]["conditions"] == [
        {
            "field": "Billing_Country",
            "comparator": "equal",
            "value": "France",
            "record_value": "France",
            "result": True,
        }
    ]
    assert trace["Paris"]["matched"] is True and trace["Paris"]["assigned"] is True
    assert trace["Americas"]["matched"] is False
    assert trace["Americas"]["conditions"][0]["record_value"] == "France"
    assert trace["New York"]["skipped"] == "parent_not_matched"
    assert trace["New York"]["territory"] == {"id": str(ny), "name": "New York"}
    for entry in explanation["trace"]:
        assert set(entry) >= {"territory", "rule", "matched", "conditions", "skipped"}

    contact_expl = api.get(f"/crm/v8/Contacts/{contact}/actions/explain_territories").json()
    contact_expl = contact_expl["explanation"]
    assert {t["name"] for t in contact_expl["assigned"]} == {"Paris", "Key accounts"}
    assert contact_expl["manual"] == []
    assert any("account" in note for note in contact_expl["notes"])
    assert [e["territory"]["name"] for e in contact_expl["trace"]] == ["Paris", "Key accounts"]

    deal_expl = api.get(f"/crm/v8/Deals/{deal}/actions/explain_territories").json()
    deal_expl = deal_expl["explanation"]
    assert deal_expl["assigned"] == [{"id": str(paris), "name": "Paris"}]
    assert any("deal rule is off" in note for note in deal_expl["notes"])
    assert [(e["territory"]["name"], e["skipped"]) for e in deal_expl["trace"]] == [
        ("Paris", None),
        ("Key accounts", "cap"),
    ]

    assert_zoho_error(
        api.get("/crm/v8/Accounts/999999/actions/explain_territories"), 400, "INVALID_DATA"
    )
    assert_zoho_error(
        api.get(f"/crm/v8/Nope/{account}/actions/explain_territories"), 400, "INVALID_MODULE"
    )


# --- TER-28, TER-29: visibility and edit access ---------------------------------------------


def test_TER_28_a_member_of_a_parent_territory_sees_records_of_its_children(
    app: Secteur, base_url: str
) -> None:
    root = ts.enable(app)
    region = ts.create(app, "Region", root)
    city = ts.create(app, "Lyon", region, accounts=ts.rule("Billing_City", "equal", "Lyon"))
    role = make_role(app, "Field", root_role(app))
    alice = make_user(app, "alice@acme.test", role)
    make_user(app, "bob@acme.test", role)
    boss = make_user(app, "boss@acme.test", role)
    with app.write() as tx:
        service.add_members(tx, ts.admin(tx), region, [alice])
        service.update_territory(tx, ts.admin(tx), region, 0, {"manager": {"id": str(boss)}})
    in_lyon, elsewhere = insert_fast(
        app,
        "Accounts",
        [
            {"Account_Name": "Lyon Shop", "Billing_City": "Lyon"},
            {"Account_Name": "Nice Shop", "Billing_City": "Nice"},
        ],
    )
    assert ts.held(app, in_lyon) == {city: False}

    for who, sees in (("alice", [str(in_lyon)]), ("boss", [str(in_lyon)]), ("bob", [])):
        with client_for(app, base_url, f"{who}@acme.test") as api:
            assert listed(api.get("/crm/v8/Accounts")) == sees, who
            assert api.get("/crm/v8/Accounts/actions/count").json() == {"count": len(sees)}
            assert listed(api.get("/crm/v8/Accounts/search", params={"word": "shop"})) == sees
            criteria = {"criteria": "(Account_Name:ends_with:Shop)"}
            assert listed(api.get("/crm/v8/Accounts/search", params=criteria)) == sees
            one = api.get(f"/crm/v8/Accounts/{in_lyon}")
            if sees:
                assert one.status_code == 200 and one.json()["data"][0]["id"] == str(in_lyon)
            else:
                assert_zoho_error(one, 400, "INVALID_DATA")
            assert_zoho_error(api.get(f"/crm/v8/Accounts/{elsewhere}"), 400, "INVALID_DATA")


def test_TER_29_a_read_only_territory_lets_members_read_but_not_change(
    app: Secteur, base_url: str, api: httpx.Client
) -> None:
    root = ts.enable(app)
    readers = ts.create(app, "Readers", root, permission_type="read_only")
    writers = ts.create(app, "Writers", root)
    role = make_role(app, "Field", root_role(app))
    carol = make_user(app, "carol@acme.test", role)
    dave = make_user(app, "dave@acme.test", role)
    for territory, user in ((readers, carol), (writers, dave)):
        added = api.put(f"{TERRITORIES}/{territory}/users", json={"users": [{"id": user}]})
        assert added.status_code == 200, added.text
    read_only, read_write = insert_fast(
        app, "Accounts", [{"Account_Name": "Read me"}, {"Account_Name": "Write me"}]
    )
    assert codes(assign(api, "Accounts", (read_only, [readers]), (read_write, [writers]))) == [
        "SUCCESS",
        "SUCCESS",
    ]
    with client_for(app, base_url, "carol@acme.test") as carol_api:
        assert carol_api.get(f"/crm/v8/Accounts/{read_only}").status_code == 200
        refused = carol_api.put(
            f"/crm/v8/Accounts/{read_only}", json={"data": [{"Account_Name": "Changed"}]}
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["data"][0]["status"] == "error"
        deleted = carol_api.delete(f"/crm/v8/Accounts/{read_only}")
        assert deleted.status_code == 400
    with client_for(app, base_url, "dave@acme.test") as dave_api:
        changed = dave_api.put(
            f"/crm/v8/Accounts/{read_write}", json={"data": [{"Account_Name": "Changed"}]}
        )
        assert changed.status_code == 200, changed.text
    names = {r["id"]: r["Account_Name"] for r in api.get("/crm/v8/Accounts").json()["data"]}
    assert names == {str(read_only): "Read me", str(read_write): "Changed"}


# --- TER-30: lists by territory -------------------------------------------------------------


def test_TER_30_record_lists_filter_by_territory_with_or_without_children(
    app: Secteur, api: httpx.Client
) -> None:
    root = ts.enable(app)
    a = ts.create(app, "A", root)
    a1 = ts.create(app, "A1", a)
    b = ts.create(app, "B", root)
    empty = ts.create(app, "Empty", root)
    in_a, in_a1, in_b, _none = insert_fast(
        app, "Accounts", [{"Account_Name": n} for n in ("in A", "in A1", "in B", "none")]
    )
    assert (
        codes(assign(api, "Accounts", (in_a, [a]), (in_a1, [a1]), (in_b, [b]))) == ["SUCCESS"] * 3
    )

    def ids(**params: Any) -> list[str]:
        return listed(api.get("/crm/v8/Accounts", params=params))

    assert ids(territory_id=a) == [str(in_a)]
    assert ids(territory_id=a, include_child="true") == [str(in_a), str(in_a1)]
    assert ids(territory_id=a, include_child="True") == [str(in_a), str(in_a1)]  # the SDK's way
    assert ids(territory_id=a1, include_child="false") == [str(in_a1)]
    assert ids(territory_id=root, include_child="true") == [str(in_a), str(in_a1), str(in_b)]
    assert ids(territory_id=root) == []
    assert ids(territory_id=empty) == []
    assert ids(territory_id=a, include_child="true", sort_order="desc") == [str(in_a1), str(in_a)]

    first = api.get(
        "/crm/v8/Accounts", params={"territory_id": root, "include_child": "true", "per_page": 2}
    ).json()
    assert [r["id"] for r in first["data"]] == [str(in_a), str(in_a1)]
    token = first["info"]["next_page_token"]
    rest = api.get(
        "/crm/v8/Accounts",
        params={"territory_id": root, "include_child": "true", "per_page": 2, "page_token": token},
    )
    assert listed(rest) == [str(in_b)]
    # A token is bound to its filter.
    other = api.get(
        "/crm/v8/Accounts", params={"territory_id": a, "per_page": 2, "page_token": token}
    )
    assert_zoho_error(other, 400, "INVALID_DATA")

    for bad in ("999999", "x", "", f"{a},{b}", str(2**64)):
        body = assert_zoho_error(
            api.get("/crm/v8/Accounts", params={"territory_id": bad}), 400, "INVALID_DATA"
        )
        assert body["details"]["param_name"] == "territory_id"
    assert_zoho_error(
        api.get("/crm/v8/Accounts", params={"territory_id": a, "include_child": "maybe"}),
        400,
        "INVALID_DATA",
    )
