"""Bad input at the records API: every mistake gets a Zoho-shaped JSON error (never a 500),
injection-shaped text is stored verbatim and never executed, and a refused request changes
nothing in the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secteur.config import Settings
from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.support import server
from tests.support.orgs import TEST_SECRET, Clock
from tests.support.records_api import (
    assert_zoho_error,
    client,
    create,
    deactivate,
    make_user,
    root_role,
    snapshot,
    user_id,
)

INVALID_TOKEN = {
    "code": "INVALID_TOKEN",
    "details": {},
    "message": "invalid oauth token",
    "status": "error",
}
WRITES = [
    ("POST", "/crm/v8/Accounts"),
    ("PUT", "/crm/v8/Accounts"),
    ("POST", "/crm/v8/Accounts/upsert"),
    ("PUT", "/crm/v8/Accounts/{id}"),
]


@pytest.fixture
def record_id(api: httpx.Client) -> str:
    [created] = create(api, "Accounts", {"Account_Name": "Existing"})
    return created


def _send(
    api: httpx.Client, method: str, path: str, record_id: str, content: bytes, **headers: str
) -> httpx.Response:
    return api.request(method, path.format(id=record_id), content=content, headers=headers)


# --- bodies that are not JSON objects -------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b'{"data": [',
        b"nope",
        b'{"data": [{"Account_Name": "A",}]}',
        b"{'data': []}",
        b'{"data": [{"Account_Name": NaN}]}',
        b'{"data": [{"Account_Name": Infinity}]}',
        b'{"data": [{"Account_Name": "A"}]} trailing',
        b"[" * 100_000,
        b'{"a":' * 50_000,
        b'{"data": [{"Employees": 1' + b"0" * 5000 + b"}]}",
    ],
)
def test_malformed_json_is_invalid_data_and_changes_nothing(
    api: httpx.Client, app: Secteur, record_id: str, content: bytes
) -> None:
    before = snapshot(app)
    for method, path in WRITES:
        response = _send(api, method, path, record_id, content)
        body = assert_zoho_error(response, 400, "INVALID_DATA")
        assert "Traceback" not in body["message"]
    assert snapshot(app) == before


@pytest.mark.parametrize("content", [b"", b"   \n"])
def test_an_empty_body_is_a_missing_parameter(
    api: httpx.Client, app: Secteur, record_id: str, content: bytes
) -> None:
    before = snapshot(app)
    for method, path in WRITES:
        assert_zoho_error(
            _send(api, method, path, record_id, content), 400, "REQUIRED_PARAM_MISSING"
        )
    assert snapshot(app) == before


@pytest.mark.parametrize("value", [[], [{"data": []}], "data", 42, None, True])
def test_json_that_is_not_an_object_is_invalid_data(
    api: httpx.Client, app: Secteur, record_id: str, value: Any
) -> None:
    before = snapshot(app)
    for method, path in WRITES:
        response = _send(api, method, path, record_id, json.dumps(value).encode())
        body = assert_zoho_error(response, 400, "INVALID_DATA")
        assert body["details"]["expected_data_type"] == "jsonobject"
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "content",
    [
        b'{"data": [{"Account_Name": "\xff\xfe"}]}',
        b'\xef\xbb\xbf{"data": [{"Account_Name": "BOM"}]}',
        b'{"data": [{"Account_Name": "\xed\xa0\x80"}]}',
        b'{"data": [{"Account_Name": "\\ud800"}]}',
        b'{"data": [{"\\udfff": "lone surrogate as a key"}]}',
        '{"data": [{"Account_Name": "caf\u00e9"}]}'.encode("latin-1"),
        '{"data": [{"Account_Name": "A"}]}'.encode("utf-16"),
    ],
)
def test_bytes_that_are_not_plain_utf8_json_text_are_invalid_data(
    api: httpx.Client, app: Secteur, record_id: str, content: bytes
) -> None:
    before = snapshot(app)
    for method, path in WRITES:
        assert_zoho_error(_send(api, method, path, record_id, content), 400, "INVALID_DATA")
    assert snapshot(app) == before


def test_escaped_unicode_and_surrogate_pairs_are_stored_as_the_characters_they_spell(
    api: httpx.Client,
) -> None:
    content = b'{"data": [{"Account_Name": "caf\\u00e9 \\ud834\\udd1e"}]}'
    response = api.post("/crm/v8/Accounts", content=content)
    assert response.status_code == 201, response.text
    record_id = response.json()["data"][0]["details"]["id"]
    record = api.get(f"/crm/v8/Accounts/{record_id}").json()["data"][0]
    assert record["Account_Name"] == "café \U0001d11e"


# --- wrong value types, field by field ------------------------------------------------------

CUSTOM_FIELDS = [
    {"field_label": "Active", "data_type": "boolean"},
    {"field_label": "Last Seen", "data_type": "datetime"},
    {"field_label": "Score", "data_type": "double"},
    {
        "field_label": "Tags",
        "data_type": "multiselectpicklist",
        "pick_list_values": [{"display_value": "Hot"}, {"display_value": "Cold"}],
    },
    {"field_label": "Reviewer", "data_type": "userlookup"},
]

# (module, field, expected_data_type, bad values); every module's other mandatory fields are
# filled in by BASE.
BAD_VALUES: list[tuple[str, str, list[Any]]] = [
    ("Accounts", "Account_Name", [True, [], {}, "x" * 256, "nul\x00byte"]),
    ("Accounts", "Website", [[], {"url": "x"}, "w" * 256, False]),
    ("Accounts", "Phone", ["call me", [], "1" * 31, True]),
    ("Accounts", "Employees", ["many", 1.5, True, 2**31, [], {}, "NaN", "1,000"]),
    ("Accounts", "Annual_Revenue", ["lots", True, 1e15, "NaN", "Infinity", [], {}]),
    ("Accounts", "Industry", ["Alchemy", 5, ["Banking"], True, {"name": "Banking"}]),
    ("Accounts", "Parent_Account", ["abc", -1, 0, True, {"id": "x"}, [1], 2**64, 1.5]),
    ("Accounts", "Owner", ["abc", {"id": True}, [], -3, {"id": 2**63}]),
    ("Accounts", "Description", ["d" * 32001, [], {}]),
    ("Accounts", "Active", ["yes", 1, "maybe", [], {}]),
    ("Accounts", "Last_Seen", ["2024-01-01T25:00:00Z", "not a date", 5, [], True]),
    ("Accounts", "Score", ["high", True, float("1e300"), []]),
    ("Accounts", "Tags", [["Nope"], "Hot;Nope", [1], {}, 5, [["Hot"]]]),
    ("Accounts", "Reviewer", ["nobody", {"id": "999"}, True]),
    ("Contacts", "Email", ["not-an-email", "a@b", 5, "x@" + "y" * 100 + ".com", []]),
    ("Deals", "Closing_Date", ["2024-02-30", "01/02/2024", 20240101, "2024-1-1", True, ""]),
    ("Deals", "Probability", [101, -1, "certain", True]),
    ("Deals", "Stage", ["Dreaming", 1, None]),
]
BASE = {
    "Accounts": {"Account_Name": "Base"},
    "Contacts": {"Last_Name": "Base"},
    "Deals": {"Deal_Name": "Base", "Stage": "Qualification", "Closing_Date": "2030-01-01"},
}


@pytest.fixture
def custom_fields(api: httpx.Client, app: Secteur) -> None:
    make_user(app, "reviewer@acme.test", root_role(app))
    response = api.post(
        "/crm/v8/settings/fields", params={"module": "Accounts"}, json={"fields": CUSTOM_FIELDS}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("module", "field", "values"), BAD_VALUES, ids=[f"{m}.{f}" for m, f, _ in BAD_VALUES]
)
def test_a_value_of_the_wrong_type_fails_its_item_naming_the_field(
    api: httpx.Client,
    app: Secteur,
    custom_fields: None,
    module: str,
    field: str,
    values: list[Any],
) -> None:
    before = snapshot(app)
    items = [{**BASE[module], field: value} for value in values]
    response = api.post(f"/crm/v8/{module}", json={"data": items})
    assert response.status_code == 400, response.text
    for index, item in enumerate(response.json()["data"]):
        assert item["status"] == "error", (values[index], item)
        assert item["code"] in ("INVALID_DATA", "MANDATORY_NOT_FOUND"), item
        assert item["details"]["api_name"] == field
        assert item["details"]["json_path"] == f"$.data[{index}].{field}"
    assert snapshot(app) == before


def test_good_values_for_every_field_type_are_accepted(
    api: httpx.Client, app: Secteur, custom_fields: None
) -> None:
    item = {
        "Account_Name": "All types",
        "Website": "example.com",
        "Phone": "+1 (555) 010-0000",
        "Employees": "42",
        "Annual_Revenue": "1234.5",
        "Industry": "banking",
        "Description": "d" * 32000,
        "Active": "true",
        "Last_Seen": "2024-05-01T10:00:00+02:00",
        "Score": 0.25,
        "Tags": ["hot", "Cold", "HOT"],
        "Reviewer": {"id": str(user_id(app, "reviewer@acme.test"))},
    }
    [record_id] = create(api, "Accounts", item)
    record = api.get(f"/crm/v8/Accounts/{record_id}").json()["data"][0]
    assert (record["Employees"], record["Annual_Revenue"], record["Industry"]) == (
        42,
        1234.5,
        "Banking",
    )
    assert record["Active"] is True
    assert record["Tags"] == ["Hot", "Cold"]
    assert record["Reviewer"]["id"] == item["Reviewer"]["id"]
    assert record["Last_Seen"] == "2024-05-01T10:00:00+02:00"
    assert len(record["Description"]) == 32000


@pytest.mark.parametrize(
    "key",
    ["Nope", "", " Account_Name", "Account Name", "x" * 500, "Robert'); DROP TABLE accounts;--"],
)
def test_an_unknown_field_fails_its_item_naming_the_key(
    api: httpx.Client, app: Secteur, key: str
) -> None:
    before = snapshot(app)
    response = api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "A", key: 1}]})
    assert response.status_code == 400, response.text
    item = response.json()["data"][0]
    assert (item["code"], item["details"]["api_name"]) == ("INVALID_DATA", key)
    assert snapshot(app) == before


def test_text_at_the_length_limit_is_accepted_and_one_more_character_is_not(
    api: httpx.Client,
) -> None:
    response = api.post(
        "/crm/v8/Accounts",
        json={"data": [{"Account_Name": "a" * 255}, {"Account_Name": "b" * 256}]},
    )
    assert response.status_code == 207
    refused = response.json()["data"][1]
    assert refused["details"]["maximum_length"] == 255
    assert refused["details"]["json_path"] == "$.data[1].Account_Name"


# --- oversized bodies -----------------------------------------------------------------------

SMALL_LIMIT = 64 * 1024


@pytest.fixture
def small_server(org_url: str, clock: Clock) -> Iterator[tuple[Secteur, httpx.Client]]:
    """A second server on the same org, with a small body limit so the test stays light."""
    limited = Secteur(
        Settings(database_url=org_url, secret_key=TEST_SECRET, max_body_bytes=SMALL_LIMIT),
        clock=clock,
    )
    try:
        with server.running(limited) as url, client(url, token_for(limited)) as api:
            yield limited, api
    finally:
        limited.dispose()


def _big_body(size: int) -> bytes:
    body = json.dumps({"data": [{"Account_Name": "A", "Description": "x" * size}]}).encode()
    assert len(body) > SMALL_LIMIT
    return body


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_body_over_the_limit_is_413_limit_exceeded(
    small_server: tuple[Secteur, httpx.Client], method: str, path: str
) -> None:
    limited, api = small_server
    [record_id] = create(api, "Accounts", {"Account_Name": "A"})
    before = snapshot(limited)
    response = _send(api, method, path, record_id, _big_body(SMALL_LIMIT))
    body = assert_zoho_error(response, 413, "LIMIT_EXCEEDED")
    assert body["details"]["limit"] == SMALL_LIMIT
    assert snapshot(limited) == before


def test_a_streamed_body_over_the_limit_is_413_too(
    small_server: tuple[Secteur, httpx.Client],
) -> None:
    limited, api = small_server
    before = snapshot(limited)
    payload = _big_body(SMALL_LIMIT)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 4096):
            yield payload[start : start + 4096]

    response = api.post("/crm/v8/Accounts", content=chunks())
    assert_zoho_error(response, 413, "LIMIT_EXCEEDED")
    assert snapshot(limited) == before


def test_a_body_just_under_the_limit_is_served(small_server: tuple[Secteur, httpx.Client]) -> None:
    _, api = small_server
    body = json.dumps({"data": [{"Account_Name": "A", "Description": "x" * 30000}]}).encode()
    assert len(body) < SMALL_LIMIT
    assert api.post("/crm/v8/Accounts", content=body).status_code == 201


# --- parameters -----------------------------------------------------------------------------

BAD_PARAMS = [
    ("/crm/v8/Accounts", {"per_page": str(10**9)}),
    ("/crm/v8/Accounts", {"per_page": "-5"}),
    ("/crm/v8/Accounts", {"page": "-1"}),
    ("/crm/v8/Accounts", {"page": "1.5"}),
    ("/crm/v8/Accounts", {"page": "9" * 30}),
    ("/crm/v8/Accounts", {"sort_by": "Nope"}),
    ("/crm/v8/Accounts", {"sort_by": "Account_Name; DROP TABLE accounts"}),
    ("/crm/v8/Accounts", {"sort_order": "sideways"}),
    ("/crm/v8/Accounts", {"fields": "Account_Name,'--"}),
    ("/crm/v8/Accounts", {"ids": "1 OR 1=1"}),
    ("/crm/v8/Accounts", {"ids": "99999999999999999999999"}),
    ("/crm/v8/Accounts", {"approved": "sometimes"}),
    ("/crm/v8/Accounts", {"page_token": "x" * 3000}),
    ("/crm/v8/Accounts", {"sort_by": "\x00"}),
    ("/crm/v8/Accounts", {"fields": "Account_Name\x00"}),
    ("/crm/v8/Accounts/search", {"criteria": "(Account_Name:equals:a\x00b)"}),
    ("/crm/v8/Accounts/search", {"word": "ab\x00"}),
    ("/crm/v8/Accounts/search", {"email": "a\x00@b.c"}),
    ("/crm/v8/Accounts/search", {"phone": "1\x002"}),
    ("/crm/v8/Accounts/search", {"criteria": "x" * 10_001}),
    ("/crm/v8/Accounts/search", {"criteria": "(Account_Name:equals:a') OR ('1'='1"}),
    ("/crm/v8/Accounts/search", {"word": "ab", "per_page": "0"}),
    ("/crm/v8/Accounts/actions/count", {"criteria": "(Account_Name:like:%)"}),
    ("/crm/v8/Accounts/actions/count", {"word": "\x00\x00"}),
    ("/crm/v8/Accounts/deleted", {"per_page": "201"}),
    ("/crm/v8/Accounts/deleted", {"type": "'; DROP TABLE deleted_records; --"}),
    ("/crm/v8/Accounts/{id}/Contacts", {"per_page": str(10**9)}),
    ("/crm/v8/Accounts/{id}", {"fields": "Nope"}),
]


def test_bad_parameters_are_a_clean_400_and_change_nothing(
    api: httpx.Client, app: Secteur, record_id: str
) -> None:
    before = snapshot(app)
    for path, params in BAD_PARAMS:
        response = api.get(path.format(id=record_id), params=params)
        assert response.status_code == 400, (path, params, response.text)
        assert_zoho_error(response, 400, response.json()["code"])
        assert response.json()["code"] in ("INVALID_DATA", "INVALID_QUERY"), (path, params)
    assert snapshot(app) == before


# --- injection-shaped text ------------------------------------------------------------------

TRICKY = [
    "'; DROP TABLE accounts; --",
    "Robert'); DROP TABLE Students;--",
    '" OR 1=1 --',
    "100%",
    "_",
    "%_%",
    "back\\slash\\",
    "O'Brien",
    "$1; SELECT pg_sleep(10)",
    "<script>alert(1)</script>",
    "Ünïcödé ✓ \U0001d518",
    "tab\tnew\nline",
]


def test_injection_shaped_values_are_stored_and_returned_verbatim(
    api: httpx.Client, app: Secteur
) -> None:
    ids = create(api, "Accounts", *({"Account_Name": text, "Description": text} for text in TRICKY))
    for record_id, text in zip(ids, TRICKY, strict=True):
        record = api.get(f"/crm/v8/Accounts/{record_id}").json()["data"][0]
        assert (record["Account_Name"], record["Description"]) == (text, text)
    assert api.get("/crm/v8/Accounts/actions/count").json() == {"count": len(TRICKY)}
    assert snapshot(app)["Accounts"][0] == len(TRICKY)


def test_injection_shaped_search_values_match_only_themselves(api: httpx.Client) -> None:
    create(api, "Accounts", *({"Account_Name": t} for t in TRICKY))
    for text in TRICKY:
        _search_matches_only(api, text)


def _search_matches_only(api: httpx.Client, text: str) -> None:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace(",", "\\,")
    for params in ({"criteria": f"(Account_Name:equals:{escaped})"}, {"word": text}):
        response = api.get("/crm/v8/Accounts/search", params=params)
        if params.get("word") and len(text.strip()) < 2:
            assert_zoho_error(response, 400, "INVALID_QUERY")
            continue
        assert response.status_code == 200, (params, response.text)
        names = [r["Account_Name"] for r in response.json()["data"]]
        assert text in names, params
        if "criteria" in params:
            assert names == [text], params
        else:
            assert all(text.lower() in n.lower() for n in names), params
    count = api.get(
        "/crm/v8/Accounts/actions/count", params={"criteria": f"(Account_Name:equals:{escaped})"}
    )
    assert count.json() == {"count": 1}, text


def test_a_nul_character_in_a_value_is_refused_for_its_item(
    api: httpx.Client, app: Secteur, record_id: str
) -> None:
    before = snapshot(app)
    for method, path in WRITES:
        item = {"Account_Name": "a\x00b", **({"id": record_id} if method == "PUT" else {})}
        response = api.request(method, path.format(id=record_id), json={"data": [item]})
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["data"][0]["details"]["api_name"] == "Account_Name"
    assert snapshot(app) == before


# --- ids beyond 64 bits ---------------------------------------------------------------------


def test_a_path_id_that_is_not_a_64_bit_id_answers_like_a_missing_record(
    api: httpx.Client, app: Secteur, record_id: str
) -> None:
    before = snapshot(app)
    bad_ids = [str(2**63), str(2**64), "9" * 40, "0", "-1", "1e5", "0x10", "%C2%B2", "%00", "%20"]
    calls = (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/Contacts"))
    for bad, (method, suffix) in ((b, c) for b in bad_ids for c in calls):
        response = api.request(
            method,
            f"/crm/v8/Accounts/{bad}{suffix}",
            json={"data": [{"Phone": "1"}]} if method == "PUT" else None,
        )
        body = assert_zoho_error(response, 400, "INVALID_DATA")
        assert body["message"] == "the id given seems to be invalid", (bad, method, suffix)
    assert snapshot(app) == before


def test_the_largest_64_bit_id_is_a_valid_id_that_does_not_exist(api: httpx.Client) -> None:
    assert_zoho_error(api.get(f"/crm/v8/Accounts/{2**63 - 1}"), 400, "INVALID_DATA")


def test_ids_beyond_64_bits_in_bodies_fail_their_items(api: httpx.Client, app: Secteur) -> None:
    before = snapshot(app)
    response = api.post(
        "/crm/v8/Contacts",
        json={
            "data": [
                {"Last_Name": "A", "Account_Name": {"id": 2**64}},
                {"Last_Name": "B", "Account_Name": str(2**63)},
                {"Last_Name": "C", "Owner": {"id": 2**70}},
            ]
        },
    )
    assert response.status_code == 400, response.text
    assert [i["code"] for i in response.json()["data"]] == ["INVALID_DATA"] * 3
    assert snapshot(app) == before


# --- tokens ---------------------------------------------------------------------------------


def _refused_without_token(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == INVALID_TOKEN


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Zoho-oauthtoken",
        "Zoho-oauthtoken 1000.forged.token",
        "Zoho-oauthtoken " + "a" * 5000,
        "Basic YWRtaW46cGFzc3dvcmQ=",
        "Bearer",
        "Zoho-oauthtoken ' OR '1'='1",
    ],
)
def test_a_missing_or_forged_token_is_401_invalid_token_on_every_record_endpoint(
    base_url: str, app: Secteur, record_id: str, authorization: str | None
) -> None:
    before = snapshot(app)
    headers = {} if authorization is None else {"Authorization": authorization}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as anonymous:
        for method, path, body in [
            ("GET", "/crm/v8/Accounts", None),
            ("GET", "/crm/v8/Accounts/{id}", None),
            ("GET", "/crm/v8/Accounts/search?word=ex", None),
            ("GET", "/crm/v8/Accounts/actions/count", None),
            ("GET", "/crm/v8/Accounts/deleted", None),
            ("GET", "/crm/v8/Accounts/{id}/Contacts", None),
            ("POST", "/crm/v8/Accounts", b'{"data": [{"Account_Name": "A"}]}'),
            ("POST", "/crm/v8/Accounts", b"not json"),
            ("POST", "/crm/v8/Nope", b"[]"),
            ("PUT", "/crm/v8/Accounts/{id}", b'{"data": [{"Account_Name": "A"}]}'),
            ("POST", "/crm/v8/Accounts/upsert", b'{"data": [{"Account_Name": "A"}]}'),
            ("DELETE", "/crm/v8/Accounts/{id}", None),
            ("DELETE", "/crm/v8/Accounts?ids={id}", None),
        ]:
            _refused_without_token(
                anonymous.request(method, path.format(id=record_id), content=body)
            )
    assert snapshot(app) == before


def test_an_expired_token_is_401_invalid_token(
    api: httpx.Client, app: Secteur, clock: Clock
) -> None:
    assert api.get("/crm/v8/Accounts").status_code == 204
    clock.advance(timedelta(hours=1, seconds=1))
    _refused_without_token(api.get("/crm/v8/Accounts"))
    _refused_without_token(api.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "A"}]}))
    assert snapshot(app)["Accounts"][0] == 0


def test_a_revoked_token_is_401_invalid_token(api: httpx.Client, admin_token: str) -> None:
    assert api.get("/crm/v8/Accounts").status_code == 204
    revoked = api.post("/oauth/v2/token/revoke", data={"token": admin_token})
    assert revoked.status_code == 200, revoked.text
    _refused_without_token(api.get("/crm/v8/Accounts"))


def test_a_token_of_a_deactivated_user_is_401_invalid_token(app: Secteur, base_url: str) -> None:
    make_user(app, "leaver@acme.test", root_role(app))
    with client(base_url, token_for(app, "leaver@acme.test")) as leaver:
        assert leaver.get("/crm/v8/Accounts").status_code == 204
        deactivate(app, user_id(app, "leaver@acme.test"))
        _refused_without_token(leaver.get("/crm/v8/Accounts"))


# --- URLs and methods -----------------------------------------------------------------------


def test_an_unknown_path_is_404_invalid_url_pattern(api: httpx.Client) -> None:
    for path in (
        "/crm/v8/Accounts/1/Contacts/extra",
        "/crm/v9/Accounts",
        "/crm/nothing",
        "/oauth/nothing",
        "/crm/v8/",
        "/crm/v8/Accounts/1/2/3/4",
    ):
        assert_zoho_error(api.get(path), 404, "INVALID_URL_PATTERN")


def test_a_wrong_method_is_a_zoho_shaped_error(api: httpx.Client, app: Secteur) -> None:
    before = snapshot(app)
    for method, path in [
        ("PATCH", "/crm/v8/Accounts"),
        ("PATCH", "/crm/v8/Accounts/1"),
        ("POST", "/crm/v8/Accounts/actions/count"),
        ("DELETE", "/crm/v8/Accounts/search"),
        ("PUT", "/crm/v8/Accounts/upsert"),
        ("POST", "/crm/v8/Accounts/1"),
    ]:
        response = api.request(method, path, json={"data": [{"Account_Name": "A"}]})
        assert response.status_code in (400, 404, 405), (method, path, response.text)
        assert_zoho_error(response, response.status_code, response.json()["code"])
    assert api.patch("/crm/v8/Accounts").json()["code"] == "INVALID_REQUEST_METHOD"
    assert snapshot(app) == before


def test_a_module_name_that_is_no_module_is_invalid_module(api: httpx.Client) -> None:
    for module in ("Acc%00ounts", "%27%3B--", "Accounts%20", "x" * 300):
        assert_zoho_error(api.get(f"/crm/v8/{module}"), 400, "INVALID_MODULE")


# --- random input ---------------------------------------------------------------------------

FIELD_NAMES = [
    "Account_Name",
    "Industry",
    "Employees",
    "Annual_Revenue",
    "Owner",
    "id",
    "Parent_Account",
    "Phone",
    "Website",
    "Description",
    "$approved",
    "Nope",
    "",
]
PARAM_NAMES = [
    "fields",
    "ids",
    "sort_by",
    "sort_order",
    "page",
    "per_page",
    "page_token",
    "approved",
    "criteria",
    "email",
    "phone",
    "word",
    "type",
]
ENDPOINTS = [
    ("GET", "/crm/v8/Accounts"),
    ("GET", "/crm/v8/Accounts/{id}"),
    ("GET", "/crm/v8/Accounts/search"),
    ("GET", "/crm/v8/Accounts/actions/count"),
    ("GET", "/crm/v8/Accounts/deleted"),
    ("GET", "/crm/v8/Accounts/{id}/Contacts"),
    ("POST", "/crm/v8/Accounts"),
    ("PUT", "/crm/v8/Accounts"),
    ("PUT", "/crm/v8/Accounts/{id}"),
    ("POST", "/crm/v8/Accounts/upsert"),
    ("DELETE", "/crm/v8/Accounts"),
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["Banking", "2024-01-01", "", "1"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
items = st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=5)
bodies = json_values | st.fixed_dictionaries(
    {"data": st.lists(items | json_values, max_size=4)},
    optional={"trigger": json_values, "duplicate_check_fields": json_values},
)
params = st.dictionaries(
    st.sampled_from(PARAM_NAMES), st.text(max_size=20) | st.integers().map(str), max_size=4
)
path_ids = st.sampled_from(["{id}", "1", "0", str(2**64)]) | st.text(
    st.characters(codec="utf-8", exclude_characters="/?#"), min_size=1, max_size=12
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=bodies,
    query=params,
    path_id=path_ids,
    raw=st.booleans(),
)
def test_random_requests_never_fail_with_a_500_and_refusals_change_nothing(
    api: httpx.Client,
    app: Secteur,
    record_id: str,
    endpoint: tuple[str, str],
    body: Any,
    query: dict[str, str],
    path_id: str,
    raw: bool,
) -> None:
    method, template = endpoint
    target = record_id if path_id == "{id}" else quote(path_id, safe="")
    path = template.format(id=target)
    content = json.dumps(body).encode() if method in ("POST", "PUT") else None
    if raw and content is not None:
        content = content[: max(1, len(content) // 2)]
    before = snapshot(app)
    response = api.request(method, path, params=query, content=content)
    assert response.status_code < 500, response.text
    if 400 <= response.status_code < 500:
        _assert_refusal_shape(response)
        assert snapshot(app) == before
    elif response.status_code in (204, 304):
        assert response.content == b""
    else:
        assert response.headers["content-type"].startswith("application/json")


def _assert_refusal_shape(response: httpx.Response) -> None:
    """A top-level Zoho error, or (a batch whose every item failed) a `data` array of them."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    errors = body["data"] if set(body) == {"data"} and response.status_code == 400 else [body]
    for error in errors:
        assert set(error) == {"code", "details", "message", "status"}, body
        assert error["status"] == "error" and isinstance(error["details"], dict), body
