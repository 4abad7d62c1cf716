"""Forecast cells kept by database triggers (FC-12, ADR 0011): whatever path writes deals or
their territories, the cells equal a full recomputation, at once, on both databases — and so do
the territory-ancestor table and the branch totals built on them (ADR 0012), whatever changes
the tree."""

from __future__ import annotations

import contextlib
import itertools
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from secteur.adapters.db import (
    forecast_branch_triggers,
    forecast_repo,
    forecast_triggers,
    migrate,
    records_repo,
)
from secteur.adapters.db import tables as t
from secteur.adapters.db.forecast_branch_triggers import ROLLUPS
from secteur.adapters.db.forecast_repo import Cell
from secteur.adapters.db.forecast_triggers import ForecastColumns
from secteur.adapters.db.records_schema import to_row
from secteur.domain.catalog import DEAL_STAGES
from secteur.domain.fields import Kind
from secteur.services import fields as field_service
from secteur.services import forecasts as forecast_service
from secteur.services import records as record_service
from secteur.services import territories, territory_assignment, territory_runs
from secteur.services.app import Secteur, Tx
from secteur.services.setup import upgrade_schema
from tests.support import records_api
from tests.support import territories as setup

STAGES = [name for name, _, _ in DEAL_STAGES]
COUNTRIES = ["France", "Spain", "Italy", "Japan"]
EVERY_MONTH = (0, 999_912)


# --- helpers ---


def _deals(tx: Tx) -> Any:
    module = tx.state.module("Deals")
    assert module is not None
    return module


def _columns(app: Secteur, amount: str = "Amount", date_field: str = "Closing_Date") -> Any:
    with app.read() as tx:
        return forecast_triggers.forecast_columns(tx.state.table(_deals(tx)), amount, date_field)


def _install(app: Secteur, columns: ForecastColumns) -> None:
    with app.write() as tx:
        forecast_triggers.install_forecast_triggers(tx.conn, columns)


def _stored(app: Secteur) -> list[Cell]:
    with app.read() as tx:
        return sorted(forecast_repo.cells(tx.conn, *EVERY_MONTH, by_month=True))


def _recomputed(app: Secteur, columns: ForecastColumns) -> list[Cell]:
    with app.read() as tx:
        return sorted(forecast_repo.recompute(tx.conn, columns, *EVERY_MONTH, by_month=True))


def _assert_consistent(app: Secteur, columns: ForecastColumns) -> None:
    assert _stored(app) == _recomputed(app, columns)
    with app.read() as tx:
        assert forecast_repo.ancestors(tx.conn) == forecast_repo.ancestors(tx.conn, recomputed=True)
        for rollup in ROLLUPS:
            assert forecast_repo.stored(tx.conn, rollup) == forecast_repo.recomputed(
                tx.conn, rollup
            )


def _move_territory(app: Secteur, territory_id: int, parent: int) -> None:
    with app.write() as tx:
        item = {"reporting_to": {"id": str(parent)}}
        territories.update_territory(tx, setup.admin(tx), territory_id, 0, item)


def _fold(app: Secteur) -> None:
    forecast_service.fold_branch_deltas(app)


def _deal(**values: Any) -> dict[str, Any]:
    return {"Deal_Name": "D", "Stage": "Qualification", "Closing_Date": "2027-03-15", **values}


def _delete(app: Secteur, deal_id: int) -> None:
    with app.write() as tx:
        [result] = record_service.delete_records(tx, setup.admin(tx), _deals(tx), [deal_id])
    assert result.code == "SUCCESS", result


