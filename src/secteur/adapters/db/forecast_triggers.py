"""Forecast cells kept by database triggers, in the transaction of every write (ADR 0011).

A deal contributes one count, its amount, its weighted amount (in integer cents) and its
probability (in hundredths of a percent) to the cell
(territory, owner, month, stage) it falls in; its territory is the lowest territory id among its
`record_territories` rows (0: none). Triggers on the deals table move a deal's contribution when
its row changes; triggers on `record_territories` move it when its territory changes. Whatever
code writes — a save, a cascade, run rules, manual assignment, a territory deleted with transfer,
the recycle bin — the cells stay equal to a full recomputation.

SQLite fires row triggers one row at a time, each seeing the rows written before it, so its
triggers reason about one row. PostgreSQL's row triggers would run a plpgsql call per row
(seconds for a run rules that writes a million rows); its triggers are per statement instead,
with the statement's old and new rows as transition tables, and do one set-based upsert.

The SQL is generated for the chosen amount and date columns: changing either is
`install_forecast_triggers` again, which rebuilds the cells in the caller's transaction. The
branch totals' triggers (ADR 0012, `forecast_branch_triggers`) are installed with them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from secteur.adapters.db import forecast_branch_triggers as branches
from secteur.adapters.db.records_schema import RecordTable
from secteur.domain.fields import Kind

__all__ = [
    "ForecastColumns",
    "contributions_sql",
    "drop_forecast_triggers",
    "fold_branch_deltas",
    "forecast_columns",
    "install_forecast_triggers",
    "installed",
]

DEALS = "Deals"
CELLS = "forecast_cells"
KEY = ("month", "territory_id", "owner_id", "stage")
MEASURES = ("deals", "amount_cents", "weighted_cents", "probability_sum")
# One name per trigger (and, on PostgreSQL, per function).
TRIGGERS = (
    "forecast_cells_deals_insert",
    "forecast_cells_deals_update",
    "forecast_cells_deals_delete",
    "forecast_cells_territories_insert",
    "forecast_cells_territories_update",
    "forecast_cells_territories_update_before",
    "forecast_cells_territories_delete",
)


@dataclass(frozen=True)
class ForecastColumns:
    """The deals table and the columns a deal's contribution is computed from."""

    table: str
    amount: str
    date: str
    probability: str
    stage: str
    owner: str = "owner_id"


def forecast_columns(
    deals: RecordTable, amount_field: str = "Amount", date_field: str = "Closing_Date"
) -> ForecastColumns:
    """The columns of the forecast's amount and date fields (FC-1), checked."""
    module = deals.module
    if module.api_name != DEALS:
        raise ValueError(f"forecasts read Deals, not {module.api_name}")
    amount = module.field(amount_field)
    if amount is None or amount.kind is not Kind.NUMBER:
        raise ValueError(f"{amount_field} is not a currency or number field of Deals")
    date = module.field(date_field)
    if date is None or date.kind is not Kind.DATE:
        raise ValueError(f"{date_field} is not a date field of Deals")
    probability, stage = module.field("Probability"), module.field("Stage")
    assert probability is not None and stage is not None
    return ForecastColumns(
        table=deals.table.name,
        amount=amount.column,
        date=date.column,
        probability=probability.column,
        stage=stage.column,
    )


