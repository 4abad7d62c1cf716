"""`secteur demo` as a new user runs it: data is created, the API is served, the token works."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import httpx

from tests.cli.test_cli import secteur_command
from tests.support.server import free_port


def _wait_for(url: str, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("secteur demo exited before serving")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("secteur demo did not start serving")


def test_demo_serves_a_realistic_org_and_its_printed_token_works(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECTEUR_")}
    env["SECTEUR_DATA_DIR"] = str(tmp_path / "data")
    log = tmp_path / "demo.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [*secteur_command(), "demo", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/openapi.json", process)
        printed = log.read_text()
        token = re.search(r"API token\s*:\s*(\S+)", printed)
        assert token is not None, printed
        assert "admin@zylker.example" in printed
        headers = {"Authorization": f"Zoho-oauthtoken {token.group(1)}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            counts = {
                m: client.get(f"/crm/v8/{m}/actions/count").json()["count"]
                for m in ("Accounts", "Contacts", "Deals", "Leads")
            }
            assert counts["Accounts"] >= 1000 and counts["Contacts"] >= 2000
            assert counts["Deals"] >= 1500 and counts["Leads"] > 0
            users = client.get("/crm/v8/users", params={"type": "ActiveUsers"}).json()["users"]
            assert len(users) >= 20
            roles = client.get("/crm/v8/settings/roles").json()["roles"]
            parents = {r["id"]: (r["reporting_to"] or {}).get("id") for r in roles}

            def depth(role_id: str | None) -> int:
                return 0 if role_id is None else 1 + depth(parents[role_id])

            assert max(depth(r) for r in parents) >= 3
            countries = {
                a["Billing_Country"]
                for a in client.get(
                    "/crm/v8/Accounts", params={"fields": "Billing_Country"}
                ).json()["data"]
            }
            assert len(countries) >= 4
    finally:
        process.terminate()
        process.wait(timeout=30)
