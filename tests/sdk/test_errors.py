"""Errors reach the SDK user as `APIException`s: top-level for requests, per item for writes."""

from __future__ import annotations

import pytest
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.record import APIException, RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from tests.support import zoho_sdk as z

pytestmark = pytest.mark.sdk


def count(module: str) -> int:
    return int(z.parsed(RecordOperations(module).record_count()).get_count())


@pytest.mark.usefixtures("sdk")
def test_getting_an_unknown_record_id_is_an_invalid_data_api_exception() -> None:
    response = RecordOperations("Leads").get_record(4242424242424242)

    error = z.parsed(response)
    assert isinstance(error, APIException)
    code, message, _ = z.api_error(error)
    assert code == "INVALID_DATA"
    assert message == "the id given seems to be invalid"
    assert response is not None and response.get_status_code() in (400, 404)


@pytest.mark.usefixtures("sdk")
def test_the_sdk_itself_refuses_a_picklist_value_the_servers_metadata_does_not_list() -> None:
    # With its default configuration the SDK checks picklists against the fields it read.
    body = z.records_body(
        z.record(Last_Name="Hopper", Company="Navy", Lead_Status=Choice("Not A Status"))
    )

    with pytest.raises(SDKException) as raised:
        RecordOperations("Leads").create_records(body)

    assert raised.value.code == "UNACCEPTED VALUES ERROR"
    assert "Contacted" in raised.value.details["accepted_values"]


@pytest.mark.usefixtures("sdk_trusting_picklists")
def test_a_bad_picklist_value_fails_only_its_own_item_of_a_batch() -> None:
    body = z.records_body(
        z.record(Last_Name="Hopper", Company="Navy", Lead_Status=Choice("Contacted")),
        z.record(Last_Name="Lovelace", Company="AE", Lead_Status=Choice("Not A Status")),
    )

    results = z.items(RecordOperations("Leads").create_records(body))

    assert type(results[0]).__name__ == "SuccessResponse"
    assert isinstance(results[1], APIException)
    code, _, details = z.api_error(results[1])
    assert code == "INVALID_DATA"
    assert details["api_name"] == "Lead_Status"
    assert details["json_path"] == "$.data[1].Lead_Status"
    assert count("Leads") == 1


@pytest.mark.usefixtures("sdk")
def test_a_missing_mandatory_field_is_a_mandatory_not_found_item_and_inserts_nothing() -> None:
    body = z.records_body(z.record(Last_Name="Hopper"))

    (result,) = z.items(RecordOperations("Leads").create_records(body))

    assert isinstance(result, APIException)
    code, _, details = z.api_error(result)
    assert code == "MANDATORY_NOT_FOUND"
    assert details["api_name"] == "Company"
    assert count("Leads") == 0


@pytest.mark.usefixtures("sdk")
def test_an_unknown_module_reaches_the_sdk_user_with_the_servers_invalid_module_code() -> None:
    # The SDK reads the module's fields first and raises the server's error as an SDKException.
    with pytest.raises(SDKException) as raised:
        RecordOperations("Widgets").get_records()

    assert raised.value.code == "API_EXCEPTION"
    assert raised.value.details["code"] == "INVALID_MODULE"
