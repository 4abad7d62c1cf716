"""The audit timeline: every change to a record or to configuration is kept with who, when,
from which value to which — and a refused change leaves no trace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.support.orgs import Clock


def events(
    app: Secteur, entity: str | None = None, entity_id: str | None = None
) -> list[dict[str, Any]]:
    query = sa.select(t.audit_events).order_by(t.audit_events.c.id)
    if entity is not None:
        query = query.where(t.audit_events.c.entity == entity)
    if entity_id is not None:
        query = query.where(t.audit_events.c.entity_id == int(entity_id))
    with app.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def one_event(app: Secteur, entity: str, entity_id: str, action: str) -> dict[str, Any]:
    [event] = [e for e in events(app, entity, entity_id) if e["action"] == action]
    return event


@contextmanager
def window(clock: Clock) -> Iterator[list[datetime]]:
    """The server-clock interval a block of requests ran in: [start, end]."""
    bounds = [clock()]
    yield bounds
    bounds.append(clock())


def me(api: httpx.Client) -> str:
    return str(api.get("/crm/v8/users", params={"type": "CurrentUser"}).json()["users"][0]["id"])


def created_id(response: httpx.Response, key: str) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()[key][0]["details"]["id"])


def assert_stamped(event: dict[str, Any], actor: str, bounds: list[datetime]) -> None:
    assert event["actor_id"] == int(actor)
    assert event["source"] == "api"
    assert bounds[0] <= event["at"] <= bounds[1]


def ids_of(api: httpx.Client) -> tuple[str, str, str]:
    """The root role, the Standard profile and the Administrator profile."""
    root = api.get("/crm/v8/settings/roles").json()["roles"][0]["id"]
    profiles = {p["name"]: p["id"] for p in api.get("/crm/v8/settings/profiles").json()["profiles"]}
    return root, profiles["Standard"], profiles["Administrator"]


def new_user(api: httpx.Client, email: str, role: str, profile: str) -> str:
    return created_id(
        api.post(
            "/crm/v8/users",
            json={
                "users": [
                    {
                        "last_name": "Bob",
                        "email": email,
                        "role": {"id": role},
                        "profile": {"id": profile},
                    }
                ]
            },
        ),
        "users",
    )


# --- records ------------------------------------------------------------------------------


def test_a_record_insert_is_audited_with_its_values(
    api: httpx.Client, app: Secteur, clock: Clock
) -> None:
    with window(clock) as bounds:
        account = created_id(
            api.post(
                "/crm/v8/Accounts",
                json={"data": [{"Account_Name": "Acme", "Employees": 12, "Industry": "software"}]},
            ),
            "data",
        )
    event = one_event(app, "record", account, "create")
    assert_stamped(event, me(api), bounds)
    assert event["module"] == "Accounts"
    assert event["before"] is None
    assert event["after"] == {"Account_Name": "Acme", "Employees": 12, "Industry": "Software"}


def test_a_record_update_is_audited_with_only_what_changed(
    api: httpx.Client, app: Secteur, clock: Clock
) -> None:
    account = created_id(
        api.post(
            "/crm/v8/Accounts",
            json={"data": [{"Account_Name": "Acme", "Phone": "1", "Employees": 12}]},
        ),
        "data",
    )
    with window(clock) as bounds:
        response = api.put(
            f"/crm/v8/Accounts/{account}",
            json={"data": [{"Phone": "2", "Employees": 12, "Billing_City": "Lyon"}]},
        )
    assert response.status_code == 200
    event = one_event(app, "record", account, "update")
    assert_stamped(event, me(api), bounds)
    assert event["before"] == {"Phone": "1", "Billing_City": None}
    assert event["after"] == {"Phone": "2", "Billing_City": "Lyon"}


def test_derived_values_are_audited_with_the_change_that_caused_them(
    api: httpx.Client, app: Secteur
) -> None:
    deal = created_id(
        api.post(
            "/crm/v8/Deals",
            json={
                "data": [
                    {
                        "Deal_Name": "Big",
                        "Stage": "Qualification",
                        "Closing_Date": "2025-06-30",
                        "Amount": 1000,
                    }
                ]
            },
        ),
        "data",
    )
    api.put(f"/crm/v8/Deals/{deal}", json={"data": [{"Stage": "Closed Won"}]})
    event = one_event(app, "record", deal, "update")
    assert event["before"] == {
        "Stage": "Qualification",
        "Probability": 10.0,
        "Expected_Revenue": 100.0,
    }
    assert event["after"] == {
        "Stage": "Closed Won",
        "Probability": 100.0,
        "Expected_Revenue": 1000.0,
    }


def test_a_change_of_owner_is_audited(api: httpx.Client, app: Secteur) -> None:
    root, standard, _ = ids_of(api)
    bob = new_user(api, "bob@acme.test", root, standard)
    account = created_id(
        api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "A"}]}), "data"
    )
    api.put(f"/crm/v8/Accounts/{account}", json={"data": [{"Owner": {"id": bob}}]})
    event = one_event(app, "record", account, "update")
    assert (event["before"], event["after"]) == ({"Owner": me(api)}, {"Owner": bob})


def test_a_record_delete_is_audited_with_what_was_lost(
    api: httpx.Client, app: Secteur, clock: Clock
) -> None:
    account = created_id(
        api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Acme", "Rating": "Active"}]}),
        "data",
    )
    with window(clock) as bounds:
        assert api.delete(f"/crm/v8/Accounts/{account}").status_code == 200
    event = one_event(app, "record", account, "delete")
    assert_stamped(event, me(api), bounds)
    assert event["before"]["Account_Name"] == "Acme"
    assert event["before"]["Rating"] == "Active"
    assert "Phone" not in event["before"]
    assert event["after"] is None


def test_custom_field_values_are_audited_in_their_json_form(
    api: httpx.Client, app: Secteur
) -> None:
    for definition in (
        {"field_label": "Renewal", "data_type": "date"},
        {
            "field_label": "Colours",
            "data_type": "multiselectpicklist",
            "pick_list_values": [{"display_value": "Red"}, {"display_value": "Blue"}],
        },
    ):
        assert (
            api.post(
                "/crm/v8/settings/fields",
                params={"module": "Accounts"},
                json={"fields": [definition]},
            ).status_code
            == 201
        )
    account = created_id(
        api.post(
            "/crm/v8/Accounts",
            json={
                "data": [{"Account_Name": "A", "Renewal": "2025-03-01", "Colours": ["blue", "Red"]}]
            },
        ),
        "data",
    )
    after = one_event(app, "record", account, "create")["after"]
    assert (after["Renewal"], after["Colours"]) == ("2025-03-01", ["Blue", "Red"])


def test_refused_record_writes_leave_no_audit_event(api: httpx.Client, app: Secteur) -> None:
    account = created_id(
        api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "A"}]}), "data"
    )
    before = events(app)
    etag = api.get(f"/crm/v8/Accounts/{account}").headers["etag"]
    api.put(f"/crm/v8/Accounts/{account}", json={"data": [{"Phone": "1"}]})
    after_update = events(app)
    stale = api.put(
        f"/crm/v8/Accounts/{account}", json={"data": [{"Phone": "2"}]}, headers={"If-Match": etag}
    )
    bad = api.post("/crm/v8/Accounts", json={"data": [{"Employees": "many"}]})
    assert (stale.status_code, bad.status_code) == (409, 400)
    assert len(after_update) == len(before) + 1
    assert events(app) == after_update


def test_a_partly_failing_batch_audits_only_what_was_written(
    api: httpx.Client, app: Secteur
) -> None:
    response = api.post(
        "/crm/v8/Accounts",
        json={"data": [{"Account_Name": "Good"}, {"Account_Name": "Bad", "Employees": "x"}]},
    )
    assert response.status_code == 207
    good = response.json()["data"][0]["details"]["id"]
    assert [(e["entity_id"], e["action"]) for e in events(app, "record")] == [(int(good), "create")]


# --- configuration ------------------------------------------------------------------------


def test_user_changes_are_audited(api: httpx.Client, app: Secteur, clock: Clock) -> None:
    root, standard, _ = ids_of(api)
    with window(clock) as bounds:
        bob = new_user(api, "bob@acme.test", root, standard)
        api.put(
            f"/crm/v8/users/{bob}", json={"users": [{"first_name": "Bobby", "status": "inactive"}]}
        )
        api.delete(f"/crm/v8/users/{bob}")
    created = one_event(app, "user", bob, "create")
    assert_stamped(created, me(api), bounds)
    assert created["before"] is None
    assert created["after"]["email"] == "bob@acme.test"
    assert created["after"]["role_id"] == int(root)
    updated = one_event(app, "user", bob, "update")
    assert updated["before"] == {"first_name": None, "status": "active"}
    assert updated["after"] == {"first_name": "Bobby", "status": "inactive"}
    deleted = one_event(app, "user", bob, "delete")
    assert (deleted["before"], deleted["after"]) == ({"status": "inactive"}, {"status": "deleted"})


def test_role_changes_are_audited(api: httpx.Client, app: Secteur, clock: Clock) -> None:
    root, standard, _ = ids_of(api)
    roles = "/crm/v8/settings/roles"
    with window(clock) as bounds:
        sales = created_id(
            api.post(roles, json={"roles": [{"name": "Sales", "reporting_to": {"id": root}}]}),
            "roles",
        )
        support = created_id(
            api.post(roles, json={"roles": [{"name": "Support", "reporting_to": {"id": root}}]}),
            "roles",
        )
        api.put(
            f"{roles}/{sales}", json={"roles": [{"name": "Field Sales", "share_with_peers": True}]}
        )
        bob = new_user(api, "bob@acme.test", sales, standard)
        api.delete(f"{roles}/{sales}", params={"transfer_to_id": support})
    created = one_event(app, "role", sales, "create")
    assert_stamped(created, me(api), bounds)
    assert created["before"] is None
    assert created["after"] == {"name": "Sales", "reporting_to": int(root)}
    updated = one_event(app, "role", sales, "update")
    assert updated["before"] == {"name": "Sales", "share_with_peers": False}
    assert updated["after"] == {"name": "Field Sales", "share_with_peers": True}
    deleted = one_event(app, "role", sales, "delete")
    assert deleted["before"] == {"name": "Field Sales", "reporting_to": int(root)}
    assert deleted["after"] == {"transferred_to": int(support)}
    moved = one_event(app, "user", bob, "update")
    assert (moved["before"], moved["after"]) == ({"role_id": int(sales)}, {"role_id": int(support)})


def test_profile_changes_are_audited(api: httpx.Client, app: Secteur, clock: Clock) -> None:
    root, standard, _ = ids_of(api)
    profiles = "/crm/v8/settings/profiles"
    with window(clock) as bounds:
        team = created_id(
            api.post(f"{profiles}/{standard}/actions/clone", json={"profiles": [{"name": "Team"}]}),
            "profiles",
        )
        api.put(
            f"{profiles}/{team}",
            json={
                "profiles": [
                    {
                        "permissions_details": [
                            {"name": "Crm_Implied_Delete_Accounts", "enabled": False}
                        ]
                    }
                ]
            },
        )
        bob = new_user(api, "bob@acme.test", root, team)
        api.delete(f"{profiles}/{team}", params={"transfer_to": standard})
    created = one_event(app, "profile", team, "create")
    assert_stamped(created, me(api), bounds)
    assert created["after"] == {"cloned_from": standard, "name": "Team"}
    updated = one_event(app, "profile", team, "update")
    assert updated["before"]["modules"]["Accounts"]["delete"] is True
    assert updated["after"]["modules"]["Accounts"]["delete"] is False
    assert one_event(app, "profile", team, "delete")["before"] == {"name": "Team"}
    moved = one_event(app, "user", bob, "update")
    assert (moved["before"], moved["after"]) == (
        {"profile_id": int(team)},
        {"profile_id": int(standard)},
    )


def test_field_changes_are_audited(api: httpx.Client, app: Secteur, clock: Clock) -> None:
    fields = "/crm/v8/settings/fields"
    with window(clock) as bounds:
        tier = created_id(
            api.post(
                fields,
                params={"module": "Accounts"},
                json={
                    "fields": [
                        {
                            "field_label": "Tier",
                            "data_type": "picklist",
                            "pick_list_values": [{"display_value": "Gold"}],
                        }
                    ]
                },
            ),
            "fields",
        )
        api.put(
            f"{fields}/{tier}",
            params={"module": "Accounts"},
            json={
                "fields": [
                    {
                        "field_label": "Level",
                        "pick_list_values": [
                            {"display_value": "Gold"},
                            {"display_value": "Silver"},
                        ],
                    }
                ]
            },
        )
    created = one_event(app, "field", tier, "create")
    assert_stamped(created, me(api), bounds)
    assert created["module"] == "Accounts"
    assert created["after"] == {"api_name": "Tier", "data_type": "picklist", "label": "Tier"}
    updated = one_event(app, "field", tier, "update")
    assert updated["before"] == {"label": "Tier", "pick_list_values": ["Gold"]}
    assert updated["after"] == {"label": "Level", "pick_list_values": ["Gold", "Silver"]}


@pytest.mark.parametrize("entity", ["user", "role", "profile", "field"])
def test_refused_configuration_changes_leave_no_audit_event(
    api: httpx.Client, app: Secteur, entity: str
) -> None:
    root, standard, _ = ids_of(api)
    before = events(app)
    responses = {
        "user": lambda: api.post("/crm/v8/users", json={"users": [{"email": "x@acme.test"}]}),
        "role": lambda: api.put(
            f"/crm/v8/settings/roles/{root}",
            json={"roles": [{"name": "CEO2"}]},
            headers={"If-Match": '"9"'},
        ),
        "profile": lambda: api.post(
            f"/crm/v8/settings/profiles/{standard}/actions/clone",
            json={"profiles": [{"name": "Administrator"}]},
        ),
        "field": lambda: api.post(
            "/crm/v8/settings/fields",
            params={"module": "Accounts"},
            json={"fields": [{"field_label": "X", "data_type": "nope"}]},
        ),
    }
    assert responses[entity]().status_code in (400, 409)
    assert events(app) == before


def test_the_actor_is_whoever_made_the_change(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    root, standard, _ = ids_of(api)
    bob = new_user(api, "bob@acme.test", root, standard)
    headers = {"Authorization": f"Zoho-oauthtoken {token_for(app, 'bob@acme.test')}"}
    with httpx.Client(base_url=base_url, headers=headers) as client:
        account = created_id(
            client.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Bob's"}]}), "data"
        )
        client.put(f"/crm/v8/users/{bob}", json={"users": [{"first_name": "B"}]})
    assert one_event(app, "record", account, "create")["actor_id"] == int(bob)
    assert one_event(app, "user", bob, "update")["actor_id"] == int(bob)
