"""Micro benchmark of the Loki and OTLP sinks' encoders (issue #17): microseconds per record.

Each case is the sink's ``encode_many`` over ``Records`` of 100-byte lines (as ``yes | head``
writes them, newline dropped) in batches of BATCH records, then the request body of each batch
(``build_body`` with snappy for Loki, ``request`` for OTLP), once with every compiled kernel and
once with every pure-Python twin (``sinks.util.twin``). The figure is the CPU time of this
process (``time.process_time``: other work on a shared machine counts less than in wall time),
the best of ROUNDS rounds.

    .venv/bin/python bench/protoenc.py [--lines 200000] [--rounds 3] [--base main]

``--base REV`` also runs the same cases on the ``sinks`` package of git revision REV (extracted
with ``git archive`` into a temporary directory), the "before" row: today's code on main.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BATCH = 1000  # records per encode_many call, about one block of the delivery path
T0 = 1_700_000_000_123_456_789  # ns
CASES = ("loki protobuf", "loki json", "otlp protobuf", "otlp json")


def _sink(case: str) -> object:
    import httpx

    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    if case.startswith("loki"):
        from sinks.loki.config import LokiConfig
        from sinks.loki.sink import LokiSink
        fmt = case.split()[1]
        return LokiSink.from_config(LokiConfig.from_options(
            {"loki-url": "http://loki:3100/loki/api/v1/push", "loki-format": fmt}, {}),
            transport=transport)
    from sinks.otlp import OtlpConfig, OtlpSink
    protocol = "http/" + case.split()[1]
    return OtlpSink.from_config(OtlpConfig.from_options(
        {"otlp-endpoint": "http://collector:4318", "otlp-protocol": protocol}, {}),
        transport=transport)


def _batches(lines: int) -> list[object]:
    from sinks.util.record import Records

    out = []
    for start in range(0, lines, BATCH):
        recs = Records()
        n = min(BATCH, lines - start)
        recs.extend_whole(range(T0 + start, T0 + start + n), ["stdout"] * n,
                          [b"y" * 99 + b"." for _ in range(n)])
        out.append(recs)
    return out


def _body(case: str, sink: object) -> Callable[[list[bytes]], bytes]:
    if case.startswith("loki"):
        from sinks.loki.encoder import build_body
        protobuf = case.endswith("protobuf")
        labels_for = sink.stream_labels  # type: ignore[attr-defined]
        return lambda events: build_body(events, labels_for, protobuf=protobuf)[0]
    return lambda events: sink._encoder.request(events)  # type: ignore[attr-defined]


def measure(lines: int, rounds: int) -> dict[str, dict[str, float]]:
    """{case: {"encode": us per record, "body": us per record}}, best of ``rounds``."""
    from tests.unit.sinks.fakes import context

    ctx = context()
    batches = _batches(lines)
    out: dict[str, dict[str, float]] = {}
    for case in CASES:
        sink = _sink(case)
        encode_many = sink.encode_many  # type: ignore[attr-defined]
        encode_many(ctx, batches[0])  # the encoder and caches made outside the timing
        body = _body(case, sink)
        best_encode = best_body = float("inf")
        for _ in range(rounds):
            t0 = time.process_time()
            encoded = [encode_many(ctx, recs) for recs in batches]
            t1 = time.process_time()
            for events in encoded:
                body(events)
            t2 = time.process_time()
            best_encode, best_body = min(best_encode, t1 - t0), min(best_body, t2 - t1)
        out[case] = {"encode": best_encode / lines * 1e6, "body": best_body / lines * 1e6}
    return out


def _twins() -> list[str]:
    """The twins to measure: both when the Loki and OTLP kernels are registered (compiled only
    if built), else "no kernels" (a revision before them)."""
    import sinks.loki.sink  # noqa: F401  (registers the kernels the sinks use)
    import sinks.otlp.sink  # noqa: F401
    from sinks.util import twin

    ours = [t for t in twin.twins() if t.name.startswith(("sinks.loki", "sinks.otlp"))]
    if not ours:
        return ["no kernels"]
    return (["compiled"] if all(t.compiled is not None for t in ours) else []) + ["pure"]


def _measure_one(which: str, lines: int, rounds: int) -> dict[str, dict[str, float]]:
    if which != "no kernels":
        from sinks.util import twin
        _twins()
        twin.use(which)  # type: ignore[arg-type]
    return measure(lines, rounds)


def _in_subprocess(which: str, lines: int, rounds: int, sinks_dir: str = ""
                   ) -> dict[str, dict[str, float]]:
    """One twin measured in a fresh process, as every row is (one row's garbage and caches
    do not weigh on the next)."""
    env = {**os.environ, "PROTOENC_TWIN": which, "PROTOENC_SINKS": sinks_dir}
    proc = subprocess.run([sys.executable, __file__, "--lines", str(lines), "--rounds",
                           str(rounds), "--json"], check=True, capture_output=True, env=env,
                          cwd=REPO)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def _run_base(rev: str, lines: int, rounds: int) -> dict[str, dict[str, dict[str, float]]]:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "sinks"], check=True,
                             capture_output=True).stdout
    with tempfile.TemporaryDirectory(prefix="protoenc-base-") as tmp:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        return {f"{rev} (no kernels)": _in_subprocess("no kernels", lines, rounds, tmp)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", help="also measure the sinks package of this git revision")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    which = os.environ.get("PROTOENC_TWIN")
    if which:  # one row, in this process, for the parent (``_in_subprocess``)
        print(json.dumps(_measure_one(which, args.lines, args.rounds)))
        return
    results = {}
    if args.base:
        results.update(_run_base(args.base, args.lines, args.rounds))
    for which in _twins():
        results[which] = _in_subprocess(which, args.lines, args.rounds)
    if args.json:
        print(json.dumps(results))
        return
    print(f"us per record, {args.lines} lines of 100 B, batches of {BATCH}, best of "
          f"{args.rounds}: encode_many, then + request body")
    print(f"{'twin':<22}" + "".join(f"{case:>22}" for case in CASES))
    for label, row in results.items():
        print(f"{label:<22}" + "".join(
            f"{row[c]['encode']:>12.3f} +{row[c]['body']:>7.3f}" for c in CASES))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if os.environ.get("PROTOENC_SINKS"):  # the "before" run: another revision's sinks package
        sys.path.insert(0, os.environ["PROTOENC_SINKS"])
        import sinks
        if not sinks.__file__ or not sinks.__file__.startswith(os.environ["PROTOENC_SINKS"]):
            raise SystemExit(f"the base run imported {sinks.__file__}, not the base revision's")
    main()
