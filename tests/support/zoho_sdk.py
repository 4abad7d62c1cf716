"""Driving the official Zoho SDK (`zohocrmsdk8-0`) against a live Secteur server.

The SDK keeps its configuration in a process-global `Initializer`, so every test initialises it
again with its own token store and its own `resource_path` (where the SDK caches field
metadata on disk): nothing is shared between tests, or between xdist workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zohocrmsdk.src.com.zoho.api.authenticator import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api import Initializer, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api import users as zu
from zohocrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.record import (
    ActionWrapper,
    BodyWrapper,
    Record,
    ResponseWrapper,
    SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.util import APIResponse
from zohocrmsdk.src.com.zoho.crm.api.util.utility import Utility


class MemoryStore(TokenStore):  # type: ignore[misc]
    """A token store that lives as long as one test.

    `save_token` must give the token an id: without one, the SDK repeats its user lookup
    (CurrentUser, org) before every call when it was given a bare access token.
    """

    def __init__(self) -> None:
        self.rows: dict[str, Any] = {}

    def find_token(self, token: Any) -> Any:
        for row in self.rows.values():
            refresh = token.get_refresh_token()
            access = token.get_access_token()
            if (refresh and refresh == row.get_refresh_token()) or (
                access and access == row.get_access_token()
            ):
                return row
        return None

    def find_token_by_id(self, id: str) -> Any:
        return self.rows.get(id)

    def save_token(self, token: Any) -> None:
        if token.get_id() is None:
            token.set_id(str(len(self.rows) + 1))
        self.rows[token.get_id()] = token

    def delete_token(self, id: str) -> None:
        self.rows.pop(id, None)

    def get_tokens(self) -> list[Any]:
        return list(self.rows.values())

    def delete_tokens(self) -> None:
        self.rows.clear()


def initialise(
    base_url: str, token: Any, resource_path: Path, sdk_config: Any | None = None
) -> MemoryStore:
    """Point the SDK at `base_url` with nothing else changed; returns the fresh token store.

    The SDK's default configuration is used unless one is given (by default it checks picklist
    values against the server's field metadata before sending). `initialize` obtains the
    access token (unless one is given) and looks up the current user and the org right away,
    so a server that refuses the token fails here.
    """
    resource_path.mkdir(parents=True, exist_ok=True)
    # Module metadata fetched for another server must not leak into this one.
    Utility.api_supported_modules = {}
    store = MemoryStore()
    Initializer.initialize(
        environment=DataCenter.Environment(base_url, f"{base_url}/oauth/v2/token", base_url),
        token=token,
        store=store,
        sdk_config=SDKConfig() if sdk_config is None else sdk_config,
        resource_path=str(resource_path),
    )
    return store


def refresh_token(client_id: str, client_secret: str, refresh: str) -> Any:
    return OAuthToken(client_id=client_id, client_secret=client_secret, refresh_token=refresh)


def access_token(token: str) -> Any:
    return OAuthToken(access_token=token)


# ---- building requests ------------------------------------------------------------------------


def record(**values: Any) -> Any:
    """A Record with the given field values (as the SDK expects their Python types)."""
    built = Record()
    for key, value in values.items():
        if key == "id":
            built.set_id(value)
        else:
            built.add_key_value(key, value)
    return built


def records_body(*records: Any, trigger: list[str] | None = None) -> Any:
    """A write body; `trigger` is left out unless given, as most SDK users leave it."""
    body = BodyWrapper()
    body.set_data(list(records))
    if trigger is not None:
        body.set_trigger(trigger)
    return body


def create_user(email: str, role_id: int, profile_id: int) -> int:
    """Adds an active user with the SDK's UsersOperations; returns the new user's id."""
    user = zu.Users()
    user.set_first_name("Grace")
    user.set_last_name("Hopper")
    user.set_email(email)
    role, profile = zu.Role(), zu.Profile()
    role.set_id(role_id)
    profile.set_id(profile_id)
    user.set_role(role)
    user.set_profile(profile)
    body = zu.BodyWrapper()
    body.set_users([user])
    (result,) = successes(zu.UsersOperations().create_users(body), zu.ActionWrapper, "users")
    return int(result.get_details()["id"])


# ---- reading responses ------------------------------------------------------------------------


def parsed(response: APIResponse | None) -> Any:
    """The parsed object of a response; the SDK returns None when it swallowed an error."""
    assert response is not None, "the SDK swallowed an exception (see the captured SDKLogger log)"
    obj = response.get_object()
    assert obj is not None, (
        f"the SDK could not parse the answer: {response.get_status_code()} "
        f"{response.get_response_json()}"
    )
    return obj


def items(
    response: APIResponse | None, wrapper: type = ActionWrapper, key: str = "data"
) -> list[Any]:
    """The per-item results of a write (`SuccessResponse` or `APIException` each)."""
    obj = parsed(response)
    assert isinstance(obj, wrapper), f"expected {wrapper.__name__}, got {error_text(obj)}"
    return list(getattr(obj, f"get_{key}")())


def successes(
    response: APIResponse | None, wrapper: type = ActionWrapper, key: str = "data"
) -> list[Any]:
    """Every item of a write, each asserted to be a success."""
    results = items(response, wrapper, key)
    for result in results:
        assert type(result).__name__ == "SuccessResponse", error_text(result)
    return results


def created_id(response: APIResponse | None) -> int:
    """The id of the single record a write created or changed."""
    (result,) = successes(response)
    assert isinstance(result, SuccessResponse)
    return int(result.get_details()["id"])


def data(
    response: APIResponse | None, wrapper: type = ResponseWrapper, key: str = "data"
) -> list[Any]:
    """The objects of a read."""
    obj = parsed(response)
    assert isinstance(obj, wrapper), f"expected {wrapper.__name__}, got {error_text(obj)}"
    return list(getattr(obj, f"get_{key}")())


def one(response: APIResponse | None) -> Any:
    (found,) = data(response)
    return found


def one_user(kind: str) -> Any:
    """The single user of a `type=` listing (e.g. CurrentUser)."""
    params = ParameterMap()
    params.add(zu.GetUsersParam.type, kind)
    (user,) = data(zu.UsersOperations().get_users(params), zu.ResponseWrapper, "users")
    return user


def value(choice_or_text: Any) -> Any:
    """The plain value behind a Choice (codes and messages are Choices in record answers)."""
    return choice_or_text.get_value() if hasattr(choice_or_text, "get_value") else choice_or_text


def api_error(obj: Any) -> tuple[str, str, dict[str, Any]]:
    """(code, message, details) of an APIException, whatever package it comes from."""
    assert type(obj).__name__ == "APIException", f"expected an APIException, got {obj!r}"
    return value(obj.get_code()), value(obj.get_message()), dict(obj.get_details() or {})


def error_text(obj: Any) -> str:
    if type(obj).__name__ == "APIException":
        code, message, details = api_error(obj)
        return f"APIException {code}: {message} {details}"
    return repr(obj)