def _restore(app: Secteur, deal_id: int) -> None:
    """Put a deal back from the recycle bin, with its id (as a restore will)."""
    bin_ = t.deleted_records
    with app.write() as tx:
        module = _deals(tx)
        data = tx.conn.execute(
            sa.select(bin_.c.data).where(bin_.c.module == "Deals", bin_.c.id == deal_id)
        ).scalar_one()
        values = {}
        for api_name, value in data["values"].items():
            f = module.field(api_name)
            if f is None or f.system:
                continue
            if f.kind is Kind.DATE and value is not None:
                value = date.fromisoformat(value)
            values[api_name] = value
        system = {
            k: datetime.fromisoformat(data[k]) if k.endswith("_time") else data[k]
            for k in ("owner_id", "created_by", "modified_by", "created_time", "modified_time")
        }
        tx.conn.execute(
            tx.state.table(module)
            .table.insert()
            .values(id=deal_id, **system, **to_row(module, values))
        )
        tx.conn.execute(bin_.delete().where(bin_.c.module == "Deals", bin_.c.id == deal_id))


def _assign(app: Secteur, deal_id: int, territory_id: int) -> None:
    with app.write() as tx:
        module = _deals(tx)
        record = records_repo.fetch(tx.conn, tx.state.table(module), [deal_id])[deal_id]
        territory_assignment.assign_manually(tx, setup.admin(tx), module, record, [territory_id])


def _unassign(app: Secteur, deal_id: int, territory_id: int) -> None:
    with app.write() as tx:
        module = _deals(tx)
        record = records_repo.fetch(tx.conn, tx.state.table(module), [deal_id])[deal_id]
        territory_assignment.remove_manually(tx, setup.admin(tx), module, record, [territory_id])


def _run_rules(app: Secteur, module: str) -> None:
    with app.write() as tx:
        territory_runs.schedule(
            tx, setup.admin(tx), {"run_rules": {"module": {"api_name": module}}}, preview=False
        )
    setup.run_jobs(app)


def _delete_territory(app: Secteur, territory_id: int, transfer_to: int | None) -> None:
    with app.write() as tx:
        territories.delete_territory(tx, setup.admin(tx), territory_id, transfer_to)


def _add_date_field(app: Secteur) -> None:
    with app.write() as tx:
        field_service.create_field(
            tx,
            setup.admin(tx),
            _deals(tx),
            0,
            {"field_label": "Forecast Date", "data_type": "date"},
        )


@dataclass
class World:
    root: int
    europe: int
    countries: dict[str, int]
    accounts: dict[str, int]
    owners: list[int]
    leaves: list[int] = field(default_factory=list)


def _world(app: Secteur) -> World:
    """Europe → France, Spain, Italy; one account per country (Japan: none); three owners;
    deals may hold two territories (one manual) to exercise the lowest-id attribution."""
    root = setup.enable(app, limits={"Deals": 2})
    europe = setup.create(
        app, "Europe", root, accounts=setup.rule("Billing_Country", "in", COUNTRIES[:3])
    )
    countries = {
        c: setup.create(app, c, europe, accounts=setup.rule("Billing_Country", "equal", c))
        for c in COUNTRIES[:3]
    }
    ids = setup.insert(
        app, "Accounts", [{"Account_Name": c, "Billing_Country": c} for c in COUNTRIES]
    )
    role = records_api.root_role(app)
    owners = [
        records_api.admin_id(app),
        records_api.make_user(app, "rep1@acme.test", role),
        records_api.make_user(app, "rep2@acme.test", role),
    ]
    return World(root, europe, countries, dict(zip(COUNTRIES, ids, strict=True)), owners)


# --- each path, plainly ---


def test_FC_12_a_saved_deal_is_in_its_cell_at_once_in_exact_cents(app: Secteur) -> None:
    [deal] = setup.insert(
        app, "Deals", [_deal(Amount=1234.56, Stage="Negotiation/Review", Closing_Date="2027-03-15")]
    )
    with app.read() as tx:
        owner = records_repo.fetch(tx.conn, tx.state.table(_deals(tx)), [deal])[deal].owner_id
    # Negotiation/Review: probability 90 %, so 1234.56 × 90 = 111110.4 cents.
    assert _stored(app) == [Cell(0, owner, 202703, "Negotiation/Review", 1, 123456, 111110, 9000)]
    with app.read() as tx:
        assert forecast_repo.cells(tx.conn, 202701, 202703) == [
            Cell(0, owner, 202701, "Negotiation/Review", 1, 123456, 111110, 9000)
        ]
        assert forecast_repo.cells(tx.conn, 202704, 202706) == []


