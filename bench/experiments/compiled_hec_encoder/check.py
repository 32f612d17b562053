"""The experiment's encoder gives the plugin's envelopes byte for byte (and declines what it does
not do): 20 random blocks of 2000 frames, against Envelope.encode_many of the Python path.

    .venv/bin/python bench/experiments/compiled_hec_encoder/check.py
"""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[2])]

import hecc  # noqa: E402

from logdriver.framing import Entry, encode_entry, plain_columns  # noqa: E402
from sinks.record import Context, Records  # noqa: E402
from sinks.splunk_envelope import Envelope, HecFields  # noqa: E402

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
