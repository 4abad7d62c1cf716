"""Forecast summaries from trigger-kept cells (issue 6, ADR 0011), on SQLite and PostgreSQL.

    python -m bench.forecast_summary --sizes 100000 1000000 --territories 10000 --runs 5

For each database and size: an org with a generated territory tree (`bench.territory_data`),
a 500-role tree shaped like a sales org (the CEO → 5 VPs → 25 directors → 125 managers → 344
reps, each manager over two or three) with one user in each role (the administrator is the
CEO), and that many deals, spread over 8 quarters (2026–2027) and over those 500 users (two per
territory, written as the territory's members), the standard stages, each deal assigned to one
territory through `record_territories`. Measured:

* the cost of writing with the triggers against without: a bulk insert of deals and of their
  territory pairs (the write step of run rules), the delete of both, and single-deal saves
  through the service (one transaction each);
* one quarter's cells summed by (territory, owner, stage), median of `--runs`;
* the roll-up of those cells up the tree to the root with all descendants, per forecast
  category, in pure Python and in NumPy (reference implementations: the real engine lives in
  `secteur.domain.forecasts`);
* the real path, `services.forecasts.summary` of the quarter at the root with all descendants,
  median of `--runs`: a role forecast (deals counted in their owner's role, territory
  management off, FC-2) and a territory forecast (territory management on).
"""

from __future__ import annotations

import argparse
import math
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
    directory_repo,
    forecast_repo,
    forecast_triggers,
    records_repo,
    territory_repo,
)
from secteur.adapters.db import tables as t
from secteur.adapters.db.territory_snapshot import insert_pairs
from secteur.domain.catalog import DEAL_STAGES
from secteur.domain.criteria import to_json
from secteur.domain.directory import UserStatus
from secteur.domain.forecasts import HierarchyKind, Period, SummaryRow
from secteur.domain.territories import Territory, TerritorySettings
from secteur.services import forecasts
from secteur.services.app import Secteur
from secteur.services.records import Mode, write_records
from secteur.services.setup import standard_profiles

# Roles below the CEO by level, each level's roles spread evenly over the level above; the
# rest of `ROLES` are reps under the managers.
ROLE_LEVELS = (("VP", 5), ("Director", 25), ("Manager", 125))
ROLES = 500
OWNERS = ROLES  # one user per role, in the roles' order: the administrator (CEO) first
STAGES = [(name, probability) for name, probability, _ in DEAL_STAGES]
CATEGORIES = {name: i for i, name in enumerate(sorted({c for _, _, c in DEAL_STAGES}))}
STAGE_CATEGORY = {name: CATEGORIES[category] for name, _, category in DEAL_STAGES}
FIRST = date(2026, 1, 1)
QUARTER = (202604, 202606)
WRITE_BATCH = 10_000
SINGLE_SAVES = 100
OWNER_BASE = 3652397030001000001  # the users' first id: the administrator's


@dataclass(frozen=True)
class Deals:
    values: list[dict[str, Any]]
    owners: list[int]
    territories: list[int]


@dataclass(frozen=True)
class RoleSpec:
    name: str
    manager: int  # the index of its manager's role in the level above (0 for the CEO)


def make_roles(n: int = ROLES) -> list[list[RoleSpec]]:
    """A sales org's role tree of `n` roles, level by level: the CEO, `ROLE_LEVELS`, then reps
    (the rest), each level's roles given in turn to the roles of the level above. Counted level
    by level, the user of role k is `OWNER_BASE + k`."""
    levels = [[RoleSpec("CEO", 0)]]
    reps = n - 1 - sum(count for _, count in ROLE_LEVELS)
    for name, count in (*ROLE_LEVELS, ("Rep", reps)):
        above = len(levels[-1])
        levels.append([RoleSpec(f"{name} {i + 1}", i % above) for i in range(count)])
    return levels


def members(territory: int) -> tuple[int, int]:
    """The territory's two members, who own its deals."""
    return (OWNER_BASE + territory % OWNERS, OWNER_BASE + (territory + 1) % OWNERS)


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
        owners.append(members(territory)[rng.randrange(2)])
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


def _write_members(conn: sa.Connection, territories: list[Territory], now: Any) -> None:
    conn.execute(
        t.territory_members.insert(),
        [
            {"territory_id": x.id, "user_id": user, "added_time": now}
            for x in territories
            if x.parent_id is not None
            for user in members(x.id)
        ],
    )


