"""Org, modules, layouts, users, roles and profiles through the SDK's settings operations."""

from __future__ import annotations

from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api import layouts as zl
from zohocrmsdk.src.com.zoho.crm.api import modules as zm
from zohocrmsdk.src.com.zoho.crm.api import org as zo
from zohocrmsdk.src.com.zoho.crm.api import profiles as zp
from zohocrmsdk.src.com.zoho.crm.api import roles as zr
from zohocrmsdk.src.com.zoho.crm.api import users as zu

from tests.support import zoho_sdk as z
from tests.support.orgs import ADMIN_EMAIL

pytestmark = [pytest.mark.sdk, pytest.mark.usefixtures("sdk")]


def users(kind: str) -> list[Any]:
    params = ParameterMap()
    params.add(zu.GetUsersParam.type, kind)
    return z.data(zu.UsersOperations().get_users(params), zu.ResponseWrapper, "users")


def roles() -> dict[str, Any]:
    found = z.data(zr.RolesOperations().get_roles(), zr.ResponseWrapper, "roles")
    return {r.get_name(): r for r in found}


def profiles() -> dict[str, Any]:
    found = z.data(zp.ProfilesOperations().get_profiles(), zp.ResponseWrapper, "profiles")
    return {p.get_name(): p for p in found}


def new_role(name: str, reporting_to: int) -> int:
    role = zr.Role()
    role.set_name(name)
    role.set_description(f"{name} team")
    role.set_share_with_peers(False)
    parent = zr.ReportingTo()
    parent.set_id(reporting_to)
    role.set_reporting_to(parent)
    body = zr.BodyWrapper()
    body.set_roles([role])
    (result,) = z.successes(zr.RolesOperations().create_roles(body), zr.ActionWrapper, "roles")
    return int(result.get_details()["id"])


def test_the_org_answers_with_its_name_zgid_and_type() -> None:
    (org,) = z.data(zo.OrgOperations().get_organization(), zo.ResponseWrapper, "org")

    assert org.get_company_name() == "Acme"
    assert str(org.get_zgid()).isdigit()
    assert str(org.get_id()).isdigit()
    assert org.get_type().get_value() == "production"


def test_the_current_user_is_the_tokens_user() -> None:
    me = z.one_user("CurrentUser")

    assert me.get_email() == ADMIN_EMAIL
    assert isinstance(me.get_id(), int)
    assert me.get_role().get_name() and me.get_profile().get_name()


def test_the_standard_modules_are_listed_as_api_supported() -> None:
    found = z.data(zm.ModulesOperations().get_modules(), zm.ResponseWrapper, "modules")

    by_name = {m.get_api_name(): m for m in found}
    assert {"Leads", "Accounts", "Contacts", "Deals"} <= set(by_name)
    assert all(m.get_api_supported() is True for m in by_name.values())
    assert by_name["Accounts"].get_generated_type().get_value() == "default"
    assert isinstance(by_name["Accounts"].get_id(), int)


def test_a_module_reads_back_by_its_id_as_by_its_api_name() -> None:
    listed = z.data(zm.ModulesOperations().get_modules(), zm.ResponseWrapper, "modules")
    accounts = next(m for m in listed if m.get_api_name() == "Accounts")
    operations = zm.ModulesOperations()

    (by_id,) = z.data(operations.get_module(accounts.get_id()), zm.ResponseWrapper, "modules")
    (by_name,) = z.data(
        operations.get_module_by_api_name("Accounts"), zm.ResponseWrapper, "modules"
    )

    assert by_id.get_api_name() == by_name.get_api_name() == "Accounts"
    assert by_id.get_id() == by_name.get_id() == accounts.get_id()


def test_a_modules_layouts_list_its_fields_by_section() -> None:
    params = ParameterMap()
    params.add(zl.GetLayoutsParam.module, "Accounts")

    found = z.data(zl.LayoutsOperations().get_layouts(params), zl.ResponseWrapper, "layouts")

    assert found, "every module has a layout"
    layout = found[0]
    fields = [f.get_api_name() for s in layout.get_sections() for f in s.get_fields()]
    assert "Account_Name" in fields and "Owner" in fields
    one_params = ParameterMap()
    one_params.add(zl.GetLayoutParam.module, "Accounts")
    (again,) = z.data(
        zl.LayoutsOperations().get_layout(layout.get_id(), one_params),
        zl.ResponseWrapper,
        "layouts",
    )
    assert again.get_id() == layout.get_id()


def test_a_user_created_with_the_sdk_is_listed_among_the_active_users() -> None:
    admin_role = z.one_user("CurrentUser").get_role().get_id()
    standard = profiles()["Standard"].get_id()

    user_id = z.create_user("grace@acme.test", admin_role, standard)

    (found,) = z.data(zu.UsersOperations().get_user(user_id), zu.ResponseWrapper, "users")
    assert found.get_email() == "grace@acme.test"
    assert found.get_profile().get_id() == standard
    assert "grace@acme.test" in [u.get_email() for u in users("ActiveUsers")]


def test_a_role_is_created_renamed_and_deleted_with_its_users_transferred() -> None:
    ceo = z.one_user("CurrentUser").get_role().get_id()
    sales = new_role("Sales", ceo)
    user_id = z.create_user("grace@acme.test", sales, profiles()["Standard"].get_id())
    renamed = zr.Role()
    renamed.set_name("Field Sales")
    body = zr.BodyWrapper()
    body.set_roles([renamed])

    z.successes(zr.RolesOperations().update_role(sales, body), zr.ActionWrapper, "roles")
    created = roles()["Field Sales"]
    params = ParameterMap()
    params.add(zr.DeleteRoleParam.transfer_to_id, ceo)
    deleted = z.successes(
        zr.RolesOperations().delete_role(sales, params), zr.ActionWrapper, "roles"
    )

    assert created.get_id() == sales
    assert created.get_reporting_to().get_id() == ceo
    assert created.get_description() == "Sales team"
    assert int(deleted[0].get_details()["id"]) == sales
    assert "Field Sales" not in roles()
    (moved,) = z.data(zu.UsersOperations().get_user(user_id), zu.ResponseWrapper, "users")
    assert moved.get_role().get_id() == ceo


def test_a_single_role_reads_back_by_id() -> None:
    ceo = z.one_user("CurrentUser").get_role().get_id()

    (role,) = z.data(zr.RolesOperations().get_role(ceo), zr.ResponseWrapper, "roles")

    assert role.get_id() == ceo and role.get_name()


def test_profiles_are_listed_and_one_reads_back_with_its_permissions() -> None:
    listed = profiles()
    admin = listed["Administrator"]

    (found,) = z.data(
        zp.ProfilesOperations().get_profile(admin.get_id()), zp.ResponseWrapper, "profiles"
    )

    assert {"Administrator", "Standard"} <= set(listed)
    assert isinstance(admin.get_id(), int)
    assert found.get_name() == "Administrator"
    assert found.get_permissions_details(), "a profile lists its permissions"
