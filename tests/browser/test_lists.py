"""Module lists in the browser: the filter builder with its live count, sorting, paging."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from secteur.services.app import Secteur
from tests.browser.conftest import Screenshot
from tests.support.records_api import insert_fast

# 30 accounts: 12 in France (Paris), 18 in Germany; more than one page of 25.
FRENCH = 12
GERMAN = 18


@pytest.fixture
def accounts(app: Secteur) -> None:
    insert_fast(
        app,
        "Accounts",
        [{"Account_Name": f"Fromagerie {i:02}", "Billing_Country": "France"} for i in range(FRENCH)]
        + [
            {"Account_Name": f"Brauerei {i:02}", "Billing_Country": "Germany"}
            for i in range(GERMAN)
        ],
    )


def _choose(page: Page, select: str, value: str) -> None:
    """Choose in a select of the filter builder. A field redraws its row (htmx), as does an
    operator taking another number of values: wait for the new row, as a person would before
    typing a value into it. An operator taking as many values keeps the row."""
    if select.startswith("#o"):
        options = page.locator(select)
        before = options.get_attribute("data-arity")
        after = options.locator(f"option[value='{value}']").get_attribute("data-arity")
        if before == after:
            options.select_option(value)
            return
    row = page.locator(".filter-row", has=page.locator(select))
    row.evaluate("row => { row.dataset.stale = '1'; }")
    page.locator(select).select_option(value)
    expect(page.locator(f".filter-row:not([data-stale]):has({select})")).to_be_attached()


def _names(page: Page) -> list[str]:
    return page.locator("table.table tbody tr td:first-child").all_inner_texts()


@pytest.mark.usefixtures("accounts")
def test_the_filter_builder_counts_matches_live_and_the_applied_filter_shows_only_them(
    admin_page: Page, screenshot: Screenshot
) -> None:
    page = admin_page
    page.goto("/m/Accounts")
    expect(page.locator("#total")).to_have_text(str(FRENCH + GERMAN))
    page.locator("details.filter > summary").click()
    expect(page.locator("#live-count")).to_have_text(f"{FRENCH + GERMAN} accounts match")

    _choose(page, "#f0", "Billing_Country")
    _choose(page, "#o0", "is")
    page.locator("#filter-row-0 input[name=v0]").fill("France")

    expect(page.locator("#live-count")).to_have_text(f"{FRENCH} accounts match")
    screenshot(page, "builder")
    page.get_by_role("button", name="Apply filter").click()

    expect(page).to_have_url(re.compile(r"f0=Billing_Country&o0=is&v0=France"))
    expect(page.locator("#total")).to_have_text(str(FRENCH))
    assert _names(page) == [f"Fromagerie {i:02}" for i in range(FRENCH)]
    expect(page.locator("details.filter > summary")).to_contain_text("1 condition")
    screenshot(page, "applied")


@pytest.mark.usefixtures("accounts")
def test_a_column_heading_sorts_the_list_and_a_second_click_reverses_it(
    admin_page: Page, screenshot: Screenshot
) -> None:
    page = admin_page
    page.goto("/m/Accounts")
    assert _names(page)[0] == "Brauerei 00"

    page.get_by_role("link", name="Account Name").click()

    expect(page.locator("th a.sorted")).to_have_attribute("aria-sort", "descending")
    assert _names(page)[0] == f"Fromagerie {FRENCH - 1:02}"
    screenshot(page, "descending")
    page.get_by_role("link", name=re.compile("Account Name")).click()
    expect(page.locator("th a.sorted")).to_have_attribute("aria-sort", "ascending")
    assert _names(page)[0] == "Brauerei 00"


@pytest.mark.usefixtures("accounts")
def test_paging_walks_through_every_record_once(admin_page: Page, screenshot: Screenshot) -> None:
    page = admin_page
    page.goto("/m/Accounts")
    expect(page.locator(".pager")).to_contain_text("Page 1 of 2")
    first = _names(page)
    assert len(first) == 25

    page.get_by_role("link", name="Next →").click()

    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")
    second = _names(page)
    assert len(second) == FRENCH + GERMAN - 25
    assert not set(first) & set(second)
    expect(page.get_by_role("link", name="Next →")).to_have_count(0)
    screenshot(page, "page-2")
    page.locator(".pager select[name=per_page]").select_option("50")
    expect(page.locator(".pager")).to_contain_text("Page 1 of 1")
    assert len(_names(page)) == FRENCH + GERMAN
