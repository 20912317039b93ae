"""Gauges read from the database when Prometheus scrapes.

The outbox backlog is a fact about the database, not about one process: every API replica and
worker would count it the same, so it is read at scrape time rather than kept in memory. Counters
of things that happen (sanctions created, delivery failures) live in app/observability.py.
"""

from __future__ import annotations

import logging

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import text

from app.db import get_engine

logger = logging.getLogger(__name__)

_BACKLOG = text("""
    SELECT
      (SELECT count(*) FROM events e
        WHERE e.id > coalesce((SELECT floor_event_id FROM webhook_fanout WHERE id = 1), 0)
          AND NOT EXISTS (SELECT 1 FROM webhook_fanned_out f WHERE f.event_id = e.id)) AS to_fan_out,
      (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending,
      (SELECT count(*) FROM webhook_deliveries WHERE status = 'failed') AS failed
""")


class OutboxCollector(Collector):
    def collect(self):
        up = GaugeMetricFamily("app_database_up", "Whether the scrape could read the database")
        backlog = GaugeMetricFamily("app_outbox_backlog", "Work waiting in the transactional outbox",
                                    labels=["stage"])
        failed = GaugeMetricFamily("app_webhook_deliveries_failed", "Deliveries that gave up (can be redelivered)")
        try:
            with get_engine().connect() as conn:
                row = conn.execute(_BACKLOG).one()
        except Exception as exc:  # a scrape must answer even when the database does not
            logger.warning("metrics: database unreachable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        backlog.add_metric(["fan_out"], row.to_fan_out)
        backlog.add_metric(["delivery"], row.pending)
        failed.add_metric([], row.failed)
        yield from (up, backlog, failed)


_collector: OutboxCollector | None = None


def register() -> None:
    """Once per process (create_app may run more than once in tests)."""
    global _collector
    if _collector is None:
        _collector = OutboxCollector()
        REGISTRY.register(_collector)
