"""Forecast summaries from trigger-kept cells (issue 6, ADR 0011), on SQLite and PostgreSQL.

    python -m bench.forecast_summary --sizes 100000 1000000 --territories 10000 --runs 5

For each database and size: an org with a generated territory tree (`bench.territory_data`)
and that many deals, spread over 8 quarters (2026–2027), ~50 owners (two per territory, as a
territory's members), the standard stages, each deal assigned to one territory through
`record_territories`. Measured:

* the cost of writing with the triggers against without: a bulk insert of deals and of their
  territory pairs (the write step of run rules), the delete of both, and single-deal saves
  through the service (one transaction each);
* one quarter's cells summed by (territory, owner, stage), median of `--runs`;
* the roll-up of those cells up the tree to the root with all descendants, per forecast
  category, in pure Python and in NumPy (reference implementations: the real engine lives in
  `secteur.domain.forecasts`).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from tests.support.territories import admin

from bench.common import median, org, save
from bench.territory_data import make_tree
from secteur.adapters.db import (
    forecast_repo,
    forecast_triggers,
    metadata_repo,
    records_repo,
    territory_repo,
)
from secteur.adapters.db import tables as t
from secteur.adapters.db.territory_snapshot import insert_pairs
from secteur.domain.catalog import DEAL_STAGES
from secteur.domain.criteria import to_json
from secteur.domain.forecasts import Period
from secteur.domain.territories import Territory, TerritorySettings
from secteur.services import forecasts
from secteur.services.app import Secteur
from secteur.services.records import Mode, write_records

OWNERS = 50
STAGES = [(name, probability) for name, probability, _ in DEAL_STAGES]
CATEGORIES = {name: i for i, name in enumerate(sorted({c for _, _, c in DEAL_STAGES}))}
STAGE_CATEGORY = {name: CATEGORIES[category] for name, _, category in DEAL_STAGES}
FIRST = date(2026, 1, 1)
QUARTER = (202604, 202606)
WRITE_BATCH = 10_000
SINGLE_SAVES = 100
OWNER_BASE = 3652397030001000001


@dataclass(frozen=True)
class Deals:
    values: list[dict[str, Any]]
    owners: list[int]
    territories: list[int]


def _tree(n_territories: int) -> list[Territory]:
    return make_tree(n_territories)


def make_deals(n: int, territories: Sequence[int], seed: int) -> Deals:
    rng = random.Random(seed)
    values, owners, assigned = [], [], []
    for i in range(n):
        territory = territories[rng.randrange(len(territories))]
        stage, probability = STAGES[rng.randrange(len(STAGES))]
        values.append(
            {
                "Deal_Name": f"Deal {i}",
                "Amount": rng.randrange(100, 10_000_000) / 100,
                "Stage": stage,
                "Probability": float(probability),
                "Closing_Date": FIRST + timedelta(days=rng.randrange(730)),
            }
        )
        owners.append(OWNER_BASE + (territory + rng.randrange(2)) % OWNERS)
        assigned.append(territory)
    return Deals(values, owners, assigned)


def _chunks(deals: Deals, size: int) -> Iterator[Deals]:
    for start in range(0, len(deals.values), size):
        end = start + size
        yield Deals(deals.values[start:end], deals.owners[start:end], deals.territories[start:end])


def _deals(tx: Any) -> Any:
    module = tx.state.module("Deals")
    assert module is not None
    return tx.state.table(module)


def _columns(tx: Any) -> forecast_triggers.ForecastColumns:
    return forecast_triggers.forecast_columns(_deals(tx))


def _write_tree(conn: sa.Connection, territories: list[Territory], now: Any, owner: int) -> None:
    conn.execute(t.territories.delete())
    conn.execute(
        t.territories.insert(),
        [
            {
                "id": x.id,
                "name": x.name,
                "parent_id": x.parent_id,
                "sequence": x.sequence,
                "permission": x.permission.value,
                "rules": {m: to_json(r) for m, r in x.rules.items()},
                "created_time": now,
                "modified_time": now,
                "created_by": owner,
                "modified_by": owner,
            }
            for x in territories
        ],
    )


def _insert(tx: Any, deals: Deals) -> list[int]:
    """Deals, then their territory pairs, as bulk writes (the pairs as run rules writes them)."""
    rt = _deals(tx)
    actor = next(iter(tx.state.directory.users))
    ids = records_repo.insert(tx.conn, rt, deals.values, deals.owners, actor, tx.now)
    return ids


def _pairs(tx: Any, ids: list[int], territories: list[int]) -> None:
    insert_pairs(tx.conn, "Deals", np.array(ids), np.array(territories), tx.now)


def _load(app: Secteur, deals: Deals, territories: list[Territory]) -> dict[str, float]:
    timings: dict[str, float] = {}
    with app.write() as tx:
        forecast_triggers.drop_forecast_triggers(tx.conn)
        _write_tree(tx.conn, territories, tx.now, next(iter(tx.state.directory.users)))
        start = time.perf_counter()
        ids: list[int] = []
        for chunk in _chunks(deals, 20_000):
            ids += _insert(tx, chunk)
        timings["load_deals_s"] = time.perf_counter() - start
        start = time.perf_counter()
        for begin in range(0, len(ids), 100_000):
            _pairs(tx, ids[begin : begin + 100_000], deals.territories[begin : begin + 100_000])
        timings["load_pairs_s"] = time.perf_counter() - start
    with app.write() as tx:
        start = time.perf_counter()
        forecast_triggers.install_forecast_triggers(tx.conn, _columns(tx))
        timings["install_and_rebuild_s"] = time.perf_counter() - start
    with app.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return {k: round(v, 2) for k, v in timings.items()}


def _bulk_writes(app: Secteur, deals: Deals) -> dict[str, float]:
    """µs per row: deals inserted, their pairs inserted, pairs deleted, deals deleted."""
    out: dict[str, float] = {}
    n = len(deals.values)
    with app.write() as tx:
        start = time.perf_counter()
        ids = _insert(tx, deals)
        out["insert_deal_us"] = (time.perf_counter() - start) / n * 1e6
        start = time.perf_counter()
        _pairs(tx, ids, deals.territories)
        out["insert_pair_us"] = (time.perf_counter() - start) / n * 1e6
    with app.write() as tx:
        rt = _deals(tx).table
        start = time.perf_counter()
        tx.conn.execute(
            t.record_territories.delete().where(t.record_territories.c.record_id >= min(ids))
        )
        out["delete_pair_us"] = (time.perf_counter() - start) / n * 1e6
        start = time.perf_counter()
        tx.conn.execute(rt.delete().where(rt.c.id >= min(ids)))
        out["delete_deal_us"] = (time.perf_counter() - start) / n * 1e6
    return {k: round(v, 1) for k, v in out.items()}


def _single_saves(app: Secteur, deals: Deals) -> float:
    """Median ms of a one-deal create through the service (validation, write, audit…)."""
    times = []
    for values in deals.values:
        item = {**values, "Closing_Date": values["Closing_Date"].isoformat()}
        start = time.perf_counter()
        with app.write() as tx:
            module = tx.state.module("Deals")
            assert module is not None
            [result] = write_records(tx, admin(tx), module, [item], mode=Mode.INSERT)
        times.append(time.perf_counter() - start)
        assert result.code == "SUCCESS", result
    with app.write() as tx:
        rt = _deals(tx)
        name = rt.column(rt.module.fields[0])
        tx.conn.execute(rt.table.delete().where(name.like("Save %")))
    return round(median(times) * 1e3, 2)


def _write_costs(app: Secteur, territories: list[int], rounds: int = 3) -> dict[str, Any]:
    """With and without the triggers, alternately (the machine is shared): medians."""
    bulk = make_deals(WRITE_BATCH, territories, seed=11)
    singles = make_deals(SINGLE_SAVES, territories, seed=12)
    for i, values in enumerate(singles.values):
        values["Deal_Name"] = f"Save {i}"
    samples: dict[str, list[dict[str, float]]] = {"with_triggers": [], "without_triggers": []}
    for _ in range(rounds):
        for kind in samples:
            if kind == "without_triggers":
                with app.write() as tx:
                    forecast_triggers.drop_forecast_triggers(tx.conn)
            samples[kind].append(
                {**_bulk_writes(app, bulk), "single_save_ms": _single_saves(app, singles)}
            )
            if kind == "without_triggers":
                with app.write() as tx:
                    forecast_triggers.install_forecast_triggers(tx.conn, _columns(tx))
    return {
        kind: {key: round(median([r[key] for r in runs]), 2) for key in runs[0]}
        for kind, runs in samples.items()
    }


# --- reference roll-ups: the root's figures with all descendants, per category ---


@dataclass(frozen=True)
class TreeIndex:
    ids: np.ndarray  # sorted territory ids
    parent: np.ndarray  # index of each node's parent, -1 at the root
    levels: list[np.ndarray]  # node indexes by depth, root first
    parent_of: dict[int, int | None]
    postorder: list[int]


def tree_index(territories: list[Territory]) -> TreeIndex:
    ids = np.array(sorted(x.id for x in territories), dtype=np.int64)
    by_id = {x.id: x for x in territories}
    parents = [by_id[i].parent_id for i in ids.tolist()]
    parent = np.array(
        [-1 if p is None else int(np.searchsorted(ids, p)) for p in parents],
        dtype=np.int64,
    )
    depth = np.zeros(len(ids), dtype=np.int64)
    children: dict[int | None, list[int]] = {}
    for x in territories:  # pre-order: parents before children
        children.setdefault(x.parent_id, []).append(x.id)
        if x.parent_id is not None:
            depth[np.searchsorted(ids, x.id)] = depth[np.searchsorted(ids, x.parent_id)] + 1
    levels = [np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1)]
    postorder = [x.id for x in reversed(territories)]
    return TreeIndex(ids, parent, levels, {x.id: x.parent_id for x in territories}, postorder)


def rollup_python(cells: list[forecast_repo.Cell], tree: TreeIndex) -> list[list[int]]:
    totals: dict[int, list[int]] = {}
    for c in cells:
        row = totals.get(c.territory_id)
        if row is None:
            row = totals[c.territory_id] = [0] * (3 * len(CATEGORIES))
        k = 3 * STAGE_CATEGORY.get(c.stage, CATEGORIES["pipeline"])
        row[k] += c.deals
        row[k + 1] += c.amount_cents
        row[k + 2] += c.weighted_cents
    for node in tree.postorder:  # children before parents
        parent = tree.parent_of[node]
        own = totals.get(node)
        if parent is None or own is None:
            continue
        up = totals.get(parent)
        if up is None:
            totals[parent] = list(own)
        else:
            for k, v in enumerate(own):
                up[k] += v
    root = tree.postorder[-1]
    return [totals.get(root, [0] * (3 * len(CATEGORIES)))]


def read_columns(conn: sa.Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The quarter's cells as arrays (territory, category, measures), through the driver."""
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    cursor.execute(
        "SELECT territory_id, stage, sum(deals), sum(amount_cents), sum(weighted_cents) "
        f"FROM forecast_cells WHERE month BETWEEN {marker} AND {marker} "
        "GROUP BY territory_id, stage",
        QUARTER,
    )
    rows = cursor.fetchall()
    cursor.close()
    territory = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    category = np.fromiter(
        (STAGE_CATEGORY.get(r[1], CATEGORIES["pipeline"]) for r in rows), np.int64, len(rows)
    )
    measures = np.array([r[2:] for r in rows], dtype=np.int64).reshape(-1, 3)
    return territory, category, measures


