"""Records search and count through the live API: criteria strings (escapes, `or`, nesting),
email, phone and word searches, and Zoho-shaped INVALID_QUERY errors."""

from __future__ import annotations

import httpx
import pytest

from tests.support.records_api import assert_zoho_error, create

ACCOUNTS = [
    {
        "Account_Name": "Acme (Europe)",
        "Billing_Country": "France",
        "Annual_Revenue": 2_000_000,
        "Phone": "+33 1 40 00 00 00",
        "Industry": "Banking",
    },
    {
        "Account_Name": "Globex, Inc.",
        "Billing_Country": "USA",
        "Annual_Revenue": 500_000,
        "Phone": "555-0100",
        "Industry": "Retail",
    },
    {
        "Account_Name": "50%_off",
        "Billing_Country": "france",
        "Annual_Revenue": 10,
        "Industry": "Retail",
    },
    {"Account_Name": "O'Brien & Sons", "Billing_Country": "Ireland", "Website": "obrien.ie"},
]


@pytest.fixture
def accounts(api: httpx.Client) -> dict[str, str]:
    ids = create(api, "Accounts", *ACCOUNTS)
    return {a["Account_Name"]: i for a, i in zip(ACCOUNTS, ids, strict=True)}


def _search(api: httpx.Client, module: str = "Accounts", **params: str) -> list[str]:
    response = api.get(
        f"/crm/v8/{module}/search",
        params={"fields": "Account_Name", **params} if module == "Accounts" else params,
    )
    if response.status_code == 204:
        assert response.content == b""
        return []
    assert response.status_code == 200, response.text
    key = "Account_Name" if module == "Accounts" else "Last_Name"
    return sorted(r[key] for r in response.json()["data"])


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("(Billing_Country:equals:France)", ["50%_off", "Acme (Europe)"]),
        (
            "((Billing_Country:equals:France)and(Annual_Revenue:greater_than:1000000))",
            ["Acme (Europe)"],
        ),
        (
            "((Billing_Country:equals:USA)or(Billing_Country:equals:Ireland))",
            ["Globex, Inc.", "O'Brien & Sons"],
        ),
        (
            "(((Industry:equals:Retail)and(Annual_Revenue:less_than:100))or(Account_Name:starts_with:o'))",
            ["50%_off", "O'Brien & Sons"],
        ),
        (r"(Account_Name:equals:Acme \(Europe\))", ["Acme (Europe)"]),
        (r"(Account_Name:equals:Globex\, Inc.)", ["Globex, Inc."]),
        ("(Account_Name:starts_with:50%)", ["50%_off"]),
        ("(Account_Name:starts_with:5_)", []),
        ("(Account_Name:contains:%)", ["50%_off"]),
        ("(Account_Name:equals:O'Brien & Sons)", ["O'Brien & Sons"]),
        ("(Account_Name:equals:x' OR '1'='1)", []),
        ("(Billing_Country:in:Ireland,USA)", ["Globex, Inc.", "O'Brien & Sons"]),
        ("(Industry:equals:${EMPTY})", ["O'Brien & Sons"]),
    ],
)
def test_criteria_strings_select_the_matching_records(
    api: httpx.Client, accounts: dict[str, str], criteria: str, expected: list[str]
) -> None:
    assert _search(api, criteria=criteria) == sorted(expected)


def test_search_answers_the_list_envelope(api: httpx.Client, accounts: dict[str, str]) -> None:
    response = api.get(
        "/crm/v8/Accounts/search",
        params={"criteria": "(Billing_Country:equals:france)", "per_page": 1},
    )
    body = response.json()
    assert len(body["data"]) == 1
    assert body["info"]["more_records"] is True and body["info"]["per_page"] == 1


@pytest.mark.parametrize(
    ("criteria", "reason_key"),
    [
        ("(Nope:equals:x)", "api_name"),
        ("(Account_Name:greater_than:x)", "api_name"),
        ("(Annual_Revenue:equals:lots)", "api_name"),
        ("(Account_Name:equals:x", "position"),
        ("Account_Name:equals:x", "position"),
        ("((Account_Name:equals:x)and(Phone:equals:1)or(Website:equals:y))", "position"),
        ("(Account_Name:equals:a(b)", "position"),
        ("()", "position"),
    ],
)
def test_invalid_criteria_are_a_zoho_shaped_invalid_query(
    api: httpx.Client, accounts: dict[str, str], criteria: str, reason_key: str
) -> None:
    body = assert_zoho_error(
        api.get("/crm/v8/Accounts/search", params={"criteria": criteria}), 400, "INVALID_QUERY"
    )
    assert reason_key in body["details"]


