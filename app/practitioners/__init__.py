"""Practitioner registry (登记备案)."""
