"""Filtered record lists over many accounts: the service call and the HTTP round trip.

python -m bench.list_filter --sizes 100000 1000000 --runs 30 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import httpx
from tests.support.server import running

from bench.common import ADMIN, org, percentile, save
from bench.datagen import load_accounts
from secteur.domain.actor import actor_for
from secteur.services import auth
from secteur.services import record_queries as queries
from secteur.services.app import Secteur

SEARCHES = {
    "indexed equality (Billing_Country = France)": "(Billing_Country:equals:France)",
    "indexed picklist (Industry = Software)": "(Industry:equals:Software)",
    "two conditions (Country = Germany and Employees > 100)": (
        "((Billing_Country:equals:Germany)and(Employees:greater_than:100))"
    ),
    "unindexed range (Annual_Revenue > 50M)": "(Annual_Revenue:greater_than:50000000)",
    "contains scan (Account_Name contains 'summit')": "(Account_Name:contains:summit)",
}


def _service_samples(app: Secteur, criteria: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        with app.read() as tx:
            module = tx.state.module("Accounts")
            assert module is not None
            actor = actor_for(tx.state.directory, next(iter(tx.state.directory.users)))
            assert actor is not None
            condition, fingerprint = queries.search_condition(tx, actor, module, criteria=criteria)
            query = queries.ListQuery(
                per_page=200, conditions=(condition,), fingerprint=fingerprint
            )
            page = queries.list_records(tx, actor, module, query)
        samples.append(time.perf_counter() - start)
        assert page.records
    return samples


def _http_samples(client: httpx.Client, criteria: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(
            "/crm/v8/Accounts/search", params={"criteria": criteria, "per_page": 200}
        )
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return samples


def run(sizes: list[int], runs: int, backends: list[str]) -> dict[str, Any]:
    results = []
    for backend in backends:
        for n in sizes:
            with org(backend) as app:
                load_accounts(app, n)
                with app.write() as tx:
                    token = auth.issue_access_token(
                        tx, ADMIN, "ZohoCRM.modules.ALL", __import__("datetime").timedelta(hours=2)
                    )
                with (
                    running(app) as base,
                    httpx.Client(
                        base_url=base,
                        headers={"Authorization": f"Zoho-oauthtoken {token.access_token}"},
                    ) as client,
                ):
                    for label, criteria in SEARCHES.items():
                        _service_samples(app, criteria, 2)  # warm caches
                        service = _service_samples(app, criteria, runs)
                        http = _http_samples(client, criteria, runs)
                        row = {
                            "backend": backend,
                            "accounts": n,
                            "query": label,
                            "service_p50_ms": round(percentile(service, 50) * 1000, 1),
                            "service_p95_ms": round(percentile(service, 95) * 1000, 1),
                            "http_p50_ms": round(percentile(http, 50) * 1000, 1),
                            "http_p95_ms": round(percentile(http, 95) * 1000, 1),
                        }
                        print(json.dumps(row), flush=True)
                        results.append(row)
    return {"benchmark": "list_filter", "runs": runs, "page_size": 200, "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(save("list_filter", run(args.sizes, args.runs, args.backends)))


if __name__ == "__main__":
    main()
