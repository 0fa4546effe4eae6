"""The patient's journey in a real browser: phone and desktop, with and without
JavaScript, by keyboard alone, and checked by axe-core for WCAG 2.2 A and AA."""

from __future__ import annotations

import re

import pytest

from .browser_helpers import ALL_CLEAR, DEFN, assert_accessible
from .conftest import DESKTOP, PHONE, add_user

OUTCOMES = {
    "urgent": ("warning_signs", {"saddle_numbness": "yes"}, "Go to A&E"),
    "not_suitable": ("skin_and_healing", {"metal_allergy": "yes"}, "do not come for acupuncture today"),
    "review": ("your_health", {"anticoagulant": "yes"}, "physio"),
    "suitable": (None, {}, "ready"),
}


@pytest.fixture
def open_page(browser):
    """A fresh browser context (its own cookies) of a given size, with or without JavaScript."""
    contexts = []

    def make(size=PHONE, javascript=True):
        context = browser.new_context(viewport=size, java_script_enabled=javascript)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def fill(page, answers: dict) -> None:
    """Answer questions with the mouse, as a patient would."""
    for qid, value in answers.items():
        kind = DEFN.questions[qid].type
        if kind in ("yes_no", "single_choice", "scale"):
            page.check(f'input[name="{qid}"][value="{value}"]')
        elif kind == "body_map":  # tap the picture; without the script, tick the list
            for item in value:
                region = page.locator(f'figure[data-body-map="{qid}"] .region[role="checkbox"][data-region="{item}"]')
                if not region.count():
                    page.check(f'input[name="{qid}"][value="{item}"]')
                elif region.first.get_attribute("aria-checked") != "true":
                    region.first.click()
                assert page.is_checked(f'input[name="{qid}"][value="{item}"]')
        elif kind == "multi_choice":
            for item in value:
                page.check(f'input[name="{qid}"][value="{item}"]')
        elif kind == "consent":
            page.check(f'input[name="{qid}"]')
        elif kind == "date":  # the memorable date: day, month and year boxes
            year, month, day = str(value).split("-")
            for part, text in (("day", day), ("month", month), ("year", year)):
                page.fill(f'[name="{qid}-{part}"]', text)
        else:
            page.fill(f'[name="{qid}"]', str(value))


def press_continue(page) -> None:
    """Press the page's main button and wait for the next page."""
    with page.expect_navigation():
        page.click("#questions button[type=submit]")


def complete(page, base: str, outcome: str, check_each_page: bool = True) -> str:
    """Answer every page (varied for the outcome), send, and return the outcome page's text."""
    changed_section, changes, _ = OUTCOMES[outcome]
    page.goto(base + "/")
    if check_each_page:
        assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Start now")
    for section in DEFN.sections:
        assert re.search(r"Step \d+ of \d+", page.title())
        answers = dict(ALL_CLEAR[section.id]) | (changes if section.id == changed_section else {})
        fill(page, answers)
        if check_each_page:
            assert_accessible(page)
        press_continue(page)
        if "/intake/urgent" in page.url:  # the stop page, at once after the urgent answer
            assert outcome == "urgent"
            if check_each_page:
                assert_accessible(page)
            with page.expect_navigation():
                page.click("text=Continue with the form")
        if outcome == "urgent":
            assert page.locator(".urgent-panel").count() == 1  # and a reminder on every later page
    assert page.title().startswith("Check your answers")
    if check_each_page:
        assert_accessible(page)
    with page.expect_navigation():
        page.click('text="Send my answers"')
    assert re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", page.locator(".reference").inner_text())
    if check_each_page:
        assert_accessible(page)
    return page.locator("main").inner_text()


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_each_outcome_on_phone_and_desktop(live, open_page, size, outcome):
    """The whole questionnaire, in a browser, to each outcome; every page passes axe."""
    page = open_page(size)
    text = complete(page, live.url, outcome, check_each_page=size == PHONE or outcome == "suitable")
    assert OUTCOMES[outcome][2].lower() in text.lower()
    if outcome == "urgent":
        assert "999" in page.locator(".urgent-panel").inner_text()


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_without_javascript(live, open_page, outcome):
    """Everything works with JavaScript off: conditional questions are asked server-side."""
    page = open_page(PHONE, javascript=False)
    page.goto(live.url + "/intake/cancer_and_injury")
    assert page.locator("#question-cancer_back_pain_checked").is_visible()  # nothing hides it
    page.goto(live.url + "/intake/where_it_hurts")
    assert page.locator('input[name="pain_areas"]').first.is_visible()  # the body map's list
    text = complete(page, live.url, outcome, check_each_page=False)
    assert OUTCOMES[outcome][2].lower() in text.lower()


def test_show_if_works_live_with_javascript(live, open_page):
    """With JavaScript, a follow-up question appears as soon as it applies."""
    page = open_page(PHONE)
    page.goto(live.url + "/intake/cancer_and_injury")
    follow_up = page.locator("#question-cancer_back_pain_checked")
    assert follow_up.is_hidden()
    page.check('input[name="cancer_history"][value="yes"]')
    assert follow_up.is_visible()
    page.check('input[name="cancer_history"][value="no"]')
    assert follow_up.is_hidden()


