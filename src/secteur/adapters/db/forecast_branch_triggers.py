"""Branch totals kept by database triggers (ADR 0012): each territory's forecast cells with its
descendants', by month and stage, so that a summary reads a node's and its children's rows
instead of every territory's cells.

Two sets of triggers, installed with the cells' (`forecast_triggers.install_forecast_triggers`):

* on `territories`, the ancestor table (`territory_ancestors`, each active territory with itself
  and its ancestors) follows the tree: a territory created, moved, archived. A move takes the
  branch's totals from its old ancestors and gives them to its new ones. The table is what lets
  the triggers find a territory's ancestors and subtree without recursion, which SQLite's
  triggers cannot do. Territories are rare writes: row triggers on both databases.
* on `forecast_cells`, every change to a cell is added to the cell's territory and each of its
  ancestors, and to the cell owner's totals (`forecast_owner_totals`, what role forecasts
  read: a few rows per owner instead of every cell).

SQLite has one writer at a time: its triggers add to `forecast_branches` directly. On PostgreSQL
every deal write would update its ancestors' rows up to the root, a row each concurrent writer
waits for until the other commits (and two batches touching the same rows in another order
deadlock). Its triggers append the changes to `forecast_branch_deltas` and
`forecast_owner_deltas` instead, without locks between writers; totals are the rows plus the
deltas, and the worker folds the deltas into the rows (`fold_deltas`). Ancestors' ids come from
the ancestor table, never from the territory row being changed, so the triggers stay right when
one statement changes several rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

ANCESTORS = "territory_ancestors"
CELLS = "forecast_cells"


@dataclass(frozen=True)
class Rollup:
    """Totals kept from the cells: their rows, PostgreSQL's appended changes, their key."""

    table: str
    deltas: str
    key: tuple[str, ...]


BRANCHES = Rollup("forecast_branches", "forecast_branch_deltas", ("territory_id", "month", "stage"))
OWNERS = Rollup("forecast_owner_totals", "forecast_owner_deltas", ("owner_id", "month", "stage"))
ROLLUPS = (BRANCHES, OWNERS)
# (name, table) of each trigger; PostgreSQL's trigger functions share the trigger's name.
TRIGGERS = (
    ("forecast_branches_territory_insert", "territories"),
    ("forecast_branches_territory_move", "territories"),
    ("forecast_branches_cells_insert", CELLS),
    ("forecast_branches_cells_update", CELLS),
    ("forecast_branches_cells_delete", CELLS),
)
# A fold at a time on PostgreSQL (pg_try_advisory_xact_lock's key: "FCBR" in ASCII).
FOLD_LOCK = 0x46434252
# PostgreSQL: a tree change waits for the transactions writing cells, and they for it ("FCTR"):
# a deal written under a territory while it moves would otherwise add to the ancestors it had
# when its statement began, after the move took the branch's totals away from them.
TREE_LOCK = 0x46435452


class _Sql:
    def __init__(self, dialect: sa.Dialect, measures: Sequence[str]) -> None:
        self.sqlite = dialect.name == "sqlite"
        self.measures = tuple(measures)

    def columns(self, rollup: Rollup) -> str:
        return ", ".join(rollup.key + self.measures)

    def add(self, source: str, rollup: Rollup = BRANCHES) -> str:
        """Add `source`'s rows (key + measures) to `rollup`."""
        if not self.sqlite:
            return f"INSERT INTO {rollup.deltas} ({self.columns(rollup)}) {source}"
        updates = ", ".join(f"{m} = {rollup.table}.{m} + excluded.{m}" for m in self.measures)
        return (
            f"INSERT INTO {rollup.table} ({self.columns(rollup)}) {source} "
            f"ON CONFLICT ({', '.join(rollup.key)}) DO UPDATE SET {updates}"
        )

    def totals(self, rollup: Rollup = BRANCHES) -> str:
        """The rollup's rows, with their deltas on PostgreSQL (to read, not to group)."""
        if self.sqlite:
            return rollup.table
        columns = self.columns(rollup)
        return (
            f"(SELECT {columns} FROM {rollup.table} "
            f"UNION ALL SELECT {columns} FROM {rollup.deltas})"
        )

    def sums(self, row: str, sign: str = "") -> str:
        return ", ".join(f"{sign}sum({row}.{m})" for m in self.measures)

    def nonzero(self, row: str) -> str:
        return " OR ".join(f"sum({row}.{m}) <> 0" for m in self.measures)


