"""Patient reminders and the aftercare check: found when due, queued once, and given
their personal link only when the relay sends them.

- `queue_due` (run by every relay pass, `outbox run` and `outbox send-due` alike) finds
  what is due now and queues it through `enqueue`, once per visit, kind and channel
  (the unique key): running it twice, or on two relays, queues nothing twice.
- A reminder: a visit still booked whose screening is not sent, REMINDER_HOURS_BEFORE
  (48) hours before it (for a visit booked before then), and a last one at
  REMINDER_MORNING_HOUR on the morning of the visit (clinic time).
- The aftercare check (CLINICAL.md, "The day after: the aftercare check"): the day after
  a visit still booked whose screening was sent with outcome `suitable` or `review`
  (needling could go ahead: ready or talk first), at AFTERCARE_HOUR (clinic time); and
  again AFTERCARE_RECHECK_DAYS (2) after the visit when the first check answered
  `after_soreness` = `still_sore`, with those answers as `last_check`.
- The outbox row holds the visit id, the kind and the link's purpose, never a link or
  a contact: `prepare` checks at send time that the message is still wanted (the
  screening not sent since, the visit not cancelled, not too late), mints a new link
  (`links.issue`) and words the message (`visits.message`). A message no longer wanted
  is dropped, not sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import audit, clinic, clock, db, i18n, versions
from ..models import OutboxMessage, Submission, Visit
from ..visits import links, message, state
from ..visits.app import link_url, signing_keys
from . import channels, events

log = logging.getLogger(__name__)

REMINDER = "visit.reminder"
AFTERCARE_EVENT = "visit.aftercare"
EVENTS = (REMINDER, AFTERCARE_EVENT)
AFTERCARE = "aftercare"  # the aftercare check's questionnaire id (CLINICAL.md, a contract)
# Still sore the day after: asked again (CLINICAL.md, the aftercare check; source S13, S17).
RECHECK_QUESTION, RECHECK_VALUE = "after_soreness", "still_sore"
# Outcomes after which needling could go ahead: ready, or talk first (the aftercare check follows).
NEEDLING_OUTCOMES = ("suitable", "review")
KINDS = {
    "48h": ("screening", REMINDER),
    "morning": ("screening", REMINDER),
    "aftercare": ("aftercare", AFTERCARE_EVENT),
    "aftercare-again": ("aftercare", AFTERCARE_EVENT),
}
EMAIL_TARGET = "patient"  # the address is the patient's, read when the message is sent


@dataclass(frozen=True)
class Window:
    """When a kind of message is due for a visit: from `start` until `end` (UTC)."""

    kind: str
    start: dt.datetime
    end: dt.datetime


def _at_hour(day: dt.date, hour: int, zone: ZoneInfo) -> dt.datetime:
    """`hour`:00 on `day` on the clinic's clock, in UTC."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zone).astimezone(dt.UTC)