class _Sql:
    """The contribution of a deal row, as SQL expressions over a row alias, for one dialect."""

    def __init__(self, dialect: sa.Dialect, columns: ForecastColumns) -> None:
        self.sqlite = dialect.name == "sqlite"
        self.q = dialect.identifier_preparer.quote
        self.columns = columns

    def col(self, row: str, name: str) -> str:
        return f"{row}.{self.q(name)}"

    def cents(self, value: str) -> str:
        # Half away from zero, in double arithmetic, as SQLite's round(): both databases agree.
        rounded = f"({value}) + (CASE WHEN ({value}) < 0 THEN -0.5 ELSE 0.5 END)"
        return f"CAST({rounded} AS INTEGER)" if self.sqlite else f"CAST(trunc({rounded}) AS BIGINT)"

    def values(self, row: str, territory: str, sign: str = "") -> list[str]:
        c = self.columns
        amount = f"COALESCE({self.col(row, c.amount)}, 0)"
        probability = f"COALESCE({self.col(row, c.probability)}, 0)"
        date = self.col(row, c.date)
        if self.sqlite:
            # DATE is stored as 'YYYY-MM-DD' text on SQLite.
            month = f"CAST(substr({date}, 1, 4) || substr({date}, 6, 2) AS INTEGER)"
        else:
            month = f"CAST(to_char({date}, 'YYYYMM') AS INTEGER)"
        return [  # in the order of KEY + MEASURES
            f"COALESCE({month}, 0)",
            territory,
            self.col(row, c.owner),
            f"COALESCE({self.col(row, c.stage)}, '')",
            f"{sign}1",
            f"{sign}{self.cents(f'{amount} * 100')}",
            f"{sign}{self.cents(f'{amount} * {probability}')}",
            f"{sign}{self.cents(f'{probability} * 100')}",
        ]

    def territory_of(self, record_id: str) -> str:
        return (
            "COALESCE((SELECT min(territory_id) FROM record_territories "
            f"WHERE record_id = {record_id} AND module = '{DEALS}'), 0)"
        )

    def upsert(self, source: str) -> str:
        updates = ", ".join(f"{m} = {CELLS}.{m} + excluded.{m}" for m in MEASURES)
        return (
            f"INSERT INTO {CELLS} ({', '.join(KEY + MEASURES)}) {source} "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
        )

    def select(self, row: str, territory: str, sign: str, where: str) -> str:
        return f"SELECT {', '.join(self.values(row, territory, sign))} {where}"


def contributions_sql(dialect: sa.Dialect, columns: ForecastColumns) -> str:
    """Every deal's cell, summed: a full recomputation (columns as in `forecast_cells`)."""
    sql = _Sql(dialect, columns)
    values = sql.values("d", "COALESCE(a.territory_id, 0)")
    keys = ", ".join(f"{v} AS {k}" for v, k in zip(values[:4], KEY, strict=True))
    sums = ", ".join(f"sum({v}) AS {m}" for v, m in zip(values[4:], MEASURES, strict=True))
    return (
        f"SELECT {keys}, {sums} FROM {sql.q(columns.table)} d LEFT JOIN "
        "(SELECT record_id, min(territory_id) AS territory_id FROM record_territories "
        f"WHERE module = '{DEALS}' GROUP BY record_id) a ON a.record_id = d.id "
        "GROUP BY 1, 2, 3, 4"
    )


def _sqlite_triggers(sql: _Sql) -> Iterator[str]:
    c = sql.columns
    deals = sql.q(c.table)
    watched = (c.owner, c.amount, c.date, c.probability, c.stage)
    changed = " OR ".join(f"OLD.{sql.q(x)} IS NOT NEW.{sql.q(x)}" for x in watched)

    def add(row: str, territory: str, sign: str = "") -> str:
        return sql.upsert(sql.select(row, territory, sign, "WHERE true"))

    yield (
        f"CREATE TRIGGER forecast_cells_deals_insert AFTER INSERT ON {deals} BEGIN "
        f"{add('NEW', sql.territory_of('NEW.id'))}; END"
    )
    yield (
        f"CREATE TRIGGER forecast_cells_deals_update AFTER UPDATE OF "
        f"{', '.join(sql.q(x) for x in watched)} ON {deals} WHEN {changed} BEGIN "
        f"{add('OLD', sql.territory_of('OLD.id'), '-')}; "
        f"{add('NEW', sql.territory_of('NEW.id'))}; END"
    )
    yield (
        f"CREATE TRIGGER forecast_cells_deals_delete AFTER DELETE ON {deals} BEGIN "
        f"{add('OLD', sql.territory_of('OLD.id'), '-')}; END"
    )

    def move(record_id: str, before: str, after: str) -> str:
        # The deal's contribution leaves the territory it had and joins the one it has now;
        # a deal no longer in its table (in the recycle bin) contributes nothing.
        where = f"FROM {deals} d WHERE d.id = {record_id} AND ({before}) <> ({after})"
        return (
            f"{sql.upsert(sql.select('d', before, '-', where))}; "
            f"{sql.upsert(sql.select('d', after, '', where))};"
        )

    others = (
        "(SELECT min(territory_id) FROM record_territories "
        f"WHERE record_id = {{row}}.record_id AND module = '{DEALS}'{{extra}})"
    )
    inserted_others = others.format(row="NEW", extra=" AND territory_id <> NEW.territory_id")
    on_insert = move(
        "NEW.record_id", f"COALESCE({inserted_others}, 0)", sql.territory_of("NEW.record_id")
    )
    yield (
        "CREATE TRIGGER forecast_cells_territories_insert AFTER INSERT ON record_territories "
        f"WHEN NEW.module = '{DEALS}' BEGIN {on_insert} END"
    )
    remaining = others.format(row="OLD", extra="")
    on_delete = move(
        "OLD.record_id",
        f"min(COALESCE({remaining}, OLD.territory_id), OLD.territory_id)",
        f"COALESCE({remaining}, 0)",
    )
    yield (
        "CREATE TRIGGER forecast_cells_territories_delete AFTER DELETE ON record_territories "
        f"WHEN OLD.module = '{DEALS}' BEGIN {on_delete} END"
    )
    # Nothing updates these columns today; should anything, the deals concerned leave their
    # cells before the change and come back after it.
    touched = f"FROM {deals} d WHERE d.id IN (OLD.record_id, NEW.record_id)"
    yield (
        "CREATE TRIGGER forecast_cells_territories_update_before BEFORE UPDATE OF "
        "record_id, territory_id, module ON record_territories BEGIN "
        f"{sql.upsert(sql.select('d', sql.territory_of('d.id'), '-', touched))}; END"
    )
    yield (
        "CREATE TRIGGER forecast_cells_territories_update AFTER UPDATE OF "
        "record_id, territory_id, module ON record_territories BEGIN "
        f"{sql.upsert(sql.select('d', sql.territory_of('d.id'), '', touched))}; END"
    )


