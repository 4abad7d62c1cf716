"""`/crm/v8/settings/fields` through the live server: the standard fields of core.md, and custom
fields of every type used end to end through the records API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.support.orgs import ADMIN_EMAIL

FIELDS = "/crm/v8/settings/fields"

# --- core.md, "Standard modules and fields", written out independently of the code ------------

INDUSTRIES = [
    "Aerospace",
    "Agriculture",
    "Automotive",
    "Banking",
    "Chemicals",
    "Construction",
    "Consulting",
    "Education",
    "Energy",
    "Financial Services",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Logistics",
    "Manufacturing",
    "Media",
    "Mining",
    "Non-Profit",
    "Pharmaceuticals",
    "Real Estate",
    "Retail",
    "Software",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Wholesale",
    "Other",
]
LEAD_SOURCES = [
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Partner",
    "Public Relations",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
]
STAGES = [
    ("Qualification", 10, "pipeline"),
    ("Needs Analysis", 20, "pipeline"),
    ("Value Proposition", 40, "pipeline"),
    ("Id. Decision Makers", 60, "pipeline"),
    ("Perception Analysis", 70, "best_case"),
    ("Proposal/Price Quote", 75, "best_case"),
    ("Negotiation/Review", 90, "commit"),
    ("Closed Won", 100, "closed_won"),
    ("Closed Lost", 0, "closed_lost"),
    ("Closed Lost to Competition", 0, "closed_lost"),
]
PICKLISTS: dict[tuple[str, str], list[str]] = {
    ("Accounts", "Industry"): INDUSTRIES,
    ("Accounts", "Rating"): [
        "Acquired",
        "Active",
        "Market Failed",
        "Project Cancelled",
        "Shut Down",
    ],
    ("Accounts", "Account_Type"): [
        "Analyst",
        "Competitor",
        "Customer",
        "Distributor",
        "Integrator",
        "Investor",
        "Other",
        "Partner",
        "Press",
        "Prospect",
        "Reseller",
        "Supplier",
        "Vendor",
    ],
    ("Accounts", "Ownership"): [
        "Private",
        "Public",
        "Subsidiary",
        "Partnership",
        "Government",
        "Other",
    ],
    ("Contacts", "Lead_Source"): LEAD_SOURCES,
    ("Deals", "Stage"): [name for name, _, _ in STAGES],
    ("Deals", "Type"): ["New Business", "Existing Business"],
    ("Deals", "Lead_Source"): LEAD_SOURCES,
    ("Leads", "Industry"): INDUSTRIES,
    ("Leads", "Lead_Status"): [
        "Attempted to Contact",
        "Contact in Future",
        "Contacted",
        "Junk Lead",
        "Lost Lead",
        "Not Contacted",
        "Pre-Qualified",
        "Not Qualified",
    ],
    ("Leads", "Lead_Source"): LEAD_SOURCES,
}

M = "mandatory"
# module → api_name → (data_type, "mandatory" or "", lookup module or None)
STANDARD: dict[str, dict[str, tuple[str, str, str | None]]] = {
    "Accounts": {
        "Account_Name": ("text", M, None),
        "Account_Number": ("text", "", None),
        "Website": ("website", "", None),
        "Phone": ("phone", "", None),
        "Billing_Street": ("text", "", None),
        "Billing_City": ("text", "", None),
        "Billing_State": ("text", "", None),
        "Billing_Code": ("text", "", None),
        "Billing_Country": ("text", "", None),
        "Industry": ("picklist", "", None),
        "Annual_Revenue": ("currency", "", None),
        "Employees": ("integer", "", None),
        "Rating": ("picklist", "", None),
        "Account_Type": ("picklist", "", None),
        "Ownership": ("picklist", "", None),
        "Parent_Account": ("lookup", "", "Accounts"),
        "Description": ("textarea", "", None),
    },
    "Contacts": {
        "First_Name": ("text", "", None),
        "Last_Name": ("text", M, None),
        "Email": ("email", "", None),
        "Phone": ("phone", "", None),
        "Mobile": ("phone", "", None),
        "Title": ("text", "", None),
        "Department": ("text", "", None),
        "Account_Name": ("lookup", "", "Accounts"),
        "Mailing_City": ("text", "", None),
        "Mailing_State": ("text", "", None),
        "Mailing_Country": ("text", "", None),
        "Lead_Source": ("picklist", "", None),
    },
    "Deals": {
        "Deal_Name": ("text", M, None),
        "Amount": ("currency", "", None),
        "Stage": ("picklist", M, None),
        "Probability": ("percent", "", None),
        "Expected_Revenue": ("currency", "", None),
        "Closing_Date": ("date", M, None),
        "Account_Name": ("lookup", "", "Accounts"),
        "Contact_Name": ("lookup", "", "Contacts"),
        "Type": ("picklist", "", None),
        "Lead_Source": ("picklist", "", None),
    },
    "Leads": {
        "First_Name": ("text", "", None),
        "Last_Name": ("text", M, None),
        "Company": ("text", M, None),
        "Email": ("email", "", None),
        "Phone": ("phone", "", None),
        "City": ("text", "", None),
        "State": ("text", "", None),
        "Country": ("text", "", None),
        "Industry": ("picklist", "", None),
        "Annual_Revenue": ("currency", "", None),
        "No_of_Employees": ("integer", "", None),
        "Lead_Status": ("picklist", "", None),
        "Lead_Source": ("picklist", "", None),
    },
}
# api-compat.md item 10: the system keys that are fields.
SYSTEM = {
    "Owner": ("ownerlookup", "", None),
    "Created_By": ("ownerlookup", "", None),
    "Modified_By": ("ownerlookup", "", None),
    "Created_Time": ("datetime", "", None),
    "Modified_Time": ("datetime", "", None),
}
# Zoho's json_type of each data type (what the SDK reads to (de)serialise values).
JSON_TYPES = {
    "text": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "website": "string",
    "integer": "integer",
    "double": "double",
    "currency": "double",
    "percent": "double",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
    "picklist": "string",
    "multiselectpicklist": "jsonarray",
    "lookup": "jsonobject",
    "userlookup": "jsonobject",
    "ownerlookup": "jsonobject",
}


def fields_of(api: httpx.Client, module: str) -> dict[str, dict[str, Any]]:
    response = api.get(FIELDS, params={"module": module})
    assert response.status_code == 200, response.text
    return {f["api_name"]: f for f in response.json()["fields"]}


def field(api: httpx.Client, module: str, api_name: str) -> dict[str, Any]:
    return fields_of(api, module)[api_name]


def columns(app: Secteur, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(app.engine).get_columns(table)}


# --- the standard fields ------------------------------------------------------------------


@pytest.mark.parametrize("module", sorted(STANDARD))
def test_the_standard_fields_are_exactly_those_of_core_md(api: httpx.Client, module: str) -> None:
    found = fields_of(api, module)
    expected = {**STANDARD[module], **SYSTEM}
    assert set(found) == set(expected)
    for api_name, (data_type, mandatory, lookup) in expected.items():
        f = found[api_name]
        assert f["data_type"] == data_type, api_name
        assert f["system_mandatory"] is (mandatory == M), api_name
        assert f["custom_field"] is False, api_name
        if data_type == "lookup":
            assert f["lookup"]["module"]["api_name"] == lookup, api_name


@pytest.mark.parametrize("module", sorted(STANDARD))
def test_every_field_has_the_json_type_of_its_data_type(api: httpx.Client, module: str) -> None:
    for api_name, f in fields_of(api, module).items():
        assert f["json_type"] == JSON_TYPES[f["data_type"]], api_name


@pytest.mark.parametrize(("module", "api_name"), sorted(PICKLISTS))
def test_the_standard_picklists_hold_the_values_of_core_md(
    api: httpx.Client, module: str, api_name: str
) -> None:
    values = field(api, module, api_name)["pick_list_values"]
    assert [v["display_value"] for v in values] == PICKLISTS[(module, api_name)]
    assert [v["actual_value"] for v in values] == PICKLISTS[(module, api_name)]
    assert [v["sequence_number"] for v in values] == list(range(1, len(values) + 1))
    assert all(isinstance(v["id"], str) for v in values)


def test_every_picklist_of_core_md_is_listed_above(api: httpx.Client) -> None:
    listed = {
        (module, api_name)
        for module in STANDARD
        for api_name, f in fields_of(api, module).items()
        if f["data_type"] == "picklist"
    }
    assert listed == set(PICKLISTS)


def test_deal_stages_carry_their_probability_and_forecast_category(api: httpx.Client) -> None:
    values = field(api, "Deals", "Stage")["pick_list_values"]
    assert [
        (v["display_value"], v["probability"], v["forecast_category"]["name"]) for v in values
    ] == STAGES


def test_expected_revenue_is_read_only(api: httpx.Client) -> None:
    assert field(api, "Deals", "Expected_Revenue")["read_only"] is True
    assert field(api, "Deals", "Amount")["read_only"] is False


def test_a_field_is_read_by_id_with_an_etag_and_its_version(api: httpx.Client) -> None:
    industry = field(api, "Accounts", "Industry")
    response = api.get(f"{FIELDS}/{industry['id']}", params={"module": "Accounts"})
    assert response.status_code == 200
    [found] = response.json()["fields"]
    assert found == industry
    assert response.headers["etag"] == f'"{found["$version"]}"'


def test_a_field_id_of_another_module_is_invalid_data(api: httpx.Client) -> None:
    industry = field(api, "Accounts", "Industry")
    response = api.get(f"{FIELDS}/{industry['id']}", params={"module": "Deals"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


def test_an_unknown_module_is_invalid_module(api: httpx.Client) -> None:
    response = api.get(FIELDS, params={"module": "Invoices"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_MODULE"


def test_the_module_parameter_is_required(api: httpx.Client) -> None:
    response = api.get(FIELDS)
    assert response.status_code == 400
    assert response.json()["code"] == "REQUIRED_PARAM_MISSING"
    assert response.json()["details"] == {"param_name": "module"}


def test_module_names_are_case_insensitive(api: httpx.Client) -> None:
    assert set(fields_of(api, "accounts")) == set(fields_of(api, "Accounts"))


# --- custom fields of every type ----------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A custom field definition and how values of its type travel through the records API.

    `CONTACT1`/`CONTACT2`/`ADMIN`/`BOB` in values are replaced by real ids at run time.
    """

    data_type: str
    extra: dict[str, Any]
    first: Any
    first_wire: Any
    second: Any
    second_wire: Any
    criteria: str  # matches `second` and not `first`; F stands for the field's api name
    bad: Any
    bad_expected: str


