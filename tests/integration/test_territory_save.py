"""Territories on save (TER-10, TER-16 … TER-19) and on territory deletion (TER-7), with the
records written through the save pipeline on both databases."""

from __future__ import annotations

from typing import Any

from secteur.adapters.db import records_repo
from secteur.services import territories, territory_assignment
from secteur.services.app import Secteur
from tests.support import territories as setup


def _geo(app: Secteur, **settings: Any) -> dict[str, int]:
    root = setup.enable(app, **settings)
    europe = setup.create(
        app, "Europe", root, accounts=setup.rule("Billing_Country", "in", ["France", "Spain"])
    )
    france = setup.create(
        app, "France", europe, accounts=setup.rule("Billing_Country", "equal", "France")
    )
    spain = setup.create(
        app, "Spain", europe, accounts=setup.rule("Billing_Country", "equal", "Spain")
    )
    return {"root": root, "europe": europe, "france": france, "spain": spain}


def _manual(app: Secteur, module: str, record_id: int, territory_ids: list[int]) -> None:
    with app.write() as tx:
        found = tx.state.module(module)
        assert found is not None
        record = records_repo.fetch(tx.conn, tx.state.table(found), [record_id])[record_id]
        territory_assignment.assign_manually(tx, setup.admin(tx), found, record, territory_ids)


def test_TER_10_a_created_record_is_assigned_and_an_edit_of_a_rule_field_reassigns_it(
    app: Secteur,
) -> None:
    ids = _geo(app)
    [account] = setup.insert(app, "Accounts", [{"Account_Name": "A", "Billing_Country": "France"}])
    assert setup.held(app, account) == {ids["france"]: False}
    setup.update(app, "Accounts", account, {"Billing_Country": "spain"})
    assert setup.held(app, account) == {ids["spain"]: False}
    setup.update(app, "Accounts", account, {"Phone": "+33 1 23 45 67 89"})
    assert setup.held(app, account) == {ids["spain"]: False}


def test_TER_16_reevaluation_recomputes_the_automatic_set_and_keeps_the_manual_one(
    app: Secteur,
) -> None:
    ids = _geo(app)
    [account] = setup.insert(app, "Accounts", [{"Account_Name": "A", "Billing_Country": "France"}])
    _manual(app, "Accounts", account, [ids["spain"]])
    setup.update(app, "Accounts", account, {"Billing_Country": "Japan"})
    assert setup.held(app, account) == {ids["spain"]: True}


def test_TER_17_a_contact_inherits_its_accounts_territories(app: Secteur) -> None:
    ids = _geo(app)
    [account] = setup.insert(app, "Accounts", [{"Account_Name": "A", "Billing_Country": "France"}])
    _manual(app, "Accounts", account, [ids["europe"]])
    [contact, orphan] = setup.insert(
        app,
        "Contacts",
        [{"Last_Name": "With", "Account_Name": {"id": str(account)}}, {"Last_Name": "Without"}],
    )
    assert setup.held(app, contact) == {ids["europe"]: False, ids["france"]: False}
    assert setup.held(app, orphan) == {}


def test_TER_18_a_deal_takes_one_territory_from_its_contact_else_its_account(
    app: Secteur,
) -> None:
    ids = _geo(app)
    [france, spain] = setup.insert(
        app,
        "Accounts",
        [
            {"Account_Name": "F", "Billing_Country": "France"},
            {"Account_Name": "S", "Billing_Country": "Spain"},
        ],
    )
    [contact] = setup.insert(
        app, "Contacts", [{"Last_Name": "C", "Account_Name": {"id": str(spain)}}]
    )
    deal = {"Stage": "Qualification", "Closing_Date": "2026-12-31"}
    [by_contact, by_account] = setup.insert(
        app,
        "Deals",
        [
            {
                **deal,
                "Deal_Name": "1",
                "Account_Name": {"id": str(france)},
                "Contact_Name": {"id": str(contact)},
            },
            {**deal, "Deal_Name": "2", "Account_Name": {"id": str(france)}},
        ],
    )
    assert setup.held(app, by_contact) == {ids["spain"]: False}
    assert setup.held(app, by_account) == {ids["france"]: False}


def test_TER_19_an_account_change_cascades_to_its_contacts_and_open_deals(app: Secteur) -> None:
    ids = _geo(app)
    [account] = setup.insert(app, "Accounts", [{"Account_Name": "A", "Billing_Country": "France"}])
    [contact] = setup.insert(
        app, "Contacts", [{"Last_Name": "C", "Account_Name": {"id": str(account)}}]
    )
    deal = {"Closing_Date": "2026-12-31", "Account_Name": {"id": str(account)}}
    [open_deal, won] = setup.insert(
        app,
        "Deals",
        [
            {**deal, "Deal_Name": "Open", "Stage": "Qualification"},
            {**deal, "Deal_Name": "Won", "Stage": "Closed Won"},
        ],
    )
    setup.update(app, "Accounts", account, {"Billing_Country": "Spain"})
    assert setup.held(app, contact) == {ids["spain"]: False}
    assert setup.held(app, open_deal) == {ids["spain"]: False}
    assert setup.held(app, won) == {ids["france"]: False}  # closed deals keep their history


def test_TER_19_without_cascade_contacts_are_reevaluated_only_when_they_change(
    app: Secteur,
) -> None:
    ids = _geo(app, cascade=False)
    [account, other] = setup.insert(
        app,
        "Accounts",
        [
            {"Account_Name": "A", "Billing_Country": "France"},
            {"Account_Name": "B", "Billing_Country": "Spain"},
        ],
    )
    [contact] = setup.insert(
        app, "Contacts", [{"Last_Name": "C", "Account_Name": {"id": str(account)}}]
    )
    setup.update(app, "Accounts", account, {"Billing_Country": "Japan"})
    assert setup.held(app, contact) == {ids["france"]: False}
    setup.update(app, "Contacts", contact, {"Account_Name": {"id": str(other)}})
    assert setup.held(app, contact) == {ids["spain"]: False}


def test_TER_7_deleting_a_territory_reevaluates_its_records_or_moves_them(app: Secteur) -> None:
    ids = _geo(app)
    [french, spanish] = setup.insert(
        app,
        "Accounts",
        [
            {"Account_Name": "F", "Billing_Country": "France"},
            {"Account_Name": "S", "Billing_Country": "Spain"},
        ],
    )
    with app.write() as tx:
        territories.delete_territory(tx, setup.admin(tx), ids["france"], None)
    # No transfer: re-evaluated against the tree without France → Europe.
    assert setup.held(app, french) == {ids["europe"]: False}
    with app.write() as tx:
        territories.delete_territory(tx, setup.admin(tx), ids["spain"], ids["root"])
    # Transferred: the record follows to the target, as it was assigned.
    assert setup.held(app, spanish) == {ids["root"]: False}
