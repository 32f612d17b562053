"""Test-only restatements of what the sinks build, to check their fast paths against."""

from __future__ import annotations

from sinks.datadog.config import DatadogConfig
from sinks.datadog.encoder import DD_RESERVED, container_tags, truncate_message
from sinks.util.gojson import decode_line
from sinks.util.record import Context, Record
from sinks.util.timefmt import epoch_ms, rfc3339nano


def datadog_item(config: DatadogConfig, ctx: Context, rec: Record) -> dict[str, object]:
    """One Datadog log item as a dict, in the key order ``ItemEncoder.encode`` writes."""
    message, truncated = truncate_message(decode_line(rec.line))
    item: dict[str, object] = {"message": message, "ddsource": config.source,
                               "ddtags": ",".join([*config.tags, *container_tags(ctx)]),
                               "hostname": config.hostname or ctx.hostname}
    if config.service:
        item["service"] = config.service
    item.update({"status": "error" if rec.source == "stderr" else "info",
                 "timestamp": epoch_ms(rec.time_ns), "container_id": ctx.container_id,
                 "container_name": ctx.container_name, "image": ctx.image_name, "tag": ctx.tag})
    if rec.partial or truncated:
        item["partial"] = True
    item.update({k: v for k, v in ctx.attrs.items() if k not in DD_RESERVED})
    return item


def http_item(ctx: Context, rec: Record) -> dict[str, object]:
    """One HTTP sink object (json and ndjson formats) as a dict, in the key order it is written."""
    item: dict[str, object] = {"time": rfc3339nano(rec.time_ns), "source": rec.source,
                               "line": decode_line(rec.line), "tag": ctx.tag,
                               "container_id": ctx.container_id,
                               "container_name": ctx.container_name,
                               "image_name": ctx.image_name, "host": ctx.hostname,
                               "attrs": dict(ctx.attrs)}
    if rec.partial:
        item["partial"] = True
    return item


def halves(batch: range) -> tuple[range, range]:
    """The two halves of a batch to send after a SPLIT answer (never asked of a single event)."""
    mid = batch.start + len(batch) // 2
    return range(batch.start, mid), range(mid, batch.stop)
