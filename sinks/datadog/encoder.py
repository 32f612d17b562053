"""Datadog log items (the intake's HTTPLogItem) with the Datadog agent's Docker tags."""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..util.body import Body
from ..util.envelope import ESCAPE_JSON, TIME_MS, Layout, encode_batch, encode_into
from ..util.gojson import decode_line
from ..util.record import Context, Record, Records
from ..util.timefmt import epoch_ms
from .config import DatadogConfig

DD_MAX_MESSAGE_BYTES = 1_000_000  # per log: the intake truncates longer ones; we do it visibly
DD_TRUNCATION_MARKER = "...TRUNCATED"
# Attributes this sink sets on every item; a container attribute with one of these names loses.
DD_RESERVED = frozenset({"message", "ddsource", "ddtags", "hostname", "service", "status",
                         "timestamp", "container_id", "container_name", "image", "tag", "partial"})


def split_image_name(image: str) -> tuple[str, str, str] | None:
    """(long name, short name, tag) as the Datadog agent splits an image reference for its
    ``image_name``/``short_image``/``image_tag`` tags (pkg/util/containers/image/image.go
    ``SplitImageName``); None for an image given by ID."""
    if not image or image.startswith("sha256:"):
        return None
    long = image
    if (pos := long.rfind("@sha")) > 0:
        long = long[:pos]
    tag = ""
    last_colon, last_slash = long.rfind(":"), long.rfind("/")
    if last_colon > -1 and last_colon > last_slash:
        long, tag = long[:last_colon], long[last_colon + 1:]
    short = long[last_slash + 1:] if last_slash > -1 else long
    return long, short, tag


def container_tags(ctx: Context) -> list[str]:
    """The Datadog agent's Docker tags (comp/core/tagger/tags/tags.go; docs "Docker Tag
    Extraction"): container_name, container_id, image_name, short_image, image_tag and, for the
    Docker runtime, docker_image = image_name[:image_tag]."""
    tags = [f"container_id:{ctx.container_id}", f"container_name:{ctx.container_name}"]
    split = split_image_name(ctx.image_name)
    if split is not None:
        long, short, tag = split
        tags += [f"image_name:{long}", f"short_image:{short}"]
        if tag:
            tags.append(f"image_tag:{tag}")
        tags.append(f"docker_image:{long}:{tag}" if tag else f"docker_image:{long}")
    return tags


def truncate_message(text: str) -> tuple[str, bool]:
    """At most DD_MAX_MESSAGE_BYTES of UTF-8, cut on a character boundary, with the marker."""
    raw = text.encode()
    if len(raw) <= DD_MAX_MESSAGE_BYTES:
        return text, False
    keep = DD_MAX_MESSAGE_BYTES - len(DD_TRUNCATION_MARKER.encode())
    return raw[:keep].decode("utf-8", errors="ignore") + DD_TRUNCATION_MARKER, True


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_STDOUT_STATUS = ',"status":"info","timestamp":'
_STDERR_STATUS = ',"status":"error","timestamp":'


def _status(source: str) -> str:
    return _STDERR_STATUS if source == "stderr" else _STDOUT_STATUS


def _members(values: Mapping[str, object]) -> str:
    """``,"k":v,...``: the members of a JSON object, to splice into another."""
    return "," + _dumps(dict(values))[1:-1] if values else ""


class ItemShape:
    """The per-container parts of an item, serialised once per container."""

    def __init__(self, config: DatadogConfig, ctx: Context) -> None:
        self.ctx = ctx
        self.head: dict[str, object] = {"ddsource": config.source,
                                        "ddtags": ",".join([*config.tags, *container_tags(ctx)]),
                                        "hostname": config.hostname or ctx.hostname}
        if config.service:
            self.head["service"] = config.service
        self.tail: dict[str, object] = {"container_id": ctx.container_id,
                                        "container_name": ctx.container_name,
                                        "image": ctx.image_name, "tag": ctx.tag}
        # Container attributes come last and never replace a field this sink sets.
        self.attrs = {k: v for k, v in ctx.attrs.items() if k not in DD_RESERVED}
        self.head_json = _members(self.head)
        self.tail_json = _members(self.tail)
        self.attrs_json = _members(self.attrs)
        self.layout = self._make_layout()

    def _make_layout(self) -> Layout | None:
        """The byte pieces of this container's items (``util.envelope``); None if a string
        cannot be UTF-8 (a lone surrogate): ``encode`` then raises, record by record."""
        try:
            heads = {source: (b'{"message":"', ('"' + self.head_json + _status(source)).encode())
                     for source in ("stdout", "stderr")}
            tails = ((self.tail_json + self.attrs_json + "}").encode(),
                     (self.tail_json + ',"partial":true' + self.attrs_json + "}").encode())
        except UnicodeEncodeError:
            return None
        return Layout(heads, tails, ESCAPE_JSON, TIME_MS, max_line=DD_MAX_MESSAGE_BYTES)


class ItemEncoder:
    """Encodes one sink's items; the per-container parts are kept for the last context seen."""

    def __init__(self, config: DatadogConfig) -> None:
        self.config = config
        self._shape: ItemShape | None = None

    def shape_for(self, ctx: Context) -> ItemShape:
        shape = self._shape
        if shape is None or (shape.ctx is not ctx and shape.ctx != ctx):
            shape = self._shape = ItemShape(self.config, ctx)
        return shape

    def encode(self, ctx: Context, rec: Record) -> bytes:
        """One item as compact JSON: message, the sink's fields, status, timestamp (ms),
        container fields, ``partial`` when cut, then the container's attributes."""
        shape = self.shape_for(ctx)
        message, truncated = truncate_message(decode_line(rec.line))
        return "".join((
            '{"message":', _dumps(message), shape.head_json, _status(rec.source),
            str(epoch_ms(rec.time_ns)), shape.tail_json,
            ',"partial":true' if rec.partial or truncated else "", shape.attrs_json, "}",
        )).encode()

    def encode_many(self, ctx: Context, recs: Records) -> list[bytes]:
        """``[encode(ctx, r) for r in recs]``, the batch at once through ``util.envelope``'s
        kernel (records it declines through ``encode``)."""
        layout = self.shape_for(ctx).layout
        return encode_batch(layout, recs, lambda rec: self.encode(ctx, rec))

    def encode_into(self, ctx: Context, recs: Records, body: Body) -> None:
        """``body.extend(encode_many(ctx, recs))``, the kernel writing straight into ``body``."""
        layout = self.shape_for(ctx).layout
        encode_into(layout, recs, lambda rec: self.encode(ctx, rec), body)
