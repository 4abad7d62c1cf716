"""Signing in to the web UI from tests, as a browser would: the sign-in form, its CSRF token
and the session cookie."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support.orgs import ADMIN_EMAIL, ADMIN_PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    form = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
    )


@contextmanager
def browser_client(
    base_url: str, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
) -> Iterator[httpx.Client]:
    """An HTTP client holding a signed-in session (redirects not followed)."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        response = sign_in(client, email, password)
        assert response.status_code == 303, response.text
        yield client