def rollup_numpy(
    territory: np.ndarray, category: np.ndarray, measures: np.ndarray, tree: TreeIndex
) -> np.ndarray:
    totals = np.zeros((len(tree.ids), len(CATEGORIES), 3), dtype=np.int64)
    known = np.isin(territory, tree.ids)
    node = np.searchsorted(tree.ids, territory[known])
    np.add.at(totals, (node, category[known]), measures[known])
    for level in reversed(tree.levels[1:]):
        np.add.at(totals, tree.parent[level], totals[level])
    root: np.ndarray = totals[tree.levels[0][0]]
    return root


def _reads(app: Secteur, tree: TreeIndex, runs: int) -> dict[str, Any]:
    read, read_cols, python, numpy_ = [], [], [], []
    cells: list[forecast_repo.Cell] = []
    for _ in range(runs):
        with app.read() as tx:
            start = time.perf_counter()
            cells = forecast_repo.cells(tx.conn, *QUARTER)
            read.append(time.perf_counter() - start)
            start = time.perf_counter()
            columns = read_columns(tx.conn)
            read_cols.append(time.perf_counter() - start)
        start = time.perf_counter()
        by_python = rollup_python(cells, tree)
        python.append(time.perf_counter() - start)
        start = time.perf_counter()
        by_numpy = rollup_numpy(*columns, tree)
        numpy_.append(time.perf_counter() - start)
        assert by_numpy.reshape(-1).tolist() == by_python[0], "the two roll-ups disagree"
    return {
        "quarter_cells": len(cells),
        "read_cells_ms": round(median(read) * 1e3, 1),
        "read_columns_ms": round(median(read_cols) * 1e3, 1),
        "rollup_python_ms": round(median(python) * 1e3, 1),
        "rollup_numpy_ms": round(median(numpy_) * 1e3, 1),
        "read_cells_plus_python_ms": round((median(read) + median(python)) * 1e3, 1),
        "read_columns_plus_numpy_ms": round((median(read_cols) + median(numpy_)) * 1e3, 1),
    }


