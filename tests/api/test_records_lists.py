"""Record lists through the live API: fields, sorting, page/per_page, page tokens beyond 2,000
records, If-Modified-Since, ids, approval filter and empty answers."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
import sqlalchemy as sa

from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.support.orgs import Clock
from tests.support.records_api import assert_zoho_error, create, insert_fast


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["data"]]


def _names(response: httpx.Response, key: str = "Account_Name") -> list[str]:
    assert response.status_code == 200, response.text
    return [r[key] for r in response.json()["data"]]


def test_a_list_answers_the_records_and_zohos_info_block(api: httpx.Client) -> None:
    ids = create(api, "Accounts", {"Account_Name": "A"}, {"Account_Name": "B"})
    response = api.get("/crm/v8/Accounts")
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert _ids(response) == ids
    assert body["info"]["count"] == 2
    assert body["info"]["page"] == 1
    assert body["info"]["per_page"] == 200
    assert body["info"]["more_records"] is False
    assert body["info"]["sort_by"] == "id" and body["info"]["sort_order"] == "asc"
    record = body["data"][0]
    for key in (
        "Owner",
        "Created_By",
        "Modified_By",
        "Created_Time",
        "Modified_Time",
        "$approved",
        "$approval_state",
        "$approval",
        "$process_flow",
        "$editable",
    ):
        assert key in record, key


def test_an_empty_list_is_204_with_no_body(api: httpx.Client) -> None:
    response = api.get("/crm/v8/Accounts")
    assert response.status_code == 204
    assert response.content == b""


def test_fields_limits_the_keys_to_those_asked_and_the_system_keys(api: httpx.Client) -> None:
    create(api, "Accounts", {"Account_Name": "A", "Industry": "Banking", "Billing_City": "Rome"})
    record = api.get("/crm/v8/Accounts", params={"fields": "Industry,Billing_City"}).json()
    data = record["data"][0]
    assert data["Industry"] == "Banking" and data["Billing_City"] == "Rome"
    assert "Account_Name" not in data and "Phone" not in data
    assert "id" in data and "Owner" in data


def test_an_unknown_field_in_fields_is_invalid_data(api: httpx.Client) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    response = api.get("/crm/v8/Accounts", params={"fields": "Account_Name,Nope"})
    body = assert_zoho_error(response, 400, "INVALID_DATA")
    assert body["details"]["param_name"] == "fields"


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_text_fields_sort_case_insensitively(api: httpx.Client, order: str) -> None:
    create(api, "Accounts", *({"Account_Name": n} for n in ("beta", "Alpha", "gamma", "Delta")))
    names = _names(
        api.get("/crm/v8/Accounts", params={"sort_by": "Account_Name", "sort_order": order})
    )
    expected = ["Alpha", "beta", "Delta", "gamma"]
    assert names == (expected if order == "asc" else expected[::-1])


def test_sort_order_is_case_insensitive(api: httpx.Client) -> None:
    ids = create(api, "Accounts", {"Account_Name": "A"}, {"Account_Name": "B"})
    assert _ids(api.get("/crm/v8/Accounts", params={"sort_order": "DESC"})) == ids[::-1]


def test_records_without_a_value_sort_last_ascending_and_first_descending(
    api: httpx.Client,
) -> None:
    empty, low, high = create(
        api,
        "Accounts",
        {"Account_Name": "E"},
        {"Account_Name": "L", "Employees": 1},
        {"Account_Name": "H", "Employees": 9},
    )
    ascending = _ids(api.get("/crm/v8/Accounts", params={"sort_by": "Employees"}))
    assert ascending == [low, high, empty]
    descending = _ids(
        api.get("/crm/v8/Accounts", params={"sort_by": "Employees", "sort_order": "desc"})
    )
    assert descending == [empty, high, low]


def test_sorting_by_modified_and_created_time_follows_the_clock(
    api: httpx.Client, clock: Clock
) -> None:
    first, second = create(api, "Accounts", {"Account_Name": "A"}, {"Account_Name": "B"})
    clock.advance(timedelta(minutes=5))
    api.put(f"/crm/v8/Accounts/{first}", json={"data": [{"Billing_City": "Paris"}]})
    by_modified = _ids(
        api.get("/crm/v8/Accounts", params={"sort_by": "Modified_Time", "sort_order": "desc"})
    )
    assert by_modified == [first, second]
    by_created = _ids(
        api.get("/crm/v8/Accounts", params={"sort_by": "Created_Time", "sort_order": "desc"})
    )
    # Same creation time: ties fall back on the id, in the asked order.
    assert by_created == [second, first]
    assert _ids(api.get("/crm/v8/Accounts", params={"sort_by": "id", "sort_order": "desc"})) == [
        second,
        first,
    ]


@pytest.mark.parametrize("sort_by", ["Nope", "", "Territories", "id;DROP TABLE x"])
def test_sorting_by_something_that_is_not_a_sortable_field_is_refused(
    api: httpx.Client, sort_by: str
) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    body = assert_zoho_error(
        api.get("/crm/v8/Accounts", params={"sort_by": sort_by}), 400, "INVALID_DATA"
    )
    assert body["details"]["param_name"] == "sort_by"


def test_pages_follow_one_another_without_gaps_and_say_when_more_remain(
    api: httpx.Client,
) -> None:
    ids = create(api, "Accounts", *({"Account_Name": f"A{i:02}"} for i in range(7)))
    seen: list[str] = []
    for page in (1, 2, 3):
        response = api.get("/crm/v8/Accounts", params={"page": page, "per_page": 3})
        seen += _ids(response)
        info = response.json()["info"]
        assert info["page"] == page and info["per_page"] == 3
        assert info["more_records"] is (page < 3)
    assert seen == ids
    assert api.get("/crm/v8/Accounts", params={"page": 4, "per_page": 3}).status_code == 204


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"per_page": 201}, "per_page"),
        ({"per_page": 0}, "per_page"),
        ({"per_page": 10**9}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "x"}, "page"),
        ({"per_page": "1e3"}, "per_page"),
    ],
)
def test_page_and_per_page_out_of_range_are_refused(
    api: httpx.Client, params: dict, name: str
) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    body = assert_zoho_error(api.get("/crm/v8/Accounts", params=params), 400, "INVALID_DATA")
    assert body["details"]["param_name"] == name


def test_per_page_200_is_allowed(api: httpx.Client) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    assert api.get("/crm/v8/Accounts", params={"per_page": 200}).status_code == 200


@pytest.mark.parametrize(("page", "per_page"), [(11, 200), (21, 100), (2001, 1)])
def test_page_and_per_page_beyond_2000_records_need_a_page_token(
    api: httpx.Client, page: int, per_page: int
) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    response = api.get("/crm/v8/Accounts", params={"page": page, "per_page": per_page})
    body = assert_zoho_error(response, 400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED")
    assert body["details"]["limit"] == 2000


def test_the_last_discrete_page_within_2000_records_is_served(
    api: httpx.Client, app: Secteur
) -> None:
    ids = insert_fast(app, "Accounts", [{"Account_Name": f"A{i}"} for i in range(2001)])
    response = api.get("/crm/v8/Accounts", params={"page": 10, "per_page": 200})
    assert _ids(response) == [str(i) for i in ids[1800:2000]]
    assert response.json()["info"]["more_records"] is True
    assert response.json()["info"]["next_page_token"]


def _walk(api: httpx.Client, params: dict) -> tuple[list[str], int]:
    """Every record of a list, following page tokens; the ids and the number of pages."""
    seen: list[str] = []
    pages = 0
    token = None
    while True:
        response = api.get(
            "/crm/v8/Accounts", params={**params, **({"page_token": token} if token else {})}
        )
        pages += 1
        seen += _ids(response)
        info = response.json()["info"]
        token = info["next_page_token"]
        if not info["more_records"]:
            assert token is None
            return seen, pages
        assert token and info["page_token_expiry"]


def test_page_tokens_walk_past_2000_records_once_each_in_a_stable_order(
    api: httpx.Client, app: Secteur
) -> None:
    # Three industries and one creation time for 2,150 records: nearly every sort key ties,
    # and a third of the records have no industry at all.
    industries = ["Banking", "retail", None]
    ids = insert_fast(
        app,
        "Accounts",
        [{"Account_Name": f"A{i:04}", "Industry": industries[i % 3]} for i in range(2150)],
    )
    by_id = {str(i): industries[n % 3] for n, i in enumerate(ids)}
    for sort_by, sort_order in [
        ("id", "asc"),
        ("Industry", "asc"),
        ("Industry", "desc"),
        ("Created_Time", "desc"),
    ]:
        params = {"sort_by": sort_by, "sort_order": sort_order, "per_page": 200}
        seen, pages = _walk(api, params)
        assert pages == 11, params
        assert len(seen) == len(set(seen)) == 2150, params
        assert sorted(map(int, seen)) == sorted(ids), params
        again, _ = _walk(api, params)
        assert again == seen, params
        if sort_by == "Industry":
            order = [by_id[s] for s in seen]
            runs = [k for n, k in enumerate(order) if n == 0 or order[n - 1] != k]
            groups = ["Banking", "retail", None]
            assert runs == (groups if sort_order == "asc" else groups[::-1]), params


def test_a_page_token_sees_records_changed_between_pages_without_repeating_any(
    api: httpx.Client, app: Secteur
) -> None:
    insert_fast(app, "Accounts", [{"Account_Name": f"A{i}"} for i in range(5)])
    first = api.get("/crm/v8/Accounts", params={"per_page": 2})
    token = first.json()["info"]["next_page_token"]
    [late] = create(api, "Accounts", {"Account_Name": "Late"})
    rest, _ = _walk(api, {"per_page": 2, "page_token": token})
    assert rest[-1] == late
    assert not set(rest) & set(_ids(first))


def _tamper(token: str) -> str:
    body, signature = token.rsplit(".", 1)
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["i"] = 1
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    return f"{forged}.{signature}"


def test_a_tampered_or_foreign_page_token_is_invalid_data(api: httpx.Client, app: Secteur) -> None:
    insert_fast(app, "Accounts", [{"Account_Name": f"A{i}"} for i in range(3)])
    insert_fast(app, "Contacts", [{"Last_Name": f"C{i}"} for i in range(3)])
    first = api.get("/crm/v8/Accounts", params={"per_page": 1})
    token = first.json()["info"]["next_page_token"]
    contacts = api.get("/crm/v8/Contacts", params={"per_page": 1})
    bad = {
        "tampered": {"page_token": _tamper(token)},
        "garbage": {"page_token": "not-a-token"},
        "non-ascii": {"page_token": token[:-1] + "é"},
        "other sort": {"page_token": token, "sort_by": "Account_Name"},
        "other order": {"page_token": token, "sort_order": "desc"},
        "other module": {"page_token": contacts.json()["info"]["next_page_token"]},
        "truncated": {"page_token": token[:-5]},
    }
    for kind, params in bad.items():
        response = api.get("/crm/v8/Accounts", params={"per_page": 1, **params})
        body = assert_zoho_error(response, 400, "INVALID_DATA")
        assert body["details"]["param_name"] == "page_token", kind
    assert api.get("/crm/v8/Accounts", params={"page_token": token}).status_code == 200


def test_a_page_token_expires(api: httpx.Client, app: Secteur, clock: Clock) -> None:
    insert_fast(app, "Accounts", [{"Account_Name": f"A{i}"} for i in range(3)])
    token = api.get("/crm/v8/Accounts", params={"per_page": 1}).json()["info"]["next_page_token"]
    clock.advance(timedelta(hours=25))
    # The admin's own token expired too: sign in again.
    fresh = {"Authorization": f"Zoho-oauthtoken {token_for(app)}"}
    response = api.get("/crm/v8/Accounts", params={"page_token": token}, headers=fresh)
    assert_zoho_error(response, 400, "INVALID_DATA")


def _as_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def test_if_modified_since_keeps_only_records_changed_after_it(
    api: httpx.Client, clock: Clock
) -> None:
    _, changed = create(api, "Accounts", {"Account_Name": "Old"}, {"Account_Name": "Changed"})
    clock.advance(timedelta(minutes=30))
    since = clock() - timedelta(minutes=1)
    clock.advance(timedelta(minutes=1))
    api.put(f"/crm/v8/Accounts/{changed}", json={"data": [{"Billing_City": "Oslo"}]})
    # The SDK sends ISO-8601 with an offset; browsers and proxies send RFC 1123.
    kolkata = since.astimezone(timezone(timedelta(hours=5, minutes=30)))
    for header in (since.isoformat(), kolkata.isoformat(), format_datetime(since, usegmt=True)):
        response = api.get("/crm/v8/Accounts", headers={"If-Modified-Since": header})
        assert _ids(response) == [changed], header


def test_if_modified_since_with_nothing_newer_is_304_with_no_body(
    api: httpx.Client, clock: Clock
) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    later = _as_iso(clock() + timedelta(minutes=5))
    response = api.get("/crm/v8/Accounts", headers={"If-Modified-Since": later})
    assert response.status_code == 304
    assert response.content == b""


@pytest.mark.parametrize("header", ["yesterday", "2024-13-45T00:00:00Z", "Mon, 99 Foo 2020"])
def test_an_unreadable_if_modified_since_is_invalid_data(api: httpx.Client, header: str) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    response = api.get("/crm/v8/Accounts", headers={"If-Modified-Since": header})
    assert_zoho_error(response, 400, "INVALID_DATA")


def test_ids_selects_exactly_those_records(api: httpx.Client) -> None:
    a, _, c = create(api, "Accounts", *({"Account_Name": n} for n in "ABC"))
    assert _ids(api.get("/crm/v8/Accounts", params={"ids": f"{c},{a}"})) == [a, c]
    unknown = str(int(c) + 100)
    assert _ids(api.get("/crm/v8/Accounts", params={"ids": f"{a},{unknown}"})) == [a]
    assert api.get("/crm/v8/Accounts", params={"ids": unknown}).status_code == 204


@pytest.mark.parametrize("ids", ["abc", "1;2", str(2**64), "²", "1,-2"])
def test_ids_that_are_not_ids_are_refused(api: httpx.Client, ids: str) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    body = assert_zoho_error(api.get("/crm/v8/Accounts", params={"ids": ids}), 400, "INVALID_DATA")
    assert body["details"]["param_name"] == "ids"


def _set_approval(app: Secteur, record_id: str, state: str) -> None:
    with app.write() as tx:
        module = tx.state.module("Accounts")
        assert module is not None
        table = tx.state.table(module).table
        tx.conn.execute(
            sa.update(table).where(table.c.id == int(record_id)).values(approval_state=state)
        )


def test_approved_selects_approved_unapproved_or_both(api: httpx.Client, app: Secteur) -> None:
    approved, pending = create(api, "Accounts", {"Account_Name": "A"}, {"Account_Name": "P"})
    _set_approval(app, pending, "pending")
    assert _ids(api.get("/crm/v8/Accounts")) == [approved]
    assert _ids(api.get("/crm/v8/Accounts", params={"approved": "true"})) == [approved]
    assert _ids(api.get("/crm/v8/Accounts", params={"approved": "false"})) == [pending]
    assert _ids(api.get("/crm/v8/Accounts", params={"approved": "both"})) == [approved, pending]
    record = api.get(f"/crm/v8/Accounts/{pending}").json()["data"][0]
    assert record["$approved"] is False and record["$approval_state"] == "pending"
    body = assert_zoho_error(
        api.get("/crm/v8/Accounts", params={"approved": "maybe"}), 400, "INVALID_DATA"
    )
    assert body["details"]["param_name"] == "approved"


def test_a_single_record_get_returns_one_item_with_every_field(api: httpx.Client) -> None:
    [record_id] = create(
        api, "Accounts", {"Account_Name": "A", "Employees": 12, "Annual_Revenue": 1500.5}
    )
    response = api.get(f"/crm/v8/Accounts/{record_id}")
    [record] = response.json()["data"]
    assert record["Employees"] == 12 and isinstance(record["Employees"], int)
    assert record["Annual_Revenue"] == 1500.5
    assert record["Phone"] is None
    fields = api.get(f"/crm/v8/Accounts/{record_id}", params={"fields": "Employees"}).json()
    assert "Annual_Revenue" not in fields["data"][0]
