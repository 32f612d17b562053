"""The benchmarks' counting receiver (bench/hec_receiver.py) counts every event of requests that
arrive at the same time, as many containers stopping together send them."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

RECEIVER = Path(__file__).resolve().parents[2] / "bench" / "hec_receiver.py"
SENDERS = 20
EVENTS = 2000

# (path, one event as the sender encodes it, the counter it adds to)
FORMATS = {
    "hec": ("/services/collector/event/1.0",
            b'{"event":{"line":"000001 xxxx","source":"stdout"},"time":"1.5","host":"h"}',
            "events"),
    "datadog": ("/api/v2/logs", b'{"message":"000001 xxxx","service":"s"}', "datadog"),
    "http": ("/in", b'{"line":"000001 xxxx"}\n', "http"),
}


@pytest.fixture
async def receiver() -> AsyncIterator[int]:
    """The receiver as the benchmarks start it; yields its port."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(RECEIVER), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.strip().isdigit(), f"the receiver did not print its port: {line!r}"
        yield int(line)
    finally:
        proc.terminate()
        await proc.wait()


async def _request(port: int, method: str, path: str, body: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                 "Connection: close\r\n\r\n".encode() + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_requests_arriving_together_are_all_counted(receiver: int, fmt: str) -> None:
    path, event, counter = FORMATS[fmt]
    body = event * EVENTS
    half = len(body) // 2
    conns = [await asyncio.open_connection("127.0.0.1", receiver) for _ in range(SENDERS)]
    # Every request's headers and first half, so each handler has started and waits for the
    # rest of its body; then the rest of every body at once.
    for _, writer in conns:
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                     "Connection: close\r\n\r\n".encode() + body[:half])
        await writer.drain()
    await asyncio.sleep(0.5)
    for _, writer in conns:
        writer.write(body[half:])
        await writer.drain()
    answers = [await asyncio.wait_for(reader.read(), 30) for reader, _ in conns]
    for _, writer in conns:
        writer.close()
    assert all(a.startswith(b"HTTP/1.1 20") for a in answers), answers[:1]
    raw = await _request(receiver, "GET", "/count")
    count = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert count["requests"] == SENDERS
    assert count[counter] == SENDERS * EVENTS, (
        f"{count[counter]} of {SENDERS * EVENTS} {fmt} events counted")
