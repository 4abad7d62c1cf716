"""Criteria evaluation over many accounts: the Python predicate and the SQL compilation.

Python: records already in memory (as canonical values), one compiled predicate called per
record. SQL: one `SELECT count(*) … WHERE <compiled criteria>` over the table.

    python -m bench.criteria_eval --sizes 100000 1000000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench.common import median, org, save
from bench.datagen import accounts, load_accounts
from secteur.adapters.db.criteria_sql import compile_sql
from secteur.domain.criteria import (
    EvalContext,
    compile_predicate,
    parse_criteria,
    validate_criteria,
)

CRITERIA: dict[str, dict[str, Any]] = {
    "one equality": {
        "field": {"api_name": "Billing_Country"},
        "comparator": "equal",
        "value": "France",
    },
    "range and picklist": {
        "group_operator": "AND",
        "group": [
            {
                "field": {"api_name": "Annual_Revenue"},
                "comparator": "greater_than",
                "value": 5000000,
            },
            {
                "field": {"api_name": "Industry"},
                "comparator": "in",
                "value": ["Software", "Banking", "Insurance"],
            },
        ],
    },
    "ten conditions, nested": {
        "group_operator": "OR",
        "group": [
            {
                "group_operator": "AND",
                "group": [
                    {
                        "field": {"api_name": "Billing_Country"},
                        "comparator": "equal",
                        "value": "Germany",
                    },
                    {
                        "field": {"api_name": "Billing_State"},
                        "comparator": "not_in",
                        "value": ["Berlin", "Hamburg"],
                    },
                    {
                        "field": {"api_name": "Employees"},
                        "comparator": "between",
                        "value": [50, 5000],
                    },
                ],
            },
            {
                "group_operator": "AND",
                "group": [
                    {
                        "field": {"api_name": "Billing_Country"},
                        "comparator": "equal",
                        "value": "United States",
                    },
                    {
                        "field": {"api_name": "Account_Name"},
                        "comparator": "contains",
                        "value": "summit",
                    },
                    {
                        "field": {"api_name": "Billing_Code"},
                        "comparator": "starts_with",
                        "value": "9",
                    },
                ],
            },
            {
                "group_operator": "AND",
                "group": [
                    {"field": {"api_name": "Rating"}, "comparator": "equal", "value": "Active"},
                    {"field": {"api_name": "Phone"}, "comparator": "equal", "value": "${NOTEMPTY}"},
                    {
                        "field": {"api_name": "Account_Type"},
                        "comparator": "not_equal",
                        "value": "Competitor",
                    },
                    {
                        "field": {"api_name": "Annual_Revenue"},
                        "comparator": "less_equal",
                        "value": "250000",
                    },
                ],
            },
        ],
    },
}


def run(sizes: list[int], runs: int, backends: list[str]) -> dict[str, Any]:
    results = []
    ctx = EvalContext(now=datetime(2026, 11, 28, 12, tzinfo=UTC), user_id=None, time_zone="UTC")
    for n in sizes:
        records = list(accounts(n))
        for backend in backends:
            with org(backend) as app:
                load_accounts(app, n)
                with app.read() as tx:
                    module = tx.state.module("Accounts")
                    assert module is not None
                    rt = tx.state.table(module)
                    for label, raw in CRITERIA.items():
                        tree = validate_criteria(parse_criteria(raw), module)
                        predicate = compile_predicate(tree, module, ctx)
                        python_s, sql_s = [], []
                        for _ in range(runs):
                            start = time.perf_counter()
                            in_python = sum(1 for r in records if predicate(r))
                            python_s.append(time.perf_counter() - start)
                            start = time.perf_counter()
                            in_sql = tx.conn.execute(
                                sa.select(sa.func.count())
                                .select_from(rt.table)
                                .where(compile_sql(tree, rt, ctx))
                            ).scalar_one()
                            sql_s.append(time.perf_counter() - start)
                            assert in_python == in_sql, (label, in_python, in_sql)
                        row = {
                            "backend": backend,
                            "accounts": n,
                            "criteria": label,
                            "matches": in_sql,
                            "python_s": round(median(python_s), 3),
                            "python_us_per_record": round(median(python_s) / n * 1e6, 2),
                            "sql_s": round(median(sql_s), 3),
                        }
                        print(json.dumps(row), flush=True)
                        results.append(row)
    return {"benchmark": "criteria_eval", "runs": runs, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(save("criteria_eval", run(args.sizes, args.runs, args.backends)))


if __name__ == "__main__":
    main()
