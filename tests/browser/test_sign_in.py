"""Signing in and out through the browser: the form, wrong passwords, throttling, sign-out."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import Screenshot
from tests.browser.pages import fill_sign_in, sign_in
from tests.support.orgs import ADMIN_EMAIL, ADMIN_PASSWORD

SESSION_COOKIE = "secteur_session"


def _session_cookies(context: BrowserContext) -> list[str]:
    return [c["name"] for c in context.cookies() if c["name"] == SESSION_COOKIE]


def test_signing_in_through_the_form_shows_the_users_name_and_module_tiles(
    page: Page, context: BrowserContext, screenshot: Screenshot
) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "form")

    fill_sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)

    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    expect(page.locator(".account .who")).to_have_text("Ada Admin")
    tiles = page.locator("section.tiles .tile-label")
    expect(tiles).to_have_text(["Leads", "Accounts", "Contacts", "Deals"])
    (cookie,) = [c for c in context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    screenshot(page, "home")


def test_a_wrong_password_shows_the_error_and_opens_no_session(
    page: Page, context: BrowserContext, screenshot: Screenshot
) -> None:
    page.goto("/login")
    fill_sign_in(page, ADMIN_EMAIL, "not-the-password")

    expect(page.get_by_role("alert")).to_have_text("The e-mail or the password is not right.")
    expect(page.get_by_label("E-mail")).to_have_value(ADMIN_EMAIL)
    assert _session_cookies(context) == []
    screenshot(page, "refused")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_five_failures_for_an_email_throttle_even_the_right_password(
    page: Page, context: BrowserContext, screenshot: Screenshot
) -> None:
    page.goto("/login")
    for attempt in range(5):
        fill_sign_in(page, ADMIN_EMAIL, f"wrong-{attempt}")
        expect(page.get_by_role("alert")).to_contain_text("not right")

    fill_sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)

    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-in attempts")
    assert _session_cookies(context) == []
    screenshot(page, "throttled")


def test_signing_out_returns_to_the_sign_in_page_and_ends_the_session(
    page: Page, screenshot: Screenshot
) -> None:
    sign_in(page)
    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/login\?signed_out=1$"))
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    screenshot(page, "signed-out")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/m/Accounts")
    expect(page).to_have_url(re.compile(r"/login\?next=/m/Accounts$"))


def test_a_sign_in_posted_from_elsewhere_without_the_forms_token_is_refused(
    context: BrowserContext,
) -> None:
    # No visit to /login first: no token cookie, as for a form another site would post.
    response = context.request.post(
        "/login",
        form={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": "guessed"},
        max_redirects=0,
    )

    assert response.status == 403
    assert "The sign-in form expired" in response.text()
    assert _session_cookies(context) == []
