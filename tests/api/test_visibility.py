"""Who may do what to records, beyond the role hierarchy: OAuth scopes (core.md, "Scopes") and
profile permissions. A missing scope is 401 OAUTH_SCOPE_MISMATCH, a missing permission 403
NO_PERMISSION, and neither changes anything."""

from __future__ import annotations

import httpx
import pytest

from secteur.services.app import Secteur
from tests.support.orgs import ADMIN_EMAIL
from tests.support.records_api import (
    assert_zoho_error,
    client_for,
    clone_profile_without,
    create,
    make_user,
    root_role,
    set_profile,
    snapshot,
    user_id,
)

ACCOUNTS_READ = "ZohoCRM.modules.accounts.READ"


@pytest.fixture
def account(api: httpx.Client) -> str:
    [record_id] = create(api, "Accounts", {"Account_Name": "Acme"})
    create(api, "Contacts", {"Last_Name": "C", "Account_Name": record_id})
    create(api, "Deals", {"Deal_Name": "D", "Stage": "Qualification", "Closing_Date": "2030-01-01"})
    return record_id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/crm/v8/Accounts"),
        ("GET", "/crm/v8/Accounts/{id}"),
        ("GET", "/crm/v8/Accounts/search?word=acme"),
        ("GET", "/crm/v8/Accounts/actions/count"),
        ("GET", "/crm/v8/Accounts/deleted"),
    ],
)
def test_a_read_scope_on_accounts_reads_accounts(
    app: Secteur, base_url: str, account: str, method: str, path: str
) -> None:
    with client_for(app, base_url, ADMIN_EMAIL, ACCOUNTS_READ) as reader:
        response = reader.request(method, path.format(id=account))
        assert response.status_code in (200, 204), response.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/crm/v8/Accounts", {"data": [{"Account_Name": "New"}]}),
        ("PUT", "/crm/v8/Accounts", {"data": [{"id": "{id}", "Account_Name": "New"}]}),
        ("PUT", "/crm/v8/Accounts/{id}", {"data": [{"Account_Name": "New"}]}),
        ("POST", "/crm/v8/Accounts/upsert", {"data": [{"Account_Name": "Acme"}]}),
        ("DELETE", "/crm/v8/Accounts/{id}", None),
        ("DELETE", "/crm/v8/Accounts?ids={id}", None),
        ("GET", "/crm/v8/Deals", None),
        ("GET", "/crm/v8/Deals/actions/count", None),
        ("GET", "/crm/v8/Accounts/{id}/Contacts", None),
        ("POST", "/crm/v8/Deals", {"data": [{"Deal_Name": "D"}]}),
        ("GET", "/crm/v8/settings/roles", None),
        ("GET", "/crm/v8/settings/fields?module=Accounts", None),
        ("GET", "/crm/v8/users", None),
        ("GET", "/crm/v8/org", None),
    ],
)
def test_a_read_scope_on_accounts_is_refused_anything_else_with_401(
    app: Secteur, base_url: str, account: str, method: str, path: str, body: dict | None
) -> None:
    before = snapshot(app)
    payload = None if body is None else _fill(body, account)
    with client_for(app, base_url, ADMIN_EMAIL, ACCOUNTS_READ) as reader:
        response = reader.request(method, path.format(id=account), json=payload)
    assert_zoho_error(response, 401, "OAUTH_SCOPE_MISMATCH")
    assert snapshot(app) == before


def _fill(body: dict, record_id: str) -> dict:
    return {
        "data": [
            {k: (record_id if v == "{id}" else v) for k, v in item.items()} for item in body["data"]
        ]
    }


def test_a_create_scope_alone_can_insert_but_not_read(app: Secteur, base_url: str) -> None:
    with client_for(app, base_url, ADMIN_EMAIL, "ZohoCRM.modules.accounts.CREATE") as writer:
        response = writer.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "A"}]})
        assert response.status_code == 201, response.text
        assert_zoho_error(writer.get("/crm/v8/Accounts"), 401, "OAUTH_SCOPE_MISMATCH")


@pytest.fixture
def standard_user(app: Secteur) -> str:
    email = "sam@acme.test"
    make_user(app, email, root_role(app))
    return email


