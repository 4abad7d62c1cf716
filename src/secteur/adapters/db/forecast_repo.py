"""Reading the forecast cells (ADR 0011), and recomputing them from the deals for comparison."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from secteur.adapters.db.forecast_triggers import ForecastColumns, contributions_sql

__all__ = ["Cell", "cells", "recompute", "totals"]


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    """Deals of one territory (0: none), owner and stage, summed over months.

    `month` is the cell's month (yyyymm, 0: no date) when read by month, else the first month of
    the range read. Amounts are integer cents: `weighted_cents` is Σ amount × probability (%).
    """

    territory_id: int
    owner_id: int
    month: int
    stage: str
    deals: int
    amount_cents: int
    weighted_cents: int


def _read(
    conn: sa.Connection, source: str, month_from: int, month_to: int, by_month: bool
) -> list[Cell]:
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    month = "month" if by_month else f"{int(month_from)}"
    keys = "territory_id, owner_id, month, stage" if by_month else "territory_id, owner_id, stage"
    # Sums cast back to BIGINT: PostgreSQL's sum(bigint) is numeric, handed out as Decimal.
    sums = ", ".join(
        f"CAST(sum({m}) AS BIGINT)" for m in ("deals", "amount_cents", "weighted_cents")
    )
    query = (
        f"SELECT territory_id, owner_id, {month}, stage, {sums} FROM {source} "
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


def totals(
    conn: sa.Connection,
    month_from: int,
    month_to: int,
    *,
    by: str,
    owners: Sequence[int] | None = None,
) -> list[Cell]:
    """The months' cells summed more coarsely, for summaries: by territory and stage (`by` =
    "territory", owner 0), by owner and stage ("owner", territory 0), or as `cells` but for
    some owners only ("territory_owner" with `owners`). A quarter at the root of a large
    tree reads tens of thousands of rows instead of every (territory, owner) pair."""
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    territory = "territory_id" if by in ("territory", "territory_owner") else "0"
    owner = "owner_id" if by in ("owner", "territory_owner") else "0"
    keys = ", ".join(k for k in (territory, owner) if k != "0") + ", stage"
    sums = ", ".join(
        f"CAST(sum({m}) AS BIGINT)" for m in ("deals", "amount_cents", "weighted_cents")
    )
    where = f"month BETWEEN {marker} AND {marker}"
    params: list[int] = [month_from, month_to]
    if owners is not None:
        if not owners:
            return []
        where += f" AND owner_id IN ({', '.join([marker] * len(owners))})"
        params += [int(o) for o in owners]
    query = (
        f"SELECT {territory}, {owner}, {int(month_from)}, stage, {sums} FROM forecast_cells "
        f"WHERE {where} GROUP BY {keys} HAVING sum(deals) <> 0"
    )
    return [Cell(*row) for row in conn.exec_driver_sql(query, tuple(params))]


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
