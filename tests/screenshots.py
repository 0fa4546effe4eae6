"""`make screenshots`: a PNG of every patient page (phone and desktop) and every
clinician page, in screenshots/ (git-ignored), so anyone can look at the app without
running it by hand. Uses the same fixtures as the browser tests, on a throwaway database.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from .browser_helpers import ALL_CLEAR, DEFN, fill_sections
from .conftest import CHROMIUM_FLAGS, DESKTOP, PASSWORD, PHONE, LiveServer, Patient, add_user, chromium_path, make_app
from .test_browser_clinician import enter_code

ROOT = Path(__file__).resolve().parent.parent


def seed(app) -> dict[str, str]:
    """One submission per outcome, and an admin; returns outcome -> reference."""
    changes = {
        "suitable": {},
        "review": {"anticoagulant": "yes", "pain_areas": ["lower_back", "left_foot", "right_lower_leg"]},
        "not_suitable": {"metal_allergy": "yes"},
        "urgent": {"saddle_numbness": "yes"},
    }
    references = {}
    for outcome, change in changes.items():
        patient = Patient(app.test_client())
        pages = {
            sid: answers | {q: v for q, v in change.items() if DEFN.questions[q].section_id == sid}
            for sid, answers in ALL_CLEAR.items()
        }
        fill_sections(patient, pages)
        patient.submit()
        references[outcome] = patient.get("/intake/done").text.split("Your reference: <strong>")[1].split("<")[0]
    add_user(app, "admin@example.org", role="admin", name="Robin Admin")
    return references


def shoot(page, out: Path, name: str) -> None:
    """Save the whole page."""
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(f"  {name}.png")


def patient_pages(browser, base: str, out: Path, size: dict, label: str, urgent: bool) -> None:
    """Start, each page (and one with errors), check, outcome, information pages."""
    context = browser.new_context(viewport=size)
    page = context.new_page()
    page.goto(base + "/")
    shoot(page, out, f"{label}-01-start")
    page.goto(base + f"/intake/{DEFN.sections[0].id}")
    page.click("#questions button[type=submit]")
    page.wait_for_load_state()
    shoot(page, out, f"{label}-02-errors")
    for number, section in enumerate(DEFN.sections, start=3):
        page.goto(base + f"/intake/{section.id}")
        answers = dict(ALL_CLEAR[section.id])
        if urgent and number == 3:
            answers["saddle_numbness"] = "yes"
        for qid, value in answers.items():
            kind = DEFN.questions[qid].type
            if kind == "body_map":  # tap the picture (the list is behind a disclosure)
                for item in value:
                    page.locator(f'figure[data-body-map] .region[data-region="{item}"]').first.click()
            elif kind == "multi_choice":
                for item in value:
                    page.check(f'input[name="{qid}"][value="{item}"]')
            elif kind == "consent":
                page.check(f'input[name="{qid}"]')
            elif kind in ("yes_no", "single_choice", "scale"):
                page.check(f'input[name="{qid}"][value="{value}"]')
            else:
                page.fill(f'[name="{qid}"]', str(value))
        shoot(page, out, f"{label}-{number:02d}-{section.id}")
        with page.expect_navigation():
            page.click("#questions button[type=submit]")
    shoot(page, out, f"{label}-08-check")
    with page.expect_navigation():
        page.click('text="Send my answers"')
    shoot(page, out, f"{label}-09-outcome-{'urgent' if urgent else 'suitable'}")
    for path, name in (("/info/before-your-session", "10-before-your-session"), ("/info/aftercare", "11-aftercare")):
        page.goto(base + path)
        shoot(page, out, f"{label}-{name}")
    context.close()


def clinician_pages(browser, base: str, out: Path, references: dict[str, str]) -> None:
    """Sign-in, queue, records, print view, accounts, audit log, password."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(base + "/review/login")
    shoot(page, out, "clinician-01-sign-in")
    page.fill("input[name=email]", "admin@example.org")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    shoot(page, out, "clinician-01b-code")
    enter_code(page, "admin@example.org")
    shoot(page, out, "clinician-02-queue")
    for n, outcome in enumerate(("urgent", "review"), start=3):
        page.goto(f"{base}/review/submissions/{references[outcome]}")
        shoot(page, out, f"clinician-{n:02d}-record-{outcome}")
    page.goto(f"{base}/review/submissions/{references['urgent']}?print=1")
    shoot(page, out, "clinician-05-print")
    for n, path in enumerate(("/review/users", "/review/audit", "/review/password"), start=6):
        page.goto(base + path)
        shoot(page, out, f"clinician-{n:02d}-{path.rsplit('/', 1)[-1]}")
    context.close()


def main(out: Path) -> None:
    """Serve a seeded app on loopback and photograph every page."""
    path = chromium_path()
    if path is None:
        sys.exit("Chromium not found: apt-get install chromium (or set CHROMIUM_PATH)")
    out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per file saved is enough
    app = make_app(Path(tempfile.mkdtemp(prefix="screening-shots-")))
    references = seed(app)
    server = LiveServer(app)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
            print(f"Saving screenshots to {out}/")
            patient_pages(browser, server.url, out, PHONE, "phone", urgent=False)
            patient_pages(browser, server.url, out, DESKTOP, "desktop", urgent=True)
            clinician_pages(browser, server.url, out, references)
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots")