def _grouped_upsert(sql: _Sql, deltas: str, with_: str = "") -> str:
    # One row per cell (PostgreSQL refuses to upsert a row twice in one statement), cells whose
    # changes cancel out left alone, and cells locked in key order so that two transactions
    # never wait for each other in opposite orders.
    sums = ", ".join(f"sum({m})" for m in MEASURES)
    nonzero = " OR ".join(f"sum({m}) <> 0" for m in MEASURES)
    source = (
        f"SELECT {', '.join(KEY)}, {sums} FROM ({deltas}) AS delta "
        f"GROUP BY {', '.join(KEY)} HAVING {nonzero} ORDER BY {', '.join(KEY)}"
    )
    return f"{with_}{sql.upsert(source)}"


def _pg_territory_body(sql: _Sql, old: str | None, new: str | None) -> str:
    c = sql.columns
    deals = sql.q(c.table)
    changed = " UNION ".join(
        f"SELECT record_id FROM {rows} WHERE module = '{DEALS}'" for rows in (old, new) if rows
    )
    before = (
        "SELECT rt.record_id, rt.territory_id FROM record_territories rt "
        f"JOIN affected a ON a.record_id = rt.record_id WHERE rt.module = '{DEALS}'"
    )
    if new:
        before += (
            f" AND NOT EXISTS (SELECT 1 FROM {new} n "
            "WHERE n.record_id = rt.record_id AND n.territory_id = rt.territory_id)"
        )
    if old:
        before += f" UNION ALL SELECT record_id, territory_id FROM {old} WHERE module = '{DEALS}'"
    with_ = (
        f"WITH affected AS (SELECT DISTINCT record_id FROM ({changed}) AS changed), "
        f"before_rows AS ({before}), "
        "before_min AS (SELECT record_id, min(territory_id) AS territory_id FROM before_rows "
        "GROUP BY record_id), "
        "after_min AS (SELECT rt.record_id, min(rt.territory_id) AS territory_id "
        "FROM record_territories rt JOIN affected a ON a.record_id = rt.record_id "
        f"WHERE rt.module = '{DEALS}' GROUP BY rt.record_id), "
        "moved AS (SELECT a.record_id, COALESCE(b.territory_id, 0) AS t_before, "
        "COALESCE(f.territory_id, 0) AS t_after FROM affected a "
        "LEFT JOIN before_min b ON b.record_id = a.record_id "
        "LEFT JOIN after_min f ON f.record_id = a.record_id "
        "WHERE COALESCE(b.territory_id, 0) <> COALESCE(f.territory_id, 0)) "
    )

    def side(territory: str, sign: str) -> str:
        names = ", ".join(
            f"{v} AS {k}"
            for v, k in zip(sql.values("d", territory, sign), KEY + MEASURES, strict=True)
        )
        return f"SELECT {names} FROM moved m JOIN {deals} d ON d.id = m.record_id"

    deltas = f"{side('m.t_before', '-')} UNION ALL {side('m.t_after', '')}"
    return _grouped_upsert(sql, deltas, with_)