def _service(app: Secteur, runs: int) -> dict[str, Any]:
    """The real path: `services.forecasts.summary` of the quarter at the root, all descendants
    (territory forecast; the settings turn territory management on for it)."""
    with app.write() as tx:
        territory_repo.save_settings(tx.conn, TerritorySettings(enabled=True))
        metadata_repo.bump_metadata_version(tx.conn)
    with app.write() as tx:
        period = Period.containing(date(QUARTER[0] // 100, QUARTER[0] % 100, 1), "quarterly")
        forecast_id = forecasts.create_forecast(tx, admin(tx), {"period": period.key})
    timings = []
    rows: list[Any] = []
    for _ in range(runs):
        with app.read() as tx:
            actor = admin(tx)
            forecasts.hierarchy(tx, forecasts.current_kind(tx))  # the tree, cached per request
            start = time.perf_counter()
            rows = forecasts.summary(tx, actor, forecast_id, None, True)
            timings.append(time.perf_counter() - start)
    return {
        "service_summary_root_ms": round(median(timings) * 1e3, 1),
        "service_summary_rows": len(rows),
    }


def _check(app: Secteur) -> int:
    with app.read() as tx:
        stored = sorted(forecast_repo.cells(tx.conn, *QUARTER, by_month=True))
        recomputed = forecast_repo.recompute(tx.conn, _columns(tx), *QUARTER, by_month=True)
        assert stored == sorted(recomputed)
        return sum(c.deals for c in stored)


def run(sizes: list[int], n_territories: int, runs: int, backends: list[str]) -> dict[str, Any]:
    territories = _tree(n_territories)
    tree = tree_index(territories)
    ids = [x.id for x in territories if x.parent_id is not None]
    results = []
    for backend in backends:
        for size in sizes:
            with org(backend) as app:
                deals = make_deals(size, ids, seed=size)
                row: dict[str, Any] = {"backend": backend, "deals": size}
                row["territories"] = n_territories
                row.update(_load(app, deals, territories))
                row["quarter_deals"] = _check(app)
                row.update(_reads(app, tree, runs))
                row.update(_service(app, runs))
                row["writes"] = _write_costs(app, ids)
                print(row, flush=True)
                results.append(row)
    return {"results": results, "quarter": QUARTER, "owners": OWNERS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--territories", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(save("forecast_summary", run(args.sizes, args.territories, args.runs, args.backends)))


if __name__ == "__main__":
    main()
