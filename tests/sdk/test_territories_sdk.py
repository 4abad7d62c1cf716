"""Territories through the official SDK: TerritoriesOperations, TerritoryUsersOperations,
UsersTerritoriesOperations, and the territory methods of RecordOperations (territories.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api import record as zrec
from zohocrmsdk.src.com.zoho.crm.api import territories as zt
from zohocrmsdk.src.com.zoho.crm.api import territory_users as ztu
from zohocrmsdk.src.com.zoho.crm.api import users as zu
from zohocrmsdk.src.com.zoho.crm.api import users_territories as zut
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from secteur.services.app import Secteur
from tests.support import territories as ts
from tests.support import zoho_sdk as z
from tests.support.records_api import admin_id, insert_fast, make_user, root_role

pytestmark = [pytest.mark.sdk, pytest.mark.usefixtures("sdk")]


# --- building requests ----------------------------------------------------------------------


def criteria(field: str, comparator: str, value: Any) -> zt.Criteria:
    built, target = zt.Criteria(), zt.Field()
    target.set_api_name(field)
    built.set_field(target)
    built.set_comparator(comparator)
    built.set_value(value)
    return built


def territory(
    name: str | None = None,
    parent: int | None = None,
    *,
    territory_id: int | None = None,
    **values: Any,
) -> zt.Territories:
    built = zt.Territories()
    if territory_id is not None:
        built.set_id(territory_id)
    if name is not None:
        built.set_name(name)
    if parent is not None:
        reporting_to = zt.ReportingTo()
        reporting_to.set_id(parent)
        built.set_reporting_to(reporting_to)
    for key, value in values.items():
        getattr(built, f"set_{key}")(value)
    return built


def territories_body(*items: zt.Territories) -> zt.BodyWrapper:
    body = zt.BodyWrapper()
    body.set_territories(list(items))
    return body


def create(name: str, parent: int, **values: Any) -> int:
    response = zt.TerritoriesOperations().create_territories(
        territories_body(territory(name, parent, **values))
    )
    (result,) = z.successes(response, zt.ActionWrapper, "territories")
    return int(result.get_details()["id"])


def all_territories(param: ParameterMap | None = None) -> list[Any]:
    return z.data(
        zt.TerritoriesOperations().get_territories(param), zt.ResponseWrapper, "territories"
    )


def one_territory(territory_id: int) -> Any:
    (found,) = z.data(
        zt.TerritoriesOperations().get_territory(territory_id), zt.ResponseWrapper, "territories"
    )
    return found


def params(*pairs: tuple[Any, Any]) -> ParameterMap:
    built = ParameterMap()
    for param, value in pairs:
        built.add(param, value)
    return built


def sdk_user(user_id: int) -> zu.Users:
    user = zu.Users()
    user.set_id(user_id)
    return user


def users_body(*user_ids: int) -> ztu.BodyWrapper:
    body = ztu.BodyWrapper()
    body.set_users([sdk_user(u) for u in user_ids])
    return body


def record_territory(territory_id: int) -> zrec.Territory:
    built = zrec.Territory()
    built.set_id(territory_id)
    return built


def with_territories(record_id: int | None, *territory_ids: int) -> zrec.Record:
    built = zrec.Record()
    if record_id is not None:
        built.set_id(record_id)
    built.add_key_value("Territories", [record_territory(t) for t in territory_ids])
    return built


def error_of(response: Any) -> tuple[str, str, dict[str, Any]]:
    return z.api_error(z.parsed(response))


# --- TER-1: off ------------------------------------------------------------------------------


def test_TER_1_while_off_the_sdk_gets_the_feature_errors(app: Secteur) -> None:
    code, message, _ = error_of(zt.TerritoriesOperations().get_territories())
    assert (code, message) == ("FEATURE_NOT_ENABLED", "Territory Management is not enabled")
    code, _, _ = error_of(ztu.TerritoryUsersOperations().get_territory_users(1))
    assert code == "TERRITORY_NOT_ENABLED"
    code, _, _ = error_of(zut.UsersTerritoriesOperations(admin_id(app)).get_territories_of_user())
    assert code == "TERRITORY_NOT_ENABLED"


# --- TerritoriesOperations ------------------------------------------------------------------


def test_TER_5_territories_are_created_read_updated_and_deleted_with_the_sdk(
    app: Secteur,
) -> None:
    root = ts.enable(app)
    rep = make_user(app, "rep@acme.test", root_role(app))
    ops = zt.TerritoriesOperations()

    (top,) = all_territories()
    assert top.get_id() == root and top.get_name() == "Acme"
    assert top.get_reporting_to() is None and top.get_manager() is None
    assert top.get_permission_type().get_value() == "read_write_delete"
    assert isinstance(top.get_created_time(), datetime)
    assert top.get_created_by().get_id() == admin_id(app)
    assert top.get_account_rule_criteria() is None

    manager = zt.Manager()
    manager.set_id(rep)
    north = create(
        "North",
        root,
        description="The north",
        manager=manager,
        permission_type=Choice("read_only"),
        account_rule_criteria=criteria("Billing_City", "equal", "Lille"),
    )
    found = one_territory(north)
    assert found.get_name() == "North" and found.get_description() == "The north"
    assert found.get_reporting_to().get_id() == root
    assert found.get_reporting_to().get_name() == "Acme"
    assert found.get_manager().get_id() == rep and found.get_manager().get_name() == "Rep"
    assert found.get_permission_type().get_value() == "read_only"
    rule = found.get_account_rule_criteria()
    assert rule.get_field().get_api_name() == "Billing_City"
    assert (rule.get_comparator(), rule.get_value()) == ("equal", "Lille")
    assert found.get_deal_rule_criteria() is None
    assert isinstance(found.get_modified_time(), datetime)

    # A batch: one good, one without a parent (MANDATORY_NOT_FOUND for that item only).
    response = ops.create_territories(
        territories_body(territory("South", root), territory("Nowhere"))
    )
    ok, missing = z.items(response, zt.ActionWrapper, "territories")
    assert type(ok).__name__ == "SuccessResponse"
    code, _, details = z.api_error(missing)
    assert code == "MANDATORY_NOT_FOUND" and details["api_name"] == "reporting_to"
    south = int(ok.get_details()["id"])

    changed = ops.update_territory(north, territories_body(territory(description="Far north")))
    z.successes(changed, zt.ActionWrapper, "territories")
    both = ops.update_territories(
        territories_body(
            territory(territory_id=north, name="North East"),
            territory(territory_id=south, permission_type=Choice("read_only")),
        )
    )
    assert len(z.successes(both, zt.ActionWrapper, "territories")) == 2
    assert one_territory(north).get_name() == "North East"
    assert one_territory(north).get_description() == "Far north"
    assert one_territory(south).get_permission_type().get_value() == "read_only"
    duplicate = ops.update_territory(south, territories_body(territory(name="north east")))
    (refused,) = z.items(duplicate, zt.ActionWrapper, "territories")
    assert z.api_error(refused)[0] == "DUPLICATE_DATA"

    lille = create("Lille", north)
    children = z.data(ops.get_child_territory(north), zt.ResponseWrapper, "territories")
    assert [c.get_id() for c in children] == [lille]
    chosen = all_territories(params((zt.GetTerritoriesParam.ids, f"{south},{lille}")))
    assert [t.get_name() for t in chosen] == ["Lille", "South"]
    paged = z.parsed(
        ops.get_territories(
            params((zt.GetTerritoriesParam.page, 2), (zt.GetTerritoriesParam.per_page, 2))
        )
    )
    assert [t.get_name() for t in paged.get_territories()] == ["Lille", "South"]
    assert paged.get_info().get_more_records() is False
    assert paged.get_info().get_page() == 2

    code, _, _ = error_of(ops.get_territory(999999))
    assert code == "INVALID_DATA"

    z.successes(ops.delete_territory(lille), zt.ActionWrapper, "territories")
    deleted = ops.delete_territories(params((zt.DeleteTerritoriesParam.ids, f"{south},999999")))
    gone, unknown = z.items(deleted, zt.ActionWrapper, "territories")
    assert type(gone).__name__ == "SuccessResponse" and int(gone.get_details()["id"]) == south
    assert z.api_error(unknown)[0] == "INVALID_DATA"
    assert {t.get_name() for t in all_territories()} == {"Acme", "North East"}


def test_TER_7_transfer_and_delete_with_the_sdk(app: Secteur) -> None:
    root = ts.enable(app)
    a = ts.create(app, "A", root)
    a1 = ts.create(app, "A1", a)
    b = ts.create(app, "B", root)
    c = ts.create(app, "C", root)
    ops = zt.TerritoriesOperations()

    refused = ops.delete_territory(a)
    assert error_of(refused)[0] == "DEPENDENT_FIELD_MISSING"

    transfer = zt.TransferTerritory()
    transfer.set_transfer_to_id(b)
    transfer.set_delete_previous_forecasts(False)
    body = zt.TransferBodyWrapper()
    body.set_territories([transfer])
    z.successes(ops.transfer_and_delete_territory(a, body), zt.ActionWrapper, "territories")
    assert one_territory(a1).get_reporting_to().get_id() == b

    many = zt.TransferBodyWrapper()
    first, second = zt.TransferTerritory(), zt.TransferTerritory()
    first.set_id(c)
    first.set_transfer_to_id(b)
    second.set_id(999999)
    second.set_transfer_to_id(b)
    many.set_territories([first, second])
    done, unknown = z.items(
        ops.transfer_and_delete_territories(many), zt.ActionWrapper, "territories"
    )
    assert int(done.get_details()["id"]) == c
    assert z.api_error(unknown)[0] == "INVALID_DATA"
    assert {t.get_name() for t in all_territories()} == {"Acme", "A1", "B"}


def test_TER_9_associated_users_count_with_the_sdk(app: Secteur) -> None:
    root = ts.enable(app)
    team = ts.create(app, "Team", root)
    rep = make_user(app, "rep@acme.test", root_role(app))
    z.successes(
        ztu.TerritoryUsersOperations().update_territory_users(team, users_body(rep)),
        ztu.ActionWrapper,
        "users",
    )
    counted = z.parsed(zt.TerritoriesOperations().get_associated_user_count())
    assert isinstance(counted, zt.AssociatedUsersCountWrapper)
    by_name = {
        c.get_territory().get_name(): c.get_count() for c in counted.get_associated_users_count()
    }
    assert by_name == {"Acme": "0", "Team": "1"}
    (team_count,) = [
        c for c in counted.get_associated_users_count() if c.get_territory().get_id() == team
    ]
    assert team_count.get_territory().get_subordinates() is False


# --- TerritoryUsersOperations and UsersTerritoriesOperations --------------------------------


def test_TER_9_territory_users_with_the_sdk(app: Secteur) -> None:
    root = ts.enable(app)
    team = ts.create(app, "Team", root)
    rep = make_user(app, "rep@acme.test", root_role(app))
    other = make_user(app, "other@acme.test", root_role(app))
    ops = ztu.TerritoryUsersOperations()

    added = ops.update_territory_users(team, users_body(rep, other))
    assert [int(r.get_details()["id"]) for r in z.successes(added, ztu.ActionWrapper, "users")] == [
        rep,
        other,
    ]
    twice = ops.update_territory_users(team, users_body(rep))
    (refused,) = z.items(twice, ztu.ActionWrapper, "users")
    assert z.api_error(refused)[0] == "DUPLICATE_DATA"

    listed = z.data(ops.get_territory_users(team), ztu.ResponseWrapper, "users")
    assert {u.get_id() for u in listed} == {rep, other}
    assert {u.get_email() for u in listed} == {"rep@acme.test", "other@acme.test"}
    (one,) = z.data(ops.get_territory_user(rep, team), ztu.ResponseWrapper, "users")
    assert one.get_id() == rep and one.get_full_name() == "Rep"

    z.successes(ops.deassociate_territory_user(rep, team), ztu.ActionWrapper, "users")
    assert ops.get_territory_user(rep, team).get_status_code() == 204
    z.successes(ops.update_territory_user(rep, team), ztu.ActionWrapper, "users")
    removed = ops.deassociate_territory_users(
        team, params((ztu.DeassociateTerritoryUsersParam.ids, f"{rep},{other}"))
    )
    assert len(z.successes(removed, ztu.ActionWrapper, "users")) == 2
    assert ops.get_territory_users(team).get_status_code() == 204
    assert error_of(ops.get_territory_users(999999))[0] == "INVALID_DATA"


def test_TER_9_a_users_territories_with_the_sdk(app: Secteur) -> None:
    root = ts.enable(app)
    rep = make_user(app, "rep@acme.test", root_role(app))
    boss = make_user(app, "boss@acme.test", root_role(app))
    north = ts.create(app, "North", root, manager={"id": str(boss)})
    south = ts.create(app, "South", root)
    ops = zut.UsersTerritoriesOperations(rep)

    body = zut.BodyWrapper()
    wanted = []
    for territory_id in (north, south):
        item = zut.Territory()
        item.set_id(territory_id)
        wanted.append(item)
    body.set_territories(wanted)
    done = ops.associate_territories_to_user(body)
    assert len(z.successes(done, zut.ActionWrapper, "territories")) == 2

    mine = z.data(ops.get_territories_of_user(), zut.ResponseWrapper, "territories")
    assert [(t.get_id(), t.get_name()) for t in mine] == [(north, "North"), (south, "South")]
    assert mine[0].get_manager().get_id() == boss
    assert mine[0].get_manager().get_name() == "Boss"
    assert mine[0].get_reporting_to().get_name() == "Acme"
    assert mine[1].get_manager() is None
    (one,) = z.data(ops.get_territory_of_user(south), zut.ResponseWrapper, "territories")
    assert one.get_name() == "South"

    z.successes(ops.remove_territory_from_user(south), zut.ActionWrapper, "territories")
    removed = ops.remove_territories_from_user(
        params((zut.RemoveTerritoriesFromUserParam.ids, f"{north},{south}"))
    )
    gone, not_member = z.items(removed, zut.ActionWrapper, "territories")
    assert type(gone).__name__ == "SuccessResponse"
    assert z.api_error(not_member)[0] == "INVALID_DATA"
    assert ops.get_territories_of_user().get_status_code() == 204


# --- RecordOperations -----------------------------------------------------------------------


def test_TER_22_record_territories_are_assigned_read_and_removed_with_the_sdk(
    app: Secteur,
) -> None:
    root = ts.enable(app)
    paris = ts.create(app, "Paris", root, accounts=ts.rule("Billing_City", "equal", "Paris"))
    team = ts.create(app, "Team", root)
    key = ts.create(app, "Key", root)
    first, second = insert_fast(
        app,
        "Accounts",
        [{"Account_Name": "First", "Billing_City": "Paris"}, {"Account_Name": "Second"}],
    )
    ops = zrec.RecordOperations("Accounts")

    many = ops.assign_territories_to_multiple_records(
        z.records_body(with_territories(first, team), with_territories(second, team, key))
    )
    assert [int(r.get_details()["id"]) for r in z.successes(many)] == [first, second]
    one = ops.assign_territory_to_record(second, z.records_body(with_territories(None, paris)))
    assert z.created_id(one) == second
    again = ops.assign_territory_to_record(first, z.records_body(with_territories(None, team)))
    (duplicate,) = z.items(again)
    assert z.api_error(duplicate)[0] == "DUPLICATE_DATA"

    found = z.one(ops.get_record(first))
    held = found.get_key_value("Territories")
    assert [(t.get_id(), t.get_name(), t.get_assigned()) for t in held] == [
        (paris, "Paris", "automatically"),
        (team, "Team", "manually"),
    ]
    assert held[0].get_assigned_by() is None
    assert held[1].get_assigned_by().get_id() == admin_id(app)
    assert all(isinstance(t.get_assigned_time(), datetime) for t in held)
    listed = z.data(ops.get_records())
    by_id = {r.get_id(): r for r in listed}
    assert {t.get_name() for t in by_id[second].get_key_value("Territories")} == {
        "Paris",
        "Team",
        "Key",
    }

    system = ops.remove_territories_from_record(
        first, z.records_body(with_territories(None, paris))
    )
    (refused,) = z.items(system)
    code, message, _ = z.api_error(refused)
    assert code == "INVALID_DATA"
    assert message == "Territory id which you are trying to remove was system assigned"
    removed = ops.remove_territories_from_record(
        first, z.records_body(with_territories(None, team))
    )
    assert z.created_id(removed) == first
    bulk = ops.remove_territories_from_multiple_records(
        z.records_body(with_territories(second, team, key))
    )
    assert z.created_id(bulk) == second
    assert ts.held(app, first) == {paris: False}
    assert ts.held(app, second) == {paris: True}
