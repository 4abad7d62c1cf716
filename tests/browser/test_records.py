"""Records in the browser: create with a validation error on the way, edit and see the change
in the timeline, delete with confirmation; the lookup picker; a form used with the keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from secteur.services.app import Secteur
from tests.browser.conftest import Screenshot
from tests.browser.pages import path_of
from tests.conftest import BACKENDS
from tests.support.records_api import insert_fast, snapshot

SAVED = re.compile(r"/m/(\w+)/(\d+)\?saved=(created|updated)$")


def _saved_id(page: Page, module: str) -> int:
    """Wait for the record page a save leads to; the record's id."""
    page.wait_for_url(SAVED)
    found = SAVED.search(path_of(page))
    assert found is not None and found.group(1) == module, page.url
    return int(found.group(2))


def _field(page: Page, label: str) -> str:
    """The shown value of a field on a record page."""
    return (
        page.locator(".field", has=page.locator("dt", has_text=re.compile(f"^{label}$")))
        .locator("dd")
        .inner_text()
        .strip()
    )


# The one browser test that also runs on PostgreSQL: the whole life of a record through the
# pages, so that the web UI's own paths (sessions, forms, timeline) are proven on both.
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_record_is_created_after_a_validation_error_edited_into_the_timeline_and_deleted(
    app: Secteur, admin_page: Page, screenshot: Screenshot
) -> None:
    page = admin_page
    page.goto("/m/Accounts")
    page.get_by_role("link", name="New account").click()
    page.get_by_label("Account Name").fill("Café Lumière")
    page.get_by_label("Billing City").fill("Paris")
    page.get_by_label("Annual Revenue").fill("lots")
    before = snapshot(app)

    page.get_by_role("button", name="Create account").click()

    expect(page.locator("#form-errors")).to_contain_text("The account was not saved.")
    expect(page.locator("#field-Annual_Revenue-error")).to_contain_text("expected an amount")
    expect(page.get_by_label("Account Name")).to_have_value("Café Lumière")
    assert snapshot(app) == before
    screenshot(page, "invalid")

    page.get_by_label("Annual Revenue").fill("1250000")
    page.get_by_role("button", name="Create account").click()

    record_id = _saved_id(page, "Accounts")
    expect(page.get_by_role("status")).to_have_text("Account created.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Café Lumière")
    assert _field(page, "Billing City") == "Paris"
    assert _field(page, "Annual Revenue") == "€1,250,000.00"
    screenshot(page, "created")

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Account Name").fill("")
    page.get_by_label("Billing City").fill("Lyon")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#field-Account_Name-error")).to_be_visible()
    screenshot(page, "edit-invalid")
    page.get_by_label("Account Name").fill("Café Lumière")
    page.get_by_role("button", name="Save").click()

    assert _saved_id(page, "Accounts") == record_id
    assert _field(page, "Billing City") == "Lyon"
    change = page.locator("aside.timeline li.event.update .changes li")
    expect(change).to_have_text("Billing City Paris → Lyon")
    expect(change.locator("del")).to_have_text("Paris")
    expect(change.locator("ins")).to_have_text("Lyon")
    expect(page.locator("aside.timeline li.event")).to_have_count(2)
    screenshot(page, "timeline")

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete “Café Lumière”?")
    screenshot(page, "confirm-delete")
    page.get_by_role("button", name="Delete").click()

    assert path_of(page) == "/m/Accounts?deleted=1"
    expect(page.get_by_role("status")).to_have_text("The record was moved to the recycle bin.")
    expect(page.get_by_role("link", name="Café Lumière")).to_have_count(0)
    screenshot(page, "deleted")
    response = page.goto(f"/m/Accounts/{record_id}")
    assert response is not None and response.status == 404


def test_the_lookup_picker_links_a_contact_to_the_account_it_finds(
    app: Secteur, admin_page: Page, screenshot: Screenshot
) -> None:
    (zephyr, _) = insert_fast(
        app, "Accounts", [{"Account_Name": "Zephyr Labs"}, {"Account_Name": "Other Co"}]
    )
    page = admin_page
    page.goto("/m/Contacts/new")
    page.get_by_label("Last Name").fill("Curie")
    page.get_by_label("Account Name").fill("zeph")

    options = page.locator(".lookup-options .option")
    expect(options).to_have_text(["Zephyr Labs"])
    screenshot(page, "options")
    options.first.click()
    expect(page.locator("input[type=hidden][name=Account_Name]")).to_have_value(str(zephyr))
    page.get_by_role("button", name="Create contact").click()

    _saved_id(page, "Contacts")
    account = page.locator(".field", has=page.locator("dt", has_text="Account Name")).get_by_role(
        "link", name="Zephyr Labs"
    )
    expect(account).to_have_attribute("href", f"/m/Accounts/{zephyr}")
    screenshot(page, "contact")
    account.click()

    related = page.locator("#related-Contacts")
    expect(related.locator(".count-badge")).to_have_text("1")
    expect(related.get_by_role("link", name="Curie")).to_be_visible()
    screenshot(page, "account")


def _tab_to(page: Page, selector: str, limit: int = 40) -> None:
    """Press Tab until the element matching `selector` has the focus (as a person would)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus with Tab")


def test_a_record_form_can_be_filled_and_submitted_with_the_keyboard_only(
    app: Secteur, admin_page: Page, screenshot: Screenshot
) -> None:
    (zephyr,) = insert_fast(app, "Accounts", [{"Account_Name": "Zephyr Labs"}])
    page = admin_page
    page.goto("/m/Contacts/new")

    _tab_to(page, "#field-Last_Name")
    page.keyboard.type("Lovelace")
    _tab_to(page, "#field-Account_Name")
    page.keyboard.type("Zeph")
    expect(page.locator(".lookup-options .option")).to_have_text(["Zephyr Labs"])
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("input[type=hidden][name=Account_Name]")).to_have_value(str(zephyr))
    _tab_to(page, "#field-Mailing_City")
    page.keyboard.type("London")
    _tab_to(page, "#field-Lead_Source")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#field-Lead_Source")).to_have_value("Advertisement")
    screenshot(page, "filled")
    _tab_to(page, "button[type=submit].primary")
    page.keyboard.press("Enter")

    _saved_id(page, "Contacts")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lovelace")
    assert _field(page, "Mailing City") == "London"
    assert _field(page, "Account Name") == "Zephyr Labs"
    assert _field(page, "Lead Source") == "Advertisement"


def test_enter_in_a_text_field_submits_the_record_form(admin_page: Page) -> None:
    page = admin_page
    page.goto("/m/Accounts/new")
    _tab_to(page, "#field-Account_Name")
    page.keyboard.type("Enter Ltd")

    page.keyboard.press("Enter")

    _saved_id(page, "Accounts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter Ltd")
