"""Related lists (Accounts → Contacts / Deals, Contacts → Deals) and the recycle bin
(`/{module}/deleted`) through the live API."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from secteur.services.app import Secteur
from tests.support.records_api import admin_id, assert_zoho_error, create


def _deal(name: str, **values: object) -> dict[str, object]:
    return {"Deal_Name": name, "Stage": "Qualification", "Closing_Date": "2030-06-30", **values}


@pytest.fixture
def family(api: httpx.Client) -> dict[str, str]:
    acme, other = create(api, "Accounts", {"Account_Name": "Acme"}, {"Account_Name": "Other"})
    ann, bob, _ = create(
        api,
        "Contacts",
        {"Last_Name": "Ann", "Account_Name": {"id": acme}},
        {"Last_Name": "Bob", "Account_Name": acme},
        {"Last_Name": "Cid", "Account_Name": {"id": other}},
    )
    big, _ = create(
        api,
        "Deals",
        _deal("Big", Account_Name={"id": acme}, Contact_Name=ann),
        _deal("Elsewhere", Account_Name=other),
    )
    return {"acme": acme, "other": other, "ann": ann, "bob": bob, "big": big}


def _names(response: httpx.Response, key: str) -> list[str]:
    assert response.status_code == 200, response.text
    return [r[key] for r in response.json()["data"]]


def test_an_accounts_contacts_are_its_related_contacts(
    api: httpx.Client, family: dict[str, str]
) -> None:
    response = api.get(f"/crm/v8/Accounts/{family['acme']}/Contacts")
    assert _names(response, "Last_Name") == ["Ann", "Bob"]
    assert response.json()["data"][0]["Account_Name"] == {"id": family["acme"], "name": "Acme"}
    assert response.json()["info"]["more_records"] is False


def test_an_accounts_deals_and_a_contacts_deals_are_related_lists(
    api: httpx.Client, family: dict[str, str]
) -> None:
    assert _names(api.get(f"/crm/v8/Accounts/{family['acme']}/Deals"), "Deal_Name") == ["Big"]
    assert _names(api.get(f"/crm/v8/Contacts/{family['ann']}/Deals"), "Deal_Name") == ["Big"]
    assert api.get(f"/crm/v8/Contacts/{family['bob']}/Deals").status_code == 204


def test_related_lists_take_fields_and_paging(api: httpx.Client, family: dict[str, str]) -> None:
    response = api.get(
        f"/crm/v8/Accounts/{family['acme']}/contacts",
        params={"fields": "Last_Name", "per_page": 1, "page": 2},
    )
    assert _names(response, "Last_Name") == ["Bob"]
    assert "Email" not in response.json()["data"][0]


def test_a_related_list_of_an_unknown_parent_is_invalid_data(
    api: httpx.Client, family: dict[str, str]
) -> None:
    missing = str(int(family["other"]) + 1000)
    body = assert_zoho_error(api.get(f"/crm/v8/Accounts/{missing}/Contacts"), 400, "INVALID_DATA")
    assert body["message"] == "the id given seems to be invalid"


def test_an_unknown_related_list_is_an_invalid_url_pattern(
    api: httpx.Client, family: dict[str, str]
) -> None:
    assert_zoho_error(
        api.get(f"/crm/v8/Accounts/{family['acme']}/Spaceships"), 404, "INVALID_URL_PATTERN"
    )
    assert_zoho_error(
        api.get(f"/crm/v8/Deals/{family['big']}/Accounts"), 404, "INVALID_URL_PATTERN"
    )


def test_a_deleted_child_leaves_the_related_list(api: httpx.Client, family: dict[str, str]) -> None:
    assert api.delete(f"/crm/v8/Contacts/{family['bob']}").status_code == 200
    assert _names(api.get(f"/crm/v8/Accounts/{family['acme']}/Contacts"), "Last_Name") == ["Ann"]


def test_deleted_records_are_listed_in_the_recycle_bin_newest_first(
    api: httpx.Client, app: Secteur, family: dict[str, str]
) -> None:
    assert api.get("/crm/v8/Contacts/deleted").status_code == 204
    api.delete(f"/crm/v8/Contacts/{family['ann']}")
    api.delete("/crm/v8/Contacts", params={"ids": family["bob"]})
    response = api.get("/crm/v8/Contacts/deleted")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [d["id"] for d in body["data"]] == [family["bob"], family["ann"]]
    entry = body["data"][1]
    assert entry["display_name"] == "Ann"
    assert entry["type"] == "recycle"
    assert entry["deleted_by"]["id"] == str(admin_id(app))
    assert entry["created_by"]["id"] == str(admin_id(app))
    assert datetime.fromisoformat(entry["deleted_time"]).utcoffset() is not None
    assert body["info"]["count"] == 2 and body["info"]["more_records"] is False
    assert api.get("/crm/v8/Accounts/deleted").status_code == 204


def test_the_recycle_bin_pages_and_filters_by_type(api: httpx.Client) -> None:
    ids = create(api, "Accounts", *({"Account_Name": f"A{i}"} for i in range(3)))
    api.delete("/crm/v8/Accounts", params={"ids": ",".join(ids)})
    first = api.get("/crm/v8/Accounts/deleted", params={"per_page": 2})
    assert first.json()["info"]["more_records"] is True
    second = api.get("/crm/v8/Accounts/deleted", params={"per_page": 2, "page": 2})
    listed = [d["id"] for d in first.json()["data"] + second.json()["data"]]
    assert sorted(listed) == sorted(ids)
    assert api.get("/crm/v8/Accounts/deleted", params={"type": "recycle"}).status_code == 200
    assert api.get("/crm/v8/Accounts/deleted", params={"type": "permanent"}).status_code == 204
    assert_zoho_error(
        api.get("/crm/v8/Accounts/deleted", params={"type": "gone"}), 400, "INVALID_DATA"
    )
