"""The pain body map in a real browser: every area a target of at least 24 x 24 CSS pixels
(WCAG 2.2, 2.5.8) at phone and desktop size, the calves and heels on the back view, one
tab stop for the map (arrow keys inside it, the list behind a disclosure), and no axe-core
violation with and without the app's script."""

from __future__ import annotations

import pytest

from screening.questionnaire import bodymap

from .browser_helpers import DEFN, assert_accessible
from .conftest import DESKTOP, PHONE

MIN_TARGET = 24  # CSS pixels, WCAG 2.2 success criterion 2.5.8 (AA)
SECTION = DEFN.questions["pain_areas"].section_id
SIZES = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture
def open_page(browser):
    """A fresh browser context (its own cookies) of a given size, with or without the app's script."""
    contexts = []

    def make(size, script=True):
        context = browser.new_context(viewport=size)
        contexts.append(context)
        page = context.new_page()
        if not script:  # as with JavaScript off; the browser still runs axe-core
            page.route("**/static/screening.js", lambda route: route.abort())
        return page

    yield make
    for context in contexts:
        context.close()


def areas(page) -> list[tuple[str, str, dict]]:
    """Every clickable area of the map: its region, its label and its box on the page."""
    found = []
    for area in page.locator("figure[data-body-map] .region").all():
        box = area.bounding_box()
        assert box is not None, "an area of the map is not drawn"
        found.append((area.get_attribute("data-region"), area.locator("title").text_content(), box))
    return found


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
@pytest.mark.parametrize("error", [False, True], ids=["first-visit", "after-an-error"])
def test_every_area_is_at_least_24_by_24_css_pixels(live, open_page, size, error):
    """Each area's bounding box is at least 24 x 24, also when the question is marked with
    an error (its border narrows the page); every region can be marked on the picture, and
    the calves and heels on the back view too."""
    page = open_page(SIZES[size])
    page.goto(f"{live.url}/intake/{SECTION}")
    if error:  # nothing marked: the page comes back with the question's error
        with page.expect_navigation():
            page.click("#questions button[type=submit]")
        assert page.locator("#question-pain_areas.question--error").count() == 1
    found = areas(page)
    small = [
        f"{label} ({code}): {box['width']:.1f} x {box['height']:.1f}"
        for code, label, box in found
        if box["width"] < MIN_TARGET or box["height"] < MIN_TARGET
    ]
    print(f"{size}: smallest {min(min(b['width'], b['height']) for _, _, b in found):.1f}px of {len(found)} areas")
    assert small == [], f"areas smaller than {MIN_TARGET} x {MIN_TARGET} CSS px at {size} size: {small}"
    assert {code for code, _, _ in found} == set(bodymap.REGION_CODES)
    backs = {code for code, label, _ in found if "calf" in label or "heel" in label}
    assert backs == {"left_lower_leg", "right_lower_leg", "left_foot", "right_foot"}
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]  # no sideways scrolling


def test_areas_do_not_overlap(live, open_page):
    """No area covers part of another, so a tap lands on the one the patient sees."""
    page = open_page(PHONE)
    page.goto(f"{live.url}/intake/{SECTION}")
    for code, label, box in areas(page):
        middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).getAttribute('data-region')", list(middle))
        assert hit == code, f"the middle of {label} is covered by {hit}"


