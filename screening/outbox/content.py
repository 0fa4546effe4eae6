"""What a message says: the clinic's name, what happened, the reference, a link that
needs sign-in, and the time. Never the patient's name, date of birth, contact details,
answers, flags, reasons, advice, or the questionnaire's clinical title.

Every function here takes only those few values, so nothing else can slip in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

# What each event says, in plain words (the subject of an email, the start of a text).
HEADLINES = {
    "submission.urgent": "Urgent screening submission needs review",
    "alert.unreviewed": "Urgent screening submission still not reviewed",
    "submission.created": "New screening submission",
    "visit.link_revoked": "A patient's personal link was stopped",
}

FOOTER = "This message contains no patient details."


@dataclass(frozen=True)
class Facts:
    """All a message may say."""

    event: str
    clinic: str
    reference: str | None
    url: str | None  # the record page, which needs sign-in
    at: dt.datetime  # aware UTC
    local_at: dt.datetime  # the same time on the clinic's clock
    outcome: str | None = None  # webhooks only: urgent | review | clear ...
    form: str = "pre-session screening"  # or "aftercare check": never the clinical title
    visit: int | None = None  # the visit's number, for an event about a visit rather than a submission

    @property
    def headline(self) -> str:
        return HEADLINES.get(self.event, "Screening notice")

    def when(self) -> str:
        """The clinic's wall-clock time, e.g. 14:32 on Tue 24 Nov 2026 (GMT)."""
        return f"{self.local_at:%H:%M} on {self.local_at:%a %d %b %Y} ({self.local_at:%Z})"


def facts_payload(
    event: str,
    reference: str | None,
    url: str | None,
    at: dt.datetime,
    outcome: str | None = None,
    form: str | None = None,
    visit: int | None = None,
) -> dict[str, Any]:
    """What the outbox stores for a message worded at send time: these facts and no more
    (`form`: "aftercare check" for the day-after check; else a pre-session screening)."""
    facts: dict[str, Any] = {
        "event": event,
        "reference": reference,
        "url": url,
        "at": at.astimezone(dt.UTC).isoformat(),
    }
    optional = {"outcome": outcome, "form": form, "visit": visit}
    return {"facts": facts | {name: value for name, value in optional.items() if value}}


def from_payload(payload: dict[str, Any], clinic: str, zone: tzinfo) -> Facts:
    """The stored facts, with the clinic's name and time zone as they are now."""
    stored = payload["facts"]
    at = dt.datetime.fromisoformat(stored["at"])
    return Facts(
        event=stored["event"],
        clinic=clinic,
        reference=stored.get("reference"),
        url=stored.get("url"),
        at=at,
        local_at=at.astimezone(zone),
        outcome=stored.get("outcome"),
        form=stored.get("form") or "pre-session screening",
        visit=stored.get("visit"),
    )


def worded(channel: str, payload: dict[str, Any], clinic: str, zone: tzinfo) -> dict[str, Any]:
    """A message as its channel sends it: {"subject", "text"} for email, {"body"} for a
    webhook or text. A payload stored already worded (no "facts") is sent as it is."""
    if "facts" not in payload:
        return payload
    facts = from_payload(payload, clinic, zone)
    if channel == "email":
        return email(facts)
    return {"body": webhook(facts, sms=channel == "sms")}


def email(facts: Facts) -> dict[str, str]:
    """The subject and plain-text body of an alert email."""
    lines = [f"{facts.clinic}: {_sentence(facts)}", ""]
    if facts.reference:
        lines.append(f"Reference: {facts.reference}")
    if facts.visit:
        lines.append(f"Visit number: {facts.visit}")
    if facts.url:
        lines.append(f"Open it (sign-in required): {facts.url}")
    elif facts.reference:
        lines.append("Find it by this reference on the clinicians' pages (sign-in required).")
    elif facts.visit:
        lines.append(f"Find it on the visits page (sign-in required): /review/visits?visit={facts.visit}")
    lines += ["", FOOTER]
    return {"subject": f"{facts.headline} ({facts.clinic})", "text": "\n".join(lines) + "\n"}


def text_message(facts: Facts) -> str:
    """A short text (SMS) for the clinic's own provider to send."""
    parts = [f"{facts.clinic}: {facts.headline.lower()}"]
    if facts.reference:
        parts.append(f"ref {facts.reference}")
    if facts.visit:
        parts.append(f"visit {facts.visit}")
    parts.append(f"at {facts.local_at:%H:%M}")
    return ", ".join(parts) + ". Sign in to see it."


def webhook(facts: Facts, *, sms: bool = False) -> dict[str, Any]:
    """The thin webhook body (Standard Webhooks style): a receiver that needs more signs in
    and fetches the record, which is audited."""
    data: dict[str, Any] = {"clinic": facts.clinic}
    if facts.reference:
        data["reference"] = facts.reference
    if facts.outcome:
        data["outcome"] = facts.outcome
    if facts.visit:
        data["visit"] = facts.visit
    if facts.url:
        data["url"] = facts.url
        if facts.reference:  # a submission's record, which has a FHIR view
            data["fhir"] = facts.url + "/fhir"
    if sms:
        data["text"] = text_message(facts)
    return {"type": facts.event, "timestamp": facts.at.strftime("%Y-%m-%dT%H:%M:%SZ"), "data": data}


def _sentence(facts: Facts) -> str:
    """What happened, in one sentence."""
    if facts.event == "submission.urgent":
        return f"{_a(facts.form)} {facts.form} submission was marked urgent at {facts.when()}."
    if facts.event == "alert.unreviewed":
        return f"an urgent {facts.form} submission from {facts.when()} has not been reviewed yet."
    if facts.event == "visit.link_revoked":
        return (
            f"a patient's personal link to their {facts.form} was stopped at {facts.when()} after too many "
            "wrong dates of birth. If it was the patient, check with them and send a new link if they need one."
        )
    return f"{facts.headline.lower()} at {facts.when()}."


def _a(words: str) -> str:
    """The article before `words`."""
    return "an" if words[:1].lower() in "aeiou" else "a"
