"""The information pages: what happens at the session, and aftercare."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext  # type: ignore[import-untyped]

from .context import clinic_details, definition

info_bp = Blueprint("info", __name__, url_prefix="/info")
info_bp.context_processor(clinic_details)


@info_bp.get("/before-your-session")
def before_session() -> str:
    """What happens at the session, how to prepare, and common questions."""
    defn = definition()
    return render_template(
        "info/page.html",
        defn=defn,
        title=gettext("Before your session"),
        text=defn.information.before_session,
        faq=defn.information.faq,
    )


@info_bp.get("/aftercare")
def aftercare() -> str:
    """What is normal afterwards, and when to get help."""
    defn = definition()
    return render_template(
        "info/page.html", defn=defn, title=gettext("After your session"), text=defn.information.aftercare, faq=[]
    )
