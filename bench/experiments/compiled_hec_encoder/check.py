"""The experiment's encoder gives the plugin's envelopes byte for byte (and declines what it does
not do): 20 random blocks of 2000 frames, against Envelope.encode_many of the Python path. Then
the cost per line of both, on the benchmark's 100-byte lines.

    .venv/bin/python bench/experiments/compiled_hec_encoder/check.py
"""

from __future__ import annotations

import itertools
import random
import sys
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[2])]

import hecc  # noqa: E402

from logdriver.framing import Entry, encode_entry, plain_columns  # noqa: E402
from sinks.splunk.encoder import Envelope, HecFields  # noqa: E402
from sinks.util.record import Context, Records  # noqa: E402

T0 = 1_700_000_000_000_000_000


def main() -> int:
    ctx = Context(container_id="c" * 64, container_name="/bench", image_name="busybox",
                  image_id="sha256:" + "e" * 64, daemon_name="docker", tag="0123456789ab",
                  hostname="bench-host", attrs={"a": "1"})
    envelope = Envelope("inline", ctx, HecFields(source="s", index="main"))
    parts = (b'{"event":{"line":"', *('"' + envelope._source_part(s) for s in ("stdout",
             "stderr")), envelope._tail)
    parts = tuple(p if isinstance(p, bytes) else p.encode() for p in parts)
    rng = random.Random(1)
    declined = 0
    for block in range(20):
        plain = block % 4 != 3  # every fourth block holds a line that needs escaping
        entries = [Entry(rng.choice(["stdout", "stderr"]), T0 + rng.randrange(10**15),
                         b"x" * rng.randrange(0, 300) + (b"" if plain or i else b'"'))
                   for i in range(2000)]
        data = b"".join(map(encode_entry, entries))
        got = hecc.encode(data, *parts)
        if got is None:
            declined += 1
            assert not plain, "declined a block of plain lines"
            continue
        columns = plain_columns(data)
        assert columns is not None
        recs = Records()
        recs.extend_whole(*columns[:3])
        assert got[0] == envelope.encode_many(recs), f"block {block}: envelopes differ"
        assert got[1] == list(itertools.accumulate(columns[3])), f"block {block}: ends differ"
    print(f"20 blocks: {20 - declined} encoded byte for byte as the plugin does, {declined} "
          "declined (a line to escape)")
    # the cost per line on the benchmark's lines (100 bytes), best of 10 blocks of 10,000
    data = b"".join(encode_entry(Entry("stdout", T0 + i * 7919, b"%06d " % i + b"x" * 93))
                    for i in range(10_000))

    def python_path() -> object:
        columns = plain_columns(data)
        assert columns is not None
        recs = Records()
        recs.extend_whole(*columns[:3])
        return envelope.encode_many(recs)

    for label, run in (("Python (plain_columns + encode_many)", python_path),
                       ("compiled encoder", lambda: hecc.encode(data, *parts))):
        best = min(timeit.repeat(run, number=1, repeat=10))
        print(f"{label}: {best * 1e6 / 10_000:.2f} us per 100-byte line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
