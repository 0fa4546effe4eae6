"""The clinicians' pages: sign-in, the triage queue, records, accounts and the audit log."""

from ..fhir import views as fhir_views  # noqa: F401 - the FHIR downloads, on bp too
from . import (  # noqa: F401 - each adds its pages to bp
    api_keys,
    audit_log,
    course,
    deliveries,
    export,
    queue,
    record,
    retention,
    signin,
    today,
    translations,
    twofactor,
    users,
    visits,
)
from .blueprint import bp
from .settings import clinic_settings  # noqa: F401 - the clinic's details, on bp too
from .setup import setup_bp

__all__ = ["bp", "setup_bp"]
