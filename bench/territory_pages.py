"""The territory screens with a large tree (issue 5: "stays fast with 10,000 territories").

    python -m bench.territory_pages --sizes 100000 --territories 10000 --runs 7

For each database and size: an org with the generated tree (`bench.territory_data`) and that
many accounts assigned by a run of the rules, then server time (in-process ASGI client, signed
in as the admin) of: the tree page (root, first level, the selected territory's panel and
counts), opening a level, searching by name, a deep territory's page, a rule editor with its
live count, and the live count of an edited rule. Medians of `--runs`.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from starlette.testclient import TestClient

from bench.common import ADMIN, median, org, save
from bench.territory_data import make_tree
from bench.territory_run import _load
from secteur.api.app import create_app
from secteur.domain.actor import actor_for
from secteur.services import jobs, territory_runs
from secteur.services.app import Secteur

PASSWORD = "bench-password"


def _assign(app: Secteur) -> None:
    with app.write() as tx:
        actor = actor_for(tx.state.directory, next(iter(tx.state.directory.users)))
        assert actor is not None
        territory_runs.schedule(
            tx, actor, {"run_rules": {"module": {"api_name": "Accounts"}}}, preview=False
        )
    jobs.run_pending(app)


def _client(app: Secteur) -> TestClient:
    client = TestClient(create_app(app), base_url="http://127.0.0.1")
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    signed = client.post(
        "/login",
        data={"email": ADMIN, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    return client


def _time(client: TestClient, path: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return round(median(samples) * 1e3, 1)


def run(sizes: list[int], n_territories: int, runs: int, backends: list[str]) -> dict[str, Any]:
    territories = make_tree(n_territories)
    deep = max(territories, key=lambda t: len(str(t.name)))  # any non-root territory
    region = next(t for t in territories if t.parent_id == territories[0].id)
    results = []
    for backend in backends:
        for size in sizes:
            with org(backend) as app:
                _load(app, size, territories)
                _assign(app)
                client = _client(app)
                row = {
                    "backend": backend,
                    "accounts": size,
                    "territories": n_territories,
                    "tree_page_ms": _time(client, "/territories", runs),
                    "deep_territory_page_ms": _time(client, f"/territories?t={deep.id}", runs),
                    "open_a_level_ms": _time(client, f"/territories/{region.id}/children", runs),
                    "search_ms": _time(client, "/territories/search?q=ent", runs),
                    "rule_editor_ms": _time(client, f"/territories/{deep.id}/rules/Accounts", runs),
                    "live_count_ms": _time(
                        client,
                        f"/territories/{deep.id}/rules/Accounts/reach"
                        "?f0=Billing_City&o0=contains&v0=a",
                        runs,
                    ),
                }
                print(row, flush=True)
                results.append(row)
    return {"results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--territories", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(save("territory_pages", run(args.sizes, args.territories, args.runs, args.backends)))


if __name__ == "__main__":
    main()