GOLD = [{"display_value": v, "actual_value": v} for v in ("Gold", "Silver", "Bronze")]
COLOURS = [{"display_value": v} for v in ("Red", "Green", "Blue")]
CASES = [
    Case("text", {}, "alpha", "alpha", "Beta", "Beta", "(F:equals:BETA)", True, "text"),
    Case(
        "textarea",
        {},
        "line 1\nline 2",
        "line 1\nline 2",
        "other notes",
        "other notes",
        "(F:contains:NOTES)",
        ["x"],
        "textarea",
    ),
    Case(
        "email",
        {},
        "a@acme.test",
        "a@acme.test",
        " b@acme.test",
        "b@acme.test",
        "(F:equals:B@Acme.test)",
        "not-an-email",
        "email",
    ),
    Case(
        "phone",
        {},
        "+33 1 11",
        "+33 1 11",
        "+44 2 22",
        "+44 2 22",
        "(F:starts_with:+44)",
        "call me",
        "phone",
    ),
    Case(
        "website",
        {},
        "https://a.test",
        "https://a.test",
        "https://b.test",
        "https://b.test",
        "(F:ends_with:b.test)",
        {"url": "x"},
        "website",
    ),
    Case("integer", {}, 7, 7, "42", 42, "(F:greater_than:10)", "many", "integer"),
    Case("double", {}, 1.5, 1.5, 2.75, 2.75, "(F:between:2,3)", "x", "double"),
    Case(
        "currency", {}, 100, 100.0, "2500.5", 2500.5, "(F:greater_equal:2500.5)", "lots", "currency"
    ),
    Case("percent", {}, 10, 10.0, 55.5, 55.5, "(F:greater_than:50)", 101, "percent"),
    Case("boolean", {}, True, True, "false", False, "(F:equals:false)", "maybe", "boolean"),
    Case(
        "date",
        {},
        "2024-02-29",
        "2024-02-29",
        "2025-01-15",
        "2025-01-15",
        "(F:greater_than:2024-12-31)",
        "29/02/2024",
        "date",
    ),
    Case(
        "datetime",
        {},
        "2024-03-01T10:30:00+01:00",
        "2024-03-01T10:30:00+01:00",
        "2024-07-01T08:00:00Z",
        "2024-07-01T10:00:00+02:00",
        "(F:greater_than:2024-06-01T00:00:00+00:00)",
        "soon",
        "datetime",
    ),
    Case(
        "picklist",
        {"pick_list_values": GOLD},
        "gold",
        "Gold",
        "Silver",
        "Silver",
        "(F:equals:silver)",
        "Platinum",
        "picklist",
    ),
    Case(
        "multiselectpicklist",
        {"pick_list_values": COLOURS},
        ["Red", "green"],
        ["Red", "Green"],
        ["Blue"],
        ["Blue"],
        "(F:include_any:blue)",
        ["Pink"],
        "multiselectpicklist",
    ),
    Case(
        "lookup",
        {"lookup": {"module": {"api_name": "Contacts"}}},
        {"id": "CONTACT1"},
        {"name": "First", "id": "CONTACT1"},
        "CONTACT2",
        {"name": "Second", "id": "CONTACT2"},
        "(F:equals:CONTACT2)",
        {"id": "123456"},
        "lookup",
    ),
    Case(
        "userlookup",
        {},
        {"id": "ADMIN"},
        {"name": "Ada Admin", "id": "ADMIN"},
        {"id": "BOB"},
        {"name": "Bob", "id": "BOB"},
        "(F:equals:BOB)",
        {"id": "123456"},
        "userlookup",
    ),
]
CASE_IDS = [c.data_type for c in CASES]


