"""Patient reminders and the day-after aftercare check, through the outbox: a real SMTP
server (aiosmtpd), a real HTTP receiver for texts, a frozen clock, both databases.

The clinic is in Berlin (UTC+1 in winter), so every "hour in the clinic's zone" differs
from UTC."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from screening import clock, db, i18n, versions
from screening.models import OutboxMessage, Submission, Visit, VisitLink
from screening.outbox import schedule

from .conftest import DEFAULT, Patient, checked, make_app
from .mailbox import Mailbox
from .test_i18n import catalogs
from .test_outbox import RECIPIENTS, alert_config, audited, hook, one_pass, rows
from .visits_helpers import BIRTH, new_visit, open_link, pages_to_answer, path_of

ZONE = "Europe/Berlin"
EMAIL = "maria.smith@example.net"
PHONE = "07700 900123"
LINK = re.compile(r"(https://clinic\.example/i\?t=[\w.-]+)")


def at(text: str) -> dt.datetime:
    """An aware UTC time from ISO text (UTC)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def reminders_app(tmp_path, smtp: Mailbox, **extra: Any):
    return make_app(tmp_path, **alert_config(smtp, CLINIC_TIME_ZONE=ZONE, **extra))


def book(app, booked: str, starts: str, **fields: Any):
    """A visit for Maria Smith at `starts` (clinic time), booked at `booked` (UTC)."""
    with clock.frozen(at(booked)):
        return new_visit(app, at=starts, **({"email": EMAIL} | fields))


def to_patient(smtp: Mailbox) -> list:
    return smtp.to(EMAIL)


def link_in(mail) -> str:
    found = LINK.findall(mail.get_content())
    assert len(found) == 1, mail.get_content()
    return found[0]


def send_screening(app, url: str) -> None:
    """The patient opens a link, confirms their date of birth and sends the screening (all clear)."""
    patient = Patient(app.test_client())
    assert open_link(patient, url).status_code == 303
    for section_id, answers in pages_to_answer():
        assert patient.answer(section_id, answers).status_code == 302, section_id
    assert patient.submit().status_code in (302, 303)


def test_a_visit_in_two_days_gets_one_reminder_and_none_after_the_patient_sends(tmp_path, smtp):
    app = reminders_app(tmp_path, smtp)
    made = book(app, "2026-11-25 09:00", "2026-12-04 14:00")  # 13:00 UTC
    with clock.frozen(at("2026-12-02 12:59")):
        assert one_pass(app).scheduled == 0
    assert to_patient(smtp) == []
    with clock.frozen(at("2026-12-02 13:00")):  # 48 hours before
        assert one_pass(app).scheduled == 1
        assert one_pass(app).scheduled == 0  # queued once
    with clock.frozen(at("2026-12-03 09:00")):
        assert one_pass(app).scheduled == 0  # the day before: nothing more
    [mail] = to_patient(smtp)
    assert mail["Subject"] == "Reminder: your appointment on 4 December"
    text = mail.get_content()
    assert "Please answer a few questions before your visit on Friday 4 December at 14:00:" in text
    # The outbox row holds no token: the visit, the kind and the purpose only.
    [row] = rows(app, event="visit.reminder")
    assert row.payload == {"patient": {"visit": made.visit.id, "kind": "48h", "purpose": "screening"}}
    assert row.target == "patient" and EMAIL not in json.dumps(row.payload) and row.status == "sent"
    url = link_in(mail)
    assert url.split("t=")[1] not in json.dumps(row.payload)
    # The reminder's link is new, and the invitation's still works beside it.
    with app.app_context():
        live = db.session().scalars(select(VisitLink).where(VisitLink.revoked_at.is_(None))).all()
        assert len(live) == 2
    with clock.frozen(at("2026-12-03 10:00")):
        send_screening(app, url)
    with clock.frozen(at("2026-12-04 07:00")):  # the morning of the visit
        result = one_pass(app)
    assert result.scheduled == 0 and len(to_patient(smtp)) == 1


def test_the_morning_of_the_visit_gets_the_last_reminder_at_the_clinics_hour(tmp_path, smtp):
    app = reminders_app(tmp_path, smtp)
    # Booked the day before: the invitation was just sent, so only the morning's reminder.
    book(app, "2026-12-03 09:00", "2026-12-04 14:00")
    with clock.frozen(at("2026-12-04 06:59")):  # 07:59 in Berlin
        assert one_pass(app).scheduled == 0
    with clock.frozen(at("2026-12-04 07:00")):  # 08:00 in Berlin
        assert one_pass(app).scheduled == 1
    [mail] = to_patient(smtp)
    assert mail["Subject"] == "Today at 14:00: a few questions first"
    assert [r.payload["patient"]["kind"] for r in rows(app, event="visit.reminder")] == ["morning"]