def _insert_ids(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    """One bulk insert; the new ids in the rows' order."""
    query = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return [int(i) for i in conn.execute(query, rows).scalars()]


def _write_roles(conn: sa.Connection, now: Any, actor: int) -> None:
    """`make_roles` below the org's root role (the CEO), a level at a time (a role names its
    manager's id), then a user in each new role: the users `OWNER_BASE + 1 …`."""
    stamps = directory_repo.stamp(now, actor)
    root = sa.select(t.roles.c.id).where(t.roles.c.reporting_to.is_(None))
    above = [int(conn.execute(root).scalar_one())]
    roles: list[int] = []
    for level in make_roles()[1:]:
        above = _insert_ids(
            conn,
            t.roles,
            [
                {"name": r.name, "reporting_to": above[r.manager], "share_with_peers": False}
                | stamps
                for r in level
            ],
        )
        roles += above
    _, standard = standard_profiles()
    profile = sa.select(t.profiles.c.id).where(t.profiles.c.name == standard.name)
    profile_id = int(conn.execute(profile).scalar_one())
    rows = [_user(k, role, profile_id) | stamps for k, role in enumerate(roles, 1)]
    users = _insert_ids(conn, t.users, rows)
    assert users == [OWNER_BASE + k for k in range(1, OWNERS)], "the deals' owners are other ids"


def _user(k: int, role: int, profile: int) -> dict[str, Any]:
    email = f"owner{k}@bench.secteur.example"
    return {
        "last_name": f"Owner {k}",
        "email": email,
        "email_key": email,
        "status": UserStatus.ACTIVE.value,
        "role_id": role,
        "profile_id": profile,
    }


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
        actor = next(iter(tx.state.directory.users))
        _write_roles(tx.conn, tx.now, actor)
        _write_tree(tx.conn, territories, tx.now, actor)
        _write_members(tx.conn, territories, tx.now)
        tx.metadata_changed()  # the new roles and users: the directory is reloaded
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


def _territory_management(app: Secteur, enabled: bool) -> None:
    with app.write() as tx:
        territory_repo.save_settings(tx.conn, TerritorySettings(enabled=enabled))
        tx.metadata_changed()


def _create_forecast(app: Secteur, kind: HierarchyKind) -> int:
    """A forecast of the quarter on `kind`, the current hierarchy (FC-2)."""
    with app.write() as tx:
        period = Period.containing(date(QUARTER[0] // 100, QUARTER[0] % 100, 1), "quarterly")
        body = {"period": period.key, "hierarchy": kind.value}
        return forecasts.create_forecast(tx, admin(tx), body)


def _summaries(
    app: Secteur, forecast_id: int, kind: HierarchyKind, runs: int
) -> tuple[float, list[SummaryRow]]:
    """Median ms of the forecast's summary at the root, all descendants; the last rows."""
    timings = []
    rows: list[SummaryRow] = []
    for _ in range(runs):
        with app.read() as tx:
            actor = admin(tx)
            forecasts.hierarchy(tx, kind)  # the tree, cached per request
            start = time.perf_counter()
            rows = forecasts.summary(tx, actor, forecast_id, None, True)
            timings.append(time.perf_counter() - start)
    return round(median(timings) * 1e3, 1), rows


def _same_root(role: list[SummaryRow], territory: list[SummaryRow]) -> bool:
    """Every deal has an owner in some role and a territory: both roots count them all."""
    a, b = role[0].metrics, territory[0].metrics
    return all(
        math.isclose(getattr(a, k), getattr(b, k), abs_tol=0.01)
        for k in ("achieved", "pipeline", "weighted_pipeline", "best_case", "commit")
    )


def _service(app: Secteur, runs: int) -> dict[str, Any]:
    """The real path: `services.forecasts.summary` of the quarter at the root, all descendants,
    of a role forecast (territory management off), then of a territory forecast (on)."""
    _territory_management(app, False)
    role_id = _create_forecast(app, HierarchyKind.ROLE)
    role_ms, role = _summaries(app, role_id, HierarchyKind.ROLE, runs)
    _territory_management(app, True)
    territory_id = _create_forecast(app, HierarchyKind.TERRITORY)
    territory_ms, territory = _summaries(app, territory_id, HierarchyKind.TERRITORY, runs)
    assert _same_root(role, territory), "the role and territory roots disagree"
    return {
        "service_summary_root_ms": territory_ms,
        "service_summary_rows": len(territory),
        "service_summary_role_root_ms": role_ms,
        "service_summary_role_rows": len(role),
        "territory_forecast": territory_id,
    }


def _after_writes(
    app: Secteur, forecast_id: int, territories: list[int], runs: int
) -> dict[str, Any]:
    """The territory root summary again after a bulk write (10,000 deals and their pairs, as a
    run rules writes them): on PostgreSQL with the deltas it left (ADR 0012), then after the
    worker's fold."""
    bulk = make_deals(WRITE_BATCH, territories, seed=13)
    with app.write() as tx:
        _pairs(tx, _insert(tx, bulk), bulk.territories)
    with app.read() as tx:
        deltas = tx.conn.execute(
            sa.select(sa.func.count()).select_from(t.forecast_branch_deltas)
        ).scalar_one()
    unfolded_ms, _ = _summaries(app, forecast_id, HierarchyKind.TERRITORY, runs)
    start = time.perf_counter()
    folded = forecasts.fold_branch_deltas(app)
    fold_ms = (time.perf_counter() - start) * 1e3
    folded_ms, _ = _summaries(app, forecast_id, HierarchyKind.TERRITORY, runs)
    return {
        "branch_deltas_after_writes": int(deltas),
        "summary_with_deltas_ms": unfolded_ms,
        "fold_ms": round(fold_ms, 1),
        "deltas_folded": folded,
        "summary_after_fold_ms": folded_ms,
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
                row.update(_after_writes(app, row.pop("territory_forecast"), ids, runs))
                print(row, flush=True)
                results.append(row)
    return {"results": results, "quarter": QUARTER, "owners": OWNERS, "roles": ROLES}


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
