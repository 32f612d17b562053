"""Where `docker logs --tail 10` spends its time: the CLI and dockerd's floor against the store.

```sh
sudo .venv/bin/python bench/tail_floor.py [--lines 1000000] [--rounds 9]
```

In one isolated dockerd (bench/common.py), times (medians of ROUNDS) `docker logs --tail 10` of a
container that printed LINES lines of 100 B under the plugin and under `local`, the same of a
container that printed 10 lines under each, and `docker inspect` of one: a call that reaches
dockerd but no log driver. What a 10-line history costs is the floor no driver goes under; what
the million-line one adds over it is the driver's own share.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from common import awk_program, environment
from run import timed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    out: dict[str, float] = {}
    with environment("logdriver-bench") as (docker, plugin):
        names = []
        for driver in (plugin.name, "local"):
            for lines in (args.lines, 10):
                name = f"floor-{driver}-{lines}"
                docker("run", "-d", "--name", name, "--network", "none", "--log-driver", driver,
                       "--log-opt", "max-size=100m", "--log-opt", "max-file=5", docker.image,
                       "awk", awk_program(lines), timeout=60)
                docker.wait(name, timeout=900)
                names.append((f"{driver} {lines} lines", name))
        timed(docker, "logs", "--tail", "10", names[0][1])  # warm
        for label, name in names:
            out[f"tail10 {label}"] = statistics.median(
                timed(docker, "logs", "--tail", "10", name) for _ in range(args.rounds))
        out["inspect"] = statistics.median(
            timed(docker, "inspect", names[0][1]) for _ in range(args.rounds))
    print(json.dumps({k: round(v, 4) for k, v in out.items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
