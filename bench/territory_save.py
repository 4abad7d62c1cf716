"""What territories add to a record create through the API (TER-10), with a 10,000-territory
tree: the same single-account POSTs with territory management off and on, interleaved in
rounds so that both see the same machine.

    python -m bench.territory_save --calls 300 --runs 3 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from typing import Any

import httpx

from bench.api_writes import server_process
from bench.common import ADMIN, median, org, percentile, save
from bench.territory_data import make_accounts, make_tree
from bench.territory_run import _write_tree
from secteur.adapters.db import metadata_repo, territory_repo
from secteur.domain.territories import TerritorySettings
from secteur.services import auth
from secteur.services.app import Secteur


def _switch(app: Secteur, enabled: bool) -> None:
    with app.write() as tx:
        territory_repo.save_settings(tx.conn, TerritorySettings(enabled=enabled))
        metadata_repo.bump_metadata_version(tx.conn)


def _calls(client: httpx.Client, bodies: list[bytes]) -> list[float]:
    client.post("/crm/v8/Accounts", content=bodies[0])  # warm the server's caches
    latencies = []
    for body in bodies[1:]:
        start = time.perf_counter()
        response = client.post("/crm/v8/Accounts", content=body)
        latencies.append(time.perf_counter() - start)
        assert response.status_code == 201, response.text[:300]
    return latencies


def run(calls: int, runs: int, backends: list[str], n_territories: int) -> dict[str, Any]:
    territories = make_tree(n_territories)
    results = []
    for backend in backends:
        with org(backend) as app:
            with app.write() as tx:
                owner = next(iter(tx.state.directory.users))
                _write_tree(tx.conn, territories, tx.now, owner)
                token = auth.issue_access_token(
                    tx, ADMIN, "ZohoCRM.modules.ALL", timedelta(hours=4)
                )
            url = app.settings.effective_database_url
            source = make_accounts(2 * runs * (calls + 1), seed=5)
            headers = {"Authorization": f"Zoho-oauthtoken {token.access_token}"}
            with (
                server_process(url) as base,
                httpx.Client(base_url=base, headers=headers, timeout=60) as client,
            ):
                for _ in range(runs):
                    for enabled in (False, True):
                        _switch(app, enabled)
                        bodies = [
                            json.dumps({"data": [next(source)]}).encode() for _ in range(calls + 1)
                        ]
                        latencies = _calls(client, bodies)
                        row = {
                            "backend": backend,
                            "territories": "on" if enabled else "off",
                            "p50_ms": round(percentile(latencies, 50) * 1000, 2),
                            "p99_ms": round(percentile(latencies, 99) * 1000, 2),
                        }
                        print(json.dumps(row), flush=True)
                        results.append(row)
            app.dispose()
    summary = {}
    for backend in backends:
        for stat in ("p50_ms", "p99_ms"):
            on = median(
                [r[stat] for r in results if r["backend"] == backend and r["territories"] == "on"]
            )
            off = median(
                [r[stat] for r in results if r["backend"] == backend and r["territories"] == "off"]
            )
            summary[f"{backend} {stat}: on − off"] = round(on - off, 2)
    return {"benchmark": "territory_save", "results": results, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--territories", type=int, default=10_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(save("territory_save", run(args.calls, args.runs, args.backends, args.territories)))


if __name__ == "__main__":
    main()