def create_field(api: httpx.Client, module: str, definition: dict[str, Any]) -> dict[str, Any]:
    response = api.post(FIELDS, params={"module": module}, json={"fields": [definition]})
    assert response.status_code == 201, response.text
    [item] = response.json()["fields"]
    assert item["code"] == "SUCCESS"
    return field(api, module, item["details"]["api_name"])


def insert(api: httpx.Client, module: str, record: dict[str, Any]) -> httpx.Response:
    return api.post(f"/crm/v8/{module}", json={"data": [record]})


def insert_ok(api: httpx.Client, module: str, record: dict[str, Any]) -> str:
    response = insert(api, module, record)
    assert response.status_code == 201, response.text
    return str(response.json()["data"][0]["details"]["id"])


def read(api: httpx.Client, module: str, record_id: str, **params: str) -> dict[str, Any]:
    response = api.get(f"/crm/v8/{module}/{record_id}", params=params)
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()["data"][0]
    return record


class Ids:
    """Real ids for the placeholders of the cases."""

    def __init__(self, api: httpx.Client) -> None:
        self.by_name = {
            "CONTACT1": insert_ok(api, "Contacts", {"Last_Name": "First"}),
            "CONTACT2": insert_ok(api, "Contacts", {"Last_Name": "Second"}),
            "ADMIN": api.get("/crm/v8/users", params={"type": "CurrentUser"}).json()["users"][0][
                "id"
            ],
            "BOB": _bob(api),
        }

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            for name, real in self.by_name.items():
                value = value.replace(name, real)
            return value
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


