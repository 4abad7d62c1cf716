"""Run rules end to end (TER-24): job start to committed result, on SQLite and PostgreSQL.

    python -m bench.territory_run --sizes 100000 1000000 --territories 10000 --runs 3

For each database and size: an org with that many generated accounts and a generated tree
(`bench.territory_data`), then, timed from the job's claim to its committed completion, in a
worker process (`ru_maxrss` of that process is the peak memory reported):

* first run, cold worker — a fresh worker, no assignment stored yet: every pair is written;
* steady run, warm worker — the same worker again, nothing changed: nothing is written;
* rule edit preview and run, warm worker — one rule narrowed so that ~1 % of the accounts
  move: the preview writes nothing, the run writes only their rows;
* rule edit run, cold worker — the edit reverted, run by a freshly started worker.

Times are medians of `--runs` repetitions (assignments wiped before each).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import resource
import time
from datetime import timedelta
from typing import Any

from bench.common import median, org, save
from bench.territory_data import make_accounts, make_tree, rule_edit_moving_about
from secteur.adapters.db import metadata_repo, records_repo, territory_repo
from secteur.adapters.db import tables as t
from secteur.config import Settings
from secteur.domain.criteria import to_json
from secteur.domain.territories import Territory, TerritorySettings
from secteur.services import jobs, territory_runs
from secteur.services.app import Secteur

SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuv"
SAMPLE = 20_000
# The accounts' modified_time: a steady state where nothing changed in the last hour. With 0,
# every account counts as just changed (as right after a mass import), and the resident
# columns re-check their versions on each run.
LOADED_HOURS_AGO = float(os.environ.get("BENCH_LOADED_HOURS_AGO", "1"))


def _load(app: Secteur, size: int, territories: list[Territory]) -> None:
    with app.write() as tx:
        module = tx.state.module("Accounts")
        assert module is not None
        rt = tx.state.table(module)
        owner = next(iter(tx.state.directory.users))
        now = tx.now - timedelta(hours=LOADED_HOURS_AGO)
        accounts = make_accounts(size)
        while batch := list(itertools.islice(accounts, 20_000)):
            records_repo.insert(tx.conn, rt, batch, [owner] * len(batch), owner, now)
        _write_tree(tx.conn, territories, now, owner)
        territory_repo.save_settings(tx.conn, TerritorySettings(enabled=True))
        metadata_repo.bump_metadata_version(tx.conn)
        if tx.conn.dialect.name == "postgresql":
            tx.conn.exec_driver_sql("ANALYZE")
        else:
            tx.conn.exec_driver_sql("ANALYZE")


def _write_tree(conn: Any, territories: list[Territory], now: Any, owner: int) -> None:
    conn.execute(t.territories.delete())
    conn.execute(
        t.territories.insert(),
        [
            {
                "id": x.id,
                "name": x.name,
                "parent_id": x.parent_id,
                "sequence": x.sequence,
                "manager_id": None,
                "permission": x.permission.value,
                "description": None,
                "rules": {m: to_json(r) for m, r in x.rules.items()},
                "created_time": now,
                "modified_time": now,
                "created_by": owner,
                "modified_by": owner,
            }
            for x in territories
        ],
    )


def _replace_rule(app: Secteur, territory: Territory) -> None:
    with app.write() as tx:
        territory_repo.update_territory(
            tx.conn,
            territory.id,
            {"rules": {m: to_json(r) for m, r in territory.rules.items()}},
        )
        metadata_repo.bump_metadata_version(tx.conn)


def _worker(url: str, commands: Any, reports: Any) -> None:
    """A worker process: runs the queued job each time it is told to, keeping its caches
    (compiled rules, resident columns) between jobs as `secteur worker` does."""
    app = Secteur(Settings(database_url=url, secret_key=SECRET))
    while commands.get() == "run":
        start = time.perf_counter()
        job = jobs.run_next(app)
        seconds = time.perf_counter() - start
        assert job is not None
        with app.read() as tx:
            done = jobs.get(tx, job.id)
        assert done is not None and done.status is jobs.Status.COMPLETED, done
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        reports.put({"seconds": seconds, "peak_mb": peak_mb, "result": done.result})
    app.dispose()


class Worker:
    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.commands = context.Queue()
        self.reports = context.Queue()
        self.process = context.Process(target=_worker, args=(url, self.commands, self.reports))
        self.process.start()

    def run(self, app: Secteur, preview: bool = False) -> dict[str, Any]:
        with app.write() as tx:
            from secteur.domain.actor import actor_for

            actor = actor_for(tx.state.directory, next(iter(tx.state.directory.users)))
            assert actor is not None
            territory_runs.schedule(
                tx, actor, {"run_rules": {"module": {"api_name": "Accounts"}}}, preview=preview
            )
        self.commands.put("run")
        report: dict[str, Any] = self.reports.get(timeout=3600)
        result = report.pop("result")
        report["written"] = result.get("gained", 0) + result.get("lost", 0)
        report["records"] = result["records"]
        return report

    def stop(self) -> None:
        self.commands.put("stop")
        self.process.join(timeout=60)


def _wipe(app: Secteur) -> None:
    with app.write() as tx:
        tx.conn.execute(t.record_territories.delete())


def _summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "seconds_median": round(median([s["seconds"] for s in samples]), 3),
        "seconds_runs": [round(s["seconds"], 3) for s in samples],
        "peak_mb_max": round(max(s["peak_mb"] for s in samples)),
        "rows_written": samples[-1]["written"],
        "records": samples[-1]["records"],
    }


def run(sizes: list[int], n_territories: int, runs: int, backends: list[str]) -> dict[str, Any]:
    territories = make_tree(n_territories)
    sample = list(make_accounts(SAMPLE, seed=99))
    edit = rule_edit_moving_about(territories, sample, 0.01)
    edited = next(x for x in edit.territories if x.id == edit.territory_id)
    original = next(x for x in territories if x.id == edit.territory_id)
    results: list[dict[str, Any]] = []
    for backend in backends:
        for size in sizes:
            with org(backend) as app:
                url = str(app.engine.url.render_as_string(hide_password=False))
                started = time.perf_counter()
                _load(app, size, territories)
                load_seconds = time.perf_counter() - started
                first, cold, steady, edits, previews = [], [], [], [], []
                for _ in range(runs):
                    _replace_rule(app, original)
                    _wipe(app)
                    worker = Worker(url)
                    first.append(worker.run(app))  # a fresh worker: everything cold
                    steady.append(worker.run(app))  # the same worker, nothing changed
                    _replace_rule(app, edited)
                    previews.append(worker.run(app, preview=True))
                    edits.append(worker.run(app))
                    worker.stop()
                    _replace_rule(app, original)
                    fresh = Worker(url)  # a restarted worker after a rule edit
                    cold.append(fresh.run(app))
                    fresh.stop()
                row = {
                    "backend": backend,
                    "accounts": size,
                    "territories": n_territories,
                    "load_seconds": round(load_seconds, 1),
                    "first_run_cold_worker": _summary(first),
                    "steady_run_warm_worker": _summary(steady),
                    "rule_edit_preview_warm_worker": _summary(previews),
                    "rule_edit_run_warm_worker": _summary(edits),
                    "rule_edit_run_cold_worker": _summary(cold),
                    "rule_edit_expected_fraction": round(edit.fraction, 4),
                }
                print(row, flush=True)
                results.append(row)
    return {"results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--territories", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(save("territory_run", run(args.sizes, args.territories, args.runs, args.backends)))


if __name__ == "__main__":
    main()
