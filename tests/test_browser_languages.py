"""A patient in Polish in a real browser, from the start page to the outcome, urgent and
suitable: `lang="pl"` on every page, and axe-core finds no WCAG 2.2 A or AA problem.
The shipped Polish catalogs are marked reviewed in a copy, as a clinic's translator would."""

from __future__ import annotations

import re

import pytest

from .browser_helpers import ALL_CLEAR, DEFN, assert_accessible
from .conftest import PHONE, LiveServer, make_app
from .test_browser_patient import OUTCOMES, fill
from .test_i18n import catalogs

pytestmark = pytest.mark.browser


@pytest.fixture
def polish_live(tmp_path):
    """The app, its Polish catalogs reviewed, on a real port."""
    server = LiveServer(make_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path))))
    yield server
    server.stop()


def in_polish(page) -> None:
    """The page is Polish, left to right, and passes axe."""
    assert page.get_attribute("html", "lang") == "pl", page.url
    assert page.get_attribute("html", "dir") == "ltr"
    assert_accessible(page)


@pytest.mark.parametrize("outcome", ["urgent", "suitable"])
def test_a_patient_in_polish_from_start_to_outcome(polish_live, browser, outcome):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        changed_section, changes, _ = OUTCOMES[outcome]
        page.goto(polish_live.url + "/")
        assert page.get_attribute("html", "lang") == "en-GB"
        with page.expect_navigation():
            page.click('.language-switch a[hreflang="pl"]')  # the switch, a plain link
        in_polish(page)
        with page.expect_navigation():
            page.click("text=Zacznij")
        for section in DEFN.sections:
            assert re.search(r"Krok \d+ z \d+", page.title())
            fill(page, dict(ALL_CLEAR[section.id]) | (changes if section.id == changed_section else {}))
            in_polish(page)
            if section.id == "where_it_hurts":  # the body map's script names it in Polish too
                assert page.get_attribute(".body-map svg", "aria-label") == "Mapa ciała: wybierz miejsca, które bolą"
                lower_back = page.locator('.region[data-region="lower_back"]').first
                assert lower_back.get_attribute("aria-label") == "Dolna część pleców"
            with page.expect_navigation():
                page.click("#questions button[type=submit]")
            if "/intake/urgent" in page.url:
                assert outcome == "urgent"
                in_polish(page)
                assert page.locator('a[href="tel:999"]').count() >= 1
                with page.expect_navigation():
                    page.click('text="Wróć do formularza"')
        in_polish(page)
        assert page.title().startswith("Sprawdź swoje odpowiedzi")
        with page.expect_navigation():
            page.click('text="Wyślij moje odpowiedzi"')
        in_polish(page)
        assert "Twój numer referencyjny" in page.locator("main").inner_text()
        if outcome == "urgent":
            assert "999" in page.locator(".urgent-panel").inner_text()
    finally:
        context.close()
