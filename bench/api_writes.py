"""Record inserts through the HTTP API: one record per call, and 100 records per call.

The server runs as its own process (`secteur serve`), so that client and server do not share
an interpreter.

    python -m bench.api_writes --calls 300 --runs 3 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from tests.support.server import free_port

from bench.common import ADMIN, SECRET, median, org, percentile, save
from bench.datagen import accounts
from secteur.services import auth


@contextlib.contextmanager
def server_process(database_url: str) -> Iterator[str]:
    port = free_port()
    script = Path(sys.executable).with_name("secteur")
    env = {
        **os.environ,
        "SECTEUR_DATABASE_URL": database_url,
        "SECTEUR_SECRET_KEY": SECRET,
        "SECTEUR_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [str(script), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _bodies(batch: int, calls: int) -> list[bytes]:
    source = accounts(batch * calls, seed=9)
    return [
        json.dumps({"data": [next(source) for _ in range(batch)]}).encode() for _ in range(calls)
    ]


def run(calls: int, runs: int, backends: list[str]) -> dict[str, Any]:
    results = []
    for backend in backends:
        with org(backend) as app:
            with app.write() as tx:
                token = auth.issue_access_token(
                    tx, ADMIN, "ZohoCRM.modules.ALL", timedelta(hours=4)
                )
            url = app.settings.effective_database_url
            app.dispose()
            with (
                server_process(url) as base,
                httpx.Client(
                    base_url=base,
                    headers={"Authorization": f"Zoho-oauthtoken {token.access_token}"},
                    timeout=60,
                ) as client,
            ):
                for batch in (1, 100):
                    for _ in range(runs):
                        bodies = _bodies(batch, calls if batch == 1 else max(calls // 5, 20))
                        latencies = []
                        start = time.perf_counter()
                        for body in bodies:
                            t0 = time.perf_counter()
                            response = client.post("/crm/v8/Accounts", content=body)
                            latencies.append(time.perf_counter() - t0)
                            assert response.status_code == 201, response.text[:300]
                        elapsed = time.perf_counter() - start
                        row = {
                            "backend": backend,
                            "records_per_call": batch,
                            "calls": len(bodies),
                            "records_per_s": round(batch * len(bodies) / elapsed),
                            "call_p50_ms": round(percentile(latencies, 50) * 1000, 1),
                            "call_p99_ms": round(percentile(latencies, 99) * 1000, 1),
                        }
                        print(json.dumps(row), flush=True)
                        results.append(row)
    summary = {}
    for backend in backends:
        for batch in (1, 100):
            rates = [
                r["records_per_s"]
                for r in results
                if r["backend"] == backend and r["records_per_call"] == batch
            ]
            summary[f"{backend}, {batch} per call: median records/s"] = median(rates)
    return {"benchmark": "api_writes", "runs": runs, "results": results, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(save("api_writes", run(args.calls, args.runs, args.backends)))


if __name__ == "__main__":
    main()