def test_FC_12_an_edit_moves_the_deal_between_cells_and_an_empty_cell_is_not_read(
    app: Secteur,
) -> None:
    columns = _columns(app)
    [deal] = setup.insert(app, "Deals", [_deal(Amount=100.0)])
    setup.update(app, "Deals", deal, {"Stage": "Closed Won", "Closing_Date": "2027-05-02"})
    [cell] = _stored(app)
    assert (cell.month, cell.stage, cell.amount_cents, cell.weighted_cents) == (
        202705,
        "Closed Won",
        10000,
        10000,
    )
    setup.update(app, "Deals", deal, {"Amount": None, "Probability": None})
    assert [(c.deals, c.amount_cents, c.weighted_cents) for c in _stored(app)] == [(1, 0, 0)]
    _assert_consistent(app, columns)


def test_FC_12_a_deal_in_the_recycle_bin_counts_nowhere_and_counts_again_once_restored(
    app: Secteur,
) -> None:
    columns = _columns(app)
    world = _world(app)
    [deal] = setup.insert(app, "Deals", [_deal(Amount=50.0, Account_Name=world.accounts["Spain"])])
    assert [c.territory_id for c in _stored(app)] == [world.countries["Spain"]]
    _delete(app, deal)
    assert _stored(app) == []
    _restore(app, deal)
    assert [c.territory_id for c in _stored(app)] == [world.countries["Spain"]]
    _assert_consistent(app, columns)


def test_FC_7_an_accounts_new_territory_cascades_to_its_open_deals_cells(app: Secteur) -> None:
    columns = _columns(app)
    world = _world(app)
    setup.insert(app, "Deals", [_deal(Amount=10.0, Account_Name=world.accounts["France"])])
    assert [c.territory_id for c in _stored(app)] == [world.countries["France"]]
    setup.update(app, "Accounts", world.accounts["France"], {"Billing_Country": "Italy"})
    assert [c.territory_id for c in _stored(app)] == [world.countries["Italy"]]
    setup.update(app, "Accounts", world.accounts["France"], {"Billing_Country": "Japan"})
    assert [c.territory_id for c in _stored(app)] == [0]
    _assert_consistent(app, columns)


def test_ADR_0011_a_deal_with_two_territories_counts_once_in_the_lowest_id(
    app: Secteur,
) -> None:
    columns = _columns(app)
    world = _world(app)
    france, spain, italy = (world.countries[c] for c in ("France", "Spain", "Italy"))
    assert france < spain < italy
    [deal] = setup.insert(app, "Deals", [_deal(Amount=10.0, Account_Name=world.accounts["Spain"])])
    for step, territory, expected in (
        (_assign, italy, spain),
        (_unassign, italy, spain),
        (_assign, france, france),
        (_unassign, france, spain),
    ):
        step(app, deal, territory)
        assert [c.territory_id for c in _stored(app)] == [expected]
    _assert_consistent(app, columns)


def test_FC_12_run_rules_moves_the_deals_cells_in_the_jobs_transaction(app: Secteur) -> None:
    columns = _columns(app)
    accounts = setup.insert(
        app, "Accounts", [{"Account_Name": c, "Billing_Country": c} for c in COUNTRIES]
    )
    setup.insert(
        app, "Deals", [_deal(Amount=float(i), Account_Name=a) for i, a in enumerate(accounts)]
    )
    assert {c.territory_id for c in _stored(app)} == {0}
    root = setup.enable(app)
    france = setup.create(
        app, "France", root, accounts=setup.rule("Billing_Country", "equal", "France")
    )
    _run_rules(app, "Accounts")
    _run_rules(app, "Deals")
    assert {c.territory_id for c in _stored(app)} == {0, france}
    _assert_consistent(app, columns)


def test_TER_7_deleting_a_territory_with_transfer_moves_its_deals_cells(app: Secteur) -> None:
    columns = _columns(app)
    world = _world(app)
    setup.insert(app, "Deals", [_deal(Amount=7.5, Account_Name=world.accounts["France"])])
    _delete_territory(app, world.countries["France"], world.countries["Spain"])
    assert [c.territory_id for c in _stored(app)] == [world.countries["Spain"]]
    _assert_consistent(app, columns)


