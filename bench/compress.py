"""gzip of the sinks' real request bodies: zlib against zlib-ng, python-isal, cramjam and
libdeflate, CPU per body.

    .venv/bin/python bench/compress.py [--repeat 30] [--levels -1,1,6,9] [--bodies datadog,hec]

Bodies are made by the sinks' own encoders: a Datadog batch (its intake limit, 1,000 items) and
an HEC batch (the default 1 MB of envelopes), each of two kinds of 100-byte lines: the bench's
container output ("%06d " + 92 x, very repetitive) and access-log lines drawn from a seeded
random source (nearer to real logs). For each body, library and level it prints the CPU time per
body (the best of REPEAT runs, ``time.process_time``: the machine is shared, the best run is the
one least disturbed), the MB/s of input, and the compressed size; every output is checked to
decompress (Python's ``gzip``) to the body itself.

zlib-ng takes zlib's levels (-1..9: Go's, the sinks' levels) with the same meaning; python-isal
has levels 0-3 only, so it is shown at each of its levels next to zlib's, for the record.
cramjam (gzip through Rust's flate2; a dependency already, for Loki's snappy) and libdeflate
(PyPI ``deflate``, not a dependency: shown when installed) take zlib's levels. A library that is
not importable is skipped with a note. zstd level 1 (cramjam), the Datadog agent's default log
compression, is shown after them for its ratio (it is not gzip).
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import random
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sinks.datadog.config import DD_MAX_BATCH_EVENTS, DatadogConfig  # noqa: E402
from sinks.datadog.sink import DatadogSink  # noqa: E402
from sinks.splunk.config import HEC_DEFAULT_BATCH_BYTES, SplunkConfig  # noqa: E402
from sinks.splunk.sink import SplunkSink  # noqa: E402
from sinks.util.client import GZIP_WBITS, build_client  # noqa: E402
from sinks.util.record import Context, Record, Records  # noqa: E402

T0 = 1_764_000_000_123_456_789
CTX = Context(container_id="c0ffee" * 10 + "abcd", container_name="web_app-1",
              image_name="nginx:1.25", image_id="sha256:" + "ab" * 32, hostname="host1",
              daemon_name="docker", tag="c0ffeec0ffee", attrs={})
Compress = Callable[[bytes, int, int], bytes]


def bench_line(i: int) -> bytes:
    return b"%06d " % i + b"x" * 92


def access_line(rng: random.Random, i: int) -> bytes:
    """An nginx-like access line cut or padded to 99 bytes (100 with the newline)."""
    ip = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    path = "/" + "/".join(rng.choice(("api", "v1", "users", "items", "static", "img", "cart"))
                          for _ in range(rng.randrange(1, 4)))
    line = (f'{ip} - - [30/Nov/2026:15:{i // 60 % 60:02d}:{i % 60:02d} +0000] '
            f'"{rng.choice(("GET", "POST", "PUT"))} {path}?id={rng.randrange(10**6)} HTTP/1.1" '
            f'{rng.choice((200, 200, 200, 304, 404, 500))} {rng.randrange(100, 99999)}')
    return line.encode()[:99].ljust(99, b"-")


def records(kind: str, n: int) -> Records:
    rng = random.Random(17)
    make = bench_line if kind == "bench" else (lambda i: access_line(rng, i))
    return Records.of(Record(T0 + i * 1000, "stdout", make(i)) for i in range(n))


def datadog_body(kind: str) -> bytes:
    config = DatadogConfig.from_options({"datadog-api-key": "k" * 32}, {})
    sink = DatadogSink(config, build_client(config.tls))
    return b"[" + b",".join(sink.encode_many(CTX, records(kind, DD_MAX_BATCH_EVENTS))) + b"]"


def hec_body(kind: str) -> bytes:
    config = SplunkConfig.from_options({"splunk-url": "http://127.0.0.1:1", "splunk-token": "t",
                                        "splunk-verify-connection": "false"}, {})
    sink = SplunkSink(config, build_client(config.tls))
    out, size = [], 0
    for event in sink.encode_many(CTX, records(kind, 20_000)):
        if size + len(event) > HEC_DEFAULT_BATCH_BYTES:
            break
        out.append(event)
        size += len(event)
    return b"".join(out)


def _cramjam_gzip(data: bytes, level: int, wbits: int) -> bytes:
    import cramjam  # the Loki sink's snappy: already a dependency

    return bytes(cramjam.gzip.compress(data, level=6 if level < 0 else level))


def _libdeflate_gzip(data: bytes, level: int, wbits: int) -> bytes:
    import deflate  # type: ignore[import-not-found]  # libdeflate's binding (PyPI "deflate")

    return bytes(deflate.gzip_compress(data, 6 if level < 0 else level))


def _zstd_reference(body: bytes, repeat: int) -> tuple[float, int] | None:
    """(best CPU seconds, output bytes) of zstd level 1 (cramjam), the Datadog agent's default
    log compression; None without cramjam."""
    try:
        import cramjam
    except ImportError:
        return None
    best, size = float("inf"), 0
    for _ in range(repeat):
        t0 = time.process_time()
        size = len(cramjam.zstd.compress(body, level=1))
        best = min(best, time.process_time() - t0)
    return best, size


def libraries() -> dict[str, tuple[Compress, tuple[int, ...]]]:
    """Each gzip library found: (compress(data, level, wbits), its own levels or () for
    zlib's). cramjam's gzip (Rust flate2) and libdeflate (PyPI "deflate") take zlib's levels
    1-9 (-1 as 6); python-isal only 0-3."""
    libs: dict[str, tuple[Compress, tuple[int, ...]]] = {"zlib": (zlib.compress, ())}
    for name, module in (("zlib-ng", "zlib_ng.zlib_ng"), ("isal", "isal.isal_zlib"),
                         ("cramjam", "cramjam"), ("libdeflate", "deflate")):
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            print(f"{name}: not importable ({exc})", file=sys.stderr)
            continue
        if name == "cramjam":
            libs[name] = (_cramjam_gzip, ())
        elif name == "libdeflate":
            libs[name] = (_libdeflate_gzip, ())
        else:
            libs[name] = (mod.compress, (0, 1, 2, 3) if name == "isal" else ())
    return libs


def best_cpu(fn: Compress, body: bytes, level: int, repeat: int) -> tuple[float, bytes]:
    best, out = float("inf"), b""
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn(body, level, GZIP_WBITS)
        best = min(best, time.process_time() - t0)
    if gzip.decompress(out) != body:
        raise AssertionError("a compressed body does not decompress to itself")
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--levels", default="-1,1,6,9", help="zlib levels (Go's -1..9)")
    ap.add_argument("--bodies", default="datadog,hec", help="datadog, hec or both")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    libs = libraries()
    print(f"{'body':22} {'library':8} {'level':>5} {'ms/body':>8} {'MB/s':>7} {'out KB':>8} "
          f"{'x zlib':>6}")
    makers = {"datadog": ("datadog 1000 items", datadog_body), "hec": ("hec 1 MB", hec_body)}
    for label, make in (makers[b] for b in args.bodies.split(",")):
        for kind in ("bench", "access"):
            body = make(kind)
            name = f"{label}, {kind}"
            base: dict[int, float] = {}
            for lib, (fn, own_levels) in libs.items():
                for level in own_levels or levels:
                    cpu, out = best_cpu(fn, body, level, args.repeat)
                    if lib == "zlib":
                        base[level] = cpu
                    rel = f"{cpu / base[level]:.2f}" if level in base and lib != "isal" else ""
                    print(f"{name:22} {lib:8} {level:5d} {cpu * 1e3:8.2f} "
                          f"{len(body) / cpu / 1e6:7.0f} {len(out) / 1e3:8.1f} {rel:>6}")
            zstd = _zstd_reference(body, args.repeat)
            if zstd is not None:  # not gzip: the Datadog agent's default, for its ratio
                cpu, size = zstd
                print(f"{name:22} {'zstd':8} {1:5d} {cpu * 1e3:8.2f} "
                      f"{len(body) / cpu / 1e6:7.0f} {size / 1e3:8.1f}")
            print(f"{name:22} (body {len(body) / 1e3:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
