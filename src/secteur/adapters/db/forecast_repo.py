"""Reading the forecast cells (ADR 0011), and recomputing them from the deals for comparison."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db.forecast_branch_triggers import BRANCHES, OWNERS, Rollup
from secteur.adapters.db.forecast_triggers import MEASURES, ForecastColumns, contributions_sql
from secteur.domain.forecasts import Cell as Totals

__all__ = ["Cell", "branches", "cells", "owner_cells", "owner_totals", "recompute"]


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    """Deals of one territory (0: none), owner and stage, summed over months.

    `month` is the cell's month (yyyymm, 0: no date) when read by month, else the first month of
    the range read. Amounts are integer cents: `weighted_cents` is Σ amount × probability (%);
    `probability_sum` is Σ probability in hundredths of a percent.
    """

    territory_id: int
    owner_id: int
    month: int
    stage: str
    deals: int
    amount_cents: int
    weighted_cents: int
    probability_sum: int


# Sums cast back to BIGINT: PostgreSQL's sum(bigint) is numeric, handed out as Decimal.
SUMS = ", ".join(f"CAST(sum({m}) AS BIGINT)" for m in MEASURES)


def _marker(conn: sa.Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _read(
    conn: sa.Connection, source: str, month_from: int, month_to: int, by_month: bool
) -> list[Cell]:
    marker = _marker(conn)
    month = "month" if by_month else f"{int(month_from)}"
    keys = "territory_id, owner_id, month, stage" if by_month else "territory_id, owner_id, stage"
    query = (
        f"SELECT territory_id, owner_id, {month}, stage, {SUMS} FROM {source} "
        f"WHERE month BETWEEN {marker} AND {marker} GROUP BY {keys} HAVING sum(deals) <> 0"
    )
    rows: Iterable[Any] = conn.exec_driver_sql(query, (month_from, month_to))
    return [Cell(*row) for row in rows]


def cells(
    conn: sa.Connection, month_from: int, month_to: int, *, by_month: bool = False
) -> list[Cell]:
    """The stored cells of the months `month_from`…`month_to` (yyyymm, inclusive), summed by
    (territory, owner, stage) — or kept by month — in no particular order; empty cells are
    left out."""
    return _read(conn, "forecast_cells", month_from, month_to, by_month)


def owner_cells(
    conn: sa.Connection, month_from: int, month_to: int, owners: Sequence[int]
) -> list[Totals]:
    """Some owners' cells over the months, by territory and stage, as the engine's cells: a
    summary's members and excluded users (index `ix_forecast_cells_owner`)."""
    if not owners:
        return []
    marker = _marker(conn)
    listed = ", ".join([marker] * len(owners))
    query = (
        f"SELECT territory_id, owner_id, stage, {SUMS} FROM forecast_cells "
        f"WHERE month BETWEEN {marker} AND {marker} AND owner_id IN ({listed}) "
        "GROUP BY territory_id, owner_id, stage HAVING sum(deals) <> 0"
    )
    params = (month_from, month_to, *(int(o) for o in owners))
    return [Totals(*row) for row in conn.exec_driver_sql(query, params).fetchall()]


def _rollup(
    conn: sa.Connection,
    rollup: Rollup,
    month_from: int,
    month_to: int,
    where: str = "",
    params: Sequence[int] = (),
) -> list[Totals]:
    """A rollup's rows and deltas (ADR 0012) over the months, summed by its node and stage, in
    one statement (a fold running meanwhile is seen whole or not at all), as the engine's
    cells: a few thousand rows, read straight into the values the engine sums."""
    marker = _marker(conn)
    node = rollup.key[0]
    condition = f"month BETWEEN {marker} AND {marker}{where}"
    columns = f"{', '.join(rollup.key)}, {', '.join(MEASURES)}"
    source = (
        f"SELECT {columns} FROM {rollup.table} WHERE {condition} UNION ALL "
        f"SELECT {columns} FROM {rollup.deltas} WHERE {condition}"
    )
    territory, owner = (node, "0") if rollup is BRANCHES else ("0", node)
    query = (
        f"SELECT {territory}, {owner}, stage, {SUMS} FROM ({source}) AS r "
        f"GROUP BY {node}, stage HAVING sum(deals) <> 0"
    )
    bound = (month_from, month_to, *params)
    return [Totals(*row) for row in conn.exec_driver_sql(query, bound * 2).fetchall()]


