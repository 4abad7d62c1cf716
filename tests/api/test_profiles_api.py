"""`/crm/v8/settings/profiles` through the live server: list, get, clone, permissions, delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.support.orgs import ADMIN_EMAIL

PROFILES = "/crm/v8/settings/profiles"
USERS = "/crm/v8/users"
MODULES = ("Leads", "Accounts", "Contacts", "Deals")
OPERATIONS = ("View", "Create", "Edit", "Delete")


def profile_id(api: httpx.Client, name: str) -> str:
    profiles = api.get(PROFILES).json()["profiles"]
    return str(next(p["id"] for p in profiles if p["name"] == name))


def get(api: httpx.Client, pid: str) -> dict[str, Any]:
    response = api.get(f"{PROFILES}/{pid}")
    assert response.status_code == 200, response.text
    profile: dict[str, Any] = response.json()["profiles"][0]
    return profile


def permissions(api: httpx.Client, pid: str) -> dict[str, bool]:
    return {p["name"]: p["enabled"] for p in get(api, pid)["permissions_details"]}


def clone(api: httpx.Client, source: str, name: str, **extra: Any) -> str:
    response = api.post(
        f"{PROFILES}/{profile_id(api, source)}/actions/clone",
        json={"profiles": [{"name": name, **extra}]},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["profiles"][0]["details"]["id"])


def update(api: httpx.Client, pid: str, item: dict[str, Any], **headers: str) -> httpx.Response:
    return api.put(f"{PROFILES}/{pid}", json={"profiles": [item]}, headers=headers)


def set_permissions(api: httpx.Client, pid: str, **enabled: bool) -> httpx.Response:
    return update(
        api, pid, {"permissions_details": [{"name": k, "enabled": v} for k, v in enabled.items()]}
    )


def user_with_profile(api: httpx.Client, app: Secteur, email: str, pid: str) -> str:
    """Create a user of profile `pid` (at the top of the hierarchy) and return a token for them."""
    roles = api.get("/crm/v8/settings/roles").json()["roles"]
    response = api.post(
        USERS,
        json={
            "users": [
                {
                    "last_name": "X",
                    "email": email,
                    "role": {"id": roles[0]["id"]},
                    "profile": {"id": pid},
                }
            ]
        },
    )
    assert response.status_code == 201, response.text
    return token_for(app, email)


def client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Zoho-oauthtoken {token}"}, timeout=30
    )


def names(api: httpx.Client) -> list[str]:
    return [p["name"] for p in api.get(PROFILES).json()["profiles"]]


# --- reading ------------------------------------------------------------------------------


def test_a_new_org_has_the_administrator_and_standard_profiles(api: httpx.Client) -> None:
    response = api.get(PROFILES)
    assert response.status_code == 200
    body = response.json()
    by_name = {p["name"]: p for p in body["profiles"]}
    assert set(by_name) == {"Administrator", "Standard"}
    assert by_name["Administrator"]["custom"] is False and by_name["Standard"]["custom"] is False
    assert by_name["Standard"]["default"] is True
    assert all(isinstance(p["id"], str) and p["id"].isdigit() for p in body["profiles"])
    assert "permissions_details" not in by_name["Standard"]
    assert body["info"]["count"] == 2


def test_a_profile_is_read_with_its_permissions_an_etag_and_its_version(api: httpx.Client) -> None:
    pid = profile_id(api, "Standard")
    response = api.get(f"{PROFILES}/{pid}")
    [profile] = response.json()["profiles"]
    assert response.headers["etag"] == f'"{profile["$version"]}"'
    details = {p["name"]: p for p in profile["permissions_details"]}
    for module in MODULES:
        for operation in OPERATIONS:
            entry = details[f"Crm_Implied_{operation}_{module}"]
            assert entry["enabled"] is True and entry["module"] == module
    assert details["manage_users"]["enabled"] is False
    assert details["import"]["enabled"] is True


def test_the_administrator_profile_has_every_permission(api: httpx.Client) -> None:
    assert all(permissions(api, profile_id(api, "Administrator")).values())


def test_an_unknown_profile_id_is_invalid_data(api: httpx.Client) -> None:
    response = api.get(f"{PROFILES}/424242")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


# --- cloning ------------------------------------------------------------------------------


def test_a_clone_is_a_custom_profile_with_the_source_permissions(api: httpx.Client) -> None:
    pid = clone(api, "Standard", "Sales Team", description="For sellers")
    profile = get(api, pid)
    assert (profile["name"], profile["custom"], profile["description"]) == (
        "Sales Team",
        True,
        "For sellers",
    )
    assert permissions(api, pid) == permissions(api, profile_id(api, "Standard"))
    assert names(api) == ["Administrator", "Standard", "Sales Team"]


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({}, "MANDATORY_NOT_FOUND"),
        ({"name": " "}, "MANDATORY_NOT_FOUND"),
        ({"name": 7}, "MANDATORY_NOT_FOUND"),
        ({"name": "x" * 51}, "INVALID_DATA"),
        ({"name": "standard"}, "DUPLICATE_DATA"),
    ],
)
def test_a_bad_clone_is_refused_and_creates_nothing(
    api: httpx.Client, item: dict[str, Any], code: str
) -> None:
    response = api.post(
        f"{PROFILES}/{profile_id(api, 'Standard')}/actions/clone", json={"profiles": [item]}
    )
    assert response.status_code == 400
    [result] = response.json()["profiles"]
    assert result["code"] == code and result["details"]["api_name"] == "name"
    assert names(api) == ["Administrator", "Standard"]


def test_cloning_an_unknown_profile_is_invalid_data(api: httpx.Client) -> None:
    response = api.post(f"{PROFILES}/424242/actions/clone", json={"profiles": [{"name": "X"}]})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"
    assert names(api) == ["Administrator", "Standard"]


def test_a_clone_of_the_administrator_profile_can_have_its_permissions_changed(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    pid = clone(api, "Administrator", "Deputy Admins")
    assert get(api, pid)["custom"] is True
    assert all(permissions(api, pid).values())
    assert set_permissions(api, pid, Crm_Implied_Delete_Accounts=False).status_code == 200
    assert permissions(api, pid)["Crm_Implied_Delete_Accounts"] is False
    with client(base_url, user_with_profile(api, app, "deputy@acme.test", pid)) as deputy:
        created = deputy.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Acme"}]})
        response = deputy.delete(f"/crm/v8/Accounts/{created.json()['data'][0]['details']['id']}")
    assert response.status_code == 403
    assert response.json()["code"] == "NO_PERMISSION"


# --- updating -----------------------------------------------------------------------------


def test_permissions_are_updated_partially(api: httpx.Client) -> None:
    pid = clone(api, "Standard", "Sales Team")
    before = permissions(api, pid)
    response = set_permissions(
        api, pid, Crm_Implied_Delete_Accounts=False, export=False, manage_roles=True
    )
    assert response.status_code == 200
    assert response.json()["profiles"][0]["code"] == "SUCCESS"
    after = permissions(api, pid)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"Crm_Implied_Delete_Accounts", "export", "manage_roles"}
    assert after["Crm_Implied_Delete_Accounts"] is False
    assert after["manage_roles"] is True


def test_a_permission_can_be_named_by_its_id(api: httpx.Client) -> None:
    pid = clone(api, "Standard", "Sales Team")
    response = update(
        api, pid, {"permissions_details": [{"id": "Crm_Implied_Edit_Deals", "enabled": False}]}
    )
    assert response.status_code == 200
    assert permissions(api, pid)["Crm_Implied_Edit_Deals"] is False


def test_removing_delete_on_accounts_makes_deletes_no_permission(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    pid = clone(api, "Standard", "No Deleters")
    token = user_with_profile(api, app, "bob@acme.test", pid)
    with client(base_url, token) as bob:
        created = bob.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Mine"}]})
        account = created.json()["data"][0]["details"]["id"]
        assert set_permissions(api, pid, Crm_Implied_Delete_Accounts=False).status_code == 200
        single = bob.delete(f"/crm/v8/Accounts/{account}")
        bulk = bob.delete("/crm/v8/Accounts", params={"ids": account})
        still = bob.get(f"/crm/v8/Accounts/{account}")
        edited = bob.put(f"/crm/v8/Accounts/{account}", json={"data": [{"Phone": "12"}]})
    for response in (single, bulk):
        assert response.status_code == 403
        assert response.json()["code"] == "NO_PERMISSION"
    assert still.status_code == 200
    assert edited.status_code == 200


def test_removing_view_on_a_module_hides_its_records(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    pid = clone(api, "Standard", "No Deals")
    assert set_permissions(api, pid, Crm_Implied_View_Deals=False).status_code == 200
    with client(base_url, user_with_profile(api, app, "bob@acme.test", pid)) as bob:
        response = bob.get("/crm/v8/Deals")
        accounts = bob.get("/crm/v8/Accounts")
    assert response.status_code == 403
    assert response.json()["code"] == "NO_PERMISSION"
    assert accounts.status_code == 204


def test_granting_manage_roles_lets_a_standard_user_create_roles(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    pid = clone(api, "Standard", "Role Keepers")
    token = user_with_profile(api, app, "bob@acme.test", pid)
    root = api.get("/crm/v8/settings/roles").json()["roles"][0]["id"]
    body = {"roles": [{"name": "Sales", "reporting_to": {"id": root}}]}
    with client(base_url, token) as bob:
        assert bob.post("/crm/v8/settings/roles", json=body).status_code == 403
        assert set_permissions(api, pid, manage_roles=True).status_code == 200
        assert bob.post("/crm/v8/settings/roles", json=body).status_code == 201


def test_a_profile_can_be_renamed_and_described_keeping_its_permissions(api: httpx.Client) -> None:
    pid = clone(api, "Standard", "Sales Team")
    before = permissions(api, pid)
    assert update(api, pid, {"name": "Sellers", "description": "Sell"}).status_code == 200
    profile = get(api, pid)
    assert (profile["name"], profile["description"]) == ("Sellers", "Sell")
    assert permissions(api, pid) == before


def test_the_standard_profile_can_be_changed(api: httpx.Client) -> None:
    pid = profile_id(api, "Standard")
    assert set_permissions(api, pid, export=False).status_code == 200
    assert permissions(api, pid)["export"] is False


@pytest.mark.parametrize(
    "details",
    [
        [{"name": "Crm_Implied_Fly_Accounts", "enabled": True}],
        [{"name": "Crm_Implied_View_Invoices", "enabled": True}],
        [{"name": "Crm_Implied_View_Accounts", "enabled": "no"}],
        [{"enabled": True}],
        ["Crm_Implied_View_Accounts"],
        [None],
        {"name": "export", "enabled": False},
    ],
)
def test_bad_permission_details_are_invalid_data_and_change_nothing(
    api: httpx.Client, details: Any
) -> None:
    pid = clone(api, "Standard", "Sales Team")
    before = get(api, pid)
    response = update(api, pid, {"name": "Renamed", "permissions_details": details})
    assert response.status_code == 400
    [result] = response.json()["profiles"]
    assert result["code"] == "INVALID_DATA" and result["status"] == "error"
    assert get(api, pid) == before


def test_the_administrator_profile_cannot_be_changed(api: httpx.Client) -> None:
    pid = profile_id(api, "Administrator")
    before = get(api, pid)
    response = set_permissions(api, pid, Crm_Implied_Delete_Accounts=False)
    assert response.status_code == 400
    assert response.json()["code"] == "NOT_ALLOWED"
    assert get(api, pid) == before


def test_renaming_a_profile_to_a_taken_name_is_duplicate_data(api: httpx.Client) -> None:
    pid = clone(api, "Standard", "Sales Team")
    response = update(api, pid, {"name": "ADMINISTRATOR"})
    assert response.json()["profiles"][0]["code"] == "DUPLICATE_DATA"
    assert get(api, pid)["name"] == "Sales Team"


def test_a_stale_if_match_is_refused_with_409_and_changes_nothing(api: httpx.Client) -> None:
    pid = clone(api, "Standard", "Sales Team")
    etag = api.get(f"{PROFILES}/{pid}").headers["etag"]
    assert update(api, pid, {"description": "one"}, **{"If-Match": etag}).status_code == 200
    stale = update(
        api,
        pid,
        {"description": "two", "permissions_details": [{"name": "export", "enabled": False}]},
        **{"If-Match": etag},
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "CONFLICT"
    assert get(api, pid)["description"] == "one"
    assert permissions(api, pid)["export"] is True


# --- deleting -----------------------------------------------------------------------------


def test_deleting_a_custom_profile_moves_its_users_to_the_transfer_profile(
    api: httpx.Client, app: Secteur
) -> None:
    pid = clone(api, "Standard", "Sales Team")
    user_with_profile(api, app, "bob@acme.test", pid)
    standard = profile_id(api, "Standard")
    response = api.delete(f"{PROFILES}/{pid}", params={"transfer_to": standard})
    assert response.status_code == 200
    assert response.json()["profiles"][0]["code"] == "SUCCESS"
    assert names(api) == ["Administrator", "Standard"]
    bob = api.get(USERS, params={"type": "AllUsers"}).json()["users"][-1]
    assert bob["profile"] == {"name": "Standard", "id": standard}


def test_deleting_a_profile_without_transfer_to_is_required_param_missing(
    api: httpx.Client,
) -> None:
    pid = clone(api, "Standard", "Sales Team")
    response = api.delete(f"{PROFILES}/{pid}")
    assert response.status_code == 400
    assert response.json()["code"] == "REQUIRED_PARAM_MISSING"
    assert response.json()["details"] == {"param_name": "transfer_to"}
    assert "Sales Team" in names(api)


def test_a_profile_cannot_be_transferred_to_itself_or_to_nothing(api: httpx.Client) -> None:
    pid = clone(api, "Standard", "Sales Team")
    for target in (pid, "424242"):
        response = api.delete(f"{PROFILES}/{pid}", params={"transfer_to": target})
        assert response.status_code == 400
        assert response.json()["code"] == "INVALID_DATA"
    assert "Sales Team" in names(api)


@pytest.mark.parametrize("name", ["Administrator", "Standard"])
def test_standard_profiles_cannot_be_deleted(api: httpx.Client, name: str) -> None:
    other = clone(api, "Standard", "Sales Team")
    response = api.delete(f"{PROFILES}/{profile_id(api, name)}", params={"transfer_to": other})
    assert response.status_code == 400
    assert response.json()["code"] == "NOT_ALLOWED"
    assert name in names(api)


# --- who may -----------------------------------------------------------------------------


def test_a_standard_user_may_read_profiles_but_not_change_them(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    standard = profile_id(api, "Standard")
    custom = clone(api, "Standard", "Sales Team")
    with client(base_url, user_with_profile(api, app, "bob@acme.test", standard)) as bob:
        assert bob.get(PROFILES).status_code == 200
        refused = [
            bob.post(f"{PROFILES}/{standard}/actions/clone", json={"profiles": [{"name": "Mine"}]}),
            bob.put(
                f"{PROFILES}/{standard}",
                json={
                    "profiles": [
                        {"permissions_details": [{"name": "manage_users", "enabled": True}]}
                    ]
                },
            ),
            bob.delete(f"{PROFILES}/{custom}", params={"transfer_to": standard}),
        ]
    for response in refused:
        assert response.status_code == 403
        assert response.json()["code"] == "NO_PERMISSION"
    assert names(api) == ["Administrator", "Standard", "Sales Team"]
    assert permissions(api, standard)["manage_users"] is False


def test_a_profiles_read_scope_cannot_write(api: httpx.Client, app: Secteur, base_url: str) -> None:
    standard = profile_id(api, "Standard")
    with client(base_url, token_for(app, ADMIN_EMAIL, "ZohoCRM.settings.profiles.READ")) as c:
        assert c.get(PROFILES).status_code == 200
        response = c.post(
            f"{PROFILES}/{standard}/actions/clone", json={"profiles": [{"name": "Mine"}]}
        )
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    assert names(api) == ["Administrator", "Standard"]