def test_a_reminder_queued_before_the_patient_sent_is_dropped_not_sent(tmp_path, smtp):
    app = reminders_app(tmp_path, smtp)
    made = book(app, "2026-12-03 09:00", "2026-12-04 14:00")
    with clock.frozen(at("2026-12-04 07:00")), app.app_context():
        assert schedule.queue() == 1  # queued, not yet sent
    with clock.frozen(at("2026-12-04 07:01")):
        send_screening(app, made.url)
        result = one_pass(app)
    assert result.dropped == 1 and result.sent == 0 and to_patient(smtp) == []
    [row] = rows(app, event="visit.reminder")
    assert row.status == "dropped" and "screening was sent" in row.last_error
    assert len(audited(app, "message_dropped")) == 1
    with app.app_context():  # and no link was minted for it
        assert db.session().scalars(select(VisitLink)).all()[-1].id == 1


def test_a_cancelled_visit_gets_no_reminder(tmp_path, smtp):
    app = reminders_app(tmp_path, smtp)
    made = book(app, "2026-11-25 09:00", "2026-12-04 14:00")
    with app.app_context(), db.get_db().transaction() as s:
        s.get(Visit, made.visit.id).status = "cancelled"
    for moment in ("2026-12-02 13:00", "2026-12-04 07:00", "2026-12-05 09:00"):
        with clock.frozen(at(moment)):
            assert one_pass(app).scheduled == 0
    assert to_patient(smtp) == [] and rows(app) == []


def test_reminders_go_by_text_through_the_sms_webhook_too(tmp_path, smtp, httpserver):
    httpserver.expect_request("/sms", method="POST").respond_with_data("ok")
    hooks = [hook(httpserver.url_for("/sms"), ("visit.reminder", "visit.aftercare"), name="sms", sms=True)]
    app = reminders_app(tmp_path, smtp, ALERT_WEBHOOKS=hooks)
    book(app, "2026-12-03 09:00", "2026-12-04 14:00")
    with clock.frozen(at("2026-12-04 07:00")):
        assert one_pass(app).sent == 2
    [(request, _)] = httpserver.log
    body = json.loads(request.get_data(as_text=True))
    assert body["type"] == "visit.reminder" and body["data"]["to"] == PHONE
    assert LINK.search(body["data"]["text"])
    assert [r.target for r in rows(app)] == ["patient", "sms"]
    assert all(PHONE not in json.dumps(r.payload) for r in rows(app))


# --- The aftercare check ----------------------------------------------------------------


def screened_visit(app):
    """A visit on 4 December at 14:00 (Berlin) whose screening was sent, all clear."""
    made = book(app, "2026-11-25 09:00", "2026-12-04 14:00")
    with clock.frozen(at("2026-12-01 10:00")):
        send_screening(app, made.url)
    with app.app_context():
        [screening] = db.session().scalars(select(Submission)).all()
        assert screening.outcome in schedule.NEEDLING_OUTCOMES
    return made


def aftercare_patient(app, mail) -> Patient:
    """The patient opens the aftercare link from `mail` and confirms their date of birth."""
    patient = Patient(app.test_client())
    response = open_link(patient, link_in(mail))
    assert response.status_code == 303
    assert "How are you after your acupuncture?" in patient.get("/").text
    return patient


def aftercare_answers(**changes: str) -> list[tuple[str, dict]]:
    """The aftercare check's two pages, all well but for `changes` (CLINICAL.md's ids)."""
    since = ("after_breathless_chest_pain", "after_saddle_bladder_legs", "after_needle_site_infection")
    since += ("after_bruise_swelling", "after_still_unwell", "after_needle_found")
    pages: dict[str, dict] = {
        "since_your_session": dict.fromkeys(since, "no"),
        "how_you_feel": {"after_soreness": "settled", "after_tired": "no", "pain_now": "2"},
    }
    for qid, value in changes.items():
        pages["since_your_session" if qid in since else "how_you_feel"][qid] = value
    return list(pages.items())


