"""Storage layout for record fields (ADR 0002): typed columns vs one JSON document per record.

For each layout and size, on SQLite and PostgreSQL: bulk load, an indexed equality filter
returning the first page (the list view), a range filter on an unindexed number, a
case-insensitive contains scan, and a GROUP BY. Medians of several runs.

    python -m bench.storage_layouts --sizes 100000 1000000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import median, postgres_url, save
from bench.datagen import accounts
from secteur.domain.text import fold

FIELDS = (
    "Account_Name",
    "Billing_Country",
    "Billing_State",
    "Billing_City",
    "Billing_Code",
    "Industry",
    "Annual_Revenue",
    "Employees",
    "Account_Type",
    "Rating",
    "Phone",
)
SQL_TYPES = {"Annual_Revenue": "DOUBLE PRECISION", "Employees": "BIGINT"}
TEXT = (
    "Account_Name",
    "Billing_Country",
    "Billing_State",
    "Billing_City",
    "Billing_Code",
    "Industry",
    "Account_Type",
    "Rating",
    "Phone",
)


def _columns_rows(n: int) -> Iterator[tuple[Any, ...]]:
    for i, a in enumerate(accounts(n), start=1):
        yield (i, *(a[f] for f in FIELDS), *(fold(a[f]) for f in TEXT))


def _json_rows(n: int) -> Iterator[tuple[Any, ...]]:
    for i, a in enumerate(accounts(n), start=1):
        doc = {**a, **{f + "__ci": fold(a[f]) for f in TEXT}}
        yield (i, json.dumps(doc, ensure_ascii=False))


# As in the application's tables: on SQLite the id is the rowid (INTEGER PRIMARY KEY), so an
# index on a column keeps equal values in id order and a page needs no sort.
COLUMN_DDL = (
    "CREATE TABLE acc (id {id_type} PRIMARY KEY, "
    + ", ".join(f"{f.lower()} {SQL_TYPES.get(f, 'TEXT')}" for f in FIELDS)
    + ", "
    + ", ".join(f"{f.lower()}__ci TEXT" for f in TEXT)
    + ")"
)


@contextmanager
def sqlite_db() -> Iterator[Any]:
    with tempfile.TemporaryDirectory() as directory:
        con = sqlite3.connect(str(Path(directory) / "layout.db"), isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-65536")
        yield con
        con.close()


@contextmanager
def pg_db() -> Iterator[Any]:
    import psycopg

    with postgres_url() as url:
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as con:
            yield con


def _id_type(dialect: str) -> str:
    return "INTEGER" if dialect == "sqlite" else "BIGINT"


def _load(con: Any, dialect: str, layout: str, n: int) -> float:
    placeholder = "?" if dialect == "sqlite" else "%s"
    if layout == "columns":
        con.execute(COLUMN_DDL.format(id_type=_id_type(dialect)))
        width = 1 + len(FIELDS) + len(TEXT)
        sql = f"INSERT INTO acc VALUES ({', '.join([placeholder] * width)})"
        rows = _columns_rows(n)
    else:
        kind = "TEXT" if dialect == "sqlite" else "JSONB"
        con.execute(f"CREATE TABLE acc (id {_id_type(dialect)} PRIMARY KEY, doc {kind})")
        sql = f"INSERT INTO acc VALUES ({placeholder}, {placeholder})"
        rows = _json_rows(n)
    start = time.perf_counter()
    batch: list[tuple[Any, ...]] = []
    cursor = con.cursor()
    con.execute("BEGIN")
    for row in rows:
        batch.append(row)
        if len(batch) == 10_000:
            cursor.executemany(sql, batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)
    con.execute("COMMIT")
    if layout == "columns":
        con.execute("CREATE INDEX ix_country ON acc (billing_country__ci)")
    elif dialect == "sqlite":
        con.execute("CREATE INDEX ix_country ON acc (json_extract(doc, '$.Billing_Country__ci'))")
    else:
        con.execute("CREATE INDEX ix_country ON acc ((doc->>'Billing_Country__ci'))")
    con.execute("ANALYZE")
    return time.perf_counter() - start


def _expr(dialect: str, layout: str, field: str, numeric: bool = False) -> str:
    if layout == "columns":
        return field.lower()
    if dialect == "sqlite":
        return f"json_extract(doc, '$.{field}')"
    return f"((doc->>'{field}')::double precision)" if numeric else f"(doc->>'{field}')"


def _queries(dialect: str, layout: str) -> dict[str, str]:
    country = _expr(
        dialect, layout, "billing_country__ci" if layout == "columns" else "Billing_Country__ci"
    )
    revenue = _expr(
        dialect, layout, "annual_revenue" if layout == "columns" else "Annual_Revenue", True
    )
    name = _expr(dialect, layout, "account_name__ci" if layout == "columns" else "Account_Name__ci")
    industry = _expr(dialect, layout, "industry" if layout == "columns" else "Industry")
    position = "instr" if dialect == "sqlite" else "strpos"
    rows, count, page = "SELECT * FROM acc WHERE", "SELECT count(*) FROM acc WHERE", "LIMIT 201"
    grouped = "FROM acc GROUP BY 1"
    return {
        "page of an indexed equality filter": f"{rows} {country} = 'france' ORDER BY id {page}",
        "page of an unindexed range filter": f"{rows} {revenue} > 50000000 ORDER BY id {page}",
        "count of a contains scan": f"{count} {position}({name}, 'summit') > 0",
        "group by over all rows": f"SELECT {industry}, count(*), sum({revenue}) {grouped}",
    }


def _time(con: Any, sql: str, runs: int) -> float:
    samples = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        con.execute(sql).fetchall()
        samples.append(time.perf_counter() - start)
    return median(samples[1:])  # the first run warms the cache


def run(sizes: list[int], runs: int, backends: list[str]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    opener: dict[str, Callable[[], Any]] = {"sqlite": sqlite_db, "postgresql": pg_db}
    for backend in backends:
        for n in sizes:
            for layout in ("columns", "json"):
                with opener[backend]() as con:
                    load = _load(con, backend, layout, n)
                    row = {
                        "backend": backend,
                        "layout": layout,
                        "rows": n,
                        "load_s": round(load, 2),
                    }
                    for label, sql in _queries(backend, layout).items():
                        row[label] = round(_time(con, sql, runs) * 1000, 2)
                    print(json.dumps(row), flush=True)
                    results.append(row)
    return {
        "benchmark": "storage_layouts",
        "runs": runs,
        "unit": "ms (load in s)",
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(save("storage_layouts", run(args.sizes, args.runs, args.backends)))


if __name__ == "__main__":
    main()
