"""Languages on the pages (screening/i18n/) and the admins' translation preview
(screening/review/translations.py): only reviewed translations reach patients."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from flask import g, render_template_string

from screening import i18n, versions
from screening.i18n.catalogs import compile_pages
from screening.questionnaire import safety
from screening.versions import current_definition

from .conftest import DEFAULT, Clinician, add_user, make_app

ROOT = Path(__file__).resolve().parent.parent
SADDLE_BEFORE = (
    "Do you have numbness, tingling or a strange feeling between your legs, or\n"
    "          around your bottom or private parts?"
)
SADDLE_AFTER = "Do you have numbness or tingling between your legs, or around your bottom or private parts?"
QID = "acupuncture-low-back-pain"
PROBE = "{{ page_lang() }}|{{ page_dir() }}|{% include '_languages.html' %}"


def catalogs(tmp_path: Path, reviewed: bool = True) -> Path:
    """A copy of the shipped catalogs, the Polish ones marked reviewed (as a clinic would,
    once its translator has checked them) unless told not to."""
    folder = tmp_path / "translations"
    shutil.copytree(ROOT / "translations", folder)
    if reviewed:
        for path in folder.rglob("pl.po"), folder.rglob("messages.po"):
            for po in path:
                review(po)
    return folder


def review(path: Path) -> None:
    """Mark a catalog reviewed by a named translator."""
    text = path.read_text(encoding="utf-8")
    text = text.replace('"X-Reviewed: no\\n"', '"X-Reviewed: yes\\n"').replace(
        '"X-Reviewed-By: \\n"', '"X-Reviewed-By: Anna Nowak, qualified translator (MCIL)\\n"'
    )
    path.write_text(text, encoding="utf-8")


def probe_app(tmp_path: Path, **config):
    """An app with a page that shows its language, direction and language switch."""
    app = make_app(tmp_path, **config)
    app.add_url_rule("/probe", "probe", lambda: render_template_string(PROBE))
    return app


def probe(client, **headers) -> tuple[str, str, str]:
    """(lang, dir, the language switch) of the probe page."""
    page = client.get("/probe", headers=headers) if headers else client.get("/probe")
    lang, direction, switch = page.text.split("|", 2)
    return lang, direction, switch


def test_an_unreviewed_catalog_is_not_offered_to_patients(tmp_path):
    app = probe_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path, reviewed=False)))
    client = app.test_client()
    assert probe(client, **{"Accept-Language": "pl, en;q=0.5"})[:2] == ("en", "ltr")
    client.get("/?lang=pl")
    lang, _, switch = probe(client)
    assert lang == "en"
    assert "polski" not in switch  # no switch at all: English is the only language offered
    with app.test_request_context("/", headers={"Accept-Language": "pl"}):
        assert i18n.offered_languages() == ("en",)
        assert i18n.translated(current_definition(), "pl").sections[0].title == "Warning signs"


def test_a_reviewed_language_is_chosen_from_the_browser_then_the_patients_choice_wins(tmp_path):
    app = probe_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path)))
    client = app.test_client()
    assert probe(client, **{"Accept-Language": "pl-PL, en;q=0.5"})[0] == "pl"
    assert probe(client)[0] == "en"  # no header: the clinic's language
    client.get("/?lang=en")
    assert probe(client, **{"Accept-Language": "pl"})[0] == "en"  # the choice, kept for the visit
    client.get("/?lang=pl")
    lang, direction, switch = probe(client)
    assert (lang, direction) == ("pl", "ltr")
    assert 'aria-label="Język"' in switch  # the pages' catalog, compiled at start-up
    assert re.search(r'<a href="/probe\?lang=en" lang="en" hreflang="en">English</a>', switch)
    assert '<span lang="pl" aria-current="true">polski</span>' in switch
    client.get("/?lang=xx")  # not offered: ignored
    assert probe(client)[0] == "pl"


def test_the_patients_pages_get_the_questionnaire_in_their_language(tmp_path):
    app = make_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path)))
    with app.test_request_context("/", headers={"Accept-Language": "pl"}):
        defn = i18n.translated(current_definition())
        assert defn.sections[0].title == "Objawy alarmowe"
        assert i18n.translated(current_definition()) is defn  # built once per version and language
    with app.test_request_context("/"):
        assert i18n.translated(current_definition()) is current_definition()


def test_the_visits_language_comes_after_the_patients_choice_and_before_the_browser(tmp_path):
    app = make_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path)))
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        g.visit_language = "pl"
        assert i18n.select_locale() == "pl"
    offered = ("en", "pl")
    assert i18n.choose(offered, "en", "pl", None, "en") == "en"
    assert i18n.choose(offered, None, "de", None, "en") == "en"


def test_clinicians_pages_stay_in_the_clinics_language(tmp_path):
    app = make_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path)))
    with app.test_request_context("/review/", headers={"Accept-Language": "pl"}):
        assert i18n.select_locale() == "en"


def test_a_right_to_left_language_gives_dir_rtl(tmp_path):
    folder = catalogs(tmp_path, reviewed=False)
    pseudo_hebrew(folder, current_definition_text())
    app = probe_app(tmp_path, TRANSLATIONS_PATH=str(folder))
    client = app.test_client()
    lang, direction, switch = probe(client, **{"Accept-Language": "he"})
    assert (lang, direction) == ("he", "rtl")
    assert 'lang="he"' in switch
    with app.test_request_context("/", headers={"Accept-Language": "he"}):
        title = i18n.translated(current_definition()).sections[0].title
        assert title and all("\u05d0" <= ch <= "\u05ea" or not ch.isalpha() for ch in title)
        assert "tel:999" in i18n.translated(current_definition()).outcomes.urgent.advice["emergency"]
    assert probe(client, **{"Accept-Language": "en"})[:2] == ("en", "ltr")


def current_definition_text():
    """The default questionnaire, loaded."""
    from .conftest import checked

    return checked(DEFAULT)


HEBREW = {c: chr(0x05D0 + i % 22) for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")}


def pseudo(text: str) -> str:
    """A pseudo-translation in Hebrew letters: every Latin letter replaced, markdown links'
    targets (tel:999) and numbers kept."""
    parts = re.split(r"(\]\([^)]*\))", text)
    return "".join(p if p.startswith("](") else "".join(HEBREW.get(c.lower(), c) for c in p) for p in parts)


def pseudo_hebrew(folder: Path, defn) -> None:
    """Reviewed Hebrew pseudo-catalogs of the questionnaire and the pages."""
    from babel.messages.pofile import read_po

    from screening.questionnaire import translations as qt

    po = qt._babel_catalog(defn, "questions.yaml", None)
    for message in po:
        if message.id:
            message.string = pseudo(str(message.id))
    header = qt._header("he", reviewed=True, by="Pseudo-translation for a test")
    (folder / "questionnaires" / QID / "he.po").write_text(qt._write(po, header), encoding="utf-8")
    pages = folder / "pages" / "he" / "LC_MESSAGES"
    pages.mkdir(parents=True)
    with (folder / "pages" / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    for message in template:
        if message.id:
            message.string = pseudo(str(message.id))
    (pages / "messages.po").write_text(qt._write(template, header), encoding="utf-8")


def test_admins_preview_an_unreviewed_translation_beside_the_english(tmp_path):
    app = make_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path, reviewed=False)))
    add_user(app, "admin@example.org", role="admin")
    admin = Clinician(app.test_client())
    assert admin.sign_in("admin@example.org").status_code == 302
    listing = admin.get("/review/translations")
    assert listing.status_code == 200
    row = re.search(
        r"<tr>\s*<th scope=\"row\"><span lang=\"pl\">polski</span> \(pl\)</th>(.*?)</tr>", listing.text, re.S
    )
    assert row and "<strong>No</strong>" in row.group(1)
    assert [int(n) for n in re.findall(r"<td>(\d+)</td>", row.group(1))] == [271, 0, 0, 0]
    page = admin.get("/review/translations/pl?page=warning_signs")
    assert page.status_code == 200
    assert "Not reviewed." in page.text
    assert '<td lang="en"><p>Warning signs</p></td>' in page.text
    assert '<td lang="pl" dir="ltr"><p>Objawy alarmowe</p></td>' in page.text
    assert "Next: More warning signs" in page.text
    assert admin.get("/review/translations/pl?page=nowhere").status_code == 404
    assert admin.get("/review/translations/xx").status_code == 404


def test_the_preview_is_for_admins_only(tmp_path):
    app = make_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path, reviewed=False)))
    add_user(app, "clinician@example.org")
    clinician = Clinician(app.test_client())
    assert clinician.sign_in("clinician@example.org").status_code == 302
    assert clinician.get("/review/translations").status_code == 403
    assert clinician.get("/review/translations/pl").status_code == 403
    assert app.test_client().get("/review/translations").status_code == 302  # to the sign-in page


def test_an_admin_may_see_a_preview_language_on_the_patients_pages(tmp_path):
    app = probe_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path, reviewed=False)), PREVIEW_LANGUAGES=["pl"])
    add_user(app, "admin@example.org", role="admin")
    admin = Clinician(app.test_client())
    assert admin.sign_in("admin@example.org").status_code == 302
    admin.get("/?lang=pl")
    assert probe(admin.client)[0] == "pl"
    patient = app.test_client()
    patient.get("/?lang=pl")
    assert probe(patient, **{"Accept-Language": "pl"})[0] == "en"


def test_check_questions_names_a_stale_translation_and_refuses_a_changed_emergency_number(tmp_path):
    folder = catalogs(tmp_path, reviewed=False)
    text = (
        Path(DEFAULT)
        .read_text(encoding="utf-8")
        .replace(
            SADDLE_BEFORE,
            SADDLE_AFTER,
        )
    )
    text, _ = safety.sign(text, "edited.yaml", "Test Clinician, physiotherapist", "2026-11-29")
    edited = tmp_path / "questions.yaml"
    edited.write_text(text, encoding="utf-8")
    app = make_app(tmp_path, TRANSLATIONS_PATH=str(folder))
    result = app.test_cli_runner().invoke(args=["check-questions", str(edited)])
    assert result.exit_code == 0, result.output
    assert "pl: question.saddle_numbness.text is out of date" in result.output
    assert "Translation pl: 270 translated, 1 out of date, 0 missing, 0 refused; NOT reviewed" in result.output

    po = folder / "questionnaires" / QID / "pl.po"
    po.write_text(po.read_text(encoding="utf-8").replace("zadzwoń pod [999](tel:999)", "zadzwoń pod [112](tel:112)"))
    result = app.test_cli_runner().invoke(args=["check-questions", str(edited)])
    assert result.exit_code == 1
    assert re.search(
        r"questions\.yaml:\d+: outcomes\.urgent\.advice\.emergency: the pl translation of advice\.emergency",
        result.output,
    )
    assert "drops the link tel:999" in result.output


def test_a_reviewed_catalog_that_changes_a_number_is_not_offered(tmp_path):
    folder = catalogs(tmp_path)
    po = folder / "questionnaires" / QID / "pl.po"
    po.write_text(po.read_text(encoding="utf-8").replace("zadzwoń pod [999](tel:999)", "zadzwoń pod [112](tel:112)"))
    app = probe_app(tmp_path, TRANSLATIONS_PATH=str(folder))
    assert probe(app.test_client(), **{"Accept-Language": "pl"})[0] == "en"


@pytest.mark.parametrize("tag", ["pl", "en"])
def test_the_shipped_catalogs_need_no_build_step(tmp_path, tag):
    app = make_app(tmp_path)
    assert not list((ROOT / "translations").rglob("*.mo"))
    assert "pl" in app.extensions[i18n.STATE].pages
    assert i18n.language_name(tag) in ("polski", "English")


def test_outside_a_request_only_a_reviewed_translation_is_used(tmp_path):
    unreviewed = make_app(tmp_path / "a", TRANSLATIONS_PATH=str(catalogs(tmp_path / "a", reviewed=False)))
    with unreviewed.app_context():
        assert i18n.translated(current_definition(), "pl") is current_definition()
    reviewed = make_app(tmp_path / "b", TRANSLATIONS_PATH=str(catalogs(tmp_path / "b")))
    with reviewed.app_context():
        assert i18n.translated(current_definition(), "pl").sections[0].title == "Objawy alarmowe"


def test_a_pages_entry_that_changes_a_number_is_refused_and_not_used(tmp_path):
    folder = catalogs(tmp_path)
    pages = folder / "pages" / "pl" / "LC_MESSAGES" / "messages.po"
    pages.write_text(
        pages.read_text(encoding="utf-8")
        + '\nmsgid "In an emergency, call 999."\nmsgstr "W nagłym wypadku dzwoń 112."\n',
        encoding="utf-8",
    )
    catalog = compile_pages(pages, "pl")
    assert catalog.translations.gettext("In an emergency, call 999.") == "In an emergency, call 999."
    assert catalog.translations.gettext("Language") == "Język"
    [refused] = catalog.refused
    assert "drops the number 999" in refused and "adds the number 112" in refused
    app = probe_app(tmp_path, TRANSLATIONS_PATH=str(folder))
    assert probe(app.test_client(), **{"Accept-Language": "pl"})[0] == "en"  # the language is not offered
    result = app.test_cli_runner().invoke(args=["check-questions"])
    assert result.exit_code == 1
    assert "messages.po line" in result.output and "a patient could call the wrong number" in result.output


def test_wtforms_own_messages_follow_the_pages_language(tmp_path):
    from flask_wtf import FlaskForm
    from wtforms import StringField
    from wtforms.validators import DataRequired

    class Probe(FlaskForm):
        class Meta:
            csrf = False

        name = StringField("Name", validators=[DataRequired()])

    app = make_app(tmp_path, TRANSLATIONS_PATH=str(catalogs(tmp_path)))
    for header, message in (("pl", "To pole jest wymagane."), ("en", "This field is required.")):
        with app.test_request_context("/", method="POST", data={}, headers={"Accept-Language": header}):
            form = Probe()
            assert not form.validate()
            assert form.name.errors == [message]


def test_check_questions_reports_the_follow_up_and_aftercare_translations_and_refuses_a_changed_999(tmp_path):
    folder = catalogs(tmp_path, reviewed=False)
    app = make_app(tmp_path, TRANSLATIONS_PATH=str(folder))
    result = app.test_cli_runner().invoke(args=["check-questions"])
    assert result.exit_code == 0, result.output
    reports = re.findall(
        r"Translation pl: (\d+) translated, 0 out of date, 0 missing, 0 refused; NOT reviewed.*\n"
        r"(.*): valid questionnaire '([\w-]+)'",
        result.output,
    )
    assert [found[2] for found in reports] == ["acupuncture-low-back-pain", "aftercare", "follow-up"]
    assert all(int(found[0]) > 50 for found in reports)
    po = folder / "questionnaires" / "aftercare" / "pl.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace("zadzwoń pod [999](tel:999)", "zadzwoń pod [112](tel:112)"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["check-questions"])
    assert result.exit_code == 1
    assert "the pl translation of questionnaire.help_now" in result.output and "drops the link tel:999" in result.output


def test_the_translations_commands_start_and_update_any_questionnaires_catalog(tmp_path):
    folder = catalogs(tmp_path, reviewed=False)
    app = make_app(tmp_path, TRANSLATIONS_PATH=str(folder))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["translations", "init", "cy", "--questionnaire", "aftercare"])
    assert result.exit_code == 0, result.output
    made = (folder / "questionnaires" / "aftercare" / "cy.po").read_text(encoding="utf-8")
    assert 'msgctxt "question.after_breathless_chest_pain.text"' in made and '"X-Reviewed: no\\n"' in made
    assert runner.invoke(args=["translations", "init", "cy", "--questionnaire", "nope"]).exit_code == 1
    before = (folder / "questionnaires" / "follow-up" / "pl.po").read_text(encoding="utf-8")
    result = runner.invoke(args=["translations", "update", "--questionnaire", "follow-up"])
    assert result.exit_code == 0, result.output
    assert (folder / "questionnaires" / "follow-up" / "pl.po").read_text(encoding="utf-8") == before


def test_the_follow_up_and_aftercare_checks_read_in_polish_once_reviewed(tmp_path):
    reviewed = make_app(tmp_path / "a", TRANSLATIONS_PATH=str(catalogs(tmp_path / "a")))
    with reviewed.app_context():
        follow_up = versions.definition("follow-up")
        assert i18n.translated(follow_up, "pl").questionnaire.title == "Przed kolejną sesją akupunktury"
        aftercare = i18n.translated(versions.definition("aftercare"), "pl")
        assert aftercare.questions["after_soreness"].text == "Czy miejsca, w które wbito igły, nadal bolą?"
        assert i18n.reviewed_languages(follow_up) == ("en", "pl")
    unreviewed = make_app(tmp_path / "b", TRANSLATIONS_PATH=str(catalogs(tmp_path / "b", reviewed=False)))
    with unreviewed.app_context():
        assert i18n.reviewed_languages(versions.definition("aftercare")) == ("en",)