def _bob(api: httpx.Client) -> str:
    roles = api.get("/crm/v8/settings/roles").json()["roles"]
    profiles = api.get("/crm/v8/settings/profiles").json()["profiles"]
    response = api.post(
        "/crm/v8/users",
        json={
            "users": [
                {
                    "last_name": "Bob",
                    "email": "bob@acme.test",
                    "role": {"id": roles[0]["id"]},
                    "profile": {"id": next(p["id"] for p in profiles if p["name"] == "Standard")},
                }
            ]
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["users"][0]["details"]["id"])


def custom(case: Case, label: str = "Custom Value") -> dict[str, Any]:
    return {"field_label": label, "data_type": case.data_type, **case.extra}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_custom_field_of_every_type_is_created_with_its_metadata(
    api: httpx.Client, app: Secteur, case: Case
) -> None:
    created = create_field(api, "Accounts", custom(case))
    assert created["api_name"] == "Custom_Value"
    assert created["field_label"] == "Custom Value"
    assert created["data_type"] == case.data_type
    assert created["json_type"] == JSON_TYPES[case.data_type]
    assert created["custom_field"] is True
    assert created["system_mandatory"] is False
    assert "f_custom_value" in columns(app, "accounts")
    if case.data_type == "lookup":
        assert created["lookup"]["module"]["api_name"] == "Contacts"
    if "pick_list_values" in case.extra:
        assert [v["display_value"] for v in created["pick_list_values"]] == [
            v["display_value"] for v in case.extra["pick_list_values"]
        ]
        assert len({v["id"] for v in created["pick_list_values"]}) == 3


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_custom_field_value_is_inserted_updated_and_read_back(
    api: httpx.Client, case: Case
) -> None:
    ids = Ids(api)
    f = create_field(api, "Accounts", custom(case))["api_name"]
    record = insert_ok(api, "Accounts", {"Account_Name": "Acme", f: ids(case.first)})
    assert read(api, "Accounts", record)[f] == ids(case.first_wire)

    updated = api.put(f"/crm/v8/Accounts/{record}", json={"data": [{f: ids(case.second)}]})
    assert updated.status_code == 200, updated.text
    after = read(api, "Accounts", record)
    assert after[f] == ids(case.second_wire)
    assert after["Account_Name"] == "Acme"

    api.put(f"/crm/v8/Accounts/{record}", json={"data": [{"Phone": "+1 555"}]})
    assert read(api, "Accounts", record)[f] == ids(case.second_wire)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_custom_field_is_empty_on_records_that_do_not_set_it(
    api: httpx.Client, case: Case
) -> None:
    f = create_field(api, "Accounts", custom(case))["api_name"]
    record = insert_ok(api, "Accounts", {"Account_Name": "Acme"})
    assert read(api, "Accounts", record)[f] == UNSET.get(case.data_type)


# A checkbox is never empty in Zoho: unset is false (and the criteria engine reads it so).
UNSET: dict[str, Any] = {"multiselectpicklist": [], "boolean": False}


def test_records_that_exist_before_a_checkbox_is_added_read_false(api: httpx.Client) -> None:
    before = insert_ok(api, "Accounts", {"Account_Name": "Before"})
    create_field(api, "Accounts", {"field_label": "Vip", "data_type": "boolean"})
    after = insert_ok(api, "Accounts", {"Account_Name": "After"})
    assert read(api, "Accounts", before)["Vip"] is False
    assert read(api, "Accounts", after)["Vip"] is False
    found = api.get("/crm/v8/Accounts/search", params={"criteria": "(Vip:equals:false)"})
    assert sorted(r["id"] for r in found.json()["data"]) == sorted([before, after])


def test_sending_null_to_a_checkbox_makes_it_false(api: httpx.Client) -> None:
    create_field(api, "Accounts", {"field_label": "Vip", "data_type": "boolean"})
    record = insert_ok(api, "Accounts", {"Account_Name": "A", "Vip": True})
    assert api.put(f"/crm/v8/Accounts/{record}", json={"data": [{"Vip": None}]}).status_code == 200
    assert read(api, "Accounts", record)["Vip"] is False


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_records_are_searched_and_counted_by_criteria_on_a_custom_field(
    api: httpx.Client, case: Case
) -> None:
    ids = Ids(api)
    f = create_field(api, "Accounts", custom(case))["api_name"]
    insert_ok(api, "Accounts", {"Account_Name": "First", f: ids(case.first)})
    second = insert_ok(api, "Accounts", {"Account_Name": "Second", f: ids(case.second)})
    if case.data_type != "boolean":  # an unset checkbox is false, matched by equals:false
        insert_ok(api, "Accounts", {"Account_Name": "Unset"})
    criteria = ids(case.criteria.replace("F:", f"{f}:"))
    found = api.get("/crm/v8/Accounts/search", params={"criteria": criteria})
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()["data"]] == [second]
    counted = api.get("/crm/v8/Accounts/actions/count", params={"criteria": criteria})
    assert counted.json() == {"count": 1}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_bad_value_for_a_custom_field_fails_its_item_with_the_expected_type(
    api: httpx.Client, case: Case
) -> None:
    f = create_field(api, "Accounts", custom(case))["api_name"]
    response = api.post(
        "/crm/v8/Accounts",
        json={"data": [{"Account_Name": "Good"}, {"Account_Name": "Bad", f: case.bad}]},
    )
    assert response.status_code == 207
    good, bad = response.json()["data"]
    assert good["status"] == "success"
    assert bad["code"] == "INVALID_DATA" and bad["status"] == "error"
    assert bad["details"]["api_name"] == f
    assert bad["details"]["json_path"] == f"$.data[1].{f}"
    assert bad["details"]["expected_data_type"] == case.bad_expected
    names = [r["Account_Name"] for r in api.get("/crm/v8/Accounts").json()["data"]]
    assert names == ["Good"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_a_bad_value_in_an_update_changes_nothing(api: httpx.Client, case: Case) -> None:
    ids = Ids(api)
    f = create_field(api, "Accounts", custom(case))["api_name"]
    record = insert_ok(api, "Accounts", {"Account_Name": "Acme", f: ids(case.first)})
    response = api.put(
        f"/crm/v8/Accounts/{record}", json={"data": [{"Account_Name": "Renamed", f: case.bad}]}
    )
    assert response.status_code == 400
    assert response.json()["data"][0]["details"]["api_name"] == f
    after = read(api, "Accounts", record)
    assert (after["Account_Name"], after[f]) == ("Acme", ids(case.first_wire))


def test_custom_fields_of_every_type_live_together_on_one_record(api: httpx.Client) -> None:
    ids = Ids(api)
    names = {}
    for case in CASES:
        names[case.data_type] = create_field(api, "Contacts", custom(case, f"My {case.data_type}"))[
            "api_name"
        ]
    record = {"Last_Name": "Everything", **{names[c.data_type]: ids(c.first) for c in CASES}}
    # A contact may look up a contact: itself is not there yet, so point at CONTACT1.
    contact = insert_ok(api, "Contacts", record)
    stored = read(api, "Contacts", contact)
    for case in CASES:
        assert stored[names[case.data_type]] == ids(case.first_wire), case.data_type


def test_the_fields_parameter_selects_custom_fields(api: httpx.Client) -> None:
    score = create_field(api, "Accounts", {"field_label": "Score", "data_type": "integer"})
    tier = create_field(api, "Accounts", {"field_label": "Tier", "data_type": "text"})
    record = insert_ok(api, "Accounts", {"Account_Name": "Acme", "Score": 3, "Tier": "A"})
    got = read(api, "Accounts", record, fields="Score")
    assert got["Score"] == 3
    assert "Tier" not in got and "Account_Name" not in got
    listed = api.get(
        "/crm/v8/Accounts", params={"fields": f"{score['api_name']},{tier['api_name']}"}
    )
    assert listed.json()["data"][0]["Tier"] == "A"


def test_records_are_sorted_by_a_custom_field(api: httpx.Client) -> None:
    create_field(api, "Accounts", {"field_label": "Score", "data_type": "integer"})
    for name, score in (("B", 20), ("A", 30), ("C", 10), ("D", None)):
        insert_ok(api, "Accounts", {"Account_Name": name, "Score": score})
    listed = api.get("/crm/v8/Accounts", params={"sort_by": "Score", "sort_order": "desc"})
    assert [r["Account_Name"] for r in listed.json()["data"]] == ["D", "A", "B", "C"]
    ascending = api.get("/crm/v8/Accounts", params={"sort_by": "Score"})
    assert [r["Account_Name"] for r in ascending.json()["data"]] == ["C", "B", "A", "D"]


def test_a_custom_email_field_is_searched_by_the_email_parameter(api: httpx.Client) -> None:
    create_field(api, "Accounts", {"field_label": "Billing Email", "data_type": "email"})
    wanted = insert_ok(api, "Accounts", {"Account_Name": "A", "Billing_Email": "pay@acme.test"})
    insert_ok(api, "Accounts", {"Account_Name": "B", "Billing_Email": "other@acme.test"})
    found = api.get("/crm/v8/Accounts/search", params={"email": "PAY@acme.test"})
    assert [r["id"] for r in found.json()["data"]] == [wanted]


def test_a_custom_text_field_is_searched_by_word(api: httpx.Client) -> None:
    create_field(api, "Accounts", {"field_label": "Motto", "data_type": "text"})
    wanted = insert_ok(api, "Accounts", {"Account_Name": "A", "Motto": "Always Be Closing"})
    insert_ok(api, "Accounts", {"Account_Name": "B", "Motto": "Never stop"})
    found = api.get("/crm/v8/Accounts/search", params={"word": "closing"})
    assert [r["id"] for r in found.json()["data"]] == [wanted]


def test_a_mandatory_custom_field_is_required_on_create_only(api: httpx.Client) -> None:
    existing = insert_ok(api, "Accounts", {"Account_Name": "Before"})
    create_field(
        api, "Accounts", {"field_label": "Region", "data_type": "text", "system_mandatory": True}
    )
    assert field(api, "Accounts", "Region")["system_mandatory"] is True
    response = insert(api, "Accounts", {"Account_Name": "After"})
    assert response.status_code == 400
    assert response.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    assert response.json()["data"][0]["details"]["api_name"] == "Region"
    assert (
        api.put(f"/crm/v8/Accounts/{existing}", json={"data": [{"Phone": "1"}]}).status_code == 200
    )


def test_a_user_lookup_to_a_deactivated_user_is_refused(api: httpx.Client) -> None:
    ids = Ids(api)
    create_field(api, "Accounts", {"field_label": "Reviewer", "data_type": "userlookup"})
    bob = ids.by_name["BOB"]
    api.put(f"/crm/v8/users/{bob}", json={"users": [{"status": "inactive"}]})
    response = insert(api, "Accounts", {"Account_Name": "A", "Reviewer": {"id": bob}})
    assert response.status_code == 400
    assert response.json()["data"][0]["details"]["api_name"] == "Reviewer"


def test_a_lookup_field_adds_a_related_list_to_its_target(api: httpx.Client) -> None:
    create_field(
        api,
        "Leads",
        {
            "field_label": "Prospect Of",
            "data_type": "lookup",
            "lookup": {"module": {"api_name": "Accounts"}},
        },
    )
    account = insert_ok(api, "Accounts", {"Account_Name": "Acme"})
    lead = insert_ok(
        api, "Leads", {"Last_Name": "L", "Company": "C", "Prospect_Of": {"id": account}}
    )
    related = api.get("/crm/v8/settings/related_lists", params={"module": "Accounts"}).json()
    assert "Leads" in [r["api_name"] for r in related["related_lists"]]
    children = api.get(f"/crm/v8/Accounts/{account}/Leads")
    assert children.status_code == 200, children.text
    assert [r["id"] for r in children.json()["data"]] == [lead]


# --- bad definitions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "code", "api_name"),
    [
        ({"field_label": "X", "data_type": "hologram"}, "INVALID_DATA", "data_type"),
        ({"field_label": "X", "data_type": "ownerlookup"}, "INVALID_DATA", "data_type"),
        ({"field_label": "X", "data_type": "territories"}, "INVALID_DATA", "data_type"),
        ({"field_label": "X", "data_type": 5}, "INVALID_DATA", "data_type"),
        ({"field_label": "X"}, "MANDATORY_NOT_FOUND", "data_type"),
        ({"data_type": "text"}, "MANDATORY_NOT_FOUND", "field_label"),
        ({"field_label": "  ", "data_type": "text"}, "MANDATORY_NOT_FOUND", "field_label"),
        ({"field_label": "x" * 101, "data_type": "text"}, "INVALID_DATA", "field_label"),
        ({"field_label": "X", "data_type": "picklist"}, "MANDATORY_NOT_FOUND", "pick_list_values"),
        (
            {"field_label": "X", "data_type": "picklist", "pick_list_values": []},
            "MANDATORY_NOT_FOUND",
            "pick_list_values",
        ),
        (
            {"field_label": "X", "data_type": "multiselectpicklist", "pick_list_values": "A;B"},
            "MANDATORY_NOT_FOUND",
            "pick_list_values",
        ),
        (
            {
                "field_label": "X",
                "data_type": "picklist",
                "pick_list_values": [{"display_value": "A"}, {"display_value": "a"}],
            },
            "DUPLICATE_DATA",
            None,
        ),
        (
            {
                "field_label": "X",
                "data_type": "picklist",
                "pick_list_values": [{"display_value": ""}],
            },
            "MANDATORY_NOT_FOUND",
            "display_value",
        ),
        (
            {"field_label": "X", "data_type": "picklist", "pick_list_values": ["A"]},
            "INVALID_DATA",
            None,
        ),
        (
            {
                "field_label": "X",
                "data_type": "picklist",
                "pick_list_values": [{"display_value": "A", "actual_value": " "}],
            },
            "INVALID_DATA",
            "actual_value",
        ),
        (
            {
                "field_label": "X",
                "data_type": "picklist",
                "pick_list_values": [{"display_value": "A", "actual_value": "x" * 121}],
            },
            "INVALID_DATA",
            None,
        ),
        ({"field_label": "X", "data_type": "lookup"}, "INVALID_DATA", "lookup"),
        (
            {
                "field_label": "X",
                "data_type": "lookup",
                "lookup": {"module": {"api_name": "Invoices"}},
            },
            "INVALID_DATA",
            "lookup",
        ),
        (
            {"field_label": "X", "data_type": "lookup", "lookup": {"module": "Contacts"}},
            "INVALID_DATA",
            "lookup",
        ),
        ({"field_label": "X", "data_type": "text", "api_name": "1bad"}, "INVALID_DATA", "api_name"),
        (
            {"field_label": "X", "data_type": "text", "api_name": "has space"},
            "INVALID_DATA",
            "api_name",
        ),
        ({"field_label": "X", "data_type": "text", "length": 0}, "INVALID_DATA", "length"),
        ({"field_label": "X", "data_type": "text", "length": 256}, "INVALID_DATA", "length"),
        (
            {"field_label": "X", "data_type": "text", "system_mandatory": "yes"},
            "INVALID_DATA",
            "mandatory",
        ),
        (
            {"field_label": "X", "data_type": "double", "decimal_place": 12},
            "INVALID_DATA",
            "decimal_place",
        ),
    ],
)
def test_a_bad_field_definition_is_refused_and_nothing_is_created(
    api: httpx.Client, app: Secteur, definition: dict[str, Any], code: str, api_name: str | None
) -> None:
    before_fields = fields_of(api, "Accounts")
    before_columns = columns(app, "accounts")
    response = api.post(FIELDS, params={"module": "Accounts"}, json={"fields": [definition]})
    assert response.status_code == 400
    [result] = response.json()["fields"]
    assert (result["code"], result["status"]) == (code, "error")
    if api_name is not None:
        assert result["details"]["api_name"] == api_name
    assert result["details"]["json_path"].startswith("$.fields[0]")
    assert fields_of(api, "Accounts") == before_fields
    assert columns(app, "accounts") == before_columns


