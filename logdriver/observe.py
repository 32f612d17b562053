"""What the plugin is doing, for operators: ``GET /status`` (JSON) and ``GET /metrics``
(Prometheus text, via prometheus-client), both built on demand from the store and the delivery
counters. A container appears in labels only while the store knows it, so label sets stay
bounded by the disk budget. Nothing here holds a secret: sink answers are scrubbed where they
are made, and options are never echoed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sinks import kernel_report, load_kernels

from .apitimes import histogram_buckets
from .delivery import LATENCY_BUCKETS

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from .driver import Driver

# prometheus-client is imported at the first scrape, not with the plugin: most plugins are never
# scraped, and /status needs none of it (tests/unit/test_imports.py).

__all__ = ["BEHIND_SECONDS", "metrics_text", "status"]

BEHIND_SECONDS = 60.0  # a sink whose oldest undelivered line is older than this is behind
DISK_FULL_RECENT_SECONDS = 300.0  # a container whose lines were dropped this recently is warned of

def _sinks_of(driver: Driver, snapshot: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each container's delivery workers (``snapshot``: the delivery's counters), with backlog
    figures added from the store."""
    out: dict[str, list[dict[str, Any]]] = {}
    now = time.time()
    for w in snapshot.get("workers") or []:
        clog = driver.store.logs.get(str(w.get("id")))
        if clog is None:
            continue
        seq, off = w.get("cursor") or (0, 0)
        # Data the store dropped before the sink had it is counted as dropped, not as behind.
        pos = max((int(seq), int(off)), clog.oldest)
        t = clog.time_at(pos) if pos < clog.end else 0
        oldest = max(now - t / 1e9, 0.0) if t else 0.0
        failing = w.get("last_error_at", 0) > w.get("last_success", 0)
        row = {
            "sink": w.get("sink"),
            "delivered_events": w.get("delivered_events", 0),
            "backlog_events": clog.entries_after(pos),
            "backlog_bytes": clog.bytes_between(pos, clog.end),
            "oldest_undelivered_seconds": round(oldest, 3),
            "retries": w.get("retries", 0),
            "dead_letters": w.get("dead_letters", 0),
            "rejected": w.get("rejected", 0),  # refused inside accepted requests (OTLP)
            "last_rejection": w.get("last_rejection", ""),
            "dropped_bytes": w.get("dropped_bytes", 0),
            # cause -> [entries, bytes] (store.ledger.CAUSES)
            "dropped": {str(k): list(v) for k, v in (w.get("dropped") or {}).items()},
            # what of the spool (history rotated out of `docker logs`) this sink still needs
            "spool_bytes": clog.bytes_between(pos, max(pos, clog.start)),
            "requests": w.get("requests") or {},
            "last_success": w.get("last_success", 0),
            "last_error": w.get("last_error", "") if failing else "",
            "state": "failing" if failing else "behind" if oldest > BEHIND_SECONDS else "ok",
            "_latency": (w.get("latency_counts") or [], w.get("latency_sum", 0.0)),
        }
        out.setdefault(clog.id, []).append(row)
    return out


