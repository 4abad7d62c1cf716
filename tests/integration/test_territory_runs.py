"""Run rules as a job (TER-24 … TER-26): bulk results equal save-time results, only the
difference is written, and a crash or a concurrent edit never leaves a wrong assignment."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from secteur.adapters.db import tables as t
from secteur.services import jobs, territory_runs
from secteur.services.app import Secteur
from tests.support import territories as setup
from tests.support.orgs import Clock

COUNTRIES = ["France", "Germany", "Spain", "Italy", "Japan"]


def _tree(app: Secteur) -> dict[str, int]:
    root = setup.enable(app)
    europe = setup.create(
        app, "Europe", root, accounts=setup.rule("Billing_Country", "in", COUNTRIES[:4])
    )
    ids = {"root": root, "europe": europe}
    for country in COUNTRIES[:4]:
        ids[country] = setup.create(
            app, country, europe, accounts=setup.rule("Billing_Country", "equal", country)
        )
    ids["big"] = setup.create(
        app, "Big", root, accounts=setup.rule("Annual_Revenue", "greater_than", 500_000)
    )
    return ids


def _accounts(n: int) -> list[dict[str, Any]]:
    return [
        {
            "Account_Name": f"Account {i}",
            "Billing_Country": COUNTRIES[i % len(COUNTRIES)],
            "Annual_Revenue": float(i * 10_000),
        }
        for i in range(n)
    ]


def _pairs(app: Secteur) -> set[tuple[int, int, bool]]:
    rt = t.record_territories
    with app.read() as tx:
        rows = tx.conn.execute(sa.select(rt.c.record_id, rt.c.territory_id, rt.c.manual))
        return {(r[0], r[1], bool(r[2])) for r in rows}


def _schedule(app: Secteur, body: dict[str, Any] | None = None, *, preview: bool = False) -> int:
    with app.write() as tx:
        return territory_runs.schedule(
            tx,
            setup.admin(tx),
            {"run_rules": body or {"module": {"api_name": "Accounts"}}},
            preview=preview,
        )


def _job(app: Secteur, job_id: int) -> jobs.Job:
    with app.read() as tx:
        found = jobs.get(tx, job_id)
    assert found is not None
    return found


def _wipe_automatic(app: Secteur) -> None:
    with app.write() as tx:
        tx.conn.execute(
            t.record_territories.delete().where(t.record_territories.c.manual.is_(False))
        )


def test_TER_24_a_run_gives_every_record_what_its_save_would_have_given(app: Secteur) -> None:
    _tree(app)
    setup.insert(app, "Accounts", _accounts(60))
    saved = _pairs(app)
    assert saved  # assigned on save (TER-10)
    _wipe_automatic(app)
    job_id = _schedule(app)
    assert setup.run_jobs(app) == 1
    job = _job(app, job_id)
    assert job.status is jobs.Status.COMPLETED
    assert (job.done, job.total) == (60, 60)
    assert _pairs(app) == saved


def test_TER_24_a_rule_edit_writes_only_the_records_it_moves(app: Secteur) -> None:
    ids = _tree(app)
    setup.insert(app, "Accounts", _accounts(50))
    with app.write() as tx:
        from secteur.services import territories

        territories.update_territory(
            tx,
            setup.admin(tx),
            ids["big"],
            0,
            {"account_rule_criteria": setup.rule("Annual_Revenue", "greater_than", 450_000)},
        )
    before = _pairs(app)
    job_id = _schedule(app)
    setup.run_jobs(app)
    result = _job(app, job_id).result
    assert result is not None
    after = _pairs(app)
    # Revenues 460k … 490k now cross the new threshold: exactly those 4 rows are written.
    moved = after ^ before
    assert result["gained"] + result["lost"] == len(moved) == 4


def test_TER_24_only_one_run_at_a_time(app: Secteur) -> None:
    _tree(app)
    first = _schedule(app)
    with pytest.raises(territory_runs.AlreadyScheduled) as caught:
        _schedule(app)
    assert caught.value.details == {"job_id": str(first)}
    setup.run_jobs(app)
    _schedule(app)  # the first one finished: a new run may start


def test_TER_24_based_on_territories_touches_only_their_records(app: Secteur) -> None:
    ids = _tree(app)
    setup.insert(app, "Accounts", _accounts(40))
    [rich] = setup.insert(
        app,
        "Accounts",
        [{"Account_Name": "Rich", "Billing_Country": "France", "Annual_Revenue": 900_000.0}],
    )
    _wipe_automatic(app)
    _schedule(
        app,
        {
            "module": {"api_name": "Accounts"},
            "based_on": "territories",
            "territories": [{"id": str(ids["France"])}],
        },
    )
    setup.run_jobs(app)
    pairs = _pairs(app)
    # The French accounts get their whole assignment (Big too); nobody else is touched.
    assert {tid for _, tid, _ in pairs} == {ids["France"], ids["big"]}
    assert len({rid for rid, _, _ in pairs}) == 9
    assert setup.held(app, rich) == {ids["France"]: False, ids["big"]: False}


def test_TER_26_preview_reports_gains_and_losses_and_changes_nothing(app: Secteur) -> None:
    ids = _tree(app)
    setup.insert(app, "Accounts", _accounts(25))
    _wipe_automatic(app)
    job_id = _schedule(app, {"module": {"api_name": "Accounts"}, "record_ids": True}, preview=True)
    setup.run_jobs(app)
    assert _pairs(app) == set()
    result = _job(app, job_id).result
    assert result is not None
    by_name = {entry["territory"]["name"]: entry for entry in result["preview"]}
    assert by_name["France"]["gained"] == 5 and by_name["France"]["lost"] == 0
    assert len(by_name["France"]["record_ids"]["gained"]) == 5
    assert "Big" not in by_name  # revenues stay under 500k: nothing to gain or lose
    # A preview and a run compute the same thing.
    run = _schedule(app)
    setup.run_jobs(app)
    run_result = _job(app, run).result
    assert run_result is not None
    assert run_result["gained"] == result["gained"]
    assert {tid for _, tid, _ in _pairs(app)} <= set(ids.values())


def test_TER_16_a_run_never_touches_manual_assignments(app: Secteur) -> None:
    ids = _tree(app)
    [account] = setup.insert(
        app, "Accounts", [{"Account_Name": "Manual", "Billing_Country": "Japan"}]
    )
    from secteur.services import territory_assignment

    with app.write() as tx:
        module = tx.state.module("Accounts")
        assert module is not None
        from secteur.adapters.db import records_repo

        record = records_repo.fetch(tx.conn, tx.state.table(module), [account])[account]
        territory_assignment.assign_manually(tx, setup.admin(tx), module, record, [ids["Spain"]])
    _schedule(app)
    setup.run_jobs(app)
    assert setup.held(app, account) == {ids["Spain"]: True}


class Crash(BaseException):
    """A worker dying mid-job: not an error the job runner catches."""


def test_TER_25_a_crash_mid_write_changes_nothing_and_the_next_worker_finishes_the_job(
    app: Secteur, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(app)
    setup.insert(app, "Accounts", _accounts(40))
    expected = _pairs(app)
    _wipe_automatic(app)
    job_id = _schedule(app)

    real_insert = territory_runs.territory_snapshot.insert_pairs

    def dying_insert(*args: Any, **kwargs: Any) -> None:
        real_insert(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(territory_runs.territory_snapshot, "insert_pairs", dying_insert)
    with pytest.raises(Crash):
        jobs.run_next(app)
    # Nothing half-written: the transaction that wrote the pairs never committed.
    assert _pairs(app) == set()
    assert _job(app, job_id).status is jobs.Status.IN_PROGRESS
    monkeypatch.setattr(territory_runs.territory_snapshot, "insert_pairs", real_insert)
    # Another worker does not take a job whose lease is still running…
    assert jobs.run_next(app) is None
    # …but does once the dead worker's lease has expired.
    clock.advance(jobs.LEASE + timedelta(seconds=1))
    assert jobs.run_next(app) is not None
    job = _job(app, job_id)
    assert job.status is jobs.Status.COMPLETED and job.attempts == 2
    assert _pairs(app) == expected


def test_TER_25_records_saved_during_a_run_end_with_what_their_final_values_call_for(
    app: Secteur, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _tree(app)
    accounts = setup.insert(app, "Accounts", _accounts(20))
    _wipe_automatic(app)
    moving = accounts[0]  # France at first
    _schedule(app)
    real_plan = territory_runs._plan

    def plan_then_edit(*args: Any, **kwargs: Any) -> Any:
        computed = real_plan(*args, **kwargs)
        # Saved by someone else while the job computed (before its write transaction).
        edit = threading.Thread(
            target=setup.update, args=(app, "Accounts", moving, {"Billing_Country": "Germany"})
        )
        edit.start()
        edit.join()
        return computed

    monkeypatch.setattr(territory_runs, "_plan", plan_then_edit)
    setup.run_jobs(app)
    assert setup.held(app, moving) == {ids["Germany"]: False}


def test_TER_25_a_job_is_run_by_exactly_one_of_several_workers(app: Secteur) -> None:
    _tree(app)
    setup.insert(app, "Accounts", _accounts(10))
    _schedule(app)
    ran: list[Any] = []
    start = threading.Barrier(3)

    def worker() -> None:
        start.wait()
        ran.append(jobs.run_next(app))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([job for job in ran if job is not None]) == 1


def test_TER_24_resident_columns_follow_creates_edits_and_deletes_between_runs(
    app: Secteur,
) -> None:
    from secteur.services.records import delete_records

    ids = _tree(app)
    accounts = setup.insert(app, "Accounts", _accounts(30))
    _schedule(app)
    setup.run_jobs(app)  # loads the resident columns
    setup.update(app, "Accounts", accounts[0], {"Billing_Country": "Japan"})
    [late] = setup.insert(app, "Accounts", [{"Account_Name": "Late", "Billing_Country": "Spain"}])
    with app.write() as tx:
        module = tx.state.module("Accounts")
        assert module is not None
        delete_records(tx, setup.admin(tx), module, [accounts[1]])
    expected = _pairs(app)
    _wipe_automatic(app)
    _schedule(app)
    setup.run_jobs(app)  # refreshes from what changed, then evaluates
    assert setup.held(app, late) == {ids["Spain"]: False}
    assert setup.held(app, accounts[0]) == {}
    # Pairs of the record in the recycle bin stay with it (restored with it), none are added.
    assert _pairs(app) - {p for p in expected if p[0] == accounts[1]} == {
        p for p in expected if p[0] != accounts[1]
    }


def test_TER_25_a_worker_whose_lease_expired_does_not_commit_over_the_one_that_took_over(
    app: Secteur, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(app)
    setup.insert(app, "Accounts", _accounts(20))
    expected = _pairs(app)
    _wipe_automatic(app)
    job_id = _schedule(app)
    real_plan = territory_runs._plan
    took_over: list[bool] = []

    def slow_plan(*args: Any, **kwargs: Any) -> Any:
        computed = real_plan(*args, **kwargs)
        if not took_over:
            took_over.append(True)
            # This worker stalls past its lease; another one claims and finishes the job.
            clock.advance(jobs.LEASE + timedelta(seconds=1))
            assert jobs.run_next(app) is not None
        return computed

    monkeypatch.setattr(territory_runs, "_plan", slow_plan)
    assert jobs.run_next(app) is not None  # the stalled run ends without committing
    job = _job(app, job_id)
    assert job.status is jobs.Status.COMPLETED and job.attempts == 2
    assert _pairs(app) == expected