def branches(
    conn: sa.Connection, month_from: int, month_to: int, territories: Sequence[int]
) -> list[Totals]:
    """The branch totals of `territories` over the months, by stage: each as a cell whose
    territory is the branch's top (owner 0), holding its subtree's deals."""
    if not territories:
        return []
    listed = ", ".join([_marker(conn)] * len(territories))
    ids = [int(x) for x in territories]
    return _rollup(conn, BRANCHES, month_from, month_to, f" AND territory_id IN ({listed})", ids)


def owner_totals(conn: sa.Connection, month_from: int, month_to: int) -> list[Totals]:
    """Each owner's deals over the months, by stage (territory 0): what a role forecast reads."""
    return _rollup(conn, OWNERS, month_from, month_to)


def recompute(
    conn: sa.Connection,
    columns: ForecastColumns,
    month_from: int,
    month_to: int,
    *,
    by_month: bool = False,
) -> list[Cell]:
    """What `cells` answers, computed from the deals and their territories directly."""
    source = f"({contributions_sql(conn.dialect, columns)}) AS recomputed"
    return _read(conn, source, month_from, month_to, by_month)


def _rollup_rows(conn: sa.Connection, rollup: Rollup, source: str) -> list[tuple[int, ...]]:
    sums = ", ".join(f"CAST(sum({m}) AS BIGINT)" for m in MEASURES)
    nonzero = " OR ".join(f"sum({m}) <> 0" for m in MEASURES)
    keys = ", ".join(rollup.key)
    query = (
        f"SELECT {keys}, {sums} FROM ({source}) AS r "
        f"GROUP BY {keys} HAVING {nonzero} ORDER BY {keys}"
    )
    return [tuple(row) for row in conn.exec_driver_sql(query)]


def stored(conn: sa.Connection, rollup: Rollup) -> list[tuple[int, ...]]:
    """Every total of a rollup as kept (rows and deltas), non-zero ones, in key order."""
    columns = f"{', '.join(rollup.key)}, {', '.join(MEASURES)}"
    return _rollup_rows(
        conn,
        rollup,
        f"SELECT {columns} FROM {rollup.table} UNION ALL SELECT {columns} FROM {rollup.deltas}",
    )


def recomputed(conn: sa.Connection, rollup: Rollup) -> list[tuple[int, ...]]:
    """What `stored` answers, from the cells (and the active territories' parents)."""
    measures = ", ".join(f"c.{m} AS {m}" for m in MEASURES)
    if rollup is OWNERS:
        return _rollup_rows(
            conn, rollup, f"SELECT c.owner_id, c.month, c.stage, {measures} FROM forecast_cells c"
        )
    return _rollup_rows(
        conn,
        rollup,
        f"WITH RECURSIVE up (territory_id, ancestor_id, depth) AS ({_ACTIVE_TREE}) "
        f"SELECT up.ancestor_id AS territory_id, c.month, c.stage, {measures} "
        "FROM forecast_cells c JOIN up ON up.territory_id = c.territory_id",
    )


_ACTIVE_TREE = (
    "SELECT id, id, 0 FROM territories WHERE archived_time IS NULL UNION ALL "
    "SELECT up.territory_id, p.parent_id, up.depth + 1 FROM up "
    "JOIN territories p ON p.id = up.ancestor_id "
    "WHERE p.parent_id IS NOT NULL"
)


def ancestors(conn: sa.Connection, *, recomputed: bool = False) -> list[tuple[int, int, int]]:
    """(territory, ancestor, depth) rows of the ancestor table — or recomputed from the
    parents."""
    source = (
        f"WITH RECURSIVE up (territory_id, ancestor_id, depth) AS ({_ACTIVE_TREE}) SELECT * FROM up"
        if recomputed
        else "SELECT territory_id, ancestor_id, depth FROM territory_ancestors"
    )
    rows = conn.exec_driver_sql(f"SELECT territory_id, ancestor_id, depth FROM ({source}) AS a")
    return sorted((int(a), int(b), int(d)) for a, b, d in rows)
