"""Record writes through the live API: insert, update, upsert, delete — per-item results, batch
statuses, request-level errors, derived Deal values, owners, lookups and the audit timeline."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from secteur.services.app import Secteur
from tests.support.records_api import (
    admin_id,
    assert_zoho_error,
    audit_events,
    create,
    deactivate,
    make_user,
    root_role,
    snapshot,
)

SYSTEM_DETAILS = {
    "id",
    "Created_Time",
    "Modified_Time",
    "Created_By",
    "Modified_By",
    "$approval_state",
}


def _get(api: httpx.Client, module: str, record_id: str) -> dict:
    response = api.get(f"/crm/v8/{module}/{record_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["data"][0])


# --- insert -------------------------------------------------------------------------------


def test_an_insert_answers_201_with_a_success_item_and_the_new_records_details(
    api: httpx.Client, app: Secteur
) -> None:
    response = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Acme"}]})
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    [item] = response.json()["data"]
    assert item["code"] == "SUCCESS" and item["status"] == "success"
    assert item["message"] == "record added"
    assert set(item["details"]) >= SYSTEM_DETAILS
    assert isinstance(item["details"]["id"], str) and item["details"]["id"].isdigit()
    assert item["details"]["Created_By"]["id"] == str(admin_id(app))
    created = datetime.fromisoformat(item["details"]["Created_Time"])
    assert created.utcoffset() is not None
    assert _get(api, "Accounts", item["details"]["id"])["Account_Name"] == "Acme"


def test_a_mixed_batch_answers_207_and_writes_only_the_good_items(
    api: httpx.Client, app: Secteur
) -> None:
    before = snapshot(app)
    response = api.post(
        "/crm/v8/Accounts",
        json={
            "data": [
                {"Account_Name": "Good one"},
                {"Account_Name": "Bad industry", "Industry": "Alchemy"},
                {"Account_Name": "Good two"},
            ]
        },
    )
    assert response.status_code == 207
    codes = [item["code"] for item in response.json()["data"]]
    assert codes == ["SUCCESS", "INVALID_DATA", "SUCCESS"]
    assert snapshot(app)["Accounts"][0] == before["Accounts"][0] + 2
    names = {r["Account_Name"] for r in api.get("/crm/v8/Accounts").json()["data"]}
    assert names == {"Good one", "Good two"}


def test_a_batch_where_every_item_fails_answers_400_with_the_per_item_array(
    api: httpx.Client, app: Secteur
) -> None:
    before = snapshot(app)
    response = api.post("/crm/v8/Accounts", json={"data": [{"Phone": "1"}, {"Industry": "?"}]})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"data"}
    assert [item["status"] for item in body["data"]] == ["error", "error"]
    assert snapshot(app) == before


def test_a_missing_mandatory_field_is_reported_in_its_item_with_its_json_path(
    api: httpx.Client,
) -> None:
    response = api.post(
        "/crm/v8/Accounts", json={"data": [{"Account_Name": "A"}, {"Phone": "123"}]}
    )
    assert response.status_code == 207
    item = response.json()["data"][1]
    assert item == {
        "code": "MANDATORY_NOT_FOUND",
        "status": "error",
        "message": "required field not found",
        "details": {"api_name": "Account_Name", "json_path": "$.data[1].Account_Name"},
    }


def test_a_value_outside_the_picklist_is_invalid_data_naming_the_field(api: httpx.Client) -> None:
    response = api.post(
        "/crm/v8/Accounts",
        json={
            "data": [
                {"Account_Name": "A"},
                {"Account_Name": "B", "Industry": "Alchemy"},
            ]
        },
    )
    item = response.json()["data"][1]
    assert item["code"] == "INVALID_DATA"
    assert item["details"]["api_name"] == "Industry"
    assert item["details"]["json_path"] == "$.data[1].Industry"
    assert item["details"]["expected_data_type"] == "picklist"
    assert "Software" in item["details"]["supported_values"]


def test_picklist_values_are_matched_case_insensitively_and_stored_canonically(
    api: httpx.Client,
) -> None:
    [record_id] = create(
        api, "Accounts", {"Account_Name": "A", "Industry": "fOOD & beverage", "Rating": "SHUT DOWN"}
    )
    record = _get(api, "Accounts", record_id)
    assert record["Industry"] == "Food & Beverage"
    assert record["Rating"] == "Shut Down"


def test_more_than_100_items_is_a_top_level_limit_error_and_writes_nothing(
    api: httpx.Client, app: Secteur
) -> None:
    before = snapshot(app)
    items = [{"Account_Name": f"A{i}"} for i in range(101)]
    response = api.post("/crm/v8/Accounts", json={"data": items})
    body = assert_zoho_error(response, 400, "LIMIT_EXCEEDED")
    assert body["details"]["limit"] == 100
    assert snapshot(app) == before


def test_exactly_100_items_are_accepted(api: httpx.Client) -> None:
    ids = create(api, "Accounts", *({"Account_Name": f"A{i}"} for i in range(100)))
    assert len(set(ids)) == 100


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "REQUIRED_PARAM_MISSING"),
        ({"info": []}, "REQUIRED_PARAM_MISSING"),
        ({"data": {"Account_Name": "A"}}, "INVALID_DATA"),
        ({"data": "A"}, "INVALID_DATA"),
        ({"data": None}, "INVALID_DATA"),
        ({"data": []}, "MANDATORY_NOT_FOUND"),
    ],
)
def test_a_missing_or_malformed_data_key_is_a_top_level_error(
    api: httpx.Client, app: Secteur, body: dict, code: str
) -> None:
    before = snapshot(app)
    error = assert_zoho_error(api.post("/crm/v8/Accounts", json=body), 400, code)
    assert error["details"].get("param_name", error["details"].get("api_name")) == "data"
    assert snapshot(app) == before


def test_items_that_are_not_objects_fail_one_by_one(api: httpx.Client) -> None:
    response = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "A"}, 5, None]})
    assert response.status_code == 207
    items = response.json()["data"]
    assert items[1]["code"] == "INVALID_DATA"
    assert items[1]["details"]["json_path"] == "$.data[1]"
    assert items[2]["details"]["json_path"] == "$.data[2]"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_an_unknown_module_is_invalid_module(api: httpx.Client, method: str) -> None:
    response = api.request(
        method,
        "/crm/v8/Spaceships",
        json={"data": [{"Name": "x"}]},
        params={"ids": "1"} if method == "DELETE" else None,
    )
    assert_zoho_error(response, 400, "INVALID_MODULE")


def test_module_names_are_matched_case_insensitively(api: httpx.Client) -> None:
    [record_id] = create(api, "accounts", {"Account_Name": "A"})
    assert _get(api, "ACCOUNTS", record_id)["Account_Name"] == "A"


def test_a_body_sent_without_content_type_is_parsed_as_json(api: httpx.Client) -> None:
    request = api.build_request(
        "POST", "/crm/v8/Accounts", content=b'{"data": [{"Account_Name": "No header"}]}'
    )
    assert "content-type" not in request.headers
    response = api.send(request)
    assert response.status_code == 201, response.text
    record_id = response.json()["data"][0]["details"]["id"]
    assert _get(api, "Accounts", record_id)["Account_Name"] == "No header"


def test_a_body_with_a_wrong_content_type_is_still_parsed_as_json(api: httpx.Client) -> None:
    response = api.post(
        "/crm/v8/Accounts",
        content=b'{"data": [{"Account_Name": "Text"}]}',
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 201, response.text


# --- update -------------------------------------------------------------------------------


def test_a_batch_update_changes_each_record_and_answers_200(api: httpx.Client) -> None:
    a, b = create(api, "Accounts", {"Account_Name": "A"}, {"Account_Name": "B"})
    response = api.put(
        "/crm/v8/Accounts",
        json={
            "data": [
                {"id": a, "Billing_City": "Lyon"},
                {"id": b, "Account_Name": "B2"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    items = response.json()["data"]
    assert [i["code"] for i in items] == ["SUCCESS", "SUCCESS"]
    assert [i["details"]["id"] for i in items] == [a, b]
    assert items[0]["message"] == "record updated"
    assert _get(api, "Accounts", a)["Billing_City"] == "Lyon"
    assert _get(api, "Accounts", a)["Account_Name"] == "A"
    assert _get(api, "Accounts", b)["Account_Name"] == "B2"


def test_an_update_through_the_path_changes_only_the_fields_sent(api: httpx.Client) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A", "Industry": "Banking"})
    response = api.put(
        f"/crm/v8/Accounts/{record_id}", json={"data": [{"Billing_Country": "France"}]}
    )
    assert response.status_code == 200, response.text
    record = _get(api, "Accounts", record_id)
    assert (record["Account_Name"], record["Industry"], record["Billing_Country"]) == (
        "A",
        "Banking",
        "France",
    )
    assert record["$version"] == 2


def test_an_update_that_empties_a_mandatory_field_fails_and_changes_nothing(
    api: httpx.Client, app: Secteur
) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    before = snapshot(app)
    response = api.put(f"/crm/v8/Accounts/{record_id}", json={"data": [{"Account_Name": ""}]})
    assert response.status_code == 400
    assert response.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    assert snapshot(app) == before


def test_a_batch_update_item_without_an_id_is_mandatory_not_found(api: httpx.Client) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    response = api.put(
        "/crm/v8/Accounts",
        json={
            "data": [
                {"id": record_id, "Account_Name": "A2"},
                {"Account_Name": "no id"},
            ]
        },
    )
    assert response.status_code == 207
    item = response.json()["data"][1]
    assert item["code"] == "MANDATORY_NOT_FOUND"
    assert item["details"] == {"api_name": "id", "json_path": "$.data[1].id"}


def test_batch_update_items_with_invalid_ids_fail_alone(api: httpx.Client) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    bad_ids = ["abc", "-5", "0", 1.5, True, 2**64, "99999999999999999999", {"x": 1}, [1]]
    response = api.put(
        "/crm/v8/Accounts",
        json={
            "data": [
                {"id": record_id, "Account_Name": "A2"},
                *({"id": bad, "Account_Name": "B"} for bad in bad_ids),
            ]
        },
    )
    assert response.status_code == 207, response.text
    items = response.json()["data"]
    assert items[0]["code"] == "SUCCESS"
    for index, (bad, item) in enumerate(zip(bad_ids, items[1:], strict=True), start=1):
        assert (item["code"], item["status"]) == ("INVALID_DATA", "error"), bad
        assert item["details"] == {"api_name": "id", "json_path": f"$.data[{index}].id"}, bad
    assert _get(api, "Accounts", record_id)["Account_Name"] == "A2"


def test_a_batch_update_of_an_unknown_id_fails_alone(api: httpx.Client) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    unknown = str(int(record_id) + 1000)
    response = api.put(
        "/crm/v8/Accounts",
        json={
            "data": [
                {"id": unknown, "Account_Name": "B"},
                {"id": record_id, "Account_Name": "A2"},
            ]
        },
    )
    assert response.status_code == 207
    item = response.json()["data"][0]
    assert item["code"] == "INVALID_DATA"
    assert item["message"] == "the id given seems to be invalid"


def test_an_update_through_the_path_of_an_unknown_id_is_a_top_level_invalid_data(
    api: httpx.Client,
) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    response = api.put(
        f"/crm/v8/Accounts/{int(record_id) + 1000}", json={"data": [{"Account_Name": "B"}]}
    )
    body = assert_zoho_error(response, 400, "INVALID_DATA")
    assert body["message"] == "the id given seems to be invalid"


def test_ids_sent_as_numbers_or_strings_are_both_accepted(api: httpx.Client) -> None:
    a, b = create(api, "Accounts", {"Account_Name": "A"}, {"Account_Name": "B"})
    response = api.put(
        "/crm/v8/Accounts",
        json={
            "data": [
                {"id": int(a), "Account_Name": "A2"},
                {"id": b, "Account_Name": "B2"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert [i["details"]["id"] for i in response.json()["data"]] == [a, b]


def test_every_id_in_answers_is_a_string(api: httpx.Client) -> None:
    [account] = create(api, "Accounts", {"Account_Name": "A"})
    [contact] = create(api, "Contacts", {"Last_Name": "L", "Account_Name": {"id": int(account)}})
    record = _get(api, "Contacts", contact)
    for key in ("Owner", "Created_By", "Modified_By", "Account_Name"):
        assert isinstance(record[key]["id"], str), key
    assert isinstance(record["id"], str)
    listed = api.get("/crm/v8/Contacts").json()["data"][0]
    assert listed["Account_Name"] == {"id": account, "name": "A"}


# --- upsert -------------------------------------------------------------------------------


def test_an_upsert_inserts_when_no_duplicate_and_updates_when_one_exists(
    api: httpx.Client,
) -> None:
    first = api.post(
        "/crm/v8/Contacts/upsert", json={"data": [{"Last_Name": "Doe", "Email": "jd@example.com"}]}
    )
    assert first.status_code == 201, first.text
    item = first.json()["data"][0]
    assert (item["action"], item["duplicate_field"], item["message"]) == (
        "insert",
        None,
        "record added",
    )
    second = api.post(
        "/crm/v8/Contacts/upsert",
        json={"data": [{"Last_Name": "Doe", "Email": "JD@Example.com", "Title": "CEO"}]},
    )
    assert second.status_code == 201, second.text
    again = second.json()["data"][0]
    assert (again["action"], again["duplicate_field"]) == ("update", "Email")
    assert again["details"]["id"] == item["details"]["id"]
    assert _get(api, "Contacts", item["details"]["id"])["Title"] == "CEO"
    assert len(api.get("/crm/v8/Contacts").json()["data"]) == 1


def test_an_upsert_mixing_inserts_and_updates_reports_each_action(api: httpx.Client) -> None:
    [existing] = create(api, "Accounts", {"Account_Name": "Acme"})
    response = api.post(
        "/crm/v8/Accounts/upsert",
        json={
            "data": [
                {"Account_Name": "ACME", "Billing_City": "Paris"},
                {"Account_Name": "Newco"},
            ]
        },
    )
    assert response.status_code == 201, response.text
    items = response.json()["data"]
    assert [(i["action"], i["duplicate_field"]) for i in items] == [
        ("update", "Account_Name"),
        ("insert", None),
    ]
    assert items[0]["details"]["id"] == existing


def test_an_upsert_uses_custom_duplicate_check_fields(api: httpx.Client) -> None:
    [existing] = create(api, "Accounts", {"Account_Name": "Acme", "Account_Number": "A-1"})
    response = api.post(
        "/crm/v8/Accounts/upsert",
        json={
            "data": [{"Account_Name": "Acme Renamed", "Account_Number": "a-1"}],
            "duplicate_check_fields": ["Account_Number"],
        },
    )
    assert response.status_code == 201, response.text
    item = response.json()["data"][0]
    assert (item["action"], item["duplicate_field"]) == ("update", "Account_Number")
    assert item["details"]["id"] == existing
    assert _get(api, "Accounts", existing)["Account_Name"] == "Acme Renamed"


def test_an_upsert_on_a_number_field_matches_the_numeric_value(api: httpx.Client) -> None:
    [existing] = create(api, "Accounts", {"Account_Name": "Acme", "Employees": 42})
    response = api.post(
        "/crm/v8/Accounts/upsert",
        json={
            "data": [{"Account_Name": "Acme 42", "Employees": "42"}],
            "duplicate_check_fields": ["Employees"],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"][0]["details"]["id"] == existing


@pytest.mark.parametrize("fields", [["Nope"], ["Parent_Account"], "Account_Name", [5]])
def test_an_upsert_with_unusable_duplicate_check_fields_is_refused(
    api: httpx.Client, app: Secteur, fields: object
) -> None:
    before = snapshot(app)
    response = api.post(
        "/crm/v8/Accounts/upsert",
        json={"data": [{"Account_Name": "Acme"}], "duplicate_check_fields": fields},
    )
    assert_zoho_error(response, 400, "INVALID_DATA")
    assert snapshot(app) == before


def test_an_upsert_with_a_value_of_the_wrong_type_in_the_check_field_fails_alone(
    api: httpx.Client, app: Secteur
) -> None:
    response = api.post(
        "/crm/v8/Accounts/upsert",
        json={
            "data": [
                {"Account_Name": "Ok", "Employees": 3},
                {"Account_Name": "Bad", "Employees": "many"},
            ],
            "duplicate_check_fields": ["Employees"],
        },
    )
    assert response.status_code == 207, response.text
    item = response.json()["data"][1]
    assert (item["code"], item["details"]["api_name"]) == ("INVALID_DATA", "Employees")


def test_an_upsert_with_an_invalid_explicit_id_fails_alone(api: httpx.Client) -> None:
    response = api.post(
        "/crm/v8/Accounts/upsert",
        json={"data": [{"Account_Name": "Ok"}, {"id": "not-an-id", "Account_Name": "Bad"}]},
    )
    assert response.status_code == 207, response.text
    assert response.json()["data"][1]["code"] == "INVALID_DATA"


def test_an_upsert_with_an_explicit_id_updates_that_record(api: httpx.Client) -> None:
    [existing] = create(api, "Accounts", {"Account_Name": "Acme"})
    response = api.post(
        "/crm/v8/Accounts/upsert", json={"data": [{"id": existing, "Account_Name": "Other"}]}
    )
    assert response.status_code == 201, response.text
    item = response.json()["data"][0]
    assert (item["action"], item["details"]["id"]) == ("update", existing)
    assert _get(api, "Accounts", existing)["Account_Name"] == "Other"


# --- delete -------------------------------------------------------------------------------


def test_deleting_one_record_through_its_path_removes_it(api: httpx.Client) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    response = api.delete(f"/crm/v8/Accounts/{record_id}")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [
        {
            "code": "SUCCESS",
            "details": {"id": record_id},
            "message": "record deleted",
            "status": "success",
        }
    ]
    assert_zoho_error(api.get(f"/crm/v8/Accounts/{record_id}"), 400, "INVALID_DATA")


def test_a_batch_delete_answers_per_id_and_removes_only_known_ids(
    api: httpx.Client, app: Secteur
) -> None:
    a, b, keep = create(
        api, "Accounts", {"Account_Name": "A"}, {"Account_Name": "B"}, {"Account_Name": "Keep"}
    )
    unknown = str(int(keep) + 1000)
    response = api.delete("/crm/v8/Accounts", params={"ids": f"{a},{unknown},{b}"})
    assert response.status_code == 207, response.text
    items = response.json()["data"]
    assert [i["code"] for i in items] == ["SUCCESS", "INVALID_DATA", "SUCCESS"]
    assert items[1]["details"] == {"id": unknown}
    remaining = [r["id"] for r in api.get("/crm/v8/Accounts").json()["data"]]
    assert remaining == [keep]


def test_a_batch_delete_of_only_unknown_ids_answers_400_and_changes_nothing(
    api: httpx.Client, app: Secteur
) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    before = snapshot(app)
    response = api.delete("/crm/v8/Accounts", params={"ids": "1,2"})
    assert response.status_code == 400
    assert [i["code"] for i in response.json()["data"]] == ["INVALID_DATA", "INVALID_DATA"]
    assert snapshot(app) == before


def test_deleting_the_same_id_twice_in_one_call_deletes_it_once(api: httpx.Client) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    response = api.delete("/crm/v8/Accounts", params={"ids": f"{record_id},{record_id}"})
    assert response.status_code == 200, response.text
    assert {i["code"] for i in response.json()["data"]} == {"SUCCESS"}
    assert api.get("/crm/v8/Accounts").status_code == 204
    assert len(api.get("/crm/v8/Accounts/deleted").json()["data"]) == 1


@pytest.mark.parametrize("ids", [None, "", "abc", "1,x", "-1", str(2**64)])
def test_a_batch_delete_with_missing_or_invalid_ids_is_refused(
    api: httpx.Client, app: Secteur, ids: str | None
) -> None:
    create(api, "Accounts", {"Account_Name": "A"})
    before = snapshot(app)
    response = api.delete("/crm/v8/Accounts", params={} if ids is None else {"ids": ids})
    assert response.status_code == 400
    assert response.json()["code"] in ("REQUIRED_PARAM_MISSING", "INVALID_DATA")
    assert snapshot(app) == before


def test_deleting_more_than_100_ids_is_a_limit_error(api: httpx.Client, app: Secteur) -> None:
    before = snapshot(app)
    ids = ",".join(str(i) for i in range(1, 102))
    assert_zoho_error(api.delete("/crm/v8/Accounts", params={"ids": ids}), 400, "LIMIT_EXCEEDED")
    assert snapshot(app) == before


# --- Deals: derived values ------------------------------------------------------------------


def _deal(api: httpx.Client, **values: object) -> str:
    item = {"Deal_Name": "D", "Stage": "Qualification", "Closing_Date": "2030-01-31", **values}
    [record_id] = create(api, "Deals", item)
    return record_id


@pytest.mark.parametrize(
    ("stage", "probability"),
    [
        ("Qualification", 10),
        ("Needs Analysis", 20),
        ("Perception Analysis", 70),
        ("Negotiation/Review", 90),
        ("Closed Won", 100),
        ("Closed Lost to Competition", 0),
    ],
)
def test_a_deals_probability_defaults_from_its_stage(
    api: httpx.Client, stage: str, probability: int
) -> None:
    record = _get(api, "Deals", _deal(api, Stage=stage, Amount=1000))
    assert record["Probability"] == probability
    assert record["Expected_Revenue"] == pytest.approx(1000 * probability / 100)


def test_a_stage_change_moves_the_probability_and_expected_revenue(api: httpx.Client) -> None:
    record_id = _deal(api, Amount=2000)
    assert (
        api.put(
            f"/crm/v8/Deals/{record_id}", json={"data": [{"Stage": "Proposal/Price Quote"}]}
        ).status_code
        == 200
    )
    record = _get(api, "Deals", record_id)
    assert (record["Probability"], record["Expected_Revenue"]) == (75, 1500)


def test_an_explicit_probability_wins_over_the_stage_default(api: httpx.Client) -> None:
    record = _get(api, "Deals", _deal(api, Amount=1000, Stage="Closed Won", Probability=35))
    assert (record["Probability"], record["Expected_Revenue"]) == (35, 350)


def test_expected_revenue_is_read_only_and_follows_the_amount(api: httpx.Client) -> None:
    record_id = _deal(api, Amount=1000, Expected_Revenue=5)
    assert _get(api, "Deals", record_id)["Expected_Revenue"] == 100
    api.put(f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": 3000}]})
    assert _get(api, "Deals", record_id)["Expected_Revenue"] == 300
    api.put(f"/crm/v8/Deals/{record_id}", json={"data": [{"Amount": None}]})
    assert _get(api, "Deals", record_id)["Expected_Revenue"] is None


def test_a_deal_needs_its_stage_and_closing_date(api: httpx.Client) -> None:
    response = api.post("/crm/v8/Deals", json={"data": [{"Deal_Name": "D"}]})
    assert response.status_code == 400
    assert response.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


# --- owners and lookups ---------------------------------------------------------------------


def test_a_record_can_be_given_to_another_active_user(api: httpx.Client, app: Secteur) -> None:
    rep = make_user(app, "rep@acme.test", root_role(app))
    [record_id] = create(api, "Accounts", {"Account_Name": "A", "Owner": {"id": str(rep)}})
    record = _get(api, "Accounts", record_id)
    assert record["Owner"] == {"id": str(rep), "name": "Rep", "email": "rep@acme.test"}
    assert record["Created_By"]["id"] == str(admin_id(app))


def test_the_owner_defaults_to_the_caller(api: httpx.Client, app: Secteur) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    assert _get(api, "Accounts", record_id)["Owner"]["id"] == str(admin_id(app))


def test_an_owner_that_is_inactive_or_unknown_is_invalid_data(
    api: httpx.Client, app: Secteur
) -> None:
    gone = make_user(app, "gone@acme.test", root_role(app))
    deactivate(app, gone)
    before = snapshot(app)
    response = api.post(
        "/crm/v8/Accounts",
        json={
            "data": [
                {"Account_Name": "A", "Owner": {"id": str(gone)}},
                {"Account_Name": "B", "Owner": {"id": "12345"}},
                {"Account_Name": "C", "Owner": "not an id"},
            ]
        },
    )
    assert response.status_code == 400
    for index, item in enumerate(response.json()["data"]):
        assert item["code"] == "INVALID_DATA"
        assert item["details"]["api_name"] == "Owner"
        assert item["details"]["json_path"] == f"$.data[{index}].Owner"
    assert snapshot(app) == before


def test_changing_the_owner_is_recorded_and_answered(api: httpx.Client, app: Secteur) -> None:
    rep = make_user(app, "rep@acme.test", root_role(app))
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    response = api.put("/crm/v8/Accounts", json={"data": [{"id": record_id, "Owner": rep}]})
    assert response.status_code == 200, response.text
    assert _get(api, "Accounts", record_id)["Owner"]["id"] == str(rep)
    update = audit_events(app, "Accounts", record_id)[-1]
    assert update["before"] == {"Owner": str(admin_id(app))}
    assert update["after"] == {"Owner": str(rep)}


def test_a_lookup_to_a_missing_record_is_invalid_data(api: httpx.Client, app: Secteur) -> None:
    [account] = create(api, "Accounts", {"Account_Name": "A"})
    response = api.post(
        "/crm/v8/Contacts",
        json={
            "data": [
                {"Last_Name": "Good", "Account_Name": {"id": account}},
                {"Last_Name": "Bad", "Account_Name": {"id": str(int(account) + 999)}},
                {"Last_Name": "Worse", "Account_Name": {"id": "abc"}},
            ]
        },
    )
    assert response.status_code == 207
    items = response.json()["data"]
    assert items[0]["code"] == "SUCCESS"
    for index in (1, 2):
        assert items[index]["code"] == "INVALID_DATA"
        assert items[index]["details"]["api_name"] == "Account_Name"
        assert items[index]["details"]["json_path"] == f"$.data[{index}].Account_Name"


def test_a_lookup_to_a_deleted_record_is_invalid_data(api: httpx.Client) -> None:
    [account] = create(api, "Accounts", {"Account_Name": "A"})
    assert api.delete(f"/crm/v8/Accounts/{account}").status_code == 200
    response = api.post(
        "/crm/v8/Contacts", json={"data": [{"Last_Name": "L", "Account_Name": account}]}
    )
    assert response.status_code == 400
    assert response.json()["data"][0]["details"]["api_name"] == "Account_Name"


# --- audit ----------------------------------------------------------------------------------


def test_every_write_is_on_the_audit_timeline_with_who_when_before_and_after(
    api: httpx.Client, app: Secteur
) -> None:
    created = api.post(
        "/crm/v8/Accounts", json={"data": [{"Account_Name": "A", "Industry": "Banking"}]}
    )
    record_id = created.json()["data"][0]["details"]["id"]
    api.put(f"/crm/v8/Accounts/{record_id}", json={"data": [{"Industry": "Retail"}]})
    api.delete(f"/crm/v8/Accounts/{record_id}")
    events = audit_events(app, "Accounts", record_id)
    assert [e["action"] for e in events] == ["create", "update", "delete"]
    assert {e["actor_id"] for e in events} == {admin_id(app)}
    assert {e["source"] for e in events} == {"api"}
    create_event, update_event, delete_event = events
    assert create_event["before"] is None
    assert create_event["after"]["Account_Name"] == "A"
    assert create_event["after"]["Industry"] == "Banking"
    created_at = datetime.fromisoformat(created.json()["data"][0]["details"]["Created_Time"])
    assert create_event["at"].replace(microsecond=0) == created_at
    assert update_event["before"] == {"Industry": "Banking"}
    assert update_event["after"] == {"Industry": "Retail"}
    assert delete_event["before"]["Account_Name"] == "A"
    assert delete_event["after"] is None


def test_an_upsert_update_is_audited_as_an_update(api: httpx.Client, app: Secteur) -> None:
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    api.post(
        "/crm/v8/Accounts/upsert", json={"data": [{"Account_Name": "a", "Billing_City": "Oslo"}]}
    )
    events = audit_events(app, "Accounts", record_id)
    assert [e["action"] for e in events] == ["create", "update"]
    assert events[1]["after"] == {"Account_Name": "a", "Billing_City": "Oslo"}


def test_a_failed_item_leaves_no_audit_event(api: httpx.Client, app: Secteur) -> None:
    before = snapshot(app)["audit_events"]
    response = api.post(
        "/crm/v8/Accounts",
        json={"data": [{"Account_Name": "A"}, {"Account_Name": "B", "Employees": "many"}]},
    )
    assert response.status_code == 207
    assert snapshot(app)["audit_events"] == before + 1


# --- trigger --------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", [["workflow", "approval", "blueprint"], [], ["approval"]])
def test_the_trigger_key_is_accepted(api: httpx.Client, trigger: list[str]) -> None:
    response = api.post(
        "/crm/v8/Accounts", json={"data": [{"Account_Name": "A"}], "trigger": trigger}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("trigger", ["workflow", [1], {"a": 1}])
def test_a_malformed_trigger_is_refused(api: httpx.Client, app: Secteur, trigger: object) -> None:
    before = snapshot(app)
    response = api.post(
        "/crm/v8/Accounts", json={"data": [{"Account_Name": "A"}], "trigger": trigger}
    )
    assert_zoho_error(response, 400, "INVALID_DATA")
    assert snapshot(app) == before
