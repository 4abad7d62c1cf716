"""Metadata through the live server: org, modules, layouts and related lists (api-compat.md 3)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.support.orgs import ADMIN_EMAIL

MODULES = "/crm/v8/settings/modules"
LAYOUTS = "/crm/v8/settings/layouts"
RELATED = "/crm/v8/settings/related_lists"
STANDARD_MODULES = ["Leads", "Accounts", "Contacts", "Deals"]
SYSTEM_FIELDS = {"Owner", "Created_By", "Modified_By", "Created_Time", "Modified_Time"}


def client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Zoho-oauthtoken {token}"}, timeout=30
    )


def insert(api: httpx.Client, module: str, record: dict[str, Any]) -> str:
    response = api.post(f"/crm/v8/{module}", json={"data": [record]})
    assert response.status_code == 201, response.text
    return str(response.json()["data"][0]["details"]["id"])


# --- org ----------------------------------------------------------------------------------


def test_the_org_has_the_keys_the_sdk_reads(api: httpx.Client) -> None:
    response = api.get("/crm/v8/org")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    [org] = response.json()["org"]
    assert isinstance(org["id"], str) and org["id"].isdigit()
    assert isinstance(org["zgid"], str) and org["zgid"].isdigit()
    assert org["company_name"] == "Acme"
    assert org["type"] == "production"
    assert org["time_zone"] == "Europe/Paris"
    assert (org["currency"], org["iso_code"], org["currency_symbol"]) == ("EUR", "EUR", "€")
    assert org["primary_email"] == ADMIN_EMAIL
    me = api.get("/crm/v8/users", params={"type": "CurrentUser"}).json()["users"][0]
    assert org["primary_zuid"] == me["id"]
    assert org["primary_user"] == {"id": me["id"], "name": "Ada Admin", "email": ADMIN_EMAIL}


def test_the_primary_user_is_an_active_administrator(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    profiles = api.get("/crm/v8/settings/profiles").json()["profiles"]
    admin_profile = next(p["id"] for p in profiles if p["name"] == "Administrator")
    roles = api.get("/crm/v8/settings/roles").json()["roles"]
    created = api.post(
        "/crm/v8/users",
        json={
            "users": [
                {
                    "last_name": "Second",
                    "email": "second@acme.test",
                    "role": {"id": roles[0]["id"]},
                    "profile": {"id": admin_profile},
                }
            ]
        },
    )
    second = created.json()["users"][0]["details"]["id"]
    me = api.get("/crm/v8/users", params={"type": "CurrentUser"}).json()["users"][0]["id"]
    assert api.get("/crm/v8/org").json()["org"][0]["primary_zuid"] == me
    with client(base_url, token_for(app, "second@acme.test")) as other:
        assert other.delete(f"/crm/v8/users/{me}").status_code == 200
        [org] = other.get("/crm/v8/org").json()["org"]
    assert org["primary_zuid"] == second
    assert org["primary_user"]["email"] == "second@acme.test"


def test_the_org_is_read_with_an_etag_matching_its_version(api: httpx.Client) -> None:
    response = api.get("/crm/v8/org")
    assert response.headers["etag"] == f'"{response.json()["org"][0]["$version"]}"'


def test_the_org_needs_an_org_scope(app: Secteur, base_url: str) -> None:
    with client(base_url, token_for(app, ADMIN_EMAIL, "ZohoCRM.org.READ")) as reader:
        assert reader.get("/crm/v8/org").status_code == 200
    with client(
        base_url, token_for(app, ADMIN_EMAIL, "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL")
    ) as other:
        response = other.get("/crm/v8/org")
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"


# --- modules ------------------------------------------------------------------------------


def test_the_standard_modules_are_listed_in_menu_order_for_the_sdk(api: httpx.Client) -> None:
    response = api.get(MODULES)
    assert response.status_code == 200
    modules = response.json()["modules"]
    assert [m["api_name"] for m in modules] == STANDARD_MODULES
    for m in modules:
        assert m["api_supported"] is True
        assert m["generated_type"] == "default"
        assert isinstance(m["id"], str) and m["id"].isdigit()
        assert m["module_name"] == m["api_name"] == m["plural_label"]
        assert m["viewable"] and m["creatable"] and m["editable"] and m["deletable"]
    assert [m["singular_label"] for m in modules] == ["Lead", "Account", "Contact", "Deal"]
    assert len({m["id"] for m in modules}) == 4


def test_a_module_shows_the_callers_own_permissions(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    profiles = api.get("/crm/v8/settings/profiles").json()["profiles"]
    standard = next(p["id"] for p in profiles if p["name"] == "Standard")
    clone = api.post(
        f"/crm/v8/settings/profiles/{standard}/actions/clone",
        json={"profiles": [{"name": "Readers"}]},
    ).json()
    readers = clone["profiles"][0]["details"]["id"]
    api.put(
        f"/crm/v8/settings/profiles/{readers}",
        json={
            "profiles": [
                {
                    "permissions_details": [
                        {"name": "Crm_Implied_Delete_Deals", "enabled": False},
                        {"name": "Crm_Implied_Create_Deals", "enabled": False},
                    ]
                }
            ]
        },
    )
    roles = api.get("/crm/v8/settings/roles").json()["roles"]
    api.post(
        "/crm/v8/users",
        json={
            "users": [
                {
                    "last_name": "R",
                    "email": "r@acme.test",
                    "role": {"id": roles[0]["id"]},
                    "profile": {"id": readers},
                }
            ]
        },
    )
    with client(base_url, token_for(app, "r@acme.test")) as reader:
        deals = next(m for m in reader.get(MODULES).json()["modules"] if m["api_name"] == "Deals")
    assert (deals["viewable"], deals["editable"], deals["creatable"], deals["deletable"]) == (
        True,
        True,
        False,
        False,
    )


def test_a_module_is_read_by_api_name_with_its_fields_and_related_lists(api: httpx.Client) -> None:
    response = api.get(f"{MODULES}/accounts")
    assert response.status_code == 200
    [module] = response.json()["modules"]
    assert module["api_name"] == "Accounts"
    assert module["display_field"] == {"api_name": "Account_Name"}
    names = {f["api_name"] for f in module["fields"]}
    assert {"Account_Name", "Industry", "Parent_Account"} | SYSTEM_FIELDS <= names
    assert [r["api_name"] for r in module["related_lists"]] == ["Contacts", "Deals"]


def test_a_module_is_read_by_id_as_the_sdk_get_module_does(api: httpx.Client) -> None:
    deals = next(m for m in api.get(MODULES).json()["modules"] if m["api_name"] == "Deals")
    response = api.get(f"{MODULES}/{deals['id']}")
    assert response.status_code == 200
    assert response.json()["modules"][0]["api_name"] == "Deals"


def test_an_unknown_module_is_invalid_module(api: httpx.Client) -> None:
    for key in ("Invoices", "424242"):
        response = api.get(f"{MODULES}/{key}")
        assert response.status_code == 400
        assert response.json()["code"] == "INVALID_MODULE"


def test_modules_need_a_settings_scope(app: Secteur, base_url: str) -> None:
    with client(base_url, token_for(app, ADMIN_EMAIL, "ZohoCRM.settings.modules.READ")) as ok:
        assert ok.get(MODULES).status_code == 200
    with client(base_url, token_for(app, ADMIN_EMAIL, "ZohoCRM.modules.ALL")) as other:
        response = other.get(MODULES)
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"


# --- layouts ------------------------------------------------------------------------------


def layouts(api: httpx.Client, module: str) -> list[dict[str, Any]]:
    response = api.get(LAYOUTS, params={"module": module})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["layouts"]
    return found


@pytest.mark.parametrize("module", STANDARD_MODULES)
def test_every_module_has_one_standard_layout_with_all_its_fields(
    api: httpx.Client, module: str
) -> None:
    [layout] = layouts(api, module)
    assert layout["name"] == "Standard" and layout["status"] == "active"
    assert isinstance(layout["id"], str) and layout["id"].isdigit()
    information, system = layout["sections"]
    singular = module[:-1]
    assert information["display_label"] == f"{singular} Information"
    assert {f["api_name"] for f in system["fields"]} == SYSTEM_FIELDS
    fields = api.get("/crm/v8/settings/fields", params={"module": module}).json()["fields"]
    assert [f["api_name"] for f in information["fields"]] == [
        f["api_name"] for f in fields if f["api_name"] not in SYSTEM_FIELDS
    ]
    assert {p["name"] for p in layout["profiles"]} == {"Administrator", "Standard"}


def test_a_new_custom_field_appears_in_the_layout(api: httpx.Client) -> None:
    created = api.post(
        "/crm/v8/settings/fields",
        params={"module": "Accounts"},
        json={"fields": [{"field_label": "Score", "data_type": "integer"}]},
    )
    assert created.status_code == 201
    [layout] = layouts(api, "Accounts")
    information = layout["sections"][0]["fields"]
    assert information[-1]["api_name"] == "Score"
    assert information[-1]["custom_field"] is True


def test_a_layout_is_read_by_id(api: httpx.Client) -> None:
    [layout] = layouts(api, "Deals")
    response = api.get(f"{LAYOUTS}/{layout['id']}", params={"module": "Deals"})
    assert response.status_code == 200
    assert response.json()["layouts"] == [layout]


def test_a_layout_of_another_module_or_unknown_is_invalid_data(api: httpx.Client) -> None:
    [deals_layout] = layouts(api, "Deals")
    for layout_id, module in ((deals_layout["id"], "Accounts"), ("424242", "Deals")):
        response = api.get(f"{LAYOUTS}/{layout_id}", params={"module": module})
        assert response.status_code == 400
        assert response.json()["code"] == "INVALID_DATA"


def test_layouts_need_a_known_module(api: httpx.Client) -> None:
    assert api.get(LAYOUTS, params={"module": "Invoices"}).json()["code"] == "INVALID_MODULE"
    missing = api.get(LAYOUTS)
    assert missing.status_code == 400
    assert missing.json()["code"] == "REQUIRED_PARAM_MISSING"


# --- related lists ------------------------------------------------------------------------


def related(api: httpx.Client, module: str) -> list[dict[str, Any]]:
    response = api.get(RELATED, params={"module": module})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["related_lists"]
    return found


def test_accounts_have_contacts_and_deals_related_lists_with_hrefs(api: httpx.Client) -> None:
    lists = related(api, "Accounts")
    assert [(r["api_name"], r["module"]["api_name"], r["href"]) for r in lists] == [
        ("Contacts", "Contacts", "Accounts/{ENTITYID}/Contacts"),
        ("Deals", "Deals", "Accounts/{ENTITYID}/Deals"),
    ]
    assert [r["display_label"] for r in lists] == ["Contacts", "Deals"]
    assert [r["sequence_number"] for r in lists] == ["1", "2"]


def test_contacts_have_a_deals_related_list(api: httpx.Client) -> None:
    assert [r["api_name"] for r in related(api, "Contacts")] == ["Deals"]


@pytest.mark.parametrize("module", ["Leads", "Deals"])
def test_modules_nothing_looks_up_have_no_related_lists(api: httpx.Client, module: str) -> None:
    assert related(api, module) == []


def test_the_href_of_a_related_list_leads_to_the_related_records(api: httpx.Client) -> None:
    account = insert(api, "Accounts", {"Account_Name": "Acme"})
    other = insert(api, "Accounts", {"Account_Name": "Other"})
    contact = insert(api, "Contacts", {"Last_Name": "Smith", "Account_Name": {"id": account}})
    insert(api, "Contacts", {"Last_Name": "Jones", "Account_Name": {"id": other}})
    deal = insert(
        api,
        "Deals",
        {
            "Deal_Name": "Big",
            "Stage": "Qualification",
            "Closing_Date": "2025-06-30",
            "Account_Name": {"id": account},
        },
    )
    by_name = {r["api_name"]: r["href"] for r in related(api, "Accounts")}
    contacts = api.get("/crm/v8/" + by_name["Contacts"].replace("{ENTITYID}", account))
    deals = api.get("/crm/v8/" + by_name["Deals"].replace("{ENTITYID}", account))
    assert [r["id"] for r in contacts.json()["data"]] == [contact]
    assert [r["id"] for r in deals.json()["data"]] == [deal]
    assert api.get(f"/crm/v8/Accounts/{other}/Deals").status_code == 204


def test_an_unknown_related_list_is_invalid_url_pattern(api: httpx.Client) -> None:
    account = insert(api, "Accounts", {"Account_Name": "Acme"})
    response = api.get(f"/crm/v8/Accounts/{account}/Invoices")
    assert response.status_code == 404
    assert response.json()["code"] == "INVALID_URL_PATTERN"
