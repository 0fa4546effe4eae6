"""The form at phone size: no page longer than about 2.5 screens, and a body map that
takes one tab stop (arrow keys move inside it)."""

from __future__ import annotations

import pytest

from .browser_helpers import DEFN
from .conftest import PHONE

SCREENS = 2.5


@pytest.fixture
def phone(browser):
    """A fresh phone-sized browser tab (390 x 844)."""
    context = browser.new_context(viewport=PHONE)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("section_id", [s.id for s in DEFN.sections])
def test_no_page_is_longer_than_two_and_a_half_phone_screens(live, phone, section_id):
    """Every question page fits in about 2.5 phone screens, with every question on it shown."""
    phone.goto(f"{live.url}/intake/{section_id}")
    phone.evaluate("document.querySelectorAll('[data-show-if]').forEach(el => { el.hidden = false; })")
    height = phone.evaluate("document.documentElement.scrollHeight")
    print(f"{section_id}: {height}px = {height / PHONE['height']:.2f} screens")
    assert height <= SCREENS * PHONE["height"], f"{section_id} is {height / PHONE['height']:.2f} screens long"


def tab_stops(page) -> int:
    """How many times Tab moves focus before it leaves the page's main content."""
    page.locator("#main").focus()
    seen = []
    for _ in range(200):
        page.keyboard.press("Tab")
        inside = page.evaluate("document.activeElement.closest('#main') !== null")
        if not inside:
            break
        seen.append(page.evaluate("document.activeElement.outerHTML.slice(0, 60)"))
    return len(seen)


def test_the_body_map_is_one_tab_stop(live, phone):
    """The body map page's main content has a handful of tab stops, not one per region."""
    section = DEFN.questions["pain_areas"].section_id
    phone.goto(f"{live.url}/intake/{section}")
    stops = tab_stops(phone)
    print(f"tab stops on {section}: {stops}")
    regions = phone.locator("figure[data-body-map] [tabindex='0']").count()
    assert regions == 1
    # Inside the map, the arrow keys move from region to region, and Space marks one.
    first = phone.locator("figure[data-body-map] [tabindex='0']")
    first.focus()
    before = phone.evaluate("document.activeElement.getAttribute('data-region')")
    phone.keyboard.press("ArrowRight")
    after = phone.evaluate("document.activeElement.getAttribute('data-region')")
    assert after and after != before
    assert phone.locator("figure[data-body-map] [tabindex='0']").count() == 1
    phone.keyboard.press("Space")
    assert phone.is_checked(f'input[name="pain_areas"][value="{after}"]')
