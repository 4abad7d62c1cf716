"""Batches of settings writes: one result per item, and the HTTP status of the whole."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.responses import Response

from secteur.api import responses
from secteur.services.app import Tx
from secteur.services.errors import ItemFailure, ServiceError

Handler = Callable[[int, Mapping[str, Any]], tuple[str, Mapping[str, Any]]]
# One item's answer: whether it succeeded, and its Zoho result object.
Outcome = tuple[bool, dict[str, Any]]


def run_items(tx: Tx, items: Sequence[Any], handle: Handler) -> list[tuple[bool, dict[str, Any]]]:
    """Apply `handle` to each item; an ItemFailure becomes that item's error, others go on.

    Each item runs in a savepoint, so a failing item leaves nothing half-written.
    """
    results: list[tuple[bool, dict[str, Any]]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            results.append(
                (
                    False,
                    responses.error_body(
                        "INVALID_DATA",
                        "invalid data",
                        {"json_path": f"$[{index}]", "expected_data_type": "jsonobject"},
                    ),
                )
            )
            continue
        try:
            with tx.conn.begin_nested():
                message, details = handle(index, item)
        except ItemFailure as failure:
            results.append(
                (False, responses.error_body(failure.code, failure.message, failure.details))
            )
            continue
        results.append((True, responses.success_item(message, details)))
    return results


def per_item(
    tx: Tx, items: Sequence[Any], handle: Callable[[int, Any], tuple[str, Mapping[str, Any]]]
) -> list[Outcome]:
    """Apply `handle` to each item in a savepoint; a 400 error becomes that item's answer.

    Errors with another status (no permission, feature off) concern the whole request.
    """
    results: list[Outcome] = []
    for index, item in enumerate(items):
        try:
            with tx.conn.begin_nested():
                message, details = handle(index, item)
        except ServiceError as exc:
            if exc.status != 400:
                raise
            results.append((False, responses.error_body(exc.code, exc.message, exc.details)))
            continue
        results.append((True, responses.success_item(message, details)))
    return results


def batch_response(key: str, results: Sequence[Outcome], success_status: int = 200) -> Response:
    status = responses.batch_status([ok for ok, _ in results], success_status)
    return responses.ok({key: [body for _, body in results]}, status=status)