def status(driver: Driver) -> dict[str, Any]:
    """The /status document: the store, every container and each of its sinks, and a warning
    line for each sink that is failing or falling behind."""
    store = driver.store
    snapshot = driver.delivery.snapshot()  # once: it also counts losses not yet counted
    sinks = _sinks_of(driver, snapshot)
    containers = []
    warnings = []
    for clog in sorted(store.logs.values(), key=lambda c: c.id):
        info = clog.meta.get("info") or {}
        name = str(info.get("ContainerName") or "").lstrip("/")
        # names are reused by later containers: a warning names the short ID too
        label = f"{name} ({clog.id[:12]})" if name else clog.id[:12]
        rows = [{k: v for k, v in r.items() if not k.startswith("_")}
                for r in sinks.get(clog.id, [])]
        for r in rows:
            who = f"{label} -> {r['sink']}"
            if r["state"] == "failing":
                warnings.append(f"{who}: failing ({r['last_error']}); {r['backlog_events']} "
                                "lines waiting in the store")
            elif r["state"] == "behind":
                warnings.append(f"{who}: behind by {r['oldest_undelivered_seconds']:.0f} s "
                                f"({r['backlog_events']} lines)")
        if clog.blocked:
            warnings.append(f"{label}: the spool is full "
                            f"({clog.spool_bytes} bytes); its output is not read until "
                            "delivery makes room (spool-when-full=block)")
        for r in rows:
            if r["rejected"]:
                warnings.append(f"{label} -> {r['sink']}: {r['rejected']} lines rejected by the "
                                f"server ({r['last_rejection']})")
            lost = sum(v[0] for v in r["dropped"].values())
            if lost:
                causes = ", ".join(f"{v[0]} {c}" for c, v in sorted(r["dropped"].items()))
                warnings.append(f"{label} -> {r['sink']}: {lost} lines dropped "
                                f"before delivery ({causes})")
        if clog.disk_full_at and time.time() - clog.disk_full_at < DISK_FULL_RECENT_SECONDS:
            warnings.append(f"{label}: the state dir is full; "
                            f"{clog.dropped_lines} lines dropped, not stored or shipped")
        containers.append({
            "id": clog.id, "name": name, "running": clog.running, "store_bytes": clog.size,
            "history_bytes": clog.history_bytes, "spool_bytes": clog.spool_bytes,
            "spool_max_size": clog.spool_max_size, "spool_when_full": clog.when_full,
            "blocked": clog.blocked, "blocked_seconds": round(clog.blocked_seconds, 3),
            "received_lines": clog.received_lines, "received_bytes": clog.received_bytes,
            "corrupt_frames": clog.corrupt_frames, "dropped_lines": clog.dropped_lines,
            "sinks": rows,
        })
    return {
        "shipper": "up" if driver.delivery.live else "down",
        "store": {"bytes": store.total_bytes, "disk_budget": store.disk_budget,
                  "spool_bytes": store.spool_bytes, "evicted": store.evicted,
                  "growth_bytes_per_second": round(store.growth_rate, 1),
                  "seconds_to_full": _round(store.seconds_left())},
        "corrupt_frames": driver.corrupt_frames,
        # every sink's losses since the shipper started, by cause: [entries, bytes]
        "dropped": {str(k): list(v) for k, v in
                    (snapshot.get("dropped") or {}).items()},
        "containers": containers,
        "warnings": warnings,
        "kernels": kernels(driver),
    }


def kernels(driver: Driver) -> dict[str, dict[str, Any] | None]:
    """Which twin of each compiled kernel runs (sinks/util/twin.py), per process: ``plugin``
    (this one: the FIFO readers) and ``shipper`` (the delivery workers; None until its first
    message). Each is ``{"twin": "compiled" | "pure" | "mixed", "kernels": {module: twin},
    "why": {module: reason}}``."""
    load_kernels()  # every kernel of the package, used in this process yet or not
    return {"plugin": kernel_report(), "shipper": driver.delivery.kernel_report()}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


