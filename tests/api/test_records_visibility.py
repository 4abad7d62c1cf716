"""Record visibility through the role hierarchy (core.md, "Users, roles, profiles"), on every
read and write endpoint: owners, superiors, peers when their role shares, administrators —
and a hidden record answers exactly like a missing one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from secteur.services.app import Secteur
from tests.support.orgs import ADMIN_EMAIL
from tests.support.records_api import (
    admin_id,
    assert_zoho_error,
    client_for,
    insert_fast,
    make_role,
    make_user,
    root_role,
    snapshot,
)

# Who sits where. CEO (admin) → Sales Manager (mgr) → Reps (rep1, rep2; no sharing) and
# Shared Reps (srep1, srep2; share_with_peers); CEO → Support Manager (sup) on a side branch.
PEOPLE = ("admin", "mgr", "rep1", "rep2", "srep1", "srep2", "sup")
SEES: dict[str, set[str]] = {
    "admin": set(PEOPLE),
    "mgr": {"mgr", "rep1", "rep2", "srep1", "srep2"},
    "rep1": {"rep1"},
    "rep2": {"rep2"},
    "srep1": {"srep1", "srep2"},
    "srep2": {"srep1", "srep2"},
    "sup": {"sup"},
}


@dataclass
class Org:
    app: Secteur
    base_url: str
    users: dict[str, int]
    # One Account per person, named after its owner.
    accounts: dict[str, str]

    @contextmanager
    def client(self, who: str) -> Iterator[httpx.Client]:
        email = ADMIN_EMAIL if who == "admin" else f"{who}@acme.test"
        with client_for(self.app, self.base_url, email) as api:
            yield api


@pytest.fixture
def org(app: Secteur, base_url: str) -> Org:
    root = root_role(app)
    manager = make_role(app, "Sales Manager", root)
    reps = make_role(app, "Sales Rep", manager)
    shared = make_role(app, "Shared Rep", manager, share_with_peers=True)
    support = make_role(app, "Support Manager", root)
    users = {"admin": admin_id(app)}
    for who, role in (
        ("mgr", manager),
        ("rep1", reps),
        ("rep2", reps),
        ("srep1", shared),
        ("srep2", shared),
        ("sup", support),
    ):
        users[who] = make_user(app, f"{who}@acme.test", role)
    ids = insert_fast(
        app,
        "Accounts",
        [{"Account_Name": f"{who} account", "Owner": {"id": users[who]}} for who in PEOPLE],
    )
    return Org(app, base_url, users, {who: str(i) for who, i in zip(PEOPLE, ids, strict=True)})


def _owners(org: Org, response: httpx.Response) -> set[str]:
    if response.status_code == 204:
        return set()
    assert response.status_code == 200, response.text
    by_id = {v: k for k, v in org.accounts.items()}
    return {by_id[r["id"]] for r in response.json()["data"]}


def test_lists_show_exactly_the_records_the_hierarchy_allows(org: Org) -> None:
    for viewer in PEOPLE:
        _check_lists(org, viewer)


def _check_lists(org: Org, viewer: str) -> None:
    with org.client(viewer) as api:
        assert _owners(org, api.get("/crm/v8/Accounts")) == SEES[viewer]
        assert api.get("/crm/v8/Accounts/actions/count").json() == {"count": len(SEES[viewer])}
        found = api.get("/crm/v8/Accounts/search", params={"word": "account"})
        assert _owners(org, found) == SEES[viewer]
        criteria = api.get(
            "/crm/v8/Accounts/search", params={"criteria": "(Account_Name:ends_with:account)"}
        )
        assert _owners(org, criteria) == SEES[viewer]
        counted = api.get(
            "/crm/v8/Accounts/actions/count", params={"criteria": "(Account_Name:contains:rep)"}
        )
        assert counted.json()["count"] == len({p for p in SEES[viewer] if "rep" in p})
        listed_ids = api.get("/crm/v8/Accounts", params={"ids": ",".join(org.accounts.values())})
        assert _owners(org, listed_ids) == SEES[viewer]


def test_a_hidden_record_answers_exactly_like_a_missing_one(org: Org) -> None:
    for viewer in ("mgr", "rep1", "srep1", "sup"):
        _check_hidden_like_missing(org, viewer)


def _check_hidden_like_missing(org: Org, viewer: str) -> None:
    missing = str(max(int(i) for i in org.accounts.values()) + 1000)
    with org.client(viewer) as api:
        for owner, record_id in org.accounts.items():
            got = api.get(f"/crm/v8/Accounts/{record_id}")
            if owner in SEES[viewer]:
                assert got.status_code == 200
                continue
            before = snapshot(org.app)
            for method, path, body in (
                ("GET", "/crm/v8/Accounts/{}", None),
                ("PUT", "/crm/v8/Accounts/{}", {"data": [{"Billing_City": "X"}]}),
                ("DELETE", "/crm/v8/Accounts/{}", None),
                ("GET", "/crm/v8/Accounts/{}/Contacts", None),
            ):
                hidden = api.request(method, path.format(record_id), json=body)
                absent = api.request(method, path.format(missing), json=body)
                assert (hidden.status_code, hidden.json()) == (absent.status_code, absent.json())
                assert hidden.status_code == 400
            batch = api.put("/crm/v8/Accounts", json={"data": [{"id": record_id, "Phone": "1"}]})
            ghost = api.put("/crm/v8/Accounts", json={"data": [{"id": missing, "Phone": "1"}]})
            assert batch.status_code == ghost.status_code == 400
            assert batch.text.replace(record_id, "ID") == ghost.text.replace(missing, "ID")
            gone = api.delete("/crm/v8/Accounts", params={"ids": record_id})
            never = api.delete("/crm/v8/Accounts", params={"ids": missing})
            assert gone.text.replace(record_id, "ID") == never.text.replace(missing, "ID")
            assert snapshot(org.app) == before


def test_visible_records_of_others_can_be_read_changed_and_deleted(org: Org) -> None:
    for viewer, target in (("mgr", "rep2"), ("srep1", "srep2")):
        record_id = org.accounts[target]
        with org.client(viewer) as api:
            record = api.get(f"/crm/v8/Accounts/{record_id}").json()["data"][0]
            assert record["Owner"]["id"] == str(org.users[target])
            updated = api.put(f"/crm/v8/Accounts/{record_id}", json={"data": [{"Phone": "123"}]})
            assert updated.status_code == 200, updated.text
            assert api.delete(f"/crm/v8/Accounts/{record_id}").status_code == 200


def test_peers_see_each_other_only_when_their_role_shares(org: Org) -> None:
    with org.client("rep1") as api:
        assert api.get(f"/crm/v8/Accounts/{org.accounts['rep2']}").status_code == 400
    with org.client("srep1") as api:
        assert api.get(f"/crm/v8/Accounts/{org.accounts['srep2']}").status_code == 200


def test_subordinates_never_see_their_superiors_records(org: Org) -> None:
    for viewer in ("rep1", "srep1"):
        with org.client(viewer) as api:
            for superior in ("mgr", "admin"):
                response = api.get(f"/crm/v8/Accounts/{org.accounts[superior]}")
                assert_zoho_error(response, 400, "INVALID_DATA")


def test_an_upsert_never_matches_a_record_the_caller_cannot_see(org: Org) -> None:
    with org.client("rep1") as api:
        response = api.post(
            "/crm/v8/Accounts/upsert", json={"data": [{"Account_Name": "MGR ACCOUNT"}]}
        )
        assert response.status_code == 201, response.text
        item = response.json()["data"][0]
        assert item["action"] == "insert"
        assert item["details"]["id"] != org.accounts["mgr"]
    with org.client("admin") as api:
        record = api.get(f"/crm/v8/Accounts/{org.accounts['mgr']}").json()["data"][0]
        assert record["$version"] == 1


def test_a_record_given_away_to_a_superior_leaves_the_givers_view(org: Org) -> None:
    record_id = org.accounts["rep1"]
    with org.client("rep1") as api:
        response = api.put(
            f"/crm/v8/Accounts/{record_id}",
            json={"data": [{"Owner": {"id": str(org.users["mgr"])}}]},
        )
        assert response.status_code == 200, response.text
        assert api.get(f"/crm/v8/Accounts/{record_id}").status_code == 400
    with org.client("mgr") as api:
        assert api.get(f"/crm/v8/Accounts/{record_id}").status_code == 200


def _last_names(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {c["Last_Name"] for c in response.json()["data"]}


def test_related_lists_show_only_visible_children_of_a_visible_parent(org: Org) -> None:
    parent = org.accounts["mgr"]
    insert_fast(
        org.app,
        "Contacts",
        [
            {"Last_Name": who, "Account_Name": {"id": parent}, "Owner": {"id": org.users[who]}}
            for who in ("mgr", "rep1", "rep2", "sup")
        ],
    )
    with org.client("mgr") as api:
        assert _last_names(api.get(f"/crm/v8/Accounts/{parent}/Contacts")) == {
            "mgr",
            "rep1",
            "rep2",
        }
    with org.client("rep1") as api:
        assert_zoho_error(api.get(f"/crm/v8/Accounts/{parent}/Contacts"), 400, "INVALID_DATA")
        assert _last_names(api.get("/crm/v8/Contacts")) == {"rep1"}
    with org.client("admin") as api:
        assert _last_names(api.get(f"/crm/v8/Accounts/{parent}/Contacts")) == {
            "mgr",
            "rep1",
            "rep2",
            "sup",
        }


def test_the_recycle_bin_shows_what_the_viewer_could_see_or_deleted_themselves(org: Org) -> None:
    with org.client("admin") as api:
        ids = ",".join(org.accounts[w] for w in ("mgr", "rep1", "rep2", "sup"))
        assert api.delete("/crm/v8/Accounts", params={"ids": ids}).status_code == 200
    with org.client("srep1") as api:
        assert api.delete(f"/crm/v8/Accounts/{org.accounts['srep2']}").status_code == 200
    expected = {
        "admin": {"mgr", "rep1", "rep2", "sup", "srep2"},
        "mgr": {"mgr", "rep1", "rep2", "srep2"},
        "rep1": {"rep1"},
        "srep1": {"srep2"},
        "srep2": {"srep2"},
        "sup": {"sup"},
    }
    by_id = {v: k for k, v in org.accounts.items()}
    for viewer, owners in expected.items():
        with org.client(viewer) as api:
            response = api.get("/crm/v8/Accounts/deleted")
            seen = (
                set()
                if response.status_code == 204
                else {by_id[d["id"]] for d in response.json()["data"]}
            )
            assert seen == owners, viewer


def test_a_page_token_belongs_to_the_user_it_was_given_to(org: Org) -> None:
    with org.client("admin") as api:
        first = api.get("/crm/v8/Accounts", params={"per_page": 1})
        token = first.json()["info"]["next_page_token"]
    with org.client("mgr") as api:
        response = api.get("/crm/v8/Accounts", params={"per_page": 1, "page_token": token})
        assert_zoho_error(response, 400, "INVALID_DATA")


def test_a_lookup_to_a_hidden_record_answers_like_a_lookup_to_a_missing_one(org: Org) -> None:
    missing = str(max(int(i) for i in org.accounts.values()) + 1000)
    with org.client("rep1") as api:
        answers = []
        for target in (org.accounts["mgr"], missing):
            response = api.post(
                "/crm/v8/Contacts",
                json={"data": [{"Last_Name": "C", "Account_Name": {"id": target}}]},
            )
            answers.append((response.status_code, response.json()))
        assert answers[0] == answers[1]
        assert answers[0][0] == 400
        assert answers[0][1]["data"][0]["details"]["api_name"] == "Account_Name"


def test_a_record_keeps_a_lookup_it_already_had_to_a_record_now_hidden(org: Org) -> None:
    """The SDK sends a record back whole: an unchanged lookup must not fail the save."""
    [contact] = insert_fast(
        org.app,
        "Contacts",
        [
            {
                "Last_Name": "C",
                "Account_Name": {"id": org.accounts["mgr"]},
                "Owner": {"id": org.users["rep1"]},
            }
        ],
    )
    with org.client("rep1") as api:
        record = api.get(f"/crm/v8/Contacts/{contact}").json()["data"][0]
        assert record["Account_Name"]["id"] == org.accounts["mgr"]
        response = api.put(
            f"/crm/v8/Contacts/{contact}",
            json={"data": [{"Last_Name": "C2", "Account_Name": record["Account_Name"]}]},
        )
        assert response.status_code == 200, response.text
