"""Records through the live API: the basic round trip on both backends."""

from __future__ import annotations

import httpx


def test_a_record_inserted_through_the_api_can_be_read_back(api: httpx.Client) -> None:
    created = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Acme"}]})
    assert created.status_code == 201, created.text
    record_id = created.json()["data"][0]["details"]["id"]
    read = api.get(f"/crm/v8/Accounts/{record_id}")
    assert read.status_code == 200
    assert read.json()["data"][0]["Account_Name"] == "Acme"
    assert read.headers["etag"] == '"1"'
