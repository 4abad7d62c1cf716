"""OAuth scopes in Zoho's notation (core.md, Scopes): parsing and what each scope grants."""

from __future__ import annotations

import pytest

from secteur.domain.scopes import Access, Category, InvalidScope, Scope, granted, parse_scopes

M, S, U, ORG = Category.MODULES, Category.SETTINGS, Category.USERS, Category.ORG
READ, CREATE, UPDATE, DELETE = Access.READ, Access.CREATE, Access.UPDATE, Access.DELETE


def test_a_category_scope_parses_without_a_resource() -> None:
    assert Scope.parse("ZohoCRM.modules.ALL") == Scope(M, None, "ALL")


def test_a_resource_scope_keeps_its_resource_in_lower_case() -> None:
    assert Scope.parse("ZohoCRM.modules.Accounts.READ") == Scope(M, "accounts", "READ")


def test_scope_words_are_case_insensitive() -> None:
    assert Scope.parse("zohocrm.SETTINGS.Roles.all") == Scope(S, "roles", "ALL")


def test_a_scope_prints_back_in_zoho_notation() -> None:
    assert str(Scope.parse("zohocrm.settings.fields.read")) == "ZohoCRM.settings.fields.READ"
    assert str(Scope.parse("ZohoCRM.users.ALL")) == "ZohoCRM.users.ALL"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ZohoCRM",
        "ZohoCRM.modules",
        "ZohoBooks.modules.ALL",
        "ZohoCRM.reports.ALL",
        "ZohoCRM.modules.EVERYTHING",
        "ZohoCRM.modules.accounts.fields.READ",
        "ZohoCRM.modules..READ",
        "ZohoCRM.users. .READ",
    ],
)
def test_a_malformed_or_unknown_scope_is_refused(text: str) -> None:
    with pytest.raises(InvalidScope):
        Scope.parse(text)


def test_a_scope_list_may_be_separated_by_commas_or_spaces() -> None:
    scopes = parse_scopes("ZohoCRM.modules.ALL, ZohoCRM.users.READ ZohoCRM.org.ALL")
    assert [str(s) for s in scopes] == [
        "ZohoCRM.modules.ALL",
        "ZohoCRM.users.READ",
        "ZohoCRM.org.ALL",
    ]


def test_an_empty_scope_list_is_refused() -> None:
    with pytest.raises(InvalidScope):
        parse_scopes(" , ")


def test_one_bad_scope_spoils_the_list() -> None:
    with pytest.raises(InvalidScope):
        parse_scopes("ZohoCRM.modules.ALL,ZohoCRM.nothing.ALL")


@pytest.mark.parametrize("access", list(Access))
def test_all_grants_every_operation_on_every_resource_of_its_category(access: Access) -> None:
    scope = Scope.parse("ZohoCRM.modules.ALL")
    assert scope.grants(M, "Accounts", access)
    assert scope.grants(M, "Deals", access)


def test_a_scope_never_grants_another_category() -> None:
    scope = Scope.parse("ZohoCRM.modules.ALL")
    assert not scope.grants(S, "roles", READ)
    assert not scope.grants(U, None, READ)
    assert not scope.grants(ORG, None, READ)


def test_read_grants_reading_only() -> None:
    scope = Scope.parse("ZohoCRM.users.READ")
    assert scope.grants(U, None, READ)
    assert not scope.grants(U, None, CREATE)
    assert not scope.grants(U, None, UPDATE)
    assert not scope.grants(U, None, DELETE)


def test_write_grants_create_update_and_delete_but_not_read() -> None:
    scope = Scope.parse("ZohoCRM.modules.WRITE")
    assert scope.grants(M, "Accounts", CREATE)
    assert scope.grants(M, "Accounts", UPDATE)
    assert scope.grants(M, "Accounts", DELETE)
    assert not scope.grants(M, "Accounts", READ)


@pytest.mark.parametrize("access", [CREATE, UPDATE, DELETE])
def test_a_single_operation_grants_only_itself(access: Access) -> None:
    scope = Scope.parse(f"ZohoCRM.settings.fields.{access.value}")
    assert scope.grants(S, "fields", access)
    assert not scope.grants(S, "fields", READ)
    assert [a for a in Access if scope.grants(S, "fields", a)] == [access]


def test_a_resource_scope_grants_that_resource_only_whatever_its_case() -> None:
    scope = Scope.parse("ZohoCRM.modules.accounts.READ")
    assert scope.grants(M, "Accounts", READ)
    assert not scope.grants(M, "Contacts", READ)


def test_a_resource_scope_does_not_cover_a_call_that_names_no_resource() -> None:
    assert not Scope.parse("ZohoCRM.settings.territories.ALL").grants(S, None, READ)


def test_the_all_resource_covers_every_resource() -> None:
    scope = Scope.parse("ZohoCRM.settings.all.READ")
    assert scope.grants(S, "roles", READ)
    assert scope.grants(S, "territory_management", READ)


def test_settings_all_covers_secteur_own_settings_paths() -> None:
    scope = Scope.parse("ZohoCRM.settings.ALL")
    for resource in (
        "roles",
        "profiles",
        "fields",
        "territory_management",
        "forecast",
        "sandboxes",
    ):
        assert scope.grants(S, resource, UPDATE)


def test_a_territories_scope_does_not_reach_roles() -> None:
    assert not Scope.parse("ZohoCRM.settings.territories.ALL").grants(S, "roles", READ)


def test_granted_is_true_when_any_scope_of_the_list_grants() -> None:
    scopes = parse_scopes("ZohoCRM.users.READ,ZohoCRM.settings.roles.CREATE")
    assert granted(scopes, S, "roles", CREATE)
    assert granted(scopes, U, None, READ)
    assert not granted(scopes, U, None, UPDATE)
    assert not granted(scopes, S, "profiles", CREATE)


def test_an_empty_scope_tuple_grants_nothing() -> None:
    assert not granted((), M, "Accounts", READ)