@pytest.mark.parametrize("criteria", ["(" * 3000, "(" * 1500 + "(Phone:equals:1)" + ")" * 1500])
def test_absurdly_nested_criteria_are_refused_cleanly(api: httpx.Client, criteria: str) -> None:
    response = api.get("/crm/v8/Accounts/search", params={"criteria": criteria})
    assert_zoho_error(response, 400, "INVALID_QUERY")


def test_a_search_needs_exactly_one_of_criteria_email_phone_word(api: httpx.Client) -> None:
    body = assert_zoho_error(api.get("/crm/v8/Accounts/search"), 400, "REQUIRED_PARAM_MISSING")
    assert "param_name" in body["details"]
    assert_zoho_error(
        api.get("/crm/v8/Accounts/search", params={"word": "ab", "phone": "1"}),
        400,
        "INVALID_QUERY",
    )


def test_email_search_matches_the_whole_address_case_insensitively(api: httpx.Client) -> None:
    create(
        api,
        "Contacts",
        {"Last_Name": "Doe", "Email": "John.Doe@Example.com"},
        {"Last_Name": "Roe", "Email": "roe@example.com"},
    )
    assert _search(api, "Contacts", email="john.doe@example.COM") == ["Doe"]
    assert _search(api, "Contacts", email="example.com") == []


def test_phone_search_finds_records_by_part_of_a_number(
    api: httpx.Client, accounts: dict[str, str]
) -> None:
    assert _search(api, phone="0100") == ["Globex, Inc."]
    assert _search(api, phone="+33") == ["Acme (Europe)"]


def test_word_search_looks_in_every_text_field(api: httpx.Client, accounts: dict[str, str]) -> None:
    assert _search(api, word="acme") == ["Acme (Europe)"]
    assert _search(api, word="IRELAND") == ["O'Brien & Sons"]
    assert _search(api, word="obrien.ie") == ["O'Brien & Sons"]
    assert _search(api, word="%_") == ["50%_off"]
    assert _search(api, word="'; DROP TABLE accounts; --") == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"word": "a"}, "INVALID_QUERY"),
        ({"word": "   "}, "INVALID_QUERY"),
        ({"email": ""}, "INVALID_QUERY"),
        ({"criteria": ""}, "INVALID_QUERY"),
    ],
)
def test_empty_or_too_short_search_values_are_refused(
    api: httpx.Client, params: dict, code: str
) -> None:
    assert_zoho_error(api.get("/crm/v8/Accounts/search", params=params), 400, code)


def test_a_search_with_no_match_is_204(api: httpx.Client, accounts: dict[str, str]) -> None:
    response = api.get("/crm/v8/Accounts/search", params={"word": "zzzz"})
    assert response.status_code == 204 and response.content == b""


def test_count_counts_every_record_or_those_matching(
    api: httpx.Client, accounts: dict[str, str]
) -> None:
    assert api.get("/crm/v8/Accounts/actions/count").json() == {"count": 4}
    criteria = {"criteria": "(Billing_Country:equals:FRANCE)"}
    assert api.get("/crm/v8/Accounts/actions/count", params=criteria).json() == {"count": 2}
    assert api.get("/crm/v8/Accounts/actions/count", params={"word": "globex"}).json() == {
        "count": 1
    }
    assert api.get("/crm/v8/Contacts/actions/count").json() == {"count": 0}


def test_count_with_invalid_criteria_is_invalid_query(api: httpx.Client) -> None:
    assert_zoho_error(
        api.get("/crm/v8/Accounts/actions/count", params={"criteria": "(x"}), 400, "INVALID_QUERY"
    )


def test_count_of_an_unknown_module_is_invalid_module(api: httpx.Client) -> None:
    assert_zoho_error(api.get("/crm/v8/Nope/actions/count"), 400, "INVALID_MODULE")
