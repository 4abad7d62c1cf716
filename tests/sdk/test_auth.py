"""Signing the SDK in: refresh token, grant code, bare access token; refused tokens.

The SDK obtains its token and looks up the current user and the org inside
`Initializer.initialize`, so a flow that works is one whose initialisation succeeds and whose
first call is accepted.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
from zohocrmsdk.src.com.zoho.crm.api.org import ResponseWrapper as OrgWrapper
from zohocrmsdk.src.com.zoho.crm.api.record import APIException, RecordOperations

from secteur.services import auth
from secteur.services.app import Secteur
from tests.conftest import token_for
from tests.sdk.conftest import Integration, integration_for
from tests.support import zoho_sdk as z
from tests.support.orgs import ADMIN_EMAIL, ALL_SCOPES, Clock

pytestmark = pytest.mark.sdk


def current_user_email() -> str:
    return str(z.one_user("CurrentUser").get_email())


def org_zgid() -> str:
    (org,) = z.data(OrgOperations().get_organization(), OrgWrapper, "org")
    return str(org.get_zgid())


def refused_code(response: Any) -> tuple[int, str]:
    error = z.parsed(response)
    assert isinstance(error, APIException), z.error_text(error)
    return response.get_status_code(), z.api_error(error)[0]


def test_the_refresh_token_flow_signs_the_sdk_in_as_the_tokens_user(
    base_url: str, integration: Integration, tmp_path: Path
) -> None:
    token = z.refresh_token(
        integration.client_id, integration.client_secret, integration.refresh_token
    )

    store = z.initialise(base_url, token, tmp_path / "sdk")

    (saved,) = store.get_tokens()
    assert saved.get_access_token() and saved.get_access_token() != integration.refresh_token
    # The SDK's user lookup at initialisation found the user and the org: "<email>:<zgid>".
    assert saved.get_user_signature().get_name() == f"{ADMIN_EMAIL}:{org_zgid()}"
    assert current_user_email() == ADMIN_EMAIL


def test_the_authorization_code_flow_yields_a_refresh_token_and_works(
    app: Secteur, base_url: str, tmp_path: Path
) -> None:
    with app.write() as tx:
        client = auth.create_client(tx, "SDK grant", redirect_uri="http://localhost/cb")
        code = auth.create_grant(tx, client.client_id, ADMIN_EMAIL, ALL_SCOPES)
    token = OAuthToken(
        client_id=client.client_id,
        client_secret=client.client_secret,
        grant_token=code,
        redirect_url="http://localhost/cb",
    )

    store = z.initialise(base_url, token, tmp_path / "sdk")

    (saved,) = store.get_tokens()
    assert saved.get_refresh_token() and saved.get_refresh_token().startswith("1000.")
    assert current_user_email() == ADMIN_EMAIL


def test_a_grant_code_is_good_only_once(app: Secteur, base_url: str, tmp_path: Path) -> None:
    with app.write() as tx:
        client = auth.create_client(tx, "SDK grant")
        code = auth.create_grant(tx, client.client_id, ADMIN_EMAIL, ALL_SCOPES)
    z.initialise(
        base_url,
        OAuthToken(
            client_id=client.client_id, client_secret=client.client_secret, grant_token=code
        ),
        tmp_path / "first",
    )

    with pytest.raises(SDKException) as raised:
        z.initialise(
            base_url,
            OAuthToken(
                client_id=client.client_id, client_secret=client.client_secret, grant_token=code
            ),
            tmp_path / "second",
        )

    assert raised.value.error_message == "invalid_code"


def test_a_wrong_client_secret_fails_initialisation_with_the_servers_error(
    base_url: str, integration: Integration, tmp_path: Path
) -> None:
    token = z.refresh_token(integration.client_id, "not-the-secret", integration.refresh_token)

    with pytest.raises(SDKException) as raised:
        z.initialise(base_url, token, tmp_path / "sdk")

    assert raised.value.error_message == "invalid_client_secret"


def test_a_refresh_token_revoked_through_the_revoke_endpoint_no_longer_signs_in(
    base_url: str, integration: Integration, tmp_path: Path
) -> None:
    revoked = OAuthToken.revoke_refresh_token(
        integration.refresh_token, f"{base_url}/oauth/v2/token/revoke"
    )
    token = z.refresh_token(
        integration.client_id, integration.client_secret, integration.refresh_token
    )

    with pytest.raises(SDKException) as raised:
        z.initialise(base_url, token, tmp_path / "sdk")

    assert revoked is True
    assert raised.value.error_message == "invalid_code"


def test_a_bare_access_token_is_enough_to_use_the_sdk(
    app: Secteur, base_url: str, tmp_path: Path
) -> None:
    access = token_for(app)

    store = z.initialise(base_url, z.access_token(access), tmp_path / "sdk")

    (saved,) = store.get_tokens()
    assert saved.get_access_token() == access and saved.get_refresh_token() is None
    assert current_user_email() == ADMIN_EMAIL
    assert z.parsed(RecordOperations("Leads").record_count()).get_count() == 0


def test_an_expired_access_token_is_refused_with_invalid_token(
    app: Secteur, base_url: str, clock: Clock, tmp_path: Path
) -> None:
    z.initialise(base_url, z.access_token(token_for(app)), tmp_path / "sdk")
    RecordOperations("Leads").record_count()

    clock.advance(timedelta(hours=2))

    assert refused_code(RecordOperations("Leads").record_count()) == (401, "INVALID_TOKEN")


def test_a_revoked_access_token_is_refused_with_invalid_token(
    app: Secteur, base_url: str, tmp_path: Path
) -> None:
    access = token_for(app)
    z.initialise(base_url, z.access_token(access), tmp_path / "sdk")

    with app.write() as tx:
        assert auth.revoke(tx, access)

    assert refused_code(RecordOperations("Leads").record_count()) == (401, "INVALID_TOKEN")


def test_the_sdk_does_not_refresh_a_token_the_server_expired_before_its_own_clock_did(
    base_url: str, integration: Integration, clock: Clock, tmp_path: Path
) -> None:
    token = z.refresh_token(
        integration.client_id, integration.client_secret, integration.refresh_token
    )
    z.initialise(base_url, token, tmp_path / "sdk")

    clock.advance(timedelta(hours=2))

    # The SDK refreshes only by its own clock, never on a 401: the server's refusal reaches it.
    assert refused_code(RecordOperations("Leads").record_count()) == (401, "INVALID_TOKEN")


def test_a_token_without_the_modules_scope_is_refused_with_a_scope_mismatch(
    app: Secteur, base_url: str, tmp_path: Path
) -> None:
    scopes = (
        "ZohoCRM.modules.leads.ALL,ZohoCRM.settings.fields.READ,ZohoCRM.users.READ,ZohoCRM.org.READ"
    )
    granted = integration_for(app, scopes=scopes)
    z.initialise(
        base_url,
        z.refresh_token(granted.client_id, granted.client_secret, granted.refresh_token),
        tmp_path / "sdk",
    )

    allowed = RecordOperations("Leads").get_records()
    refused = RecordOperations("Accounts").get_records()

    assert allowed is not None and allowed.get_status_code() == 204
    assert refused_code(refused) == (401, "OAUTH_SCOPE_MISMATCH")
