"""Budgets for the patient's pages: a waiting room on one address, not a flood from one.

A clinic's waiting-room Wi-Fi puts every patient behind one address, so a limit per
address alone cannot tell thirty real patients from one script. The budgets are:

- per patient (their draft): INTAKE_LIMIT_PER_PATIENT posts, far more than anyone
  answers by hand;
- per address, for sending a form: INTAKE_SEND_LIMIT (60 in 10 minutes), above what a
  full waiting room sends in that time, far below a flood of fake urgent submissions
  (120 a minute);
- per address, for every post: INTAKE_LIMIT, a backstop for many patients at once.

The limits are added to the patient's blueprint from here, by endpoint, and the 429
page says how long until the budget that ran out opens again.
"""

from __future__ import annotations

import math
import time

from flask import Flask, abort, current_app, g, request, session
from flask_limiter.util import get_remote_address
from limits import parse

from .extensions import limiter
from .intake.drafts import SESSION_KEY

WAIT = "screening_budget_wait"  # attribute of flask.g: seconds until the spent budget opens again
COUNTED = "budget_send_counted"  # session: the draft whose send was counted (a double click is not a second)


def patient_key() -> str | None:
    """One patient: their draft token (None before their first page is saved: a newcomer
    counts only towards the address's budget, or a full waiting room would share one)."""
    draft = session.get(SESSION_KEY)
    return f"patient:{draft}" if isinstance(draft, str) and draft else None


def check_budgets() -> None:
    """Before a patient's post: take one from each budget that applies, or refuse with 429."""
    if request.method != "POST" or request.blueprint != "intake":
        return
    patient = patient_key()
    budgets = [(current_app.config["INTAKE_LIMIT_PER_PATIENT"], patient)] if patient else []
    if request.endpoint == "intake.submit" and not (patient and session.get(COUNTED) == patient):
        session[COUNTED] = patient
        budgets.append((current_app.config["INTAKE_SEND_LIMIT"], f"send:{get_remote_address()}"))
    for limit, key in budgets:
        item = parse(limit)
        if not limiter.limiter.hit(item, "budget", key):
            reset = limiter.limiter.get_window_stats(item, "budget", key).reset_time
            g.setdefault(WAIT, max(1, math.ceil(reset - time.time())))
            abort(429)


def init_app(app: Flask) -> None:
    """Check the budgets before every post to the patient's pages."""
    app.before_request(check_budgets)