def test_errors_are_summarised_focused_and_accessible(live, open_page):
    """A page sent empty: title says Error, the summary has focus and links to each field."""
    page = open_page(PHONE)
    page.goto(live.url + "/intake/warning_signs")
    press_continue(page)
    assert page.title().startswith("Error: Warning signs")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    links = page.locator(".error-summary a")
    assert links.count() == len(DEFN.sections[0].questions)
    links.first.click()
    assert page.evaluate("document.activeElement.name") == DEFN.sections[0].questions[0].id
    assert_accessible(page)


def test_language_labels_and_focus_are_visible(live, open_page):
    """lang is set, every control is labelled, and the keyboard focus can be seen."""
    page = open_page(DESKTOP)
    page.goto(live.url + "/intake/about_you")
    assert page.get_attribute("html", "lang") == "en-GB"
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
           .filter(el => !el.labels || el.labels.length === 0).map(el => el.name)"""
    )
    assert unlabelled == []
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    shadow = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert outline != "none" or shadow != "none"


@pytest.mark.parametrize(
    "url", ["/", "/intake/warning_signs", "/intake/where_it_hurts", "/intake/about_you", "/info/before-your-session"]
)
def test_reflows_at_320_pixels_without_sideways_scrolling(live, open_page, url):
    """200% zoom on a small phone (320 CSS pixels wide): nothing scrolls sideways."""
    page = open_page({"width": 320, "height": 640})
    page.goto(live.url + url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def tab_to(page, selector: str, limit: int = 200) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        if page.evaluate(f"document.activeElement && document.activeElement.matches({selector!r})"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"could not reach {selector} with the Tab key")


def answer_by_keyboard(page, answers: dict) -> None:
    """Answer a page with the keyboard alone: Tab to each question, Space or arrows, typing."""
    for qid, value in answers.items():
        kind = DEFN.questions[qid].type
        if kind in ("yes_no", "single_choice", "scale"):
            tab_to(page, f'input[name="{qid}"]')
            for _ in range(20):  # arrow keys move through a radio group, selecting as they go
                if page.evaluate("document.activeElement.value") == str(value):
                    break
                page.keyboard.press("ArrowDown")
            page.keyboard.press("Space")
        elif kind == "body_map":  # one tab stop; the arrow keys move to the area
            for item in value:
                tab_to(page, f'figure[data-body-map="{qid}"] .region')
                for _ in range(40):
                    if page.evaluate("document.activeElement.getAttribute('data-region')") == item:
                        break
                    page.keyboard.press("ArrowDown")
                page.keyboard.press("Space")
                assert page.is_checked(f'input[name="{qid}"][value="{item}"]')
        elif kind == "multi_choice":
            for item in value:
                tab_to(page, f'input[name="{qid}"][value="{item}"]')
                page.keyboard.press("Space")
        elif kind == "consent":
            tab_to(page, f'input[name="{qid}"]')
            page.keyboard.press("Space")
        elif kind == "date":  # the memorable date: day, month and year boxes, Tab between them
            year, month, day = str(value).split("-")
            tab_to(page, f'[name="{qid}-day"]')
            page.keyboard.type(day)
            page.keyboard.press("Tab")
            page.keyboard.type(month)
            page.keyboard.press("Tab")
            page.keyboard.type(year)
        else:
            tab_to(page, f'[name="{qid}"]')
            page.keyboard.type(str(value))
    tab_to(page, "#questions button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_the_whole_questionnaire_by_keyboard_alone(live, open_page, outcome):
    """No mouse: Tab, arrows, Space, typing and Enter get a patient to each outcome."""
    changed_section, changes, expected = OUTCOMES[outcome]
    page = open_page(DESKTOP)
    page.goto(live.url + "/")
    tab_to(page, "a.button--start")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    for section in DEFN.sections:
        answers = dict(ALL_CLEAR[section.id]) | (changes if section.id == changed_section else {})
        answer_by_keyboard(page, answers)
        assert not page.title().startswith("Error"), page.locator(".error-summary").inner_text()
        if "/intake/urgent" in page.url:  # the stop page: focus is on its heading; carry on
            assert page.evaluate("document.activeElement.id") == "stop-heading"
            tab_to(page, 'a[href^="/intake/"]:not(.button)')
            with page.expect_navigation():
                page.keyboard.press("Enter")
    tab_to(page, "button[data-once]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert expected.lower() in page.locator("main").inner_text().lower()


@pytest.mark.parametrize("path", ["/info/before-your-session", "/info/aftercare", "/no-such-page"])
def test_information_and_error_pages_are_accessible(live, open_page, path):
    """The public information pages and an error page pass axe too."""
    page = open_page(PHONE)
    page.goto(live.url + path)
    assert_accessible(page)


def test_body_map_by_mouse_and_keyboard(live, open_page):
    """Regions toggle by click and by Space on the focused region; the list follows."""
    page = open_page(DESKTOP)
    page.goto(live.url + "/intake/where_it_hurts")
    page.click('[data-region="left_foot"]')
    assert page.is_checked('input[name="pain_areas"][value="left_foot"]')
    assert page.get_attribute('[data-region="left_foot"]', "aria-checked") == "true"
    tab_to(page, "figure[data-body-map] .region")  # the map is one tab stop
    for _ in range(40):  # the arrow keys move inside it
        if page.evaluate("document.activeElement.getAttribute('data-region')") == "right_lower_leg":
            break
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    assert page.is_checked('input[name="pain_areas"][value="right_lower_leg"]')
    page.keyboard.press("Enter")  # toggles it off again
    assert not page.is_checked('input[name="pain_areas"][value="right_lower_leg"]')
    # The calf on the back view ticks the same box as the lower leg on the front view.
    page.click('.region--back[data-region="left_lower_leg"]')
    assert page.is_checked('input[name="pain_areas"][value="left_lower_leg"]')
    assert page.locator('[data-region="left_lower_leg"].region--marked').count() == 2
    page.click("details.body-map-list-details > summary")  # the list, behind a disclosure,
    page.click('input[name="pain_areas"][value="lower_back"]')  # drives the picture too
    assert "region--marked" in page.get_attribute('[data-region="lower_back"]', "class")
    assert_accessible(page)


def without_our_script(page) -> None:
    """The app's own script is not loaded, as with JavaScript off; the browser still runs
    axe-core (which a page with JavaScript disabled cannot)."""
    page.route("**/static/screening.js", lambda route: route.abort())


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_urgent_path_from_the_first_page_sends_early_with_name_and_phone(live, open_page, app, javascript):
    """At phone size: an urgent answer on the first page leads to the stop page (what to do,
    focus on its heading, tap-to-call); "send now" asks for the name and phone only, and
    the clinician's record shows them. With and without the app's script, axe on each page."""
    from .test_browser_clinician import sign_in

    page = open_page(PHONE)
    if not javascript:
        without_our_script(page)
    page.goto(live.url + "/")
    with page.expect_navigation():
        page.click("text=Start now")
    page.check('input[name="saddle_numbness"][value="yes"]')  # and nothing else on the page
    press_continue(page)
    assert "/intake/urgent" in page.url
    assert page.title().startswith("Go to A&E now, or call 999")
    assert page.locator("h1").inner_text() == "Go to A&E now, or call 999"
    assert page.evaluate("document.activeElement.id") == "stop-heading"
    assert page.locator('a[href="tel:999"]').count() >= 1
    assert page.locator("text=Continue with the form").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Send my answers to the clinic now")
    assert page.title().startswith("Your name and phone number")
    assert page.locator("#questions input.input").count() == 2
    assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Send my answers to the clinic now")  # nothing filled in: told what is missing
    assert page.title().startswith("Error:")
    assert_accessible(page)
    page.fill('input[name="full_name"]', "Ann Example")
    page.fill('input[name="phone"]', "07700 900123")
    with page.expect_navigation():
        page.click("text=Send my answers to the clinic now")
    reference = page.locator(".reference strong").inner_text()
    assert "Go to A&E" in page.locator(".urgent-panel").inner_text()
    assert_accessible(page)

    add_user(app, "clinician@example.org", name="Alex Physio")
    clinician = open_page(DESKTOP)
    sign_in(clinician, live.url, "clinician@example.org")
    clinician.goto(f"{live.url}/review/submissions/{reference}")
    record = clinician.locator("main").inner_text()
    assert "Ann Example" in record
    assert "07700 900123" in record


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_new_patient_pages_are_accessible(live, open_page, app, javascript):
    """axe-core on the pages new in this version: the memorable date with an error, the
    "are you ...?" choice, the delete confirmation, the outcome and the print view."""
    page = open_page(PHONE)
    if not javascript:
        without_our_script(page)
    first = DEFN.sections[0].id
    page.goto(f"{live.url}/intake/{first}")
    fill(page, ALL_CLEAR[first])
    press_continue(page)
    page.goto(live.url + "/intake/" + DEFN.questions["date_of_birth"].section_id)
    page.fill('input[name="date_of_birth-day"]', "31")
    page.fill('input[name="date_of_birth-month"]', "2")
    page.fill('input[name="date_of_birth-year"]', "1980")
    press_continue(page)
    assert "February 1980 has 29 days" in page.locator(".error-summary").inner_text()
    assert_accessible(page)
    page.goto(live.url + "/")
    assert page.locator("text=Continue as").count() + page.locator("text=Continue where you left off").count() == 1
    assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Delete my answers and start again")
    assert page.title().startswith("Are you sure")
    assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Yes, delete my answers")
    complete(page, live.url, "suitable", check_each_page=False)
    assert_accessible(page)
    with page.expect_navigation():
        page.click("text=Your reference and information to keep")
    assert page.locator("h1").count() == 1
    assert_accessible(page)
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
    assert page.locator(".reference").is_visible()