def _territory_statements(sql: _Sql) -> tuple[list[str], list[str]]:
    """The statements of the insert and of the move triggers, over NEW and OLD."""
    active = "NEW.archived_time IS NULL"
    itself = (
        f"INSERT INTO {ANCESTORS} (territory_id, ancestor_id, depth) "
        "SELECT NEW.id, NEW.id, 0 WHERE {when}"
    )
    above = (
        f"INSERT INTO {ANCESTORS} (territory_id, ancestor_id, depth) "
        f"SELECT NEW.id, ancestor_id, depth + 1 FROM {ANCESTORS} "
        f"WHERE territory_id = NEW.parent_id AND {active}"
    )
    on_insert = [itself.format(when=active), above]

    def carry(sign: str, ancestors: str) -> str:
        # The branch's totals, given to (or taken from) each of `ancestors`.
        return sql.add(
            f"SELECT a.ancestor_id, b.month, b.stage, {sql.sums('b', sign)} "
            f"FROM {sql.totals()} b JOIN {ANCESTORS} a ON {ancestors} "
            "WHERE b.territory_id = NEW.id GROUP BY a.ancestor_id, b.month, b.stage"
        )

    # Its ancestors as the ancestor table has them: where its totals were added.
    old_ancestors = "a.territory_id = NEW.id AND a.depth > 0"
    subtree = f"SELECT territory_id FROM {ANCESTORS} WHERE ancestor_id = NEW.id"
    on_move = [
        *([] if sql.sqlite else [f"PERFORM pg_advisory_xact_lock({TREE_LOCK})"]),
        carry("-", old_ancestors),
        f"DELETE FROM {ANCESTORS} WHERE territory_id IN ({subtree}) AND ancestor_id IN "
        f"(SELECT ancestor_id FROM {ANCESTORS} WHERE territory_id = NEW.id AND depth > 0)",
        # Archived: out of the tree, its own rows too (its deals have left it by then).
        f"DELETE FROM {ANCESTORS} WHERE (territory_id = NEW.id OR ancestor_id = NEW.id) "
        "AND NEW.archived_time IS NOT NULL",
        f"DELETE FROM {BRANCHES.table} WHERE territory_id = NEW.id "
        "AND NEW.archived_time IS NOT NULL",
        *(
            []
            if sql.sqlite
            else [
                f"DELETE FROM {BRANCHES.deltas} WHERE territory_id = NEW.id "
                "AND NEW.archived_time IS NOT NULL"
            ]
        ),
        # Back from the archive: in the tree again, as a leaf.
        itself.format(when=f"OLD.archived_time IS NOT NULL AND {active}"),
        f"INSERT INTO {ANCESTORS} (territory_id, ancestor_id, depth) "
        f"SELECT s.territory_id, a.ancestor_id, s.depth + a.depth + 1 "
        f"FROM {ANCESTORS} s JOIN {ANCESTORS} a ON a.territory_id = NEW.parent_id "
        f"WHERE s.ancestor_id = NEW.id AND {active}",
        carry("", f"a.territory_id = NEW.parent_id AND {active}"),
    ]
    return on_insert, on_move