def test_an_aftercare_check_answered_short_of_breath_alerts_the_clinic_and_says_call_999(tmp_path, smtp):
    app = reminders_app(tmp_path, smtp)
    made = screened_visit(app)
    with clock.frozen(at("2026-12-05 08:59")):  # 09:59 in Berlin, the day after
        assert one_pass(app).scheduled == 0
    with clock.frozen(at("2026-12-05 09:00")):  # AFTERCARE_HOUR, 10:00 in Berlin
        assert one_pass(app).scheduled == 1
    [mail] = to_patient(smtp)
    assert mail["Subject"] == "How are you? A quick check after your visit on 4 December"
    assert "after your visit on Friday 4 December at 14:00" in mail.get_content()
    [row] = rows(app, event="visit.aftercare")
    assert row.payload == {"patient": {"visit": made.visit.id, "kind": "aftercare", "purpose": "aftercare"}}
    with clock.frozen(at("2026-12-05 11:00")):
        patient = aftercare_patient(app, mail)
        page, answers = aftercare_answers(after_breathless_chest_pain="yes")[0]
        response = patient.answer(page, answers)
        assert response.location.startswith("/intake/urgent")  # the stop page, at once
        stop = patient.get(response.location)
        assert "call 999" in stop.text and 'href="tel:999"' in stop.text
        assert patient.submit().status_code in (302, 303)  # "send to the clinic now"
        result = one_pass(app)
    assert result.sent == len(RECIPIENTS)
    with app.app_context():
        check = db.session().scalars(select(Submission).where(Submission.questionnaire_id == "aftercare")).one()
        assert check.outcome == "urgent" and check.visit_id == made.visit.id
        assert check.answers["after_breathless_chest_pain"] == "yes"
    for address in RECIPIENTS:
        [alert] = smtp.to(address)
        assert check.reference in alert.get_content()
        assert "an aftercare check submission was marked urgent at 12:00 on Sat 05 Dec 2026" in alert.get_content()
    # The visit's screening state is its own questionnaire's: an aftercare check does not change it.
    from screening.visits import state

    with app.app_context():
        visit = db.session().get(Visit, made.visit.id)
        assert state.load_states(db.session(), [visit]) == {visit.id: "ready"}


def test_still_sore_is_asked_again_two_days_after_with_the_first_answers(tmp_path, smtp):
    app = reminders_app(tmp_path, smtp)
    screened_visit(app)
    with clock.frozen(at("2026-12-05 09:00")):
        one_pass(app)
    with clock.frozen(at("2026-12-05 12:00")):
        patient = aftercare_patient(app, to_patient(smtp)[0])
        for page, answers in aftercare_answers(after_soreness="still_sore"):
            assert patient.answer(page, answers).status_code == 302, page
        assert patient.submit().status_code in (302, 303)
        assert one_pass(app).scheduled == 0  # not yet
    with clock.frozen(at("2026-12-06 09:00")):  # 10:00 in Berlin, two days after
        assert one_pass(app).scheduled == 1
        assert one_pass(app).scheduled == 0
    [_, mail] = to_patient(smtp)
    assert mail["Subject"] == "How are you now? A quick check after your visit on 4 December"
    with clock.frozen(at("2026-12-06 10:00")):
        patient = aftercare_patient(app, mail)  # a new draft, not the sent one
        for page, answers in aftercare_answers(after_soreness="still_sore"):
            assert patient.answer(page, answers).status_code == 302, page
        assert patient.submit().status_code in (302, 303)
    with app.app_context():
        checks = db.session().scalars(
            select(Submission).where(Submission.questionnaire_id == "aftercare").order_by(Submission.id)
        )
        first, second = checks.all()
    assert first.outcome == "suitable"
    assert second.outcome == "review"
    assert "soreness_not_settling" in [f["id"] for f in second.flags]
    assert second.earlier == {"last_check.after_soreness": "still_sore"}


def test_no_second_check_when_the_soreness_settled_and_none_for_an_unscreened_visit(tmp_path, smtp):
    app = reminders_app(tmp_path, smtp)
    screened_visit(app)
    book(app, "2026-11-25 09:00", "2026-12-04 16:00", given_name="Jo", family_name="Bloggs", email="jo@example.net")
    with clock.frozen(at("2026-12-05 09:00")):
        assert one_pass(app).scheduled == 1  # Maria only: Jo's screening was never sent
        patient = aftercare_patient(app, to_patient(smtp)[0])
        for page, answers in aftercare_answers():
            assert patient.answer(page, answers).status_code == 302, page
        assert patient.submit().status_code in (302, 303)
    with clock.frozen(at("2026-12-06 09:00")):
        assert one_pass(app).scheduled == 0
    assert smtp.to("jo@example.net") == [] and len(to_patient(smtp)) == 1