@pytest.mark.parametrize(
    "definition",
    [
        {"field_label": "Phone", "data_type": "text"},
        {"field_label": "Something", "api_name": "account_name", "data_type": "text"},
        {"field_label": "Something", "api_name": "Owner", "data_type": "text"},
        {"field_label": "Something", "api_name": "id", "data_type": "text"},
        {"field_label": "Something", "api_name": "Territories", "data_type": "text"},
    ],
)
def test_a_field_whose_api_name_is_taken_is_duplicate_data(
    api: httpx.Client, app: Secteur, definition: dict[str, Any]
) -> None:
    before = columns(app, "accounts")
    response = api.post(FIELDS, params={"module": "Accounts"}, json={"fields": [definition]})
    assert response.status_code == 400
    assert response.json()["fields"][0]["code"] == "DUPLICATE_DATA"
    assert columns(app, "accounts") == before


def test_a_custom_field_cannot_be_created_twice(api: httpx.Client, app: Secteur) -> None:
    create_field(api, "Accounts", {"field_label": "Nickname", "data_type": "text"})
    before = fields_of(api, "Accounts")
    response = api.post(
        FIELDS,
        params={"module": "Accounts"},
        json={"fields": [{"field_label": "NICKNAME", "data_type": "textarea"}]},
    )
    assert response.json()["fields"][0]["code"] == "DUPLICATE_DATA"
    assert fields_of(api, "Accounts") == before