class _Collector:
    """Builds every metric family from the current state at each scrape."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        driver, store = self.driver, self.driver.store
        snapshot = driver.delivery.snapshot()  # once per scrape

        def family(kind: type, name: str, doc: str, labels: list[str]) -> Any:
            return kind(name, doc, labels=labels)

        c = ["container"]
        received = family(CounterMetricFamily, "logdriver_received_lines",
                          "Log entries read from containers' FIFOs and stored", c)
        received_bytes = family(CounterMetricFamily, "logdriver_received_bytes",
                                "Bytes read from containers' FIFOs", c)
        corrupt = family(CounterMetricFamily, "logdriver_corrupt_frames",
                         "Frames that were not Docker log entries, skipped", c)
        dropped = family(CounterMetricFamily, "logdriver_dropped_lines",
                         "Log entries received but not stored: the state dir was full", c)
        stored = family(GaugeMetricFamily, "logdriver_store_bytes",
                        "Bytes kept on disk per container: history and spool", c)
        spool = family(GaugeMetricFamily, "logdriver_spool_bytes",
                       "Bytes rotated out of docker logs' history, kept until every sink has "
                       "them", c)
        blocked = family(GaugeMetricFamily, "logdriver_spool_blocked",
                         "1 while the container's output is not read: its spool is full and "
                         "spool-when-full is block", c)
        running = family(GaugeMetricFamily, "logdriver_container_running",
                         "1 while the container is logging", c)
        for clog in store.logs.values():
            lab = [clog.id]
            received.add_metric(lab, clog.received_lines)
            received_bytes.add_metric(lab, clog.received_bytes)
            corrupt.add_metric(lab, clog.corrupt_frames)
            dropped.add_metric(lab, clog.dropped_lines)
            stored.add_metric(lab, clog.size)
            spool.add_metric(lab, clog.spool_bytes)
            blocked.add_metric(lab, 1 if clog.blocked else 0)
            running.add_metric(lab, 1 if clog.running else 0)
        yield from (received, received_bytes, corrupt, dropped, stored, spool, blocked, running)
        yield GaugeMetricFamily("logdriver_store_bytes_total",
                                "History and spool on disk, all containers",
                                value=store.total_bytes)
        yield GaugeMetricFamily("logdriver_spool_bytes_total", "Spool on disk, all containers",
                                value=store.spool_bytes)
        yield GaugeMetricFamily("logdriver_store_growth_bytes_per_second",
                                "Net growth of the bytes on disk per second (written less what "
                                "rotation, delivery and eviction freed), over about a minute",
                                value=store.growth_rate)
        left = store.seconds_left()
        if left is not None:
            yield GaugeMetricFamily("logdriver_store_seconds_to_full",
                                    "At the current growth rate, seconds until the disk budget "
                                    "is full", value=left)
        yield GaugeMetricFamily("logdriver_disk_budget_bytes", "The store's disk budget",
                                value=store.disk_budget)
        yield CounterMetricFamily("logdriver_evicted_containers",
                                  "Stopped containers' histories evicted for the disk budget",
                                  value=store.evicted)

        cs = ["container", "sink"]
        fams = {
            "delivered": family(CounterMetricFamily, "logdriver_sink_delivered_events",
                                "Events the sink accepted", cs),
            "requests": family(CounterMetricFamily, "logdriver_sink_requests",
                               "Requests by HTTP status (error: no answer)", [*cs, "status"]),
            "retries": family(CounterMetricFamily, "logdriver_sink_retries",
                              "Requests retried after a retryable answer", cs),
            "dead": family(CounterMetricFamily, "logdriver_sink_dead_letters",
                           "Events refused for good, kept in the dead-letter file", cs),
            "rejected": family(CounterMetricFamily, "logdriver_sink_rejected_events",
                               "Events the server refused inside a request it accepted (OTLP "
                               "partial success): not resent", cs),
            "dropped": family(CounterMetricFamily, "logdriver_sink_dropped_bytes",
                              "Bytes the store dropped before the sink had them", cs),
            "dropped_lines": family(CounterMetricFamily, "logdriver_sink_dropped_lines",
                                    "Log entries the store dropped before the sink had them, by "
                                    "cause (history_overwrite, spool_full, disk_budget)",
                                    [*cs, "cause"]),
            "spool": family(GaugeMetricFamily, "logdriver_sink_spool_bytes",
                            "Bytes of the spool this sink still needs", cs),
            "backlog": family(GaugeMetricFamily, "logdriver_sink_backlog_events",
                              "Entries stored but not yet delivered", cs),
            "backlog_bytes": family(GaugeMetricFamily, "logdriver_sink_backlog_bytes",
                                    "Bytes stored but not yet delivered", cs),
            "oldest": family(GaugeMetricFamily, "logdriver_sink_oldest_undelivered_seconds",
                             "Age of the oldest entry not yet delivered (0: none)", cs),
            "success": family(GaugeMetricFamily, "logdriver_sink_last_success_timestamp_seconds",
                              "Unix time of the last accepted request", cs),
        }
        latency: dict[str, tuple[list[int], float]] = {}
        for cid, rows in _sinks_of(driver, snapshot).items():
            for r in rows:
                lab = [cid, str(r["sink"])]
                fams["delivered"].add_metric(lab, r["delivered_events"])
                for code, n in sorted(r["requests"].items()):
                    fams["requests"].add_metric([*lab, code], n)
                fams["retries"].add_metric(lab, r["retries"])
                fams["dead"].add_metric(lab, r["dead_letters"])
                fams["rejected"].add_metric(lab, r["rejected"])
                fams["dropped"].add_metric(lab, r["dropped_bytes"])
                for cause, (entries, _nbytes) in sorted(r["dropped"].items()):
                    fams["dropped_lines"].add_metric([*lab, cause], entries)
                fams["spool"].add_metric(lab, r["spool_bytes"])
                fams["backlog"].add_metric(lab, r["backlog_events"])
                fams["backlog_bytes"].add_metric(lab, r["backlog_bytes"])
                fams["oldest"].add_metric(lab, r["oldest_undelivered_seconds"])
                fams["success"].add_metric(lab, r["last_success"])
                counts, total = r["_latency"]
                acc, acc_sum = latency.get(str(r["sink"]), ([0] * (len(LATENCY_BUCKETS) + 1), 0.0))
                if len(counts) == len(acc):
                    acc = [a + b for a, b in zip(acc, counts, strict=True)]
                latency[str(r["sink"])] = (acc, acc_sum + float(total))
        yield from fams.values()
        hist = HistogramMetricFamily("logdriver_sink_request_duration_seconds",
                                     "Time per request to the sink, retries counted each",
                                     labels=["sink"])
        for sink, (counts, total) in sorted(latency.items()):
            hist.add_metric([sink], histogram_buckets(LATENCY_BUCKETS, counts), sum_value=total)
        yield hist
        by_cause = CounterMetricFamily("logdriver_delivery_dropped_lines",
                                       "Log entries dropped before a sink had them, all "
                                       "containers and sinks, by cause (since the shipper "
                                       "started)", labels=["cause"])
        for cause, (entries, _nbytes) in sorted(
                (snapshot.get("dropped") or {}).items()):
            by_cause.add_metric([cause], entries)
        yield by_cause
        yield CounterMetricFamily("logdriver_delivery_dead_letters",
                                  "Events refused for good, all containers and sinks (since the "
                                  "shipper started; a per-sink row goes once its container is "
                                  "stopped and delivered)",
                                  value=int(snapshot.get("dead_letters", 0)))
        yield GaugeMetricFamily("logdriver_shipper_up",
                                "1 if delivery counters are current (the shipper reports)",
                                value=1 if driver.delivery.live else 0)
        yield driver.request_times.family()
        yield GaugeMetricFamily("logdriver_tasks", "asyncio tasks in the plugin process",
                                value=len(asyncio.all_tasks()))
        yield from _kernel_families(kernels(driver))
        tasks = snapshot.get("tasks")
        if tasks is not None:
            yield GaugeMetricFamily("logdriver_shipper_tasks",
                                    "asyncio tasks in the shipper process", value=tasks)


def _kernel_families(reports: dict[str, dict[str, Any] | None]) -> Iterator[Metric]:
    from prometheus_client.core import InfoMetricFamily

    overall = InfoMetricFamily("logdriver_kernels",
                               "Which twin of the compiled kernels a process runs: compiled, "
                               "pure (Python) or mixed", labels=["process"])
    each = InfoMetricFamily("logdriver_kernel", "Which twin of one compiled kernel a process "
                            "runs: compiled or pure", labels=["process", "kernel"])
    for process, rep in reports.items():
        if rep is None:
            continue  # the shipper has not told yet
        overall.add_metric([process], {"twin": str(rep["twin"])})
        for name, which in sorted((rep.get("kernels") or {}).items()):
            each.add_metric([process, name], {"twin": str(which)})
    yield from (overall, each)


def metrics_text(driver: Driver) -> bytes:
    """/metrics in Prometheus' text format (``CONTENT_TYPE_LATEST``), built now."""
    from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(driver))
    ProcessCollector(registry=registry)  # process_open_fds, process_resident_memory_bytes, ...
    return generate_latest(registry)


def __getattr__(name: str) -> str:
    """``CONTENT_TYPE_LATEST``: prometheus-client's, read at the first answer that needs it."""
    if name == "CONTENT_TYPE_LATEST":
        from prometheus_client import CONTENT_TYPE_LATEST

        return CONTENT_TYPE_LATEST
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
