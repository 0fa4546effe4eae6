"""Spec 3.3 check 8, the words: the invitation has the link, the clinic's name and the
appointment's date, and none of the date of birth, answers or the clinical title.
(Sending it through the outbox to a real SMTP receiver is the outbox's to wire up.)"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from screening.visits.message import invitation

from .conftest import DEFAULT, checked


def test_the_invitation_says_only_what_it_may():
    london = ZoneInfo("Europe/London")
    start = dt.datetime(2026, 3, 3, 9, 30, tzinfo=london)
    url = "https://clinic.example/i?t=eyJpIjoxLCJuIjoiYWJjIn0.sig"
    message = invitation("Park Road Clinic", "020 7946 0000", start, url, dt.datetime(2026, 3, 5, 0, 0, tzinfo=london))
    assert message.subject == "Your appointment on 3 March: a few questions first"
    assert message.body.splitlines()[1] == url  # the link first
    assert "Park Road Clinic" in message.body and "Tuesday 3 March at 09:30" in message.body
    text = message.subject + message.body
    title = checked(DEFAULT).questionnaire.title
    for never in ("1970", "25/03", "25 March", title, "acupuncture", "back pain", "cancer"):
        assert never.lower() not in text.lower(), never


# --- In the patient's language ------------------------------------------------------------


def polish_catalogs(tmp_path, reviewed: bool):
    from .test_i18n import catalogs

    return str(catalogs(tmp_path, reviewed=reviewed))


def test_a_message_in_polish_has_polish_words_and_day_and_month_names(tmp_path):
    from screening import i18n

    from .conftest import make_app

    london = ZoneInfo("Europe/London")
    start = dt.datetime(2026, 3, 3, 9, 30, tzinfo=london)
    url = "https://clinic.example/i?t=abc.sig"
    app = make_app(tmp_path, TRANSLATIONS_PATH=polish_catalogs(tmp_path, reviewed=True))
    with app.app_context():
        language = i18n.message_language(DEFAULT_ID, "pl")
        assert language == "pl"
        message = invitation("Park Road Clinic", "020 7946 0000", start, url, start + dt.timedelta(days=2), language)
        english = invitation("Park Road Clinic", "020 7946 0000", start, url, start + dt.timedelta(days=2))
    assert message.language == "pl"
    assert message.subject == "Twoja wizyta 3 marca: najpierw kilka pytań"
    assert message.body.splitlines()[1] == url
    assert "Twoja wizyta w Park Road Clinic: wtorek 3 marca o godz. 09:30." in message.body
    assert "Link działa do 5 marca, do godz. 09:30." in message.body
    assert "Zadzwoń do Park Road Clinic: 020 7946 0000" in message.body
    # Outside the writing, the app's words are English again.
    assert english.subject == "Your appointment on 3 March: a few questions first"
    assert "Tuesday 3 March at 09:30" in english.body


def test_an_unreviewed_language_is_never_a_patients_message_language(tmp_path):
    from screening import i18n

    from .conftest import make_app

    app = make_app(tmp_path, TRANSLATIONS_PATH=polish_catalogs(tmp_path, reviewed=False))
    with app.app_context():
        assert i18n.message_language(DEFAULT_ID, "pl") == "en"
        assert i18n.message_language(DEFAULT_ID, None, "de") == "en"  # no catalog
        assert i18n.message_language("no-such-questionnaire", "pl") == "en"


DEFAULT_ID = "acupuncture-low-back-pain"
