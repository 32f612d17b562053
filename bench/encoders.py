"""Micro benchmark of the envelope encoders (sinks/util/envelope.py): microseconds per record of
each format's ``encode_many`` under the compiled and the pure-Python twin, and of the per-record
path (``encode`` for each record, what Datadog and HTTP did before the kernel), on batches of
2,000 records (the shipper's TAKE_RECORDS).

Lines are the delivery benchmark's (bench/common.py awk_program: "%06d " and 92 x, 99 bytes);
``--mix`` makes every tenth line need escaping (a quote, a tab, "<", and a non-ASCII character),
which the pure twin leaves to the per-record path. Best of ``--repeat`` timings of this
process's CPU time (the machine may be shared).

    .venv/bin/python bench/encoders.py [--records 200000] [--repeat 5] [--mix]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sinks.datadog.config import DatadogConfig  # noqa: E402
from sinks.datadog.encoder import ItemEncoder  # noqa: E402
from sinks.http.encoder import EventEncoder  # noqa: E402
from sinks.splunk.config import HecFields  # noqa: E402
from sinks.splunk.encoder import Envelope  # noqa: E402
from sinks.util import twin  # noqa: E402
from sinks.util.envelope import KERNEL  # noqa: E402
from sinks.util.record import Context, Record, Records  # noqa: E402

BATCH = 2000  # logdriver/delivery/worker.py TAKE_RECORDS
T0 = 1_700_000_000_000_000_000
CTX = Context(container_id="0123456789abcdef" * 4, container_name="bench", image_name="busybox",
              image_id="sha256:" + "ab" * 32, hostname="host1", daemon_name="docker",
              tag="0123456789ab", attrs={})


def batches(records: int, mix: bool) -> list[Records]:
    out = []
    for start in range(0, records, BATCH):
        recs = Records()
        for i in range(start, min(start + BATCH, records)):
            line = b"%06d %s" % (i, b"x" * 92)
            if mix and i % 10 == 0:
                line = line[:80] + b'"q"\t<\xc3\xa9>'
            recs.append(Record(T0 + i * 1000, "stderr" if i % 7 == 0 else "stdout", line))
        out.append(recs)
    return out


def encoders() -> dict[str, tuple[Callable[[Records], list[bytes]], Callable[[Record], bytes]]]:
    found: dict[str, tuple[Callable[[Records], list[bytes]], Callable[[Record], bytes]]] = {}
    for fmt in ("inline", "json", "raw"):
        envelope = Envelope(fmt, CTX, HecFields())
        found[f"hec-{fmt}"] = envelope.encode_many, envelope.encode
    datadog = ItemEncoder(DatadogConfig.from_options(
        {"datadog-api-key": "0123456789abcdef0123456789abcdef"}, {}))
    found["datadog"] = (lambda recs: datadog.encode_many(CTX, recs),
                        lambda rec: datadog.encode(CTX, rec))
    for fmt in ("json", "ndjson", "text"):
        http = EventEncoder(fmt)
        found[f"http-{fmt}"] = ((lambda h: lambda recs: h.encode_many(CTX, recs))(http),
                                (lambda h: lambda rec: h.encode(CTX, rec))(http))
    return found


def best_us(run: Callable[[], object], records: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times) / records * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mix", action="store_true", help="every tenth line needs escaping")
    args = parser.parse_args()
    data = batches(args.records, args.mix)
    if KERNEL.compiled is None:
        sys.exit(f"the compiled envelope kernel is not built ({KERNEL.missing}): "
                 "run .venv/bin/python setup.py build_ext --inplace")
    print(f"{args.records} records of 99 B{' (1 in 10 to escape)' if args.mix else ''}, "
          f"batches of {BATCH}, best of {args.repeat}; us per record")
    print(f"{'format':12} {'compiled':>9} {'pure':>9} {'per-record':>11} "
          f"{'per-rec/compiled':>17} {'per-rec/pure':>13}")
    for name, (encode_many, encode) in encoders().items():
        figures = {}
        for which in ("compiled", "pure"):
            twin.use(which)
            figures[which] = best_us(lambda f=encode_many: [f(recs) for recs in data],
                                     args.records, args.repeat)
        figures["per-record"] = best_us(
            lambda f=encode: [[f(rec) for rec in recs] for recs in data],
            args.records, args.repeat)
        print(f"{name:12} {figures['compiled']:9.3f} {figures['pure']:9.3f} "
              f"{figures['per-record']:11.3f} "
              f"{figures['per-record'] / figures['compiled']:16.1f}x "
              f"{figures['per-record'] / figures['pure']:12.1f}x")


if __name__ == "__main__":
    main()
