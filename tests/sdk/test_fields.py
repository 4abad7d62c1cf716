"""Field metadata through the SDK, and values of every kind round-tripping with the right type."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api import fields as zf
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.record import Record, RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.users import MinifiedUser
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from tests.sdk.conftest import Integration, SdkSession
from tests.support import zoho_sdk as z
from tests.support.orgs import ADMIN_EMAIL

pytestmark = pytest.mark.sdk


def fields_of(module: str) -> dict[str, Any]:
    params = ParameterMap()
    params.add(zf.GetFieldsParam.module, module)
    found = z.data(zf.FieldsOperations().get_fields(params), zf.ResponseWrapper, "fields")
    return {f.get_api_name(): f for f in found}


def create_field(module: str, label: str, data_type: str, **extra: Any) -> str:
    """Creates a custom field with the SDK's FieldsOperations; returns its api name."""
    field = zf.Fields()
    field.set_field_label(label)
    field.set_data_type(data_type)
    if "picklist" in extra:
        values = []
        for text in extra["picklist"]:
            value = zf.PickListValue()
            value.set_display_value(text)
            value.set_actual_value(text)
            values.append(value)
        field.set_pick_list_values(values)
    if "lookup" in extra:
        target = MinifiedModule()
        target.set_api_name(extra["lookup"])
        lookup = zf.Lookup()
        lookup.set_module(target)
        field.set_lookup(lookup)
    body = zf.BodyWrapper()
    body.set_fields([field])
    params = ParameterMap()
    params.add(zf.CreateFieldParam.module, module)
    (result,) = z.successes(
        zf.FieldsOperations().create_field(body, params), zf.ActionWrapper, "fields"
    )
    # The SDK keeps only `id` of the details (its declared key): find the api name by id.
    field_id = int(result.get_details()["id"])
    (created,) = [f for f in fields_of(module).values() if f.get_id() == field_id]
    return str(created.get_api_name())


@pytest.mark.usefixtures("sdk")
def test_the_fields_of_a_module_carry_what_the_sdk_maps_values_with() -> None:
    leads = fields_of("Leads")

    assert leads["Last_Name"].get_data_type() == "text"
    assert leads["Last_Name"].get_system_mandatory() is True
    assert leads["Last_Name"].get_custom_field() is False
    status = leads["Lead_Status"]
    assert status.get_data_type() == "picklist"
    assert "Contacted" in [v.get_display_value() for v in status.get_pick_list_values()]
    assert leads["Owner"].get_data_type() == "ownerlookup"
    assert isinstance(leads["Owner"].get_id(), int)
    contacts = fields_of("Contacts")
    assert contacts["Account_Name"].get_lookup().get_module().get_api_name() == "Accounts"


@pytest.mark.usefixtures("sdk")
def test_a_custom_field_created_with_the_sdk_is_listed_as_custom() -> None:
    api_name = create_field("Leads", "Shoe Size", "integer")

    created = fields_of("Leads")[api_name]

    assert created.get_field_label() == "Shoe Size"
    assert created.get_data_type() == "integer"
    assert created.get_custom_field() is True


@pytest.mark.usefixtures("sdk")
def test_values_of_every_kind_round_trip_with_their_python_types() -> None:
    # Custom fields first: the SDK caches a module's fields at its first record call.
    tags = create_field(
        "Leads", "Tags Multi", "multiselectpicklist", picklist=["Alpha", "Beta", "Gamma"]
    )
    birthday = create_field("Leads", "Birthday", "date")
    last_call = create_field("Leads", "Last Call", "datetime")
    vip = create_field("Leads", "VIP", "boolean")
    account_field = create_field("Leads", "Account", "lookup", lookup="Accounts")
    accounts = RecordOperations("Accounts")
    account_id = z.created_id(
        accounts.create_records(z.records_body(z.record(Account_Name="Analytical Engines Ltd")))
    )
    account = Record()
    account.set_id(account_id)
    called = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    leads = RecordOperations("Leads")

    lead_id = z.created_id(
        leads.create_records(
            z.records_body(
                z.record(
                    **{
                        "Last_Name": "Lovelace",
                        "Company": "AE",
                        "Lead_Status": Choice("Contacted"),
                        "Annual_Revenue": 99.95,
                        "No_of_Employees": 3,
                        tags: [Choice("Alpha"), Choice("Gamma")],
                        birthday: date(1815, 12, 10),
                        last_call: called,
                        vip: True,
                        account_field: account,
                    }
                )
            )
        )
    )
    lead = z.one(leads.get_record(lead_id))

    assert [c.get_value() for c in lead.get_key_value(tags)] == ["Alpha", "Gamma"]
    assert all(isinstance(c, Choice) for c in lead.get_key_value(tags))
    assert lead.get_key_value(birthday) == date(1815, 12, 10)
    assert lead.get_key_value(last_call) == called
    assert lead.get_key_value(last_call).tzinfo is not None
    assert lead.get_key_value(vip) is True
    assert lead.get_key_value("Annual_Revenue") == 99.95
    assert isinstance(lead.get_key_value("Annual_Revenue"), float)
    linked = lead.get_key_value(account_field)
    assert isinstance(linked, Record)
    assert linked.get_id() == account_id
    assert linked.get_key_value("name") == "Analytical Engines Ltd"
    owner = lead.get_key_value("Owner")
    assert isinstance(owner, MinifiedUser) and owner.get_email() == ADMIN_EMAIL


def test_an_sdk_refreshing_its_field_cache_reads_every_supported_module_first(
    base_url: str, integration: Integration, tmp_path: Path
) -> None:
    session = SdkSession(
        base_url, integration, tmp_path / "auto", SDKConfig(auto_refresh_fields=True)
    )
    session.sign_in()

    accounts = RecordOperations("Accounts")
    account_id = z.created_id(
        accounts.create_records(z.records_body(z.record(Account_Name="Acme")))
    )
    cache_files = list((tmp_path / "auto" / "resources").glob("*.json"))

    assert z.one(accounts.get_record(account_id)).get_id() == account_id
    (cache,) = [json.loads(f.read_text()) for f in cache_files]
    assert {"leads", "accounts", "contacts", "deals"} <= set(cache)
    assert cache["deals"]["Stage"]["type"].endswith(".util.Choice")
