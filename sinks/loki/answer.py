"""Loki push answers -> Answer (a pure table), and the entries a 400 names.

Source: grafana/loki ``pkg/validation/validate.go`` (messages), ``pkg/distributor`` (a 400 comes
after the valid entries were stored; its body joins each distinct message with ``"; "``, as
``N errors like: <message>`` when there are several) and Loki's HTTP API docs (204 on success).

- 2xx: OK. 429 (rate limited) and 5xx but 501, and 408: RETRY, honouring ``Retry-After``.
- 413 (request body too large): SPLIT.
- 401, 403, 407: DROP, a configuration error (tenant or credentials).
- 400 and other 4xx: DROP, bad data. Loki stored every other entry of the request, so where the
  body names what it refused (``refusals``) only those entries are dead-lettered.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..util.answer import BAD_DATA, CONFIG_ERROR, Answer, Fault, Outcome
from ..util.retry import classify_http

_CONFIG_STATUSES = frozenset({401, 403, 407})
_GROUPED = re.compile(r"^\d+ errors like: ")
_NEXT_GROUP = re.compile(r"; (?=\d+ errors like: )")
# validate.go's messages that name entries of a stream ('%s' is the stream's labels.String())
_LINE_TOO_LONG = re.compile(r"^max entry size '\d+' bytes exceeded for stream '(?P<s>\{.*\})' "
                            r"while adding an entry with length '(?P<n>\d+)' bytes$", re.S)
_TOO_OLD = re.compile(r"^entry for stream '(?P<s>\{.*\})' has timestamp too old: (?P<t>\S+), "
                      r"oldest acceptable timestamp is: \S+$", re.S)
_TOO_NEW = re.compile(r"^entry for stream '(?P<s>\{.*\})' has timestamp too new: (?P<t>\S+)$",
                      re.S)
# ... and those about a whole stream (its labels)
_WHOLE_STREAM = (
    re.compile(r"^entry for stream '(?P<s>\{.*\})' has \d+ label names; limit \d+$", re.S),
    re.compile(r"^stream '(?P<s>\{.*\})' has label (name|value) too long: .*$", re.S),
    re.compile(r"^error parsing labels '(?P<s>\{.*\})' with error: .*$", re.S),
    re.compile(r"^stream '(?P<s>\{.*\})' includes structured metadata.*$", re.S),
)


# Labels Loki adds to a stream itself before validating it, so its messages name them beside ours
# (grafana/loki pkg/loghttp/push/push.go: service_name, by discover_service_name, on by default
# since Loki 3.0; __backfill__ and __backfill_shard__ on a backfill push) or after
# (pkg/distributor: __stream_shard__ when shard_streams splits a stream).
LOKI_ADDED_LABELS = frozenset({"service_name", "__stream_shard__", "__backfill__",
                               "__backfill_shard__"})
_QUOTED_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', re.S)


def label_pairs(text: str) -> dict[str, str] | None:
    """Prometheus' ``labels.String()`` text (``{a="1", b="2"}``) -> {name: value as quoted};
    None when the text is not of that form."""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    body, pairs, pos = text[1:-1], {}, 0
    while pos < len(body):
        match = _QUOTED_LABEL.match(body, pos)
        if match is None:
            return None
        pairs[match.group(1)] = match.group(2)
        pos = match.end()
        if body.startswith(", ", pos):
            pos += 2
        elif pos != len(body):
            return None
    return pairs


def same_stream(sent: str, named: str) -> bool:
    """Whether a stream Loki names (``named``, its labels.String()) is the one sent with the
    labels ``sent``: the same labels, plus at most labels Loki adds itself (LOKI_ADDED_LABELS)."""
    if sent == named:
        return True
    ours, theirs = label_pairs(sent), label_pairs(named)
    if ours is None or theirs is None:
        return False
    return (all(theirs.get(name) == value for name, value in ours.items())
            and set(theirs) - set(ours) <= LOKI_ADDED_LABELS)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Entries of one stream a 400 names: all of them (``length`` and ``second`` None), those
    whose line is ``length`` bytes, or those stamped within ``second`` (Unix seconds: Loki
    writes the time as RFC 3339, to the second)."""

    stream: str
    length: int | None = None
    second: int | None = None


def classify(status: int, body: bytes, headers: Mapping[str, str] | None = None,
             *, now: float | None = None) -> Answer:
    """One push answer -> Answer; reasons quote the start of Loki's message."""
    generic = classify_http(status, headers or {}, body, now=now)
    if generic.outcome is not Outcome.DROP:
        return generic
    if status in _CONFIG_STATUSES:
        return Answer(Outcome.DROP, status, None, f"{CONFIG_ERROR}: {generic.reason}",
                      fault=Fault.CONFIG)
    return Answer(Outcome.DROP, status, None, f"{BAD_DATA}: {generic.reason}",
                  fault=Fault.DATA)


def refusals(body: bytes) -> list[Refusal] | None:
    """What a 400 names, message by message; None when any message names no entries (then the
    caller dead-letters the whole request)."""
    try:
        text = body.decode().strip()
    except UnicodeDecodeError:
        return None
    found: list[Refusal] = []
    messages = _NEXT_GROUP.split(text) if _GROUPED.match(text) else [text]
    for message in messages:
        message = _GROUPED.sub("", message)
        refusal = _refusal(message)
        if refusal is None:
            return None
        found.append(refusal)
    return found or None


def _refusal(message: str) -> Refusal | None:
    if m := _LINE_TOO_LONG.match(message):
        return Refusal(m["s"], length=int(m["n"]))
    for pattern in (_TOO_OLD, _TOO_NEW):
        if m := pattern.match(message):
            second = _rfc3339_second(m["t"])
            return None if second is None else Refusal(m["s"], second=second)
    for pattern in _WHOLE_STREAM:
        if m := pattern.match(message):
            return Refusal(m["s"])
    return None


def _rfc3339_second(text: str) -> int | None:
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return int(when.timestamp()) if when.microsecond == 0 else None