def test_a_batch_of_fields_keeps_the_good_and_refuses_the_bad(
    api: httpx.Client, app: Secteur
) -> None:
    response = api.post(
        FIELDS,
        params={"module": "Leads"},
        json={
            "fields": [
                {"field_label": "Score", "data_type": "integer"},
                {"field_label": "Broken", "data_type": "nothing"},
                {"field_label": "Score", "data_type": "text"},
            ]
        },
    )
    assert response.status_code == 207
    assert [r["code"] for r in response.json()["fields"]] == [
        "SUCCESS",
        "INVALID_DATA",
        "DUPLICATE_DATA",
    ]
    assert "Broken" not in fields_of(api, "Leads")
    assert fields_of(api, "Leads")["Score"]["data_type"] == "integer"
    assert "f_broken" not in columns(app, "leads")


def test_the_api_name_derives_from_the_label(api: httpx.Client) -> None:
    created = create_field(
        api, "Accounts", {"field_label": "Net Promoter  Score (NPS)", "data_type": "integer"}
    )
    assert created["api_name"] == "Net_Promoter_Score_NPS"


def test_an_explicit_api_name_is_kept(api: httpx.Client) -> None:
    created = create_field(
        api, "Accounts", {"field_label": "Score", "api_name": "NPS_Score", "data_type": "integer"}
    )
    assert (created["api_name"], created["field_label"]) == ("NPS_Score", "Score")


