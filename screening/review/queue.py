"""The triage queue: urgent first, then not suitable, review, suitable; newest first."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from .. import db
from ..models import Submission
from .blueprint import bp


@bp.get("/")
def queue() -> str:
    """Submissions in triage order (first version: the newest 50)."""
    rows = (
        db.session()
        .scalars(
            select(Submission)
            .order_by(Submission.outcome_rank, Submission.created_at.desc(), Submission.id.desc())
            .limit(50)
        )
        .all()
    )
    return render_template("review/queue.html", submissions=rows)
