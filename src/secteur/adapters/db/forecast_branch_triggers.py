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
  ancestors.

SQLite has one writer at a time: its triggers add to `forecast_branches` directly. On PostgreSQL
every deal write would update its ancestors' rows up to the root, a row each concurrent writer
waits for until the other commits (and two batches touching the same rows in another order
deadlock). Its triggers append the changes to `forecast_branch_deltas` instead, without locks
between writers; a branch's totals are its rows plus its deltas, and the worker folds the deltas
into the rows (`fold_deltas`). Ancestors' ids come from the ancestor table, never from the
territory row being changed, so the triggers stay right when one statement changes several rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa

ANCESTORS = "territory_ancestors"
BRANCHES = "forecast_branches"
DELTAS = "forecast_branch_deltas"
CELLS = "forecast_cells"
KEY = ("territory_id", "month", "stage")
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


class _Sql:
    def __init__(self, dialect: sa.Dialect, measures: Sequence[str]) -> None:
        self.sqlite = dialect.name == "sqlite"
        self.measures = tuple(measures)
        self.columns = ", ".join(KEY + self.measures)

    def add(self, source: str) -> str:
        """Add `source`'s rows (KEY + measures) to the branches."""
        if not self.sqlite:
            return f"INSERT INTO {DELTAS} ({self.columns}) {source}"
        updates = ", ".join(f"{m} = {BRANCHES}.{m} + excluded.{m}" for m in self.measures)
        return (
            f"INSERT INTO {BRANCHES} ({self.columns}) {source} "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {updates}"
        )

    def totals(self) -> str:
        """Every branch's rows, with their deltas on PostgreSQL (to read, not to group)."""
        if self.sqlite:
            return BRANCHES
        return (
            f"(SELECT {self.columns} FROM {BRANCHES} UNION ALL SELECT {self.columns} FROM {DELTAS})"
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
        carry("-", old_ancestors),
        f"DELETE FROM {ANCESTORS} WHERE territory_id IN ({subtree}) AND ancestor_id IN "
        f"(SELECT ancestor_id FROM {ANCESTORS} WHERE territory_id = NEW.id AND depth > 0)",
        # Archived: out of the tree, its own rows too (its deals have left it by then).
        f"DELETE FROM {ANCESTORS} WHERE (territory_id = NEW.id OR ancestor_id = NEW.id) "
        "AND NEW.archived_time IS NOT NULL",
        f"DELETE FROM {BRANCHES} WHERE territory_id = NEW.id AND NEW.archived_time IS NOT NULL",
        *(
            []
            if sql.sqlite
            else [
                f"DELETE FROM {DELTAS} WHERE territory_id = NEW.id "
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


def _cell_sources(sql: _Sql) -> Iterator[tuple[str, str, str, str]]:
    """(trigger, event, PostgreSQL transition tables, rows to add) of the cells' triggers."""
    if sql.sqlite:

        def row(values: str) -> str:
            return (
                f"SELECT a.ancestor_id, {values} FROM {ANCESTORS} a "
                "WHERE a.territory_id = NEW.territory_id"
            )

        # A cell's key never changes (the cells' triggers upsert measures only): an update
        # adds the difference under the same key.
        new = ", ".join(f"NEW.{m}" for m in sql.measures)
        diff = ", ".join(f"NEW.{m} - OLD.{m}" for m in sql.measures)
        old = ", ".join(f"-OLD.{m}" for m in sql.measures)
        yield "forecast_branches_cells_insert", "INSERT", "", row(f"NEW.month, NEW.stage, {new}")
        yield "forecast_branches_cells_update", "UPDATE", "", row(f"NEW.month, NEW.stage, {diff}")
        yield (
            "forecast_branches_cells_delete",
            "DELETE",
            "",
            row(f"OLD.month, OLD.stage, {old}").replace("NEW.territory_id", "OLD.territory_id"),
        )
        return

    def grouped(rows: str, values: str) -> str:
        return (
            f"SELECT a.ancestor_id, c.month, c.stage, {values} FROM {rows} "
            f"JOIN {ANCESTORS} a ON a.territory_id = c.territory_id "
            f"GROUP BY a.ancestor_id, c.month, c.stage HAVING {sql.nonzero('c')}"
        )

    # New rows less old ones, without joining them: a cell's key never changes, and a join
    # of two transition tables (no statistics, no index) can go quadratic.
    columns = ", ".join(("territory_id", "month", "stage", *sql.measures))
    negated = ", ".join(("territory_id", "month", "stage", *(f"-{m}" for m in sql.measures)))
    updated = f"(SELECT {columns} FROM new_rows UNION ALL SELECT {negated} FROM old_rows) c"
    yield (
        "forecast_branches_cells_insert",
        "INSERT",
        "NEW TABLE AS new_rows",
        grouped("new_rows c", sql.sums("c")),
    )
    yield (
        "forecast_branches_cells_update",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        grouped(updated, sql.sums("c")),
    )
    yield (
        "forecast_branches_cells_delete",
        "DELETE",
        "OLD TABLE AS old_rows",
        grouped("old_rows c", sql.sums("c", "-")),
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
    for name, event, transition, source in _cell_sources(sql):
        body = sql.add(source)
        if sql.sqlite:
            yield f"CREATE TRIGGER {name} AFTER {event} ON {CELLS} BEGIN {body}; END"
        else:
            yield (
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
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
    """The ancestor table from the active territories, the branches from the cells (the
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
    conn.exec_driver_sql(f"DELETE FROM {DELTAS}")
    conn.exec_driver_sql(f"DELETE FROM {BRANCHES}")
    sums = ", ".join(f"sum(c.{m})" for m in measures)
    conn.exec_driver_sql(
        f"INSERT INTO {BRANCHES} ({', '.join(KEY + tuple(measures))}) "
        f"SELECT a.ancestor_id, c.month, c.stage, {sums} FROM {CELLS} c "
        f"JOIN {ANCESTORS} a ON a.territory_id = c.territory_id "
        "GROUP BY a.ancestor_id, c.month, c.stage"
    )


def fold_deltas(conn: sa.Connection, measures: Sequence[str]) -> int:
    """PostgreSQL: move the committed deltas into the branches' rows, in one statement (a
    reader sees them in one place or the other, never both); returns how many rows moved. One
    fold at a time: another one running, this one does nothing. SQLite keeps no deltas."""
    if conn.dialect.name == "sqlite":
        return 0
    if not conn.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({FOLD_LOCK})").scalar_one():
        return 0
    columns = ", ".join(KEY + tuple(measures))
    sums = ", ".join(f"sum({m})" for m in measures)
    updates = ", ".join(f"{m} = {BRANCHES}.{m} + excluded.{m}" for m in measures)
    keys = ", ".join(KEY)
    result = conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {DELTAS} RETURNING {columns}), "
        f"folded AS (INSERT INTO {BRANCHES} ({columns}) "
        f"SELECT {keys}, {sums} FROM moved GROUP BY {keys} ORDER BY {keys} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {updates} RETURNING 1) "
        "SELECT (SELECT count(*) FROM moved)"
    )
    return int(result.scalar_one())
