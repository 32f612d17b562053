"""HEC indexer acknowledgement: poll ``/services/collector/ack`` until Splunk says the request's
events are indexed, within a bounded time. Docker's splunk driver sets a channel but never polls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from ..util.answer import Answer, Outcome
from ..util.client import Exchange, Reply
from .answer import classify_hec, hec_json

HEC_ACK_PATH = "/services/collector/ack"
ACK_FIRST_POLL_SECONDS = 0.5  # indexing takes at least this long; polling sooner only adds load
ACK_MAX_POLL_SECONDS = 5.0  # backoff ceiling between polls
ACK_TIMEOUT_SECONDS = 60.0  # replication can take tens of seconds; after this, resend (RETRY)


def ack_id_of(body: bytes) -> int | None:
    ack_id = hec_json(body).get("ackId")
    if isinstance(ack_id, int) and not isinstance(ack_id, bool):
        return ack_id
    return None


async def await_ack(
    exchange: Exchange,
    base_url: str,
    ack_id: int,
    headers: Mapping[str, str],
    *,
    first_poll: float = ACK_FIRST_POLL_SECONDS,
    max_poll: float = ACK_MAX_POLL_SECONDS,
    timeout: float = ACK_TIMEOUT_SECONDS,
) -> Answer:
    """OK once ``{"acks": {"<id>": true}}``; RETRY on a failed poll answer or at the deadline.

    A poll that gets no answer (network) is simply repeated: the ack state lives on the server.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    body = json.dumps({"acks": [ack_id]}).encode()
    interval = first_poll
    polls = 0
    while True:
        if loop.time() + interval > deadline:
            return Answer(Outcome.RETRY, 200, None,
                          f"not acknowledged within {timeout:g} s (ackId {ack_id}, {polls} polls)")
        await asyncio.sleep(interval)
        polls += 1
        reply = await exchange.request("POST", base_url + HEC_ACK_PATH, content=body,
                                       headers=headers)
        if isinstance(reply, Reply):
            if reply.status != 200:
                answer = classify_hec(reply.status, reply.headers, reply.body)
                return Answer(Outcome.RETRY, reply.status, answer.retry_after,
                              f"ack poll failed: {answer.reason}", fault=answer.fault)
            acks = hec_json(reply.body).get("acks")
            if isinstance(acks, dict) and acks.get(str(ack_id)) is True:
                return Answer(Outcome.OK, 200, None, f"indexed (ackId {ack_id})")
        interval = min(interval * 2, max_poll)
