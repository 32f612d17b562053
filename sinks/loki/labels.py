"""The label set of a container's Loki streams, as Loki's Docker driver builds it."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..docker.gotemplate import Info, TemplateError, execute
from ..util.errors import SinkOptionError
from ..util.record import Context, TagInfo
from .config import (
    COMPOSE_PROJECT_LABEL,
    COMPOSE_SERVICE_LABEL,
    FILENAME_LABEL,
    HOST_LABEL,
    LOKI_EXTERNAL_LABELS,
    MAX_LABEL_NAMES_PER_SERIES,
    MAX_LABEL_VALUE_LENGTH,
    SOURCE_LABEL,
    SWARM_SERVICE_LABEL,
    SWARM_STACK_LABEL,
    TAG_LABEL,
    LokiConfig,
    sanitize_label_name,
    template_error,
)

_INVALID_BYTE = re.compile("[\udc80-\udcff]")  # surrogateescape's stand-ins for bytes
_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n",
               "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def container_labels(config: LokiConfig, ctx: Context) -> dict[str, str]:
    """Labels of every stream of this container (``source`` is added per stream).

    In Loki's driver's order, later winning: ``loki-external-labels`` (templates over the
    container's Info), ``labels``/``labels-regex``/``env``/``env-regex`` attributes (names
    sanitised), ``swarm_service``, ``swarm_stack``, ``compose_service``, ``compose_project``
    (from the container's labels, when set), ``host`` (the daemon host's name), ``filename``
    (Docker's LogPath; empty for a plugin), and ``tag`` when the ``tag`` log-opt is set.
    Raises SinkOptionError (a template that fails, or more than Loki's default label limits).
    """
    info = ctx.info or TagInfo(container_id=ctx.container_id,
                               container_name="/" + ctx.container_name,
                               image_id=ctx.image_id, image_name=ctx.image_name,
                               hostname=ctx.hostname)
    labels: dict[str, str] = {}
    for name, tree in config.external_labels:
        try:
            value = execute(tree, Info(info))
        except TemplateError as exc:
            raise template_error(exc, name) from exc
        labels[name] = _INVALID_BYTE.sub("\ufffd", value)
    for name, value in ctx.attrs.items():
        labels[sanitize_label_name(name)] = value
    for docker_label, name in (SWARM_SERVICE_LABEL, SWARM_STACK_LABEL, COMPOSE_SERVICE_LABEL,
                               COMPOSE_PROJECT_LABEL):
        if info.labels.get(docker_label):
            labels[name] = info.labels[docker_label]
    labels[HOST_LABEL] = ctx.hostname
    labels[FILENAME_LABEL] = info.log_path
    if config.tag_label:
        labels[TAG_LABEL] = ctx.tag
    # Loki refuses an empty value as "no label" and would see two streams as one: drop them
    labels = {k: v for k, v in labels.items() if v}
    check_limits(labels)
    return labels


def check_limits(labels: Mapping[str, str]) -> None:
    """Loki's default per-series limits; a stream over them would be refused on every push."""
    if len(labels) + 1 > MAX_LABEL_NAMES_PER_SERIES:  # + source
        raise SinkOptionError(
            f"loki: {len(labels) + 1} labels per stream (with {SOURCE_LABEL!r}) is more than "
            f"Loki's default max_label_names_per_series ({MAX_LABEL_NAMES_PER_SERIES}); select "
            f"fewer with {LOKI_EXTERNAL_LABELS!r}, 'labels', 'env' or the regexes")
    for name, value in labels.items():
        if len(value.encode(errors="surrogateescape")) > MAX_LABEL_VALUE_LENGTH:  # Go's len
            raise SinkOptionError(
                f"loki: the value of label {name!r} is longer than Loki's default "
                f"max_label_value_length ({MAX_LABEL_VALUE_LENGTH} bytes)")


def go_quote(value: str) -> str:
    """Go's ``strconv.Quote``: how Prometheus' ``labels.String()`` (and so Loki's answers)
    writes a label value."""
    out = ['"']
    for c in value:
        if c in _GO_ESCAPES:
            out.append(_GO_ESCAPES[c])
        elif c.isprintable() or c == " ":
            out.append(c)
        elif ord(c) < 0x80:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    out.append('"')
    return "".join(out)


def label_string(labels: Mapping[str, str]) -> str:
    """``{a="1", b="2"}``: names sorted, values Go-quoted, as Loki's answers name a stream."""
    return "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in sorted(labels.items())) + "}"
