"""Prometheus metrics: request counts and latencies per route, the outbox gauges, and ``/metrics``.

Requests: ``RequestMetrics``, fed by the request-context middleware (app/kit/observability.py), labels
a request with the route the router already matched (``scope["route"]``). prometheus-fastapi-instrumentator, used before, matched every route again
per request and built a Response and an Info object for its hooks: about a fifth of the bare
endpoint's time. The metric names and labels stay the same.

The outbox backlog is a fact about the database, not about one process: every API replica and
worker would count it the same, so it is read at scrape time rather than kept in memory. Counters
of things that happen (sanctions created, delivery failures) live in app/kit/observability.py.
"""


from __future__ import annotations

import logging
import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from app.kit.db import get_engine

logger = logging.getLogger(__name__)

REQUESTS = Counter("http_requests_total", "Total number of requests by method, status and handler.",
                   ["handler", "status", "method"])
LATENCY = Histogram("http_request_duration_seconds", "Latency of requests by handler and method.",
                    ["handler", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
UNMATCHED = "none"  # requests no route matched (404s for unknown paths), kept out of the per-path labels


class RequestMetrics:
    """Counts and times each request by its route, as told by ``RequestContextMiddleware``, which
    already wraps ``send`` and times the request for its log line: one wrapper per request, not two."""

    def __init__(self, excluded: frozenset[str] = frozenset({"/metrics"})):
        self.excluded = excluded
        self._children: dict[tuple, tuple] = {}  # (method, status, handler) -> (counter, histogram)

    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        handler = route or UNMATCHED
        if handler in self.excluded:
            return
        key = (method, status, handler)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                REQUESTS.labels(handler, f"{status // 100}xx", method),
                LATENCY.labels(handler, method),
            )
        children[0].inc()
        children[1].observe(seconds)


def metrics(_request: Request) -> Response:
    """Prometheus text format; with several workers and ``PROMETHEUS_MULTIPROC_DIR`` set, the sum of all."""
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(OutboxCollector())
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


_BACKLOG = text("""
    SELECT
      (SELECT count(*) FROM events e
        WHERE e.id > coalesce((SELECT floor_event_id FROM webhook_fanout WHERE id = 1), 0)
          AND NOT EXISTS (SELECT 1 FROM webhook_fanned_out f WHERE f.event_id = e.id)) AS to_fan_out,
      (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending,
      (SELECT count(*) FROM webhook_deliveries WHERE status = 'failed') AS failed
""")


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (GaugeMetricFamily("app_database_up", "Whether the scrape could read the database"),
            GaugeMetricFamily("app_outbox_backlog", "Work waiting in the transactional outbox", labels=["stage"]),
            GaugeMetricFamily("app_webhook_deliveries_failed", "Deliveries that gave up (can be redelivered)"))


class OutboxCollector(Collector):
    def describe(self):
        """The metrics' names without their values. Without it the registry learns the names by
        calling ``collect``: a connection and the backlog's counting query at import, before the
        server could answer ``/readyz`` (the counts grow with the events table)."""
        return list(_families())

    def collect(self):
        up, backlog, failed = _families()
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
