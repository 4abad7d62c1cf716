"""Records through the official SDK: insert, read, update, upsert, search, count, delete."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api import related_records as zr
from zohocrmsdk.src.com.zoho.crm.api.record import (
    CountWrapper,
    DeletedRecordsWrapper,
    DeleteRecordsParam,
    GetDeletedRecordsParam,
    GetRecordsHeader,
    GetRecordsParam,
    Info,
    Record,
    RecordCountParam,
    RecordOperations,
    SearchRecordsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.users import MinifiedUser
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from tests.sdk.conftest import SdkSession
from tests.support import zoho_sdk as z
from tests.support.orgs import ADMIN_EMAIL, Clock

pytestmark = [pytest.mark.sdk, pytest.mark.usefixtures("sdk")]


def insert(module: str, *records: Record) -> list[int]:
    results = z.successes(RecordOperations(module).create_records(z.records_body(*records)))
    return [int(r.get_details()["id"]) for r in results]


def lead(last_name: str, company: str = "Navy", **values: object) -> Record:
    return z.record(Last_Name=last_name, Company=company, **values)


def test_a_lead_inserted_with_the_sdk_reads_back_with_typed_values() -> None:
    leads = RecordOperations("Leads")
    (lead_id,) = insert(
        "Leads",
        lead(
            "Hopper",
            Lead_Status=Choice("Contacted"),
            Annual_Revenue=1250.5,
            No_of_Employees=12,
            Email="grace@navy.test",
        ),
    )

    found = z.one(leads.get_record(lead_id))

    assert found.get_id() == lead_id
    assert found.get_key_value("Last_Name") == "Hopper"
    status = found.get_key_value("Lead_Status")
    assert isinstance(status, Choice) and status.get_value() == "Contacted"
    assert found.get_key_value("Annual_Revenue") == 1250.5
    assert found.get_key_value("No_of_Employees") == 12
    owner = found.get_key_value("Owner")
    assert isinstance(owner, MinifiedUser)
    assert owner.get_email() == ADMIN_EMAIL and isinstance(owner.get_id(), int)
    assert isinstance(found.get_created_time(), datetime)
    assert found.get_created_time().tzinfo is not None
    assert isinstance(found.get_created_by(), MinifiedUser)


def test_a_batch_insert_answers_one_success_per_record_with_its_id() -> None:
    body = z.records_body(lead("Hopper"), lead("Lovelace"), lead("Turing"), trigger=[])
    ids = [
        int(r.get_details()["id"])
        for r in z.successes(RecordOperations("Leads").create_records(body))
    ]

    params = ParameterMap()
    params.add(GetRecordsParam.ids, ",".join(str(i) for i in ids))
    params.add(GetRecordsParam.fields, "Last_Name,Company")
    params.add(GetRecordsParam.sort_by, "Last_Name")
    params.add(GetRecordsParam.sort_order, "desc")
    response = RecordOperations("Leads").get_records(params)

    assert len(set(ids)) == 3
    found = z.data(response)
    assert [r.get_key_value("Last_Name") for r in found] == ["Turing", "Lovelace", "Hopper"]
    info = z.parsed(response).get_info()
    assert isinstance(info, Info)
    assert info.get_count() == 3 and info.get_more_records() is False


def test_pages_of_records_report_whether_more_records_follow() -> None:
    insert("Leads", *(lead(f"Page{i}") for i in range(5)))
    params = ParameterMap()
    params.add(GetRecordsParam.per_page, 2)
    params.add(GetRecordsParam.page, 1)
    params.add(GetRecordsParam.fields, "Last_Name")

    response = RecordOperations("Leads").get_records(params)

    assert len(z.data(response)) == 2
    info = z.parsed(response).get_info()
    assert info.get_per_page() == 2 and info.get_page() == 1
    assert info.get_more_records() is True


def test_a_record_updated_by_id_keeps_its_other_values() -> None:
    leads = RecordOperations("Leads")
    (lead_id,) = insert("Leads", lead("Hopper", Email="old@navy.test"))

    (result,) = z.successes(
        leads.update_record(lead_id, z.records_body(z.record(Email="new@navy.test")))
    )
    found = z.one(leads.get_record(lead_id))

    assert int(result.get_details()["id"]) == lead_id
    assert found.get_key_value("Email") == "new@navy.test"
    assert found.get_key_value("Company") == "Navy"
    assert isinstance(found.get_modified_time(), datetime)


def test_a_batch_update_changes_each_record_named_by_its_id() -> None:
    leads = RecordOperations("Leads")
    first, second = insert("Leads", lead("Hopper"), lead("Lovelace"))

    results = z.successes(
        leads.update_records(
            z.records_body(z.record(id=first, City="Arlington"), z.record(id=second, City="London"))
        )
    )

    assert [int(r.get_details()["id"]) for r in results] == [first, second]
    assert z.one(leads.get_record(first)).get_key_value("City") == "Arlington"
    assert z.one(leads.get_record(second)).get_key_value("City") == "London"


def test_upsert_updates_the_duplicate_and_inserts_the_new_record() -> None:
    (existing,) = insert("Leads", lead("Hopper", Email="grace@navy.test"))
    body = z.records_body(
        lead("Hopper", Email="grace@navy.test", City="Arlington"),
        lead("Lovelace", Email="ada@ae.test"),
    )
    body.set_duplicate_check_fields(["Email"])

    updated, inserted = z.successes(RecordOperations("Leads").upsert_records(body))

    assert updated.get_action().get_value() == "update"
    assert int(updated.get_details()["id"]) == existing
    assert updated.get_duplicate_field() == "Email"
    assert inserted.get_action().get_value() == "insert"
    assert int(inserted.get_details()["id"]) != existing
    found = z.one(RecordOperations("Leads").get_record(existing))
    assert found.get_key_value("City") == "Arlington"


def search(**criteria: str) -> list[str]:
    params = ParameterMap()
    for name, text in criteria.items():
        params.add(getattr(SearchRecordsParam, name), text)
    response = RecordOperations("Leads").search_records(params)
    assert response is not None
    if response.get_status_code() == 204:
        return []
    return sorted(r.get_key_value("Last_Name") for r in z.data(response))


def test_search_finds_records_by_criteria_email_and_word() -> None:
    insert(
        "Leads",
        lead("Lovelace", "Analytical Engines", Email="ada@ae.test"),
        lead("Hopper", "Navy", Email="grace@navy.test"),
        lead("Lovelock", "Gaia", Email="james@gaia.test"),
    )

    assert search(criteria="((Last_Name:starts_with:Love)and(Company:equals:Gaia))") == ["Lovelock"]
    assert search(criteria="(Last_Name:starts_with:Love)") == ["Lovelace", "Lovelock"]
    assert search(email="grace@navy.test") == ["Hopper"]
    assert search(word="Analytical") == ["Lovelace"]


def test_a_search_that_finds_nothing_is_an_empty_answer() -> None:
    params = ParameterMap()
    params.add(SearchRecordsParam.word, "nothing-matches-this")

    response = RecordOperations("Leads").search_records(params)

    assert response is not None
    assert response.get_status_code() == 204
    assert response.get_object() is None


def test_the_record_count_counts_matching_records() -> None:
    insert("Leads", lead("Hopper"), lead("Lovelace"), lead("Lovelock"))
    params = ParameterMap()
    params.add(RecordCountParam.criteria, "(Last_Name:starts_with:Love)")

    counted = z.parsed(RecordOperations("Leads").record_count(params))
    everything = z.parsed(RecordOperations("Leads").record_count())

    assert isinstance(counted, CountWrapper) and counted.get_count() == 2
    assert everything.get_count() == 3


def test_deleted_records_leave_the_module_and_appear_in_the_recycle_bin() -> None:
    leads = RecordOperations("Leads")
    alone, first, second, kept = insert(
        "Leads", lead("Alone"), lead("First"), lead("Second"), lead("Kept")
    )

    (single,) = z.successes(leads.delete_record(alone))
    params = ParameterMap()
    params.add(DeleteRecordsParam.ids, f"{first},{second}")
    params.add(DeleteRecordsParam.wf_trigger, True)  # sent as "True"
    batch = z.successes(leads.delete_records(params))
    deleted_params = ParameterMap()
    deleted_params.add(GetDeletedRecordsParam.type, "recycle")
    deleted = z.data(leads.get_deleted_records(deleted_params), DeletedRecordsWrapper)

    assert int(single.get_details()["id"]) == alone
    assert sorted(int(r.get_details()["id"]) for r in batch) == sorted([first, second])
    assert sorted(d.get_id() for d in deleted) == sorted([alone, first, second])
    assert {d.get_display_name() for d in deleted} == {"Alone", "First", "Second"}
    assert all(isinstance(d.get_deleted_by(), MinifiedUser) for d in deleted)
    assert all(isinstance(d.get_deleted_time(), datetime) for d in deleted)
    remaining = z.data(leads.get_records(fields_param("Last_Name")))
    assert [r.get_id() for r in remaining] == [kept]


def fields_param(names: str) -> ParameterMap:
    params = ParameterMap()
    params.add(GetRecordsParam.fields, names)
    return params


def test_the_contacts_of_an_account_are_its_related_records() -> None:
    (account_id,) = insert("Accounts", z.record(Account_Name="Analytical Engines"))
    (other_id,) = insert("Accounts", z.record(Account_Name="Navy"))
    account, other = Record(), Record()
    account.set_id(account_id)
    other.set_id(other_id)
    insert(
        "Contacts",
        z.record(Last_Name="Lovelace", Account_Name=account),
        z.record(Last_Name="Babbage", Account_Name=account),
        z.record(Last_Name="Hopper", Account_Name=other),
    )

    response = zr.RelatedRecordsOperations("Contacts", "Accounts").get_related_records(account_id)

    contacts = z.data(response, zr.ResponseWrapper)
    assert sorted(c.get_key_value("Last_Name") for c in contacts) == ["Babbage", "Lovelace"]
    linked = contacts[0].get_key_value("Account_Name")
    assert isinstance(linked, Record) and linked.get_id() == account_id
    assert linked.get_key_value("name") == "Analytical Engines"


def test_search_finds_a_record_by_phone() -> None:
    insert("Leads", lead("Hopper", Phone="+33 1 23 45 67 89"), lead("Lovelace", Phone="+44 20"))

    assert search(phone="+33 1 23 45 67 89") == ["Hopper"]


def test_a_record_can_be_given_to_another_owner() -> None:
    me = z.one_user("CurrentUser")
    colleague = z.create_user("grace@acme.test", me.get_role().get_id(), me.get_profile().get_id())
    owner = MinifiedUser()
    owner.set_id(colleague)

    (lead_id,) = insert("Leads", lead("Lovelace", Owner=owner))
    found = z.one(RecordOperations("Leads").get_record(lead_id))

    assert found.get_key_value("Owner").get_id() == colleague
    assert found.get_key_value("Owner").get_email() == "grace@acme.test"
    assert found.get_created_by().get_id() == me.get_id()


def test_if_modified_since_lists_only_records_changed_after_that_time(
    sdk: SdkSession, clock: Clock
) -> None:
    insert("Leads", lead("Before"))
    clock.advance(timedelta(days=1))
    sdk.sign_in()  # the server's clock moved past the access token's expiry
    insert("Leads", lead("After"))
    leads = RecordOperations("Leads")

    def since(moment: datetime) -> Any:
        headers = HeaderMap()
        headers.add(GetRecordsHeader.if_modified_since, moment)
        return leads.get_records(fields_param("Last_Name"), headers)

    changed = since(clock() - timedelta(hours=12))
    unchanged = since(clock() + timedelta(hours=1))

    assert [r.get_key_value("Last_Name") for r in z.data(changed)] == ["After"]
    assert unchanged is not None and unchanged.get_status_code() == 304
    assert unchanged.get_object() is None
