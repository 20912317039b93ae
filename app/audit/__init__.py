"""The audit trail: who changed what, when, through which request. Append-only."""

from app.audit.service import record

__all__ = ["record"]