def test_FC_1_another_amount_or_date_field_rebuilds_the_cells(app: Secteur) -> None:
    _add_date_field(app)
    [deal] = setup.insert(app, "Deals", [_deal(Amount=200.0, Forecast_Date="2026-11-30")])
    revenue = _columns(app, "Expected_Revenue", "Forecast_Date")
    _install(app, revenue)
    [cell] = _stored(app)
    # Expected_Revenue = 200 × 10 % = 20.00; weighted by the probability again: 2.00.
    assert (cell.month, cell.amount_cents, cell.weighted_cents) == (202611, 2000, 200)
    setup.update(app, "Deals", deal, {"Amount": 300.0})
    _assert_consistent(app, revenue)


def test_ADR_0011_upgrading_an_org_without_triggers_installs_them_and_fills_the_cells(
    app: Secteur,
) -> None:
    columns = _columns(app)
    setup.insert(app, "Deals", [_deal(Amount=1.0), _deal(Amount=2.0, Stage="Closed Won")])
    with app.write() as tx:
        forecast_triggers.drop_forecast_triggers(tx.conn)
        tx.conn.execute(t.forecast_cells.delete())
        assert not forecast_triggers.installed(tx.conn)
    upgrade_schema(app)
    with app.read() as tx:
        assert forecast_triggers.installed(tx.conn)
    assert len(_stored(app)) == 2
    _assert_consistent(app, columns)


def test_ADR_0012_an_org_with_the_cells_but_no_branch_totals_gets_them_on_upgrade(
    app: Secteur,
) -> None:
    """An org upgraded to 0006 has the cells' triggers of 0011 only: `secteur db upgrade`
    installs the rest and fills the ancestor table and both rollups."""
    world = _world(app)
    setup.insert(
        app, "Deals", [_deal(Amount=5.0, Account_Name={"id": str(world.accounts["France"])})]
    )
    with app.write() as tx:
        for statement in forecast_branch_triggers.drop_statements(tx.conn.dialect):
            tx.conn.exec_driver_sql(statement)
        for table in (t.territory_ancestors, t.forecast_branches, t.forecast_owner_totals):
            tx.conn.execute(table.delete())
        assert not forecast_triggers.installed(tx.conn)
    upgrade_schema(app)
    with app.read() as tx:
        assert forecast_triggers.installed(tx.conn)
        france = forecast_repo.branches(tx.conn, *EVERY_MONTH, [world.root, world.europe])
        assert {(c.territory_id, c.deals) for c in france} == {(world.root, 1), (world.europe, 1)}
    _assert_consistent(app, _columns(app))


def test_ADR_0012_upgrading_a_database_from_revision_0005_fills_the_new_tables(
    app: Secteur,
) -> None:
    """`secteur db upgrade` on a database of the previous release, deals in it: migration 0006
    adds the tables and the cells' Σ probability, and the triggers are installed and filled."""
    world = _world(app)
    france = {"id": str(world.accounts["France"])}
    setup.insert(app, "Deals", [_deal(Amount=5.0, Probability=40, Account_Name=france)])
    with app.engine.connect() as conn, conn.begin():
        command.downgrade(migrate._config(conn), "0005")
        assert migrate.current_revision(conn) == "0005"
    upgrade_schema(app)
    with app.read() as tx:
        assert migrate.current_revision(tx.conn) == migrate.head_revision()
        assert forecast_triggers.installed(tx.conn)
        [branch] = forecast_repo.branches(tx.conn, *EVERY_MONTH, [world.europe])
        assert (branch.deals, branch.amount_cents, branch.probability_sum) == (1, 500, 4000)
    _assert_consistent(app, _columns(app))


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite: one writer at a time
def test_ADR_0012_a_territory_moved_while_a_deal_is_written_below_it_keeps_the_totals_exact(
    app: Secteur,
) -> None:
    """The move waits for the deal's transaction: otherwise the deal's change goes to the
    ancestors France had when its statement began, after the move took France's totals from
    them (Europe would keep a deal it no longer holds)."""
    world = _world(app)
    written, release = threading.Event(), threading.Event()

    def write_deal() -> None:
        with app.write() as tx:
            deal = _deal(Amount=7.0, Account_Name={"id": str(world.accounts["France"])})
            [result] = record_service.write_records(
                tx, setup.admin(tx), _deals(tx), [deal], mode=record_service.Mode.INSERT
            )
            assert result.code == "SUCCESS", result
            written.set()
            release.wait(10)

    writer = threading.Thread(target=write_deal)
    writer.start()
    assert written.wait(10)
    mover = threading.Thread(
        target=_move_territory, args=(app, world.countries["France"], world.root)
    )
    mover.start()
    mover.join(0.5)
    assert mover.is_alive(), "the move did not wait for the deal's transaction"
    release.set()
    writer.join(10)
    mover.join(10)
    _assert_consistent(app, _columns(app))
    with app.read() as tx:
        europe = forecast_repo.branches(tx.conn, *EVERY_MONTH, [world.europe])
        assert europe == []  # France (with its deal) is no longer below Europe