def test_fields_cannot_be_created_in_an_unknown_module(api: httpx.Client) -> None:
    response = api.post(
        FIELDS,
        params={"module": "Invoices"},
        json={"fields": [{"field_label": "X", "data_type": "text"}]},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_MODULE"


def test_a_standard_user_cannot_create_fields(
    api: httpx.Client, app: Secteur, base_url: str
) -> None:
    Ids(api)  # creates bob
    token = token_for(app, "bob@acme.test")
    response = httpx.post(
        f"{base_url}{FIELDS}",
        params={"module": "Accounts"},
        json={"fields": [{"field_label": "X", "data_type": "text"}]},
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "NO_PERMISSION"
    assert "X" not in fields_of(api, "Accounts")


def test_a_fields_read_scope_can_read_fields_but_not_create_them(
    app: Secteur, api: httpx.Client, base_url: str
) -> None:
    token = token_for(app, ADMIN_EMAIL, "ZohoCRM.settings.fields.READ")
    headers = {"Authorization": f"Zoho-oauthtoken {token}"}
    with httpx.Client(base_url=base_url, headers=headers) as reader:
        assert reader.get(FIELDS, params={"module": "Accounts"}).status_code == 200
        response = reader.post(
            FIELDS,
            params={"module": "Accounts"},
            json={"fields": [{"field_label": "X", "data_type": "text"}]},
        )
    assert response.status_code == 401
    assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    assert "X" not in fields_of(api, "Accounts")


# --- editing ------------------------------------------------------------------------------


def edit(
    api: httpx.Client,
    module: str,
    field_id: str,
    item: dict[str, Any],
    method: str = "PUT",
    **headers: str,
) -> httpx.Response:
    return api.request(
        method,
        f"{FIELDS}/{field_id}",
        params={"module": module},
        json={"fields": [item]},
        headers=headers,
    )


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_label_is_edited_and_the_api_name_stays(api: httpx.Client, method: str) -> None:
    created = create_field(api, "Accounts", {"field_label": "Score", "data_type": "integer"})
    response = edit(api, "Accounts", created["id"], {"field_label": "Health Score"}, method)
    assert response.status_code == 200, response.text
    after = field(api, "Accounts", "Score")
    assert (after["field_label"], after["display_label"]) == ("Health Score", "Health Score")
    assert after["$version"] == created["$version"] + 1


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_fields_are_edited_in_bulk_by_id(api: httpx.Client, method: str) -> None:
    phone, website = field(api, "Accounts", "Phone"), field(api, "Accounts", "Website")
    response = api.request(
        method,
        FIELDS,
        params={"module": "Accounts"},
        json={
            "fields": [
                {"id": phone["id"], "field_label": "Switchboard"},
                {"id": website["id"], "field_label": "Home Page"},
                {"field_label": "No id"},
                {"id": "424242", "field_label": "Unknown"},
            ]
        },
    )
    assert response.status_code == 207
    assert [r["code"] for r in response.json()["fields"]] == [
        "SUCCESS",
        "SUCCESS",
        "MANDATORY_NOT_FOUND",
        "INVALID_DATA",
    ]
    assert field(api, "Accounts", "Phone")["field_label"] == "Switchboard"
    assert field(api, "Accounts", "Website")["field_label"] == "Home Page"


def test_a_standard_field_label_can_be_edited(api: httpx.Client) -> None:
    phone = field(api, "Accounts", "Phone")
    assert edit(api, "Accounts", phone["id"], {"display_label": "Switchboard"}).status_code == 200
    assert field(api, "Accounts", "Phone")["field_label"] == "Switchboard"


def test_picklist_values_are_added_renamed_and_reordered(api: httpx.Client) -> None:
    created = create_field(
        api, "Accounts", {"field_label": "Tier", "data_type": "picklist", "pick_list_values": GOLD}
    )
    gold, silver, bronze = created["pick_list_values"]
    values = [
        {"id": bronze["id"], "display_value": "Bronze"},
        {"id": gold["id"], "display_value": "Gold Plus", "actual_value": "Gold"},
        {"id": silver["id"], "display_value": "Silver"},
        {"display_value": "Platinum"},
    ]
    assert edit(api, "Accounts", created["id"], {"pick_list_values": values}).status_code == 200
    after = field(api, "Accounts", "Tier")["pick_list_values"]
    assert [(v["display_value"], v["actual_value"], v["sequence_number"]) for v in after] == [
        ("Bronze", "Bronze", 1),
        ("Gold Plus", "Gold", 2),
        ("Silver", "Silver", 3),
        ("Platinum", "Platinum", 4),
    ]
    assert [v["id"] for v in after[:3]] == [bronze["id"], gold["id"], silver["id"]]
    assert len({v["id"] for v in after}) == 4
    record = insert_ok(api, "Accounts", {"Account_Name": "A", "Tier": "platinum"})
    assert read(api, "Accounts", record)["Tier"] == "Platinum"


def test_a_removed_picklist_value_is_refused_on_new_records(api: httpx.Client) -> None:
    created = create_field(
        api, "Accounts", {"field_label": "Tier", "data_type": "picklist", "pick_list_values": GOLD}
    )
    assert edit(api, "Accounts", created["id"], {"pick_list_values": GOLD[:2]}).status_code == 200
    response = insert(api, "Accounts", {"Account_Name": "A", "Tier": "Bronze"})
    assert response.status_code == 400
    assert response.json()["data"][0]["details"]["supported_values"] == ["Gold", "Silver"]


@pytest.mark.parametrize(
    ("data_type", "value"), [("picklist", "Bronze"), ("multiselectpicklist", ["Gold", "Bronze"])]
)
def test_removing_a_picklist_value_still_used_by_a_record_is_refused(
    api: httpx.Client, data_type: str, value: Any
) -> None:
    created = create_field(
        api, "Accounts", {"field_label": "Tier", "data_type": data_type, "pick_list_values": GOLD}
    )
    insert_ok(api, "Accounts", {"Account_Name": "A", "Tier": value})
    response = edit(
        api, "Accounts", created["id"], {"field_label": "Level", "pick_list_values": GOLD[:2]}
    )
    assert response.status_code == 400
    [result] = response.json()["fields"]
    assert result["code"] == "INVALID_DATA"
    assert result["details"]["value"] == "Bronze"
    after = field(api, "Accounts", "Tier")
    assert [v["actual_value"] for v in after["pick_list_values"]] == ["Gold", "Silver", "Bronze"]
    assert after["field_label"] == "Tier"


def test_a_value_used_only_by_another_multiselect_item_does_not_block_removal(
    api: httpx.Client,
) -> None:
    values = [{"display_value": v} for v in ("Red", "Red Wine", "Blue")]
    created = create_field(
        api,
        "Accounts",
        {"field_label": "Colours", "data_type": "multiselectpicklist", "pick_list_values": values},
    )
    insert_ok(api, "Accounts", {"Account_Name": "A", "Colours": ["Red Wine"]})
    response = edit(api, "Accounts", created["id"], {"pick_list_values": values[1:]})
    assert response.status_code == 200, response.text


def test_resending_deal_stages_by_value_keeps_their_probabilities(api: httpx.Client) -> None:
    stage = field(api, "Deals", "Stage")
    values = [{"display_value": v["display_value"]} for v in stage["pick_list_values"]]
    values.append({"display_value": "On Hold"})
    response = edit(api, "Deals", stage["id"], {"pick_list_values": values})
    assert response.status_code == 200, response.text
    after = field(api, "Deals", "Stage")["pick_list_values"]
    assert [(v["display_value"], v.get("probability")) for v in after[:10]] == [
        (name, probability) for name, probability, _ in STAGES
    ]
    assert [v["id"] for v in after[:10]] == [v["id"] for v in stage["pick_list_values"]]
    assert after[10]["display_value"] == "On Hold" and "probability" not in after[10]


def test_picklist_values_cannot_be_given_to_a_field_without_a_picklist(api: httpx.Client) -> None:
    phone = field(api, "Accounts", "Phone")
    response = edit(api, "Accounts", phone["id"], {"pick_list_values": GOLD})
    assert response.status_code == 400
    assert response.json()["fields"][0]["code"] == "INVALID_DATA"
    assert field(api, "Accounts", "Phone")["pick_list_values"] == []


@pytest.mark.parametrize(
    "item",
    [{"field_label": ""}, {"field_label": 7}, {"field_label": "x" * 101}, {"pick_list_values": []}],
)
def test_a_bad_edit_is_refused_and_changes_nothing(api: httpx.Client, item: dict[str, Any]) -> None:
    industry = field(api, "Accounts", "Industry")
    response = edit(api, "Accounts", industry["id"], item)
    assert response.status_code == 400
    assert response.json()["fields"][0]["status"] == "error"
    assert field(api, "Accounts", "Industry") == industry


@pytest.mark.parametrize(("key", "value"), [("data_type", "integer"), ("api_name", "Renamed")])
def test_a_field_keeps_its_api_name_and_type(api: httpx.Client, key: str, value: str) -> None:
    created = create_field(api, "Accounts", {"field_label": "Nickname", "data_type": "text"})
    response = edit(api, "Accounts", created["id"], {"field_label": "Alias", key: value})
    assert response.status_code == 400
    [result] = response.json()["fields"]
    assert (result["code"], result["details"]["api_name"]) == ("INVALID_DATA", key)
    assert field(api, "Accounts", "Nickname") == created


def test_a_field_sent_back_whole_is_accepted(api: httpx.Client) -> None:
    created = create_field(api, "Accounts", {"field_label": "Nickname", "data_type": "text"})
    response = edit(api, "Accounts", created["id"], {**created, "field_label": "Alias"})
    assert response.status_code == 200, response.text
    assert field(api, "Accounts", "Nickname")["field_label"] == "Alias"


def test_editing_an_unknown_field_is_invalid_data(api: httpx.Client) -> None:
    response = edit(api, "Accounts", "424242", {"field_label": "X"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_DATA"


def test_a_stale_if_match_is_refused_with_409_and_changes_nothing(api: httpx.Client) -> None:
    created = create_field(api, "Accounts", {"field_label": "Score", "data_type": "integer"})
    url = f"{FIELDS}/{created['id']}"
    etag = api.get(url, params={"module": "Accounts"}).headers["etag"]
    assert (
        edit(
            api, "Accounts", created["id"], {"field_label": "One"}, **{"If-Match": etag}
        ).status_code
        == 200
    )
    stale = edit(api, "Accounts", created["id"], {"field_label": "Two"}, **{"If-Match": etag})
    assert stale.status_code == 409
    assert stale.json()["code"] == "CONFLICT"
    assert field(api, "Accounts", "Score")["field_label"] == "One"


def test_a_standard_user_cannot_edit_fields(api: httpx.Client, app: Secteur, base_url: str) -> None:
    Ids(api)
    industry = field(api, "Accounts", "Industry")
    token = token_for(app, "bob@acme.test")
    response = httpx.put(
        f"{base_url}{FIELDS}/{industry['id']}",
        params={"module": "Accounts"},
        json={"fields": [{"field_label": "Sector"}]},
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
    )
    assert response.status_code == 403
    assert field(api, "Accounts", "Industry")["field_label"] == "Industry"
