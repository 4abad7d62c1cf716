"""Fixtures for driving the official Zoho SDK against a live server, on both backends.

`sdk` initialises the SDK for the test with the refresh-token flow: an OAuth client and a
refresh token are created through the services, and the SDK obtains its access token from the
server's token endpoint. Each test gets its own token store and its own `resource_path`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

from secteur.services import auth
from secteur.services.app import Secteur
from tests.support import zoho_sdk
from tests.support.orgs import ADMIN_EMAIL, ALL_SCOPES


@dataclass(frozen=True)
class Integration:
    """An OAuth client with a refresh token for a user, as an admin would set one up."""

    client_id: str
    client_secret: str
    refresh_token: str


def integration_for(
    app: Secteur, email: str = ADMIN_EMAIL, scopes: str = ALL_SCOPES
) -> Integration:
    with app.write() as tx:
        client = auth.create_client(tx, "SDK tests")
        refresh = auth.store_refresh_token(tx, client.client_id, email, scopes)
    return Integration(client.client_id, client.client_secret, refresh)


@pytest.fixture
def sdk_resources(tmp_path: Path) -> Path:
    """Where this test's SDK caches field metadata: never shared with another test."""
    return tmp_path / "sdk-resources"


@pytest.fixture
def integration(app: Secteur) -> Integration:
    return integration_for(app)


@dataclass
class SdkSession:
    """The SDK signed in to the test's server; `sign_in` does it again (e.g. after the server's
    clock moved past the access token's expiry)."""

    base_url: str
    integration: Integration
    resources: Path
    config: SDKConfig | None = None

    def sign_in(self) -> zoho_sdk.MemoryStore:
        token = zoho_sdk.refresh_token(
            self.integration.client_id,
            self.integration.client_secret,
            self.integration.refresh_token,
        )
        return zoho_sdk.initialise(self.base_url, token, self.resources, self.config)


@pytest.fixture
def sdk(base_url: str, integration: Integration, sdk_resources: Path) -> SdkSession:
    """The SDK initialised against the live server with the refresh-token flow."""
    session = SdkSession(base_url, integration, sdk_resources)
    session.sign_in()
    return session


@pytest.fixture
def sdk_trusting_picklists(
    base_url: str, integration: Integration, sdk_resources: Path
) -> SdkSession:
    """The SDK with its client-side picklist check off, so the server judges every value."""
    session = SdkSession(
        base_url, integration, sdk_resources, SDKConfig(pick_list_validation=False)
    )
    session.sign_in()
    return session