def _cell_statements(sql: _Sql) -> Iterator[tuple[str, str, str, list[str]]]:
    """(trigger, event, PostgreSQL transition tables, statements) of the cells' triggers: the
    change, as rows `c` (territory_id, owner_id, month, stage, measures), added to each rollup."""
    measures = sql.measures
    if sql.sqlite:
        # One row: NEW, NEW - OLD (a cell's key never changes: the cells' triggers upsert
        # measures only), or -OLD.
        changes = {
            "insert": ("NEW", [f"NEW.{m}" for m in measures]),
            "update": ("NEW", [f"NEW.{m} - OLD.{m}" for m in measures]),
            "delete": ("OLD", [f"-OLD.{m}" for m in measures]),
        }
        for event, (row, values) in changes.items():
            listed = ", ".join(values)
            yield (
                f"forecast_branches_cells_{event}",
                event.upper(),
                "",
                [
                    sql.add(
                        f"SELECT a.ancestor_id, {row}.month, {row}.stage, {listed} "
                        f"FROM {ANCESTORS} a WHERE a.territory_id = {row}.territory_id"
                    ),
                    sql.add(
                        f"SELECT {row}.owner_id, {row}.month, {row}.stage, {listed} WHERE true",
                        OWNERS,
                    ),
                ],
            )
        return
    cell = ("territory_id", "owner_id", "month", "stage")
    plain = ", ".join(cell + measures)
    negated = ", ".join(cell + tuple(f"-{m} AS {m}" for m in measures))
    # New rows less old ones, without joining them: a join of two transition tables (no
    # statistics, no index) can go quadratic.
    relations = {
        "insert": ("NEW TABLE AS new_rows", "new_rows"),
        "update": (
            "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            f"(SELECT {plain} FROM new_rows UNION ALL SELECT {negated} FROM old_rows)",
        ),
        "delete": ("OLD TABLE AS old_rows", f"(SELECT {negated} FROM old_rows)"),
    }
    for event, (transition, rows) in relations.items():
        yield (
            f"forecast_branches_cells_{event}",
            event.upper(),
            transition,
            [
                # Shared: writers of cells never wait for each other, only for a tree change.
                f"PERFORM pg_advisory_xact_lock_shared({TREE_LOCK})",
                sql.add(
                    f"SELECT a.ancestor_id, c.month, c.stage, {sql.sums('c')} FROM {rows} c "
                    f"JOIN {ANCESTORS} a ON a.territory_id = c.territory_id "
                    f"GROUP BY a.ancestor_id, c.month, c.stage HAVING {sql.nonzero('c')}"
                ),
                sql.add(
                    f"SELECT c.owner_id, c.month, c.stage, {sql.sums('c')} FROM {rows} c "
                    f"GROUP BY c.owner_id, c.month, c.stage HAVING {sql.nonzero('c')}",
                    OWNERS,
                ),
            ],
        )