# --- every path, in any order ---


def test_FC_12_the_cells_always_equal_a_full_recomputation(app: Secteur) -> None:
    world = _world(app)
    _add_date_field(app)
    amounts = st.one_of(st.none(), st.integers(-(10**6), 10**9).map(lambda c: c / 100))
    probabilities = st.one_of(
        st.none(), st.integers(0, 100), st.integers(0, 1000).map(lambda p: p / 10)
    )
    dates = st.dates(date(2026, 1, 1), date(2027, 12, 31)).map(date.isoformat)
    picks = st.integers(0, 10**6)
    serial = itertools.count()

    class Cells(RuleBasedStateMachine):
        def __init__(self) -> None:
            # Each example starts without deals (a bulk delete, itself kept by the triggers),
            # with the accounts in their countries and the default fields. The territories
            # created and deleted stay from one example to the next, so no precondition reads
            # them (Hypothesis needs the same draws when it replays an example).
            super().__init__()
            self.columns = _columns(app)
            _install(app, self.columns)
            with app.write() as tx:
                tx.conn.execute(tx.state.table(_deals(tx)).table.delete())
                tx.conn.execute(
                    t.record_territories.delete().where(t.record_territories.c.module == "Deals")
                )
                tx.conn.execute(
                    t.deleted_records.delete().where(t.deleted_records.c.module == "Deals")
                )
            for country, account in world.accounts.items():
                setup.update(app, "Accounts", account, {"Billing_Country": country})
            with app.read() as tx:
                tree = tx.state.territory.tree
                assert tree is not None
                self.territories = [x for x in tree.by_id if x != tree.root_id]
            self.deals: list[int] = []
            self.binned: list[int] = []

        def pick(self, items: list[int], n: int) -> int:
            return items[n % len(items)]

        @rule(
            amount=amounts,
            stage=st.sampled_from(STAGES),
            closing=dates,
            account=st.sampled_from([None, *COUNTRIES]),
            owner=picks,
        )
        def create_deal(
            self, amount: float | None, stage: str, closing: str, account: str | None, owner: int
        ) -> None:
            values = _deal(Amount=amount, Stage=stage, Closing_Date=closing)
            values["Owner"] = {"id": str(self.pick(world.owners, owner))}
            if account is not None:
                values["Account_Name"] = {"id": str(world.accounts[account])}
            self.deals += setup.insert(app, "Deals", [values])

        @precondition(lambda self: self.deals)
        @rule(
            which=picks,
            amount=amounts,
            stage=st.one_of(st.none(), st.sampled_from(STAGES)),
            closing=st.one_of(st.none(), dates),
            other_date=st.one_of(st.none(), dates),
            probability=probabilities,
            owner=st.one_of(st.none(), picks),
        )
        def edit_deal(
            self,
            which: int,
            amount: float | None,
            stage: str | None,
            closing: str | None,
            other_date: str | None,
            probability: float | None,
            owner: int | None,
        ) -> None:
            changes: dict[str, Any] = {"Amount": amount, "Forecast_Date": other_date}
            if stage is not None:
                changes["Stage"] = stage
            if closing is not None:
                changes["Closing_Date"] = closing
            if probability is not None:
                changes["Probability"] = probability
            if owner is not None:
                changes["Owner"] = {"id": str(self.pick(world.owners, owner))}
            setup.update(app, "Deals", self.pick(self.deals, which), changes)

        @precondition(lambda self: self.deals)
        @rule(which=picks)
        def delete_deal(self, which: int) -> None:
            deal = self.pick(self.deals, which)
            _delete(app, deal)
            self.deals.remove(deal)
            self.binned.append(deal)

        @precondition(lambda self: self.binned)
        @rule(which=picks)
        def restore_deal(self, which: int) -> None:
            deal = self.pick(self.binned, which)
            _restore(app, deal)
            self.binned.remove(deal)
            self.deals.append(deal)

        @precondition(lambda self: self.deals)
        @rule(which=picks, territory=picks)
        def assign_territory(self, which: int, territory: int) -> None:
            deal, tid = self.pick(self.deals, which), self.pick(self.territories, territory)
            # Refused when already held, or when the deal holds two (the cap) already.
            with contextlib.suppress(territory_assignment.AssignmentRefused):
                _assign(app, deal, tid)

        @precondition(lambda self: self.deals)
        @rule(which=picks)
        def remove_manual_territory(self, which: int) -> None:
            deal = self.pick(self.deals, which)
            held = [tid for tid, manual in setup.held(app, deal).items() if manual]
            if held:
                _unassign(app, deal, held[0])

        @rule(module=st.sampled_from(["Accounts", "Deals"]))
        def run_rules(self, module: str) -> None:
            _run_rules(app, module)

        @rule(account=st.sampled_from(COUNTRIES), country=st.sampled_from(COUNTRIES))
        def move_account(self, account: str, country: str) -> None:
            setup.update(app, "Accounts", world.accounts[account], {"Billing_Country": country})

        @rule(country=st.sampled_from(COUNTRIES[:3]))
        def create_territory(self, country: str) -> None:
            if len(self.territories) >= 12:
                return
            name = f"{country} {next(serial)}"
            rule_ = setup.rule("Billing_Country", "equal", country)
            self.territories.append(setup.create(app, name, world.europe, accounts=rule_))

        @rule(which=picks, to=picks)
        def delete_territory_with_transfer(self, which: int, to: int) -> None:
            if len(self.territories) < 3:
                return
            doomed = self.pick([x for x in self.territories if x != world.europe], which)
            others = [x for x in self.territories if x not in self.branch(doomed)]
            _delete_territory(app, doomed, self.pick(others, to))
            self.territories.remove(doomed)

        def branch(self, territory: int) -> set[int]:
            with app.read() as tx:
                tree = tx.state.territory.tree
                assert tree is not None
                return set(tree.subtree(territory))

        @rule(which=picks, to=picks)
        def move_territory(self, which: int, to: int) -> None:
            # Anywhere but into its own branch (the service refuses that): under the root,
            # Europe or another country, taking its sub-territories along.
            moved = self.pick([x for x in self.territories if x != world.europe], which)
            below = self.branch(moved)
            targets = [world.root, *(x for x in self.territories if x not in below)]
            _move_territory(app, moved, self.pick(targets, to))

        @rule()
        def fold_deltas(self) -> None:
            _fold(app)

        @rule(
            amount=st.sampled_from(["Amount", "Expected_Revenue"]),
            date_field=st.sampled_from(["Closing_Date", "Forecast_Date"]),
        )
        def change_forecast_fields(self, amount: str, date_field: str) -> None:
            self.columns = _columns(app, amount, date_field)
            _install(app, self.columns)

        @invariant()
        def cells_equal_a_recomputation(self) -> None:
            _assert_consistent(app, self.columns)

    run_state_machine_as_test(  # type: ignore[no-untyped-call]  # untyped in Hypothesis
        Cells,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
