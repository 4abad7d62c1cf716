"""Territory settings and runs under concurrent requests, and rule errors that name their
place: one root, one run, one clear error (TER-1, TER-2, TER-5, TER-24)."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from tests.api.test_territories_api import MANAGEMENT, TERRITORIES, enable


def _together(count: int, request: Any) -> list[httpx.Response]:
    barrier = threading.Barrier(count)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        response = request()
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_TER_2_concurrent_enables_build_one_root(api: httpx.Client, base_url: str) -> None:
    headers = dict(api.headers)

    def post() -> httpx.Response:
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            return client.post(MANAGEMENT, json={"territory_management": {"enabled": True}})

    answers = _together(6, post)
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    found = api.get(TERRITORIES)
    assert found.status_code == 200
    assert len(found.json()["territories"]) == 1
    assert api.get("/crm/v8/org").status_code == 200


def test_TER_24_concurrent_run_requests_schedule_one_job(api: httpx.Client, base_url: str) -> None:
    enable(api)
    headers = dict(api.headers)
    body = {"run_rules": {"module": {"api_name": "Accounts"}}}

    def post() -> httpx.Response:
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            return client.post(f"{TERRITORIES}/actions/run_rules", json=body)

    statuses = sorted(a.status_code for a in _together(8, post))
    assert statuses.count(202) == 1, statuses
    assert statuses.count(400) == 7


def test_TER_5_a_bad_rule_fails_its_item_with_the_key_and_the_json_path(
    api: httpx.Client,
) -> None:
    root = enable(api)
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"field": {"api_name": "No_Such_Field"}, "comparator": "equal", "value": "x"},
            "$.territories[0].account_rule_criteria",
        ),
        (
            {"field": {"api_name": "Employees"}, "comparator": "starts_with", "value": "1"},
            "$.territories[0].account_rule_criteria",
        ),
        (
            {
                "group_operator": "AND",
                "group": [
                    {"field": {"api_name": "Account_Name"}, "comparator": "equal", "value": "a"},
                    {
                        "field": {"api_name": "Employees"},
                        "comparator": "greater_than",
                        "value": "many",
                    },
                ],
            },
            "$.territories[0].account_rule_criteria.group[1].value",
        ),
    ]
    for rule, path in cases:
        response = api.post(
            TERRITORIES,
            json={
                "territories": [
                    {"name": "N", "reporting_to": {"id": root}, "account_rule_criteria": rule}
                ]
            },
        )
        assert response.status_code == 400, response.text
        [item] = response.json()["territories"]
        assert item["status"] == "error"
        assert item["code"] in ("INVALID_DATA", "NOT_SUPPORTED", "DEPENDENT_MISMATCH")
        assert item["details"]["api_name"] == "account_rule_criteria"
        assert item["details"]["json_path"].startswith(path), item
    assert len(api.get(TERRITORIES).json()["territories"]) == 1  # nothing was created


def test_TER_4_concurrent_moves_never_make_a_cycle(api: httpx.Client, base_url: str) -> None:
    from tests.api.test_territories_api import create

    root = enable(api)
    first = create(api, "First", root)
    second = create(api, "Second", root)
    headers = dict(api.headers)
    moves = iter([(first, second), (second, first)] * 3)
    lock = threading.Lock()

    def move() -> httpx.Response:
        with lock:
            territory, parent = next(moves)
        body = {"territories": [{"reporting_to": {"id": parent}}]}
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            return client.put(f"{TERRITORIES}/{territory}", json=body)

    answers = _together(6, move)
    assert {a.status_code for a in answers} <= {200, 400}, [a.text for a in answers]
    found = api.get(TERRITORIES)
    assert found.status_code == 200, found.text  # the tree still loads: no cycle was written
    parents = {t["id"]: (t["reporting_to"] or {}).get("id") for t in found.json()["territories"]}
    assert not (parents[first] == second and parents[second] == first)