def create_statements(dialect: sa.Dialect, measures: Sequence[str]) -> Iterator[str]:
    """CREATE TRIGGER (and PostgreSQL FUNCTION) statements of both sets."""
    sql = _Sql(dialect, measures)
    on_insert, on_move = _territory_statements(sql)
    moved = (
        (
            "OLD.parent_id IS NOT NEW.parent_id",
            "OLD.archived_time IS NULL",
            "NEW.archived_time IS NULL",
        )
        if sql.sqlite
        else (
            "OLD.parent_id IS DISTINCT FROM NEW.parent_id",
            "OLD.archived_time IS NULL",
            "NEW.archived_time IS NULL",
        )
    )
    move_when = f"{moved[0]} OR ({moved[1]}) <> ({moved[2]})"
    territory = {
        "forecast_branches_territory_insert": (
            "AFTER INSERT",
            "NEW.archived_time IS NULL",
            on_insert,
        ),
        "forecast_branches_territory_move": (
            "AFTER UPDATE OF parent_id, archived_time",
            move_when,
            on_move,
        ),
    }
    for name, (event, when, statements) in territory.items():
        body = "; ".join(statements)
        if sql.sqlite:
            yield f"CREATE TRIGGER {name} {event} ON territories WHEN {when} BEGIN {body}; END"
        else:
            yield (
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
                f"BEGIN {body}; RETURN NULL; END $body$"
            )
            yield (
                f"CREATE TRIGGER {name} {event} ON territories FOR EACH ROW WHEN ({when}) "
                f"EXECUTE FUNCTION {name}()"
            )
    for name, event, transition, statements in _cell_statements(sql):
        body = "; ".join(statements)
        if sql.sqlite:
            yield f"CREATE TRIGGER {name} AFTER {event} ON {CELLS} BEGIN {body}; END"
        else:
            # PL/pgSQL keeps the first plan of a statement without parameters, made for the
            # transition table's size at that call: after a bulk write first, every one-deal
            # save hashed the whole ancestor table (20 ms instead of 3, docs/benchmarks.md).
            # Nested loops over the ancestor table's key suit one row and ten thousand alike.
            yield (
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
                "SET enable_hashjoin = off SET enable_mergejoin = off AS $body$ "
                f"BEGIN {body}; RETURN NULL; END $body$"
            )
            yield (
                f"CREATE TRIGGER {name} AFTER {event} ON {CELLS} REFERENCING {transition} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )


def drop_statements(dialect: sa.Dialect) -> Iterator[str]:
    for name, table in TRIGGERS:
        if dialect.name == "sqlite":
            yield f"DROP TRIGGER IF EXISTS {name}"
        else:
            yield f"DROP TRIGGER IF EXISTS {name} ON {table}"
            yield f"DROP FUNCTION IF EXISTS {name}()"


def rebuild(conn: sa.Connection, measures: Sequence[str]) -> None:
    """The ancestor table from the active territories, the rollups from the cells (the
    triggers dropped: the caller reinstalls them after)."""
    conn.exec_driver_sql(f"DELETE FROM {ANCESTORS}")
    conn.exec_driver_sql(
        f"INSERT INTO {ANCESTORS} (territory_id, ancestor_id, depth) "
        "WITH RECURSIVE up (territory_id, ancestor_id, depth) AS ("
        "SELECT id, id, 0 FROM territories WHERE archived_time IS NULL UNION ALL "
        "SELECT up.territory_id, p.parent_id, up.depth + 1 FROM up "
        "JOIN territories p ON p.id = up.ancestor_id "
        "WHERE p.parent_id IS NOT NULL) "
        "SELECT territory_id, ancestor_id, depth FROM up"
    )
    sums = ", ".join(f"sum(c.{m})" for m in measures)
    sources = {
        # Each active territory's own cells; its descendants' are added level by level below.
        BRANCHES: f"SELECT c.territory_id, c.month, c.stage, {sums} FROM {CELLS} c "
        f"JOIN {ANCESTORS} a ON a.territory_id = c.territory_id AND a.depth = 0 "
        "GROUP BY c.territory_id, c.month, c.stage",
        OWNERS: f"SELECT c.owner_id, c.month, c.stage, {sums} FROM {CELLS} c "
        "GROUP BY c.owner_id, c.month, c.stage",
    }
    for rollup, source in sources.items():
        conn.exec_driver_sql(f"DELETE FROM {rollup.deltas}")
        conn.exec_driver_sql(f"DELETE FROM {rollup.table}")
        columns = ", ".join(rollup.key + tuple(measures))
        conn.exec_driver_sql(f"INSERT INTO {rollup.table} ({columns}) {source}")
    _roll_up_levels(conn, measures)


def _roll_up_levels(conn: sa.Connection, measures: Sequence[str]) -> None:
    """Each level's branches, deepest first, added to their parents': every row is read once.
    Joining every cell with each of its ancestors instead (7× the rows in a 10,000-territory
    tree) took 2.5× as long."""
    table = BRANCHES.table
    sums = ", ".join(f"sum(b.{m})" for m in measures)
    updates = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in measures)
    columns = ", ".join(BRANCHES.key + tuple(measures))
    deepest = conn.exec_driver_sql(f"SELECT max(depth) FROM {ANCESTORS}").scalar()
    for level in range(int(deepest or 0), 0, -1):
        conn.exec_driver_sql(
            f"INSERT INTO {table} ({columns}) "
            f"SELECT p.ancestor_id, b.month, b.stage, {sums} FROM {table} b "
            f"JOIN {ANCESTORS} p ON p.territory_id = b.territory_id AND p.depth = 1 "
            f"WHERE b.territory_id IN (SELECT territory_id FROM {ANCESTORS} "
            f"GROUP BY territory_id HAVING max(depth) = {level}) "
            "GROUP BY p.ancestor_id, b.month, b.stage "
            f"ON CONFLICT ({', '.join(BRANCHES.key)}) DO UPDATE SET {updates}"
        )


def fold_deltas(conn: sa.Connection, measures: Sequence[str]) -> int:
    """PostgreSQL: move the committed deltas into their rollup's rows, one statement per rollup
    (a reader sees a change in one place or the other, never both); returns how many deltas
    moved. One fold at a time: another one running, this one does nothing. SQLite keeps no
    deltas."""
    if conn.dialect.name == "sqlite":
        return 0
    if not conn.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({FOLD_LOCK})").scalar_one():
        return 0
    moved = 0
    for rollup in ROLLUPS:
        columns = ", ".join(rollup.key + tuple(measures))
        sums = ", ".join(f"sum({m})" for m in measures)
        updates = ", ".join(f"{m} = {rollup.table}.{m} + excluded.{m}" for m in measures)
        keys = ", ".join(rollup.key)
        result = conn.exec_driver_sql(
            f"WITH moved AS (DELETE FROM {rollup.deltas} RETURNING {columns}), "
            f"folded AS (INSERT INTO {rollup.table} ({columns}) "
            f"SELECT {keys}, {sums} FROM moved GROUP BY {keys} ORDER BY {keys} "
            f"ON CONFLICT ({keys}) DO UPDATE SET {updates} RETURNING 1) "
            "SELECT (SELECT count(*) FROM moved)"
        )
        moved += int(result.scalar_one())
    return moved
