"""Optimistic concurrency on records: ETag and `$version` on reads, `If-Match` on writes, and
two writers racing on one record through the live server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from secteur.services.app import Secteur
from tests.support.records_api import assert_zoho_error, audit_events, client, create, snapshot


def _read(api: httpx.Client, record_id: str) -> tuple[dict, str]:
    response = api.get(f"/crm/v8/Deals/{record_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"][0], response.headers["etag"]


def _deal(api: httpx.Client) -> str:
    [record_id] = create(
        api,
        "Deals",
        {"Deal_Name": "D", "Stage": "Qualification", "Closing_Date": "2030-01-01", "Amount": 1000},
    )
    return record_id


def test_a_get_gives_an_etag_matching_the_version_in_the_body(api: httpx.Client) -> None:
    record_id = _deal(api)
    record, tag = _read(api, record_id)
    assert (record["$version"], tag) == (1, '"1"')
    api.put(f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": 5}]})
    record, tag = _read(api, record_id)
    assert (record["$version"], tag) == (2, '"2"')


def test_an_update_with_the_current_if_match_succeeds(api: httpx.Client) -> None:
    record_id = _deal(api)
    _, tag = _read(api, record_id)
    response = api.put(
        f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": 7}]}, headers={"If-Match": tag}
    )
    assert response.status_code == 200, response.text
    assert _read(api, record_id)[0]["Amount"] == 7


def test_a_stale_if_match_on_update_is_refused_with_409_and_changes_nothing(
    api: httpx.Client, app: Secteur
) -> None:
    record_id = _deal(api)
    _, stale = _read(api, record_id)
    api.put(f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": 2000}]})
    before = snapshot(app)
    response = api.put(
        f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": 9}]}, headers={"If-Match": stale}
    )
    body = assert_zoho_error(response, 409, "CONFLICT")
    assert body["details"]["id"] == record_id
    assert snapshot(app) == before
    assert _read(api, record_id)[0]["Amount"] == 2000


def test_a_stale_if_match_on_delete_is_refused_with_409_and_changes_nothing(
    api: httpx.Client, app: Secteur
) -> None:
    record_id = _deal(api)
    _, stale = _read(api, record_id)
    api.put(f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": 2000}]})
    before = snapshot(app)
    assert_zoho_error(
        api.delete(f"/crm/v8/Deals/{record_id}", headers={"If-Match": stale}), 409, "CONFLICT"
    )
    assert snapshot(app) == before
    _, current = _read(api, record_id)
    assert (
        api.delete(f"/crm/v8/Deals/{record_id}", headers={"If-Match": current}).status_code == 200
    )


def test_weak_and_star_if_match_values_are_understood(api: httpx.Client) -> None:
    record_id = _deal(api)
    ok = api.put(
        f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": 1}]}, headers={"If-Match": 'W/"1"'}
    )
    assert ok.status_code == 200, ok.text
    star = api.put(
        f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": 2}]}, headers={"If-Match": "*"}
    )
    assert star.status_code == 200, star.text


def test_an_unreadable_if_match_never_matches(api: httpx.Client, app: Secteur) -> None:
    record_id = _deal(api)
    before = snapshot(app)
    response = api.put(
        f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": 1}]}, headers={"If-Match": "banana"}
    )
    assert_zoho_error(response, 409, "CONFLICT")
    assert snapshot(app) == before


def test_writes_without_if_match_are_unconditional(api: httpx.Client) -> None:
    record_id = _deal(api)
    for amount in (10, 20, 30):
        response = api.put(f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": amount}]})
        assert response.status_code == 200
    record, tag = _read(api, record_id)
    assert (record["Amount"], tag) == (30, '"4"')
    assert api.delete(f"/crm/v8/Deals/{record_id}").status_code == 200


def test_two_racing_updates_of_one_record_never_lose_half_an_update(
    api: httpx.Client, app: Secteur, base_url: str, admin_token: str
) -> None:
    """Each writer changes two fields together; whatever the interleaving, the record ends as
    one writer's pair (never a mix), every success bumped the version once, and a refused
    writer got a clean CONFLICT."""
    record_id = _deal(api)
    rounds = 15
    start = threading.Barrier(2)

    kinds = {"a": ("New Business", 1000), "b": ("Existing Business", 2000)}

    def writer(tag: str) -> list[int]:
        statuses = []
        kind, base = kinds[tag]
        with client(base_url, admin_token) as mine:
            start.wait()
            for n in range(rounds):
                response = mine.put(
                    f"/crm/v8/Deals/{record_id}",
                    json={"data": [{"Deal_Name": f"{tag}{n}", "Type": kind, "Amount": base + n}]},
                )
                assert response.status_code in (200, 400), response.text
                if response.status_code == 400:
                    assert response.json()["data"][0]["code"] == "CONFLICT"
                statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(writer, ["a", "b"]))
    successes = sum(s.count(200) for s in results)
    record, _ = _read(api, record_id)
    assert record["$version"] == 1 + successes
    pair = (record["Deal_Name"][0], record["Type"], int(record["Amount"]) // 1000)
    assert pair in {("a", "New Business", 1), ("b", "Existing Business", 2)}
    assert record["Deal_Name"][1:] == str(int(record["Amount"]) % 1000)
    assert record["Expected_Revenue"] == record["Amount"] * record["Probability"] / 100
    updates = [e for e in audit_events(app, "Deals", record_id) if e["action"] == "update"]
    assert len(updates) == successes


def test_racing_updates_with_the_same_if_match_let_exactly_one_win(
    api: httpx.Client, base_url: str, admin_token: str
) -> None:
    record_id = _deal(api)
    _, tag = _read(api, record_id)
    start = threading.Barrier(4)

    def writer(amount: int) -> int:
        with client(base_url, admin_token) as mine:
            start.wait()
            response = mine.put(
                f"/crm/v8/Deals/{record_id}",
                json={"data": [{"Amount": amount}]},
                headers={"If-Match": tag},
            )
            return response.status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(writer, [1, 2, 3, 4]))
    assert statuses == [200, 409, 409, 409]
    record, new_tag = _read(api, record_id)
    assert new_tag == '"2"' and record["Amount"] in (1, 2, 3, 4)
