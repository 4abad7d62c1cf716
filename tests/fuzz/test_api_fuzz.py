"""Schemathesis against the live server's own `/openapi.json`, signed in as the administrator:
no request of any documented operation gets a 5xx, and every answer — status, content type and
body — is one the document declares (issue 4, API fuzzing).

Every operation is fuzzed, none excluded: the OAuth endpoints only ever see made-up clients and
tokens, and the destructive ones do not lock the administrator out (the API refuses to delete
or deactivate the caller, and user paths get generated ids, never the administrator's). If
one ever did, the later answers would be 401/403 — still declared, only less searching.

Bounded for CI: a fixed seed (reproducible), `MAX_EXAMPLES` generated cases per operation on top
of Schemathesis's examples and coverage phases, no shrinking, no example database, Hypothesis
without a deadline (Schemathesis's own default), on SQLite only (see `backend`). About a minute
and a half on two cores.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.support.records_api import create

SEED = 20_240_604
MAX_EXAMPLES = 15

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)

# Random text almost never names a module or a record, so every operation would stop at its
# first lookup; a path parameter is mostly one of these, sometimes the generated value.
MODULES = ("Accounts", "Contacts", "Deals", "Leads")
RELATED = ("Contacts", "Deals", "Notes")


def fuzz_config(base_url: str, token: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "headers": {"Authorization": f"Zoho-oauthtoken {token}"},
            "request-timeout": 30,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "no-shrink": True,
                "database": "none",
            },
            # Stateful sequences (links between operations) would multiply the run.
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


@pytest.fixture
def backend() -> str:
    """SQLite only (this overrides the two-backend parameter): the operations' inputs are the
    same on both backends, the API tests already run every behaviour on PostgreSQL too, and a
    second fuzz run would double the time in CI for little."""
    return "sqlite"


@pytest.fixture
def live_schema(base_url: str, admin_token: str, api: httpx.Client) -> OpenApiSchema:
    document: dict[str, Any] = api.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document, config=fuzz_config(base_url, admin_token))
    known: dict[str, tuple[str, ...]] = {
        "module": MODULES,
        "record": tuple(create(api, "Accounts", {"Account_Name": "Fuzzed"})),
        "related": RELATED,
    }

    @schema.hook
    def flatmap_path_parameters(
        _: schemathesis.HookContext, path_parameters: dict[str, Any] | None
    ) -> st.SearchStrategy[dict[str, Any] | None]:
        if not path_parameters:
            return st.just(path_parameters)
        return st.fixed_dictionaries(
            {
                name: st.sampled_from((*known[name], value)) if name in known else st.just(value)
                for name, value in path_parameters.items()
            }
        )

    return schema


schema = schemathesis.pytest.from_fixture("live_schema")


@schema.parametrize()
def test_every_operation_answers_as_its_openapi_document_says(case: schemathesis.Case) -> None:
    case.call_and_validate()
