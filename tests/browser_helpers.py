"""Shared by the browser tests: answers, and the axe-core check."""

from __future__ import annotations

from .conftest import DEFAULT, checked
from .http_patient import all_clear_answers

DEFN = checked(DEFAULT)
ALL_CLEAR = all_clear_answers(DEFN)
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def assert_accessible(page) -> None:
    """axe-core finds no WCAG 2.2 A or AA violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    violations = results.response["violations"]
    described = [f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. {v['nodes'][0]['html'][:160]})" for v in violations]
    assert violations == [], f"{page.url}: " + "; ".join(described)


def fill_sections(patient, pages: dict) -> None:
    """Answer every page through the Flask test client."""
    for section_id, answers in pages.items():
        response = patient.answer(section_id, answers)
        assert response.status_code == 302, (section_id, response.status_code)
