"""The clinicians' pages: sign-in, the triage queue, records, accounts and the audit log."""

from ..fhir import views as fhir_views  # noqa: F401 - the FHIR downloads, on bp too
from . import (  # noqa: F401 - each adds its pages to bp  # noqa: F401 - visits and API keys, on bp too
    api_keys,
    audit_log,
    deliveries,
    export,
    queue,
    record,
    retention,
    signin,
    translations,
    twofactor,
    users,
    visits,
)
from .blueprint import bp
from .setup import setup_bp

__all__ = ["bp", "setup_bp"]