def _day_end(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """Midnight at the end of `day` on the clinic's clock, in UTC."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)


def windows(visit: Visit, zone: ZoneInfo, config: Any) -> list[Window]:
    """Every message a visit may get, and when (pure: the caller checks the screening)."""
    start = visit.starts_at
    day = start.astimezone(zone).date()
    morning = _at_hour(day, int(config["REMINDER_MORNING_HOUR"]), zone)
    early = start - dt.timedelta(hours=float(config["REMINDER_HOURS_BEFORE"]))
    found = [Window("morning", morning, start)]
    if visit.created_at is None or visit.created_at <= early:
        # Booked before the reminder's time (a later booking has just had its invitation).
        found.append(Window("48h", early, min(morning, start)))
    hour = int(config["AFTERCARE_HOUR"])
    after = day + dt.timedelta(days=1)
    found.append(Window("aftercare", max(_at_hour(after, hour, zone), start), _day_end(after, zone)))
    again = day + dt.timedelta(days=max(2, int(config["AFTERCARE_RECHECK_DAYS"])))
    found.append(Window("aftercare-again", _at_hour(again, hour, zone), _day_end(again, zone)))
    return [w for w in found if w.start < w.end]


def _channels(event: str, patient: Any) -> list[tuple[str, str]]:
    """(channel, target) pairs that reach this patient for this event."""
    config = current_app.config
    wanted = set(config["PATIENT_CHANNELS"])
    found: list[tuple[str, str]] = []
    if "email" in wanted and patient.email and config.get("SMTP_HOST") and config.get("ALERT_FROM"):
        found.append(("email", EMAIL_TARGET))
    if "sms" in wanted and patient.phone:
        found += [("sms", hook["name"]) for hook in events.webhooks_for(event) if hook.get("sms")]
    return found


def _aftercare_answers(s: Session, visit_ids: list[int]) -> dict[int, list[Submission]]:
    """Each visit's aftercare checks, oldest first."""
    found: dict[int, list[Submission]] = {i: [] for i in visit_ids}
    query = select(Submission).where(Submission.visit_id.in_(visit_ids), Submission.questionnaire_id == AFTERCARE)
    for submission in s.scalars(query.order_by(Submission.created_at, Submission.id)):
        assert submission.visit_id is not None
        found[submission.visit_id].append(submission)
    return found


def wanted(
    kind: str,
    visit: Visit,
    screening: Submission | state.SubmissionFacts | None,
    checks: list[Submission],
    now: dt.datetime,
) -> str | None:
    """None if the message of this kind is still wanted for the visit now; else why not."""
    if visit.status == "cancelled":
        return "the visit was cancelled"
    if KINDS[kind][0] == "screening":
        if screening is not None:
            return "the screening was sent"
        if visit.starts_at <= now:
            return "the visit has started"
        return None
    if screening is None or screening.outcome not in NEEDLING_OUTCOMES:
        return "no screening that let the session go ahead"
    if kind == "aftercare":
        return "the aftercare check was answered" if checks else None
    if len(checks) != 1:
        return "no first aftercare check to follow up" if not checks else "the second check was answered"
    if (checks[0].answers or {}).get(RECHECK_QUESTION) != RECHECK_VALUE:
        return "the patient was not still sore"
    return None


def queue_due(s: Session, now: dt.datetime | None = None) -> int:
    """Queue every reminder and aftercare check due now (once each); how many messages."""
    config = current_app.config
    if not config["PATIENT_CHANNELS"]:
        return 0
    if not config.get("PUBLIC_URL"):
        log.warning("patient reminders and aftercare checks need PUBLIC_URL (the link's address): none queued")
        return 0
    now = now or clock.now()
    zone = clinic.zone()
    ahead = dt.timedelta(hours=float(config["REMINDER_HOURS_BEFORE"]), days=1)
    behind = dt.timedelta(days=max(2, int(config["AFTERCARE_RECHECK_DAYS"])) + 2)
    visits = list(
        s.scalars(
            select(Visit)
            .options(selectinload(Visit.patient))
            .where(Visit.status == "booked", Visit.starts_at > now - behind, Visit.starts_at < now + ahead)
            .order_by(Visit.starts_at, Visit.id)
        )
    )
    due = [(v, w) for v in visits for w in windows(v, zone, config) if w.start <= now < w.end]
    if not due:
        return 0
    ids = sorted({v.id for v, _ in due})
    rows = state.load_rows(s, ids, now)
    checks = _aftercare_answers(s, ids)
    recent = OutboxMessage.created_at > now - behind - ahead
    queued = set(s.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.event.in_(EVENTS), recent)))
    new_rows = []
    for visit, window in due:
        if wanted(window.kind, visit, rows[visit.id].submission, checks[visit.id], now) is not None:
            continue
        purpose, event = KINDS[window.kind]
        payload = {"patient": {"visit": visit.id, "kind": window.kind, "purpose": purpose}}
        key = f"{visit.id}:{window.kind}"
        event_id = events.new_event_id()
        for channel, target in _channels(event, visit.patient):
            row = events.message_row(event, key, channel, target, payload, event_id)
            if row["dedupe_key"] not in queued:
                new_rows.append(row)
    events.insert_rows(s, new_rows)
    return len(new_rows)


def queue() -> int:
    """`queue_due` in its own transaction (a relay pass)."""
    with db.get_db().transaction() as s:
        return queue_due(s)


def is_patient_message(m: OutboxMessage) -> bool:
    """Whether a message is a reminder or check to a patient (worded and linked at send time)."""
    return isinstance(m.payload, dict) and "patient" in m.payload