def _pg_statements(sql: _Sql) -> Iterator[str]:
    deals = sql.q(sql.columns.table)

    def deal_rows(rows: str, sign: str) -> str:
        names = ", ".join(
            f"{v} AS {k}"
            for v, k in zip(
                sql.values("r", sql.territory_of("r.id"), sign), KEY + MEASURES, strict=True
            )
        )
        return f"SELECT {names} FROM {rows} r"

    bodies = {
        "forecast_cells_deals_insert": (
            deals,
            "INSERT",
            "NEW TABLE AS new_rows",
            _grouped_upsert(sql, deal_rows("new_rows", "")),
        ),
        "forecast_cells_deals_update": (
            deals,
            "UPDATE",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            _grouped_upsert(
                sql, f"{deal_rows('old_rows', '-')} UNION ALL {deal_rows('new_rows', '')}"
            ),
        ),
        "forecast_cells_deals_delete": (
            deals,
            "DELETE",
            "OLD TABLE AS old_rows",
            _grouped_upsert(sql, deal_rows("old_rows", "-")),
        ),
        "forecast_cells_territories_insert": (
            "record_territories",
            "INSERT",
            "NEW TABLE AS new_rows",
            _pg_territory_body(sql, None, "new_rows"),
        ),
        "forecast_cells_territories_update": (
            "record_territories",
            "UPDATE",
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            _pg_territory_body(sql, "old_rows", "new_rows"),
        ),
        "forecast_cells_territories_delete": (
            "record_territories",
            "DELETE",
            "OLD TABLE AS old_rows",
            _pg_territory_body(sql, "old_rows", None),
        ),
    }
    for name, (table, event, transition, body) in bodies.items():
        yield (
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
            f"BEGIN {body}; RETURN NULL; END $body$"
        )
        yield (
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transition} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def drop_forecast_triggers(conn: sa.Connection, deals_table: str = "deals") -> None:
    """Remove the triggers (and PostgreSQL's trigger functions); the cells and branch totals
    stay as they are."""
    table = conn.dialect.identifier_preparer.quote(deals_table)
    sqlite = conn.dialect.name == "sqlite"
    for name in TRIGGERS:
        if sqlite:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        else:
            target = table if name.startswith("forecast_cells_deals") else "record_territories"
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {target}")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")
    for statement in branches.drop_statements(conn.dialect):
        conn.exec_driver_sql(statement)


def install_forecast_triggers(conn: sa.Connection, columns: ForecastColumns) -> None:
    """(Re)create the triggers for `columns` and rebuild every cell, the ancestor table and the
    branch totals, in the caller's transaction (the branches' triggers last: a rebuild must not
    fire them)."""
    sql = _Sql(conn.dialect, columns)
    drop_forecast_triggers(conn, columns.table)
    statements = _sqlite_triggers(sql) if sql.sqlite else _pg_statements(sql)
    for statement in statements:
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql(f"DELETE FROM {CELLS}")
    conn.exec_driver_sql(
        f"INSERT INTO {CELLS} ({', '.join(KEY + MEASURES)}) "
        f"{contributions_sql(conn.dialect, columns)}"
    )
    branches.rebuild(conn, MEASURES)
    for statement in branches.create_statements(conn.dialect, MEASURES):
        conn.exec_driver_sql(statement)


def fold_branch_deltas(conn: sa.Connection) -> int:
    """The worker's share of ADR 0012 on PostgreSQL: deltas folded into the branch rows."""
    return branches.fold_deltas(conn, MEASURES)


def installed(conn: sa.Connection) -> bool:
    """Whether the forecast triggers of this version exist (an org created before them, or
    before the branch totals, has none or only the cells')."""
    name = branches.TRIGGERS[-1][0]
    if conn.dialect.name == "sqlite":
        query = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = ?"
    else:
        query = "SELECT count(*) FROM pg_trigger WHERE tgname = %s"
    found = conn.exec_driver_sql(query, (name,)).scalar_one()
    return int(found) > 0
