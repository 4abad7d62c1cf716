"""What browser tests do often: sign in through the form, find where a page is."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.support.orgs import ADMIN_EMAIL, ADMIN_PASSWORD


def fill_sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Page, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> None:
    """Sign in through the form and wait for the home page."""
    page.goto("/login")
    fill_sign_in(page, email, password)
    expect(page.locator("section.tiles")).to_be_visible()


def path_of(page: Page) -> str:
    """The page's path and query, without the origin."""
    parts = urlsplit(page.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