@dataclass(frozen=True)
class Outgoing:
    """A patient message ready to send: its channel payload, the address, and the new link."""

    payload: dict[str, Any]
    to: str
    link_id: int


def _help_now(questionnaire_id: str, language: str) -> str:
    """The questionnaire's "help now" line as plain text (its links' words only), in
    `language` (one offered to patients: see `i18n.message_language`)."""
    try:
        text = i18n.translated(versions.definition(questionnaire_id), language).questionnaire.help_now or ""
    except LookupError:
        return ""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).replace("**", "").strip()


def _expiry(purpose: str, visit: Visit, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """A reminder's link works as long as the invitation's; a check's until the end of the
    day after it is sent (clinic time)."""
    if purpose == "screening":
        return links.default_expiry(visit.starts_at, zone, now)
    return _day_end(now.astimezone(zone).date() + dt.timedelta(days=1), zone)


def _language(purpose: str, visit: Visit, screening: Submission | state.SubmissionFacts | None) -> str:
    """The language of a patient's message: for a check, the one they answered the
    screening in, else the visit's (the patient's); only one offered to patients for the
    questionnaire the link opens, else the clinic's."""
    questionnaire_id = visit.questionnaire_id if purpose == "screening" else AFTERCARE
    answered = screening.language if screening is not None and purpose != "screening" else None
    return i18n.message_language(questionnaire_id, answered, visit.patient.language)


def prepare(m: OutboxMessage, actor: str) -> Outgoing | str:
    """At send time: the message worded with a new personal link (committed before it
    leaves, so the link works when it arrives), or why it is no longer wanted."""
    config = current_app.config
    if not config.get("PUBLIC_URL"):
        raise channels.SendFailed("PUBLIC_URL is not set: a patient's link needs the app's address")
    spec = m.payload["patient"]
    kind = spec["kind"]
    purpose = KINDS[kind][0]
    now = clock.now()
    here = clinic.current()
    with db.get_db().transaction() as s:
        visit = s.get(Visit, spec["visit"], with_for_update=True)
        if visit is None:
            return "the visit was deleted"
        screening = state.load_rows(s, [visit.id], now)[visit.id].submission
        why = wanted(kind, visit, screening, _aftercare_answers(s, [visit.id])[visit.id], now)
        if why is None and kind in ("aftercare", "aftercare-again"):
            window = {w.kind: w for w in windows(visit, here.zone, config)}.get(kind)
            if window is None or now >= window.end:
                why = "its day is over"
        if why is not None:
            return why
        to = visit.patient.email if m.channel == "email" else visit.patient.phone
        if not to:
            return "the patient has no " + ("email address" if m.channel == "email" else "phone number") + " now"
        expires = _expiry(purpose, visit, here.zone, now)
        # Earlier links still work: the invitation's, which the patient may be using, and
        # this check's by the other channel (an email and a text each have their own).
        issued = links.issue(s, visit, signing_keys(), now, expires, purpose, keep_others=True)
        audit.record(
            s, "link_issued", detail={"visit": visit.id, "how": f"{m.event} ({kind})", "purpose": purpose}, actor=actor
        )
        url = link_url(issued.token)
        local_start = visit.starts_at.astimezone(here.zone)
        language = _language(purpose, visit, screening)
    if purpose == "screening":
        words = message.reminder(here.name, here.phone, local_start, url, last=kind == "morning", language=language)
    else:
        help_now = _help_now(AFTERCARE, language)
        again = kind == "aftercare-again"
        words = message.aftercare(here.name, here.phone, local_start, url, help_now, again, language=language)
    if m.channel == "email":
        payload: dict[str, Any] = {"subject": words.subject, "text": words.body}
    else:
        data = {"clinic": here.name, "to": to, "text": message.text_message(words, url, here.name)}
        payload = {"body": {"type": m.event, "timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}}
    return Outgoing(payload, to, issued.link.id)


def revoke_link(link_id: int) -> None:
    """The message did not go: its link is stopped (the next try mints another)."""
    with db.get_db().transaction() as s:
        link = s.get(links.VisitLink, link_id)
        if link is not None and link.revoked_at is None:
            link.revoked_at = clock.now()