@pytest.mark.parametrize(
    ("permission", "method", "path", "body"),
    [
        ("Crm_Implied_Delete_Accounts", "DELETE", "/crm/v8/Accounts/{id}", None),
        ("Crm_Implied_Delete_Accounts", "DELETE", "/crm/v8/Accounts?ids={id}", None),
        (
            "Crm_Implied_Edit_Accounts",
            "PUT",
            "/crm/v8/Accounts/{id}",
            {"data": [{"Account_Name": "X"}]},
        ),
        (
            "Crm_Implied_Edit_Accounts",
            "PUT",
            "/crm/v8/Accounts",
            {"data": [{"id": "{id}", "Account_Name": "X"}]},
        ),
        (
            "Crm_Implied_Edit_Accounts",
            "POST",
            "/crm/v8/Accounts/upsert",
            {"data": [{"Account_Name": "X"}]},
        ),
        (
            "Crm_Implied_Create_Accounts",
            "POST",
            "/crm/v8/Accounts",
            {"data": [{"Account_Name": "X"}]},
        ),
        ("Crm_Implied_View_Accounts", "GET", "/crm/v8/Accounts", None),
        ("Crm_Implied_View_Accounts", "GET", "/crm/v8/Accounts/{id}", None),
        ("Crm_Implied_View_Accounts", "GET", "/crm/v8/Accounts/actions/count", None),
    ],
)
def test_a_profile_without_a_permission_gets_no_permission_and_changes_nothing(
    app: Secteur,
    base_url: str,
    standard_user: str,
    permission: str,
    method: str,
    path: str,
    body: dict | None,
) -> None:
    with client_for(app, base_url, standard_user) as sam:
        [record_id] = create(sam, "Accounts", {"Account_Name": "Mine"})
    set_profile(
        app, user_id(app, standard_user), clone_profile_without(app, "Limited", [permission])
    )
    before = snapshot(app)
    payload = None if body is None else _fill(body, record_id)
    with client_for(app, base_url, standard_user) as sam:
        response = sam.request(method, path.format(id=record_id), json=payload)
    body_ = assert_zoho_error(response, 403, "NO_PERMISSION")
    assert permission in body_["details"]["permissions"]
    assert snapshot(app) == before


def test_a_profile_without_delete_still_reads_and_edits(
    app: Secteur, base_url: str, standard_user: str
) -> None:
    set_profile(
        app,
        user_id(app, standard_user),
        clone_profile_without(app, "No delete", ["Crm_Implied_Delete_Accounts"]),
    )
    with client_for(app, base_url, standard_user) as sam:
        [record_id] = create(sam, "Accounts", {"Account_Name": "Mine"})
        assert (
            sam.put(f"/crm/v8/Accounts/{record_id}", json={"data": [{"Phone": "1"}]}).status_code
            == 200
        )
        assert sam.get(f"/crm/v8/Accounts/{record_id}").json()["data"][0]["$editable"] is True
        assert_zoho_error(sam.delete(f"/crm/v8/Accounts/{record_id}"), 403, "NO_PERMISSION")
        assert sam.get(f"/crm/v8/Accounts/{record_id}").status_code == 200


def test_a_profile_without_edit_reads_records_as_not_editable(
    app: Secteur, base_url: str, standard_user: str
) -> None:
    with client_for(app, base_url, standard_user) as sam:
        [record_id] = create(sam, "Accounts", {"Account_Name": "Mine"})
    set_profile(
        app,
        user_id(app, standard_user),
        clone_profile_without(app, "Read only", ["Crm_Implied_Edit_Accounts"]),
    )
    with client_for(app, base_url, standard_user) as sam:
        assert sam.get(f"/crm/v8/Accounts/{record_id}").json()["data"][0]["$editable"] is False


def test_scopes_never_widen_the_profile(app: Secteur, base_url: str, standard_user: str) -> None:
    set_profile(
        app,
        user_id(app, standard_user),
        clone_profile_without(app, "No deals", ["Crm_Implied_View_Deals"]),
    )
    with client_for(app, base_url, standard_user, "ZohoCRM.modules.ALL") as sam:
        assert_zoho_error(sam.get("/crm/v8/Deals"), 403, "NO_PERMISSION")