def tab_stops(page) -> list[str]:
    """The elements Tab stops at, from the top of the page until focus comes round again."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.locator("body").focus()
    seen: list[str] = []
    for _ in range(200):
        page.keyboard.press("Tab")
        here = page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e && e !== document.body ? e.outerHTML.slice(0, 80) : null; })()"
        )
        if here is None or (seen and here == seen[0]):
            break
        seen.append(here)
    return seen


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_the_map_is_one_tab_stop_and_the_list_waits_behind_a_disclosure(live, open_page, size):
    """With the script, the map is one tab stop (the arrow keys move inside it) and the
    list of areas is one more (a closed disclosure), not 20 checkboxes; opening it shows
    the same areas as checkboxes that keep in step with the map. Without the script the
    list is the control and every checkbox is a tab stop."""
    page = open_page(SIZES[size])
    page.goto(f"{live.url}/intake/{SECTION}")
    stops = tab_stops(page)
    in_map = [s for s in stops if "data-region" in s]
    boxes = [s for s in stops if 'name="pain_areas"' in s]
    summaries = [s for s in stops if s.startswith("<summary")]
    print(f"{size}: {len(stops)} tab stops on the page")
    assert len(in_map) == 1, in_map
    assert boxes == []
    assert len(summaries) == 1
    # The arrow keys walk through every area, head to feet, and come round again.
    page.locator("figure[data-body-map] .region[tabindex='0']").focus()
    visited = []
    for _ in range(len(areas(page))):
        visited.append(page.evaluate("document.activeElement.getAttribute('data-region')"))
        page.keyboard.press("ArrowDown")
    assert set(visited) == set(bodymap.REGION_CODES)
    assert page.evaluate("document.activeElement.getAttribute('data-region')") == visited[0]
    # Space marks the focused area; the (closed) list's checkbox is ticked and a short
    # line says what is marked.
    page.keyboard.press("ArrowDown")
    code = page.evaluate("document.activeElement.getAttribute('data-region')")
    page.keyboard.press("Space")
    assert page.is_checked(f'input[name="pain_areas"][value="{code}"]')
    assert bodymap.LABELS[code] in page.locator("[data-body-map-marked]").inner_text()
    # The disclosure opens the list: the same checkboxes, one tab stop each.
    page.locator("details.body-map-list-details > summary").click()
    assert page.locator('input[name="pain_areas"]').first.is_visible()
    assert len([s for s in tab_stops(page) if 'name="pain_areas"' in s]) == len(bodymap.REGION_CODES)
    page.click(f'input[name="pain_areas"][value="{code}"]')
    assert page.get_attribute(f'.region[data-region="{code}"]', "aria-checked") == "false"


def test_without_the_script_the_list_is_open(live, open_page):
    """Without the app's script the picture is only a picture and the list is the control:
    shown, no disclosure, every checkbox a tab stop."""
    page = open_page(PHONE, script=False)
    page.goto(f"{live.url}/intake/{SECTION}")
    assert page.locator("details.body-map-list-details").count() == 0
    stops = tab_stops(page)
    assert [s for s in stops if "data-region" in s] == []
    assert len([s for s in stops if 'name="pain_areas"' in s]) == len(bodymap.REGION_CODES)


def test_an_error_link_lands_on_the_map(live, open_page):
    """The error summary's link to the question focuses the map (the list is closed)."""
    page = open_page(PHONE)
    page.goto(f"{live.url}/intake/{SECTION}")
    with page.expect_navigation():
        page.click("#questions button[type=submit]")
    page.click('.error-summary a[href="#pain_areas"]')
    assert page.evaluate("document.activeElement.getAttribute('data-region')") is not None


@pytest.mark.parametrize("script", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
def test_the_body_map_page_is_accessible(live, open_page, size, script):
    """axe-core finds no WCAG 2.2 A or AA violation (target size included) on the body map
    page, with and without the script, before and after an area is marked, and with the
    question's error shown."""
    page = open_page(SIZES[size], script=script)
    page.goto(f"{live.url}/intake/{SECTION}")
    assert_accessible(page)
    with page.expect_navigation():
        page.click("#questions button[type=submit]")
    assert_accessible(page)
    if script:
        page.click('.region[data-region="upper_back"]')
        page.locator("details.body-map-list-details > summary").click()
    else:
        page.check('input[name="pain_areas"][value="upper_back"]')
    assert page.is_checked('input[name="pain_areas"][value="upper_back"]')
    assert_accessible(page)
