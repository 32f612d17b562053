"""Splunk HEC answers -> Outcome: the HTTP status refined by HEC's JSON ``code``.

Codes from Splunk's "Troubleshoot HTTP Event Collector" table (see SINKS.md): 0 success; 8
internal error and 9 busy retry; 5, 6, 12, 13, 15 are bad data; 1-4, 7, 10, 11, 14, 16 are
configuration errors (token, index, channel, ack); 413 asks for smaller requests.

A bad-data answer about one event names it: ``{"text":"Invalid data format","code":6,
"invalid-event-number":N}``. HEC reads the body's events in order, indexes events 0..N-1 and
stops at N, so the answer carries N as ``Answer.invalid_event`` and the caller dead-letters
only that event and sends N+1.. again. A configuration error (code 7, a bad index) that names an
event is kept whole: the same setting would refuse every event after it, one request each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from ..util.answer import BAD_DATA, CONFIG_ERROR, Answer, Fault, Outcome
from ..util.retry import classify_http

HEC_CODE_TEXT = {
    0: "success", 1: "token disabled", 2: "token is required", 3: "invalid authorization",
    4: "invalid token", 5: "no data", 6: "invalid data format", 7: "incorrect index",
    8: "internal server error", 9: "server is busy", 10: "data channel is missing",
    11: "invalid data channel", 12: "event field is required", 13: "event field cannot be blank",
    14: "ACK is disabled", 15: "error in handling indexed fields",
    16: "query string authorization is not enabled",
}
HEC_BAD_DATA_CODES = frozenset({5, 6, 12, 13, 15})
HEC_CONFIG_CODES = frozenset({1, 2, 3, 4, 7, 10, 11, 14, 16})


def hec_json(body: bytes) -> Mapping[str, object]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def classify_hec(status: int, headers: Mapping[str, str], body: bytes,
                 *, now: float | None = None) -> Answer:
    """The generic table (``classify_http``) with HEC's codes in the reason, and a DROP's
    ``fault``: CONFIG for 401/403 and the setting codes, DATA for the bad-data codes."""
    generic = classify_http(status, headers, body, now=now)
    data = hec_json(body)
    code = data.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        code = None
    detail = f"HTTP {status}"
    if code is not None:
        text = data.get("text")
        text = text if isinstance(text, str) else HEC_CODE_TEXT.get(code, "unknown code")
        detail += f", HEC code {code} ({text})"
    elif generic.outcome is not Outcome.OK:
        detail = generic.reason  # no HEC JSON (a proxy answered?): quote what came back
    invalid_event = data.get("invalid-event-number")
    if not isinstance(invalid_event, int) or isinstance(invalid_event, bool) or invalid_event < 0:
        invalid_event = None
    else:
        detail += f", invalid-event-number {invalid_event}"
    one_event = None
    fault = Fault.NONE
    if generic.outcome is Outcome.DROP:
        if status in (401, 403) or code in HEC_CONFIG_CODES:
            fault = Fault.CONFIG
            detail = f"{CONFIG_ERROR}: {detail}"
        elif code in HEC_BAD_DATA_CODES:
            fault = Fault.DATA
            detail = f"{BAD_DATA}: {detail}"
            one_event = invalid_event
    return Answer(generic.outcome, status, generic.retry_after, detail, one_event, fault)
