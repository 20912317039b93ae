"""The audit trail: who changed what, when, through which request. Append-only."""

from app.audit.service import Entry, record, record_many

__all__ = ["Entry", "record", "record_many"]
