"""Admins: accounts and the audit log."""

from __future__ import annotations

from ..auth import admin_required
from .blueprint import bp


@bp.get("/users")
@admin_required
def users() -> str:
    """Accounts (to be built)."""
    return "users"


@bp.get("/audit")
@admin_required
def audit_log() -> str:
    """The audit log (to be built)."""
    return "audit"