def test_no_reminder_or_check_carries_anything_clinical_or_the_link_token(tmp_path, smtp, httpserver):
    """The nothing-clinical search of test_outbox, over every reminder and check, by
    email and by text (the text's `to` is the phone it goes to, and nothing else)."""
    httpserver.expect_request("/sms", method="POST").respond_with_data("ok")
    hooks = [hook(httpserver.url_for("/sms"), ("visit.reminder", "visit.aftercare"), name="sms", sms=True)]
    app = reminders_app(tmp_path, smtp, ALERT_WEBHOOKS=hooks)
    made = book(app, "2026-11-25 09:00", "2026-12-04 14:00")
    with clock.frozen(at("2026-12-02 13:00")):
        one_pass(app)
    with clock.frozen(at("2026-12-03 10:00")):
        send_screening(app, made.url)
    with clock.frozen(at("2026-12-05 09:00")):
        one_pass(app)
        patient = aftercare_patient(app, to_patient(smtp)[-1])
        for page, answers in aftercare_answers(after_soreness="still_sore", after_tired="yes"):
            assert patient.answer(page, answers).status_code == 302, page
        assert patient.submit().status_code in (302, 303)
    with clock.frozen(at("2026-12-06 09:00")):
        one_pass(app)
    assert len(to_patient(smtp)) == 3 and len(httpserver.log) == 3
    bodies = []
    for mail in to_patient(smtp):
        assert mail["To"] == EMAIL  # where it goes, and nowhere else
        del mail["To"]
        # Random digits (time and a random number) that can contain a phone's by chance.
        assert mail["Message-ID"].endswith("@clinic.example>")
        del mail["Message-ID"]
        bodies.append(mail.as_string())
    for request, _ in httpserver.log:
        body = json.loads(request.get_data(as_text=True))
        assert body["data"].pop("to") == PHONE
        bodies.append(json.dumps(body))
    with app.app_context():
        submissions = db.session().scalars(select(Submission)).all()
        stored = [json.dumps(r.payload) for r in db.session().scalars(select(OutboxMessage))]
        words = {"Maria", "Smith", "1970-03-25", "25/03/1970", "25 Mar", "07700", "900123", "maria.smith"}
        words |= {"acupuncture", "back pain", "sore", "tired", "breath", "chest", "needle"}
        labels: set[str] = set()
        for submission in submissions:
            definition = versions.definition(submission.questionnaire_id)
            words.add(definition.questionnaire.title)
            words |= {flag["reason"] for flag in submission.flags}
            for qid in submission.answers:
                if qid in definition.questions:
                    labels |= {definition.questions[qid].label, definition.questions[qid].text}
    words.add(checked(DEFAULT).questionnaire.title)
    assert len(labels) > 20
    for body in bodies:
        lowered = body.lower()
        for word in words:
            assert word.lower() not in lowered, word
        for label in labels:
            assert not re.search(rf"(?<!\w){re.escape(label)}(?!\w)", body), label
    # No token (nor a link) in any outbox row, though each message carried one.
    tokens = [found.split("t=")[1] for body in bodies for found in LINK.findall(body.replace("\\/", "/"))]
    assert len(tokens) >= 6
    for payload in stored:
        assert "i?t=" not in payload and not any(token in payload for token in tokens)


def test_the_aftercare_link_after_the_screening_was_sent_opens_the_check_not_the_sent_page(tmp_path, smtp):
    """The aftercare link is scoped to the aftercare check: the visit's sent screening
    does not make it say "already sent", and the screening link still does."""
    app = reminders_app(tmp_path, smtp)
    made = screened_visit(app)
    with clock.frozen(at("2026-12-05 09:00")):
        one_pass(app)
        patient = aftercare_patient(app, to_patient(smtp)[0])
        assert "/intake/" in patient.get(path_of(link_in(to_patient(smtp)[0])), follow_redirects=True).request.path
        again = Patient(app.test_client())
        reopened = again.get(path_of(made.url))
        assert reopened.status_code == 303
        assert again.post("/i/check", BIRTH).location.endswith("/i/sent")


# --- In the patient's language ------------------------------------------------------------


