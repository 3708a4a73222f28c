"""Prometheus metrics: this process's counters and one scrape's text.

Under ``helpline serve`` the gunicorn workers keep their counters in files of one
directory (prometheus_client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``, set
by ``serve`` before the workers start): a scrape, whichever worker answers it, adds
up every worker's counts.  Without it (``runserver``, tests) the counters are the
process's own.  The metric objects are made on first use, in the process that uses
them, so that they pick up the mode ``serve`` chose.

Gauges read from the database (``helpline.monitoring.gauges``) are computed at each
scrape and never stored.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.db import connection
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

F = TypeVar("F", bound=Callable[..., Any])
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Request latencies from 5 ms to 10 s; searches the same.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@functools.cache
def requests_total() -> Counter:
    return Counter(
        "helpline_http_requests",
        "HTTP requests answered, by view, method and status code.",
        ["view", "method", "status"],
    )


@functools.cache
def request_seconds() -> Histogram:
    return Histogram(
        "helpline_http_request_duration_seconds",
        "Time to answer an HTTP request, by view.",
        ["view"],
        buckets=BUCKETS,
    )


@functools.cache
def search_seconds() -> Histogram:
    return Histogram(
        "helpline_search_duration_seconds",
        "Time to run a ticket search (the web search, the API, the CLI).",
        buckets=BUCKETS,
    )


@functools.cache
def replica_reads_total() -> Counter:
    return Counter(
        "helpline_replica_reads",
        "Requests of the pages that may read the replica, by the database that "
        "served them: replica, primary_pinned (the agent had just written) or "
        "primary_bypassed (the replica lagged or was down).",
        ["served_by"],
    )


def count_replica_read(served_by: str) -> None:
    replica_reads_total().labels(served_by).inc()


def count_request(view: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    requests_total().labels(view, method, str(status)).inc()
    request_seconds().labels(view).observe(seconds)


def observe_search(func: F) -> F:
    """Records how long each call of ``func`` (a search) takes."""

    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            search_seconds().observe(time.perf_counter() - start)

    return timed  # type: ignore[return-value]


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_ENV) or None


class DatabaseCollector(Collector):
    """The pipeline's and the workers' state, read at each scrape (four queries)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from helpline.monitoring.gauges import take_snapshot

        start = time.perf_counter()
        queries_before = len(connection.queries)
        snap = take_snapshot()
        inbound = GaugeMetricFamily(
            "helpline_inbound_messages",
            "Inbound messages waiting to be processed or quarantined, by status.",
            labels=["status"],
        )
        for status, n in sorted(snap.inbound.items()):
            inbound.add_metric([status], n)
        yield inbound
        recent = GaugeMetricFamily(
            "helpline_inbound_messages_last_hour",
            "Inbound messages received in the last hour, by their status now.",
            labels=["status"],
        )
        for status, n in sorted(snap.last_hour.items()):
            recent.add_metric([status], n)
        yield recent
        yield GaugeMetricFamily(
            "helpline_quarantine_messages",
            "Inbound messages quarantined (processing failed; raw bytes kept).",
            value=snap.quarantined,
        )
        yield GaugeMetricFamily(
            "helpline_inbound_oldest_waiting_seconds",
            "Age of the oldest message received but not processed (0: none).",
            value=snap.oldest_waiting_seconds,
        )
        outbox = GaugeMetricFamily(
            "helpline_outbox_messages",
            "Outbound messages not sent, by status.",
            labels=["status"],
        )
        for status, n in sorted(snap.outbox.items()):
            outbox.add_metric([status], n)
        yield outbox
        yield GaugeMetricFamily(
            "helpline_outbox_backlog",
            "Outbound messages queued or being sent.",
            value=snap.outbox_backlog,
        )
        yield GaugeMetricFamily(
            "helpline_outbox_oldest_seconds",
            "Age of the oldest outbound message queued or being sent (0: none).",
            value=snap.outbox_oldest_seconds,
        )
        yield GaugeMetricFamily(
            "helpline_workers_alive",
            "Background workers whose heartbeat is recent.",
            value=snap.workers_alive,
        )
        beat_age = GaugeMetricFamily(
            "helpline_worker_beat_age_seconds",
            "Seconds since each running worker's last heartbeat.",
            labels=["worker"],
        )
        failures = GaugeMetricFamily(
            "helpline_worker_job_failures",
            "Jobs that raised an error, by worker process (since it started).",
            labels=["worker"],
        )
        done = GaugeMetricFamily(
            "helpline_worker_jobs_done",
            "Jobs that completed, by worker process (since it started).",
            labels=["worker"],
        )
        for worker in snap.workers:
            if not worker.stopped:
                beat_age.add_metric([worker.name], worker.age_seconds)
            failures.add_metric([worker.name], worker.jobs_failed)
            done.add_metric([worker.name], worker.jobs_done)
        yield beat_age
        yield failures
        yield done
        yield GaugeMetricFamily(
            "helpline_job_failures",
            "Jobs that raised an error, all workers of the last day.",
            value=snap.job_failures,
        )
        yield GaugeMetricFamily(
            "helpline_scrape_duration_seconds",
            "Time this scrape spent reading the database.",
            value=time.perf_counter() - start,
        )
        if connection.queries_logged:
            yield GaugeMetricFamily(
                "helpline_scrape_queries",
                "Database queries this scrape made (only when queries are logged).",
                value=len(connection.queries) - queries_before,
            )


class ReplicaCollector(Collector):
    """The read replica's state as this process last checked it (a check is made
    when the last is older than HELPLINE_REPLICA_CHECK_SECONDS); nothing without a
    replica."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from helpline.replica import configured, replica_state

        if not configured():
            return
        state = replica_state()
        yield GaugeMetricFamily(
            "helpline_replica_up",
            "1 when the pages may read the replica (reachable, lag under "
            "HELPLINE_REPLICA_MAX_LAG_SECONDS), else 0.",
            value=float(state.usable),
        )
        yield GaugeMetricFamily(
            "helpline_replica_lag_seconds",
            "The replica's replay lag at the last check (-1: unknown, it is down).",
            value=-1.0 if state.lag_seconds is None else state.lag_seconds,
        )
        status = GaugeMetricFamily(
            "helpline_replica_status",
            "The replica's state at the last check (1 for the current one).",
            labels=["status"],
        )
        for name in ("ok", "lagging", "down", "unknown"):
            status.add_metric([name], float(state.status == name))
        yield status


def render() -> bytes:
    """One scrape: every process's counters, then the database's gauges."""
    directory = multiprocess_dir()
    if directory:
        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters, path=directory)
    else:
        counters = REGISTRY
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(DatabaseCollector())
    gauges.register(ReplicaCollector())
    return generate_latest(counters) + generate_latest(gauges)
