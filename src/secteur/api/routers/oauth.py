"""The accounts server: `POST /oauth/v2/token` and `/oauth/v2/token/revoke` (api-compat.md 1)."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import Response

from secteur.api import openapi, responses
from secteur.api.deps import AppDep
from secteur.services import auth
from secteur.services.errors import ServiceError

router = APIRouter(tags=["OAuth"])


async def _params(request: Request) -> dict[str, str]:
    """Form fields, with query parameters as Zoho also accepts them."""
    params = {k: v for k, v in request.query_params.items()}
    raw = await request.body()
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True) if raw else {}
    except UnicodeDecodeError:
        form = {}
    params.update({k: v[0] for k, v in form.items() if v})
    return params


def _oauth_error(code: str) -> Response:
    return responses.ok({"error": code}, status=400)


_TOKEN = {
    "type": "object",
    "required": ["access_token", "scope", "token_type", "expires_in"],
    "properties": {
        "access_token": {"type": "string"},
        "refresh_token": {"type": "string"},
        "scope": {"type": "string"},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer"},
    },
}
_OAUTH_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "examples": ["invalid_client"]}},
}
_REVOKED = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["success"]}},
}


@router.post(
    "/oauth/v2/token",
    summary="Issue an access token (refresh_token or authorization_code grant)",
    responses=openapi.oauth(_TOKEN, _OAUTH_ERROR),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "grant_type": {
                                "type": "string",
                                "enum": ["refresh_token", "authorization_code"],
                            },
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "refresh_token": {"type": "string"},
                            "code": {"type": "string"},
                            "redirect_uri": {"type": "string"},
                        },
                    }
                }
            }
        }
    },
)
async def token(request: Request, app: AppDep) -> Response:
    params = await _params(request)
    grant = params.get("grant_type", "")
    client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
    if grant not in ("refresh_token", "authorization_code"):
        return _oauth_error("unsupported_grant_type")
    if not client_id or not secret:
        return _oauth_error("invalid_client")
    try:
        with app.write() as tx:
            if grant == "refresh_token":
                issued = auth.refresh(tx, client_id, secret, params.get("refresh_token", ""))
            else:
                issued = auth.exchange_code(tx, client_id, secret, params.get("code", ""))
    except auth.OAuthError as exc:
        return _oauth_error(exc.code)
    body: dict[str, object] = {
        "access_token": issued.access_token,
        "scope": issued.scopes,
        "token_type": "Bearer",
        # Seconds. Never `expires_in_sec`: its presence makes the SDK read this as milliseconds.
        "expires_in": issued.expires_in,
    }
    if issued.refresh_token:
        body["refresh_token"] = issued.refresh_token
    return responses.ok(body)


@router.post(
    "/oauth/v2/token/revoke",
    summary="Revoke a refresh or access token",
    responses=openapi.oauth(_REVOKED, openapi.ERROR),
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["token"],
                        "properties": {"token": {"type": "string"}},
                    }
                }
            }
        }
    },
)
async def revoke(request: Request, app: AppDep) -> Response:
    params = await _params(request)
    value = params.get("token", "")
    if not value:
        raise ServiceError(
            "REQUIRED_PARAM_MISSING", "the token to revoke is missing", {"param_name": "token"}
        )
    with app.write() as tx:
        auth.revoke(tx, value)
    # As RFC 7009: the answer does not say whether the token existed.
    return responses.ok({"status": "success"})
