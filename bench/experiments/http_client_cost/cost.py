"""CPU per request of the sinks' HTTP client, on loopback to bench/hec_receiver.py.

Each (variant, body size) runs in a fresh process (so heap and caches start alike), rounds
alternate the variants, and the CPU of the client process only (getrusage, user + system) is
divided by the requests. The receiver runs in its own process and is not counted.

    .venv/bin/python bench/experiments/http_client_cost/cost.py --requests 1000 --rounds 5 \
        --variants exchange,aiohttp --sizes 100,250000

``exchange``/``exchange_events`` use this tree's sinks.util.client; ``exchange_main``/
``exchange_events_main`` the one in $HTTPCOST_MAIN, e.g. after
``git archive 5faf2a2 sinks | tar -x -C /tmp/before`` (main's, on httpx) HTTPCOST_MAIN=/tmp/before.
``httpx_thin`` is httpx over a minimal aiohttp transport of our own (the option not taken).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

HERE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
PATH = "/services/collector/event/1.0"
HEADERS = {"Authorization": "Splunk 00000000-0000-0000-0000-000000000000",
           "Content-Type": "application/json"}


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


Send = Callable[[bytes], Awaitable[Any]]


async def make(variant: str, url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """(send one body, close) for a variant."""
    root = HERE
    if variant.endswith("_main"):
        root, variant = os.environ["HTTPCOST_MAIN"], variant.removesuffix("_main")
    sys.path.insert(0, root)
    if variant in ("exchange", "exchange_events"):
        from sinks.util.client import Exchange, build_client
        from sinks.util.tls import TLSKeys, TLSOptions

        tls = TLSOptions.from_options({}, TLSKeys.with_prefix("http"))
        ex = Exchange(build_client(tls), ["00000000-0000-0000-0000-000000000000"])
        if variant == "exchange":
            async def send(body: bytes) -> Any:
                reply = await ex.request("POST", url, content=body, headers=HEADERS)
                assert getattr(reply, "status", None) == 200, reply
                return reply
        else:
            async def send(body: bytes) -> Any:
                answer = await ex.post_events(url, body, HEADERS, refused=frozenset({401}),
                                              refused_what="token")
                assert answer.status == 200, answer
                return answer
        return send, ex.aclose
    if variant in ("httpx_stream", "httpx_request", "httpx_model", "httpx_aiohttp", "httpx_thin"):
        import httpx

        transport: httpx.AsyncBaseTransport | None = None
        if variant == "httpx_model":
            transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b"{}"))
        elif variant == "httpx_thin":
            transport = _thin_transport()
        elif variant == "httpx_aiohttp":
            from httpx_aiohttp import AiohttpTransport
            transport = AiohttpTransport()
        client = httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=True)
        if variant == "httpx_request":
            async def send(body: bytes) -> Any:
                r = await client.request("POST", url, content=body, headers=HEADERS)
                assert r.status_code == 200
                return r.content
        else:
            async def send(body: bytes) -> Any:
                async with client.stream("POST", url, content=body, headers=HEADERS) as r:
                    data = b"".join([c async for c in r.aiter_bytes()])
                assert r.status_code == 200
                return data
        return send, client.aclose
    if variant == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession()

        async def send(body: bytes) -> Any:
            async with session.request("POST", url, data=body, headers=HEADERS,
                                       allow_redirects=False) as r:
                data = await r.content.read(64 * 1024)
            assert r.status == 200
            return data
        return send, session.close
    raise SystemExit(f"unknown variant {variant}")


def _thin_transport() -> Any:
    import aiohttp
    import httpx

    class ThinTransport(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.session: aiohttp.ClientSession | None = None

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if self.session is None:
                self.session = aiohttp.ClientSession(
                    auto_decompress=False,
                    skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"))
            t = request.extensions.get("timeout", {})
            async with self.session.request(
                request.method, str(request.url), data=request.content,
                headers=request.headers.multi_items(), allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=t.get("read"),
                                              sock_connect=t.get("connect")),
            ) as r:
                body = await r.content.read(65536)
                return httpx.Response(r.status, headers=r.raw_headers, content=body)

        async def aclose(self) -> None:
            if self.session is not None:
                await self.session.close()

    return ThinTransport()


async def one(variant: str, size: int, n: int, port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}{PATH}"
    send, close = await make(variant, url)
    body = (b'{"event":"' + b"x" * 200 + b'"}') * max(1, size // 213)
    body = body[:size] if size < 213 else body
    for _ in range(20):
        await send(body)
    t, w = cpu(), time.perf_counter()
    for _ in range(n):
        await send(body)
    used, wall = cpu() - t, time.perf_counter() - w
    await close()
    return {"cpu_ms": used / n * 1e3, "wall_ms": wall / n * 1e3}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--variants", default="exchange,httpx_request,httpx_model,aiohttp")
    ap.add_argument("--sizes", default="100,250000")
    ap.add_argument("--child", nargs=3, metavar=("VARIANT", "SIZE", "PORT"))
    args = ap.parse_args()
    if args.child:
        v, s, p = args.child
        print(json.dumps(asyncio.run(one(v, int(s), args.requests, int(p)))))
        return
    recv = subprocess.Popen([sys.executable, os.path.join(HERE, "bench", "hec_receiver.py")],
                            stdout=subprocess.PIPE, text=True, cwd=HERE,
                            env={**os.environ, "PYTHONPATH": HERE})
    assert recv.stdout is not None
    port = recv.stdout.readline().strip()
    variants = args.variants.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[tuple[str, int], list[float]] = {(v, s): [] for v in variants for s in sizes}
    try:
        for r in range(args.rounds):
            order = variants if r % 2 == 0 else variants[::-1]
            for s in sizes:
                for v in order:
                    out = subprocess.run([sys.executable, __file__, "--requests",
                                          str(args.requests), "--child", v, str(s), port],
                                         check=True, capture_output=True, text=True)
                    results[(v, s)].append(json.loads(out.stdout)["cpu_ms"])
    finally:
        recv.kill()
    print(f"{'variant':16} {'body B':>8} {'median ms':>10} {'min':>6} {'max':>6}  rounds")
    for (v, s), xs in results.items():
        print(f"{v:16} {s:8} {statistics.median(xs):10.3f} {min(xs):6.3f} {max(xs):6.3f}  "
              + " ".join(f"{x:.3f}" for x in xs))


if __name__ == "__main__":
    main()