@pytest.mark.parametrize(
    ("reviewed", "subject", "when"),
    [
        (True, "Przypomnienie: Twoja wizyta 4 grudnia", "przed wizytą (piątek 4 grudnia o godz. 14:00):"),
        (False, "Reminder: your appointment on 4 December", "before your visit on Friday 4 December at 14:00:"),
    ],
)
def test_a_polish_patients_reminder_is_in_polish_only_once_the_translation_is_reviewed(
    tmp_path, smtp, reviewed, subject, when
):
    """The visit's language (the patient's) writes the message, words and day and month
    names, when patients are offered it; an unreviewed translation never reaches them."""
    app = reminders_app(tmp_path, smtp, TRANSLATIONS_PATH=str(catalogs(tmp_path, reviewed=reviewed)))
    book(app, "2026-11-25 09:00", "2026-12-04 14:00", language="pl")
    with clock.frozen(at("2026-12-02 13:00")):
        assert one_pass(app).sent == 1
    [mail] = to_patient(smtp)
    assert mail["Subject"] == subject
    assert when in mail.get_content()
    link_in(mail)  # the link, once


def test_a_polish_patients_aftercare_check_is_in_polish_and_says_nothing_clinical(tmp_path, smtp, httpserver):
    """The check is written in the language the patient answered the screening in, with
    the aftercare questionnaire's own help line from its (reviewed) Polish catalog; by
    email and by text, no clinical word in either language."""
    httpserver.expect_request("/sms", method="POST").respond_with_data("ok")
    hooks = [hook(httpserver.url_for("/sms"), ("visit.reminder", "visit.aftercare"), name="sms", sms=True)]
    app = reminders_app(tmp_path, smtp, ALERT_WEBHOOKS=hooks, TRANSLATIONS_PATH=str(catalogs(tmp_path)))
    made = book(app, "2026-11-25 09:00", "2026-12-04 16:00", language="pl")
    with clock.frozen(at("2026-12-01 10:00")):
        send_screening(app, made.url)
    with app.app_context():
        [screening] = db.session().scalars(select(Submission)).all()
        assert screening.language == "pl"  # the visit's language was the page's
    with clock.frozen(at("2026-12-05 09:00")):
        assert one_pass(app).sent == 2
    [mail] = to_patient(smtp)
    assert mail["Subject"] == "Jak się czujesz? Krótkie pytania po wizycie 4 grudnia"
    text = mail.get_content()
    assert "po wizycie (piątek 4 grudnia o godz. 16:00)" in text
    assert "W nagłym wypadku zadzwoń pod 999." in text  # the help line, its links' words only
    [(request, _)] = httpserver.log
    sms = json.loads(request.get_data(as_text=True))["data"]["text"]
    assert ": Jak się czujesz? Krótkie pytania po wizycie 4 grudnia. https://clinic.example/i?t=" in sms
    with app.app_context():
        words = {"akupunktur", "plec", "pleców", "igł", "igieł", "ból", "bol", "Maria", "Smith", "1970"}
        for qid in ("acupuncture-low-back-pain", "aftercare"):
            polish = i18n.translated(versions.definition(qid), "pl")
            words.add(polish.questionnaire.title)
            words |= {q.label for q in polish.questions.values()}
    for body in (mail["Subject"] + text, sms):
        for word in words:
            assert word.lower() not in body.lower(), word


def test_the_clinics_alert_about_a_polish_patients_urgent_check_is_in_the_clinics_language(tmp_path, smtp):
    app = reminders_app(tmp_path, smtp, TRANSLATIONS_PATH=str(catalogs(tmp_path)))
    made = book(app, "2026-11-25 09:00", "2026-12-04 14:00", language="pl")
    with clock.frozen(at("2026-12-01 10:00")):
        send_screening(app, made.url)
    with clock.frozen(at("2026-12-05 09:00")):
        one_pass(app)
    [mail] = to_patient(smtp)
    assert mail["Subject"].startswith("Jak się czujesz?")
    with clock.frozen(at("2026-12-05 11:00")):
        patient = Patient(app.test_client())
        assert open_link(patient, link_in(mail)).status_code == 303
        assert "Jak się czujesz po akupunkturze?" in patient.get("/").text  # the patient reads Polish
        page, answers = aftercare_answers(after_breathless_chest_pain="yes")[0]
        stop = patient.get(patient.answer(page, answers).location)
        assert 'href="tel:999"' in stop.text and 'lang="pl"' in stop.text
        assert patient.submit().status_code in (302, 303)
        one_pass(app)
    for address in RECIPIENTS:
        [alert] = smtp.to(address)
        assert "an aftercare check submission was marked urgent" in alert.get_content()
        assert "Jak" not in alert["Subject"] and "zgłoszenie" not in alert.get_content()
