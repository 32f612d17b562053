"""The fault suite's report: one row per fault or input class, printed at the end of the run
(and written to $LOGDRIVER_FAULT_REPORT, default /tmp/logdriver-fault-report.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass

REPORT_PATH = os.environ.get("LOGDRIVER_FAULT_REPORT", "/tmp/logdriver-fault-report.md")


@dataclass(frozen=True)
class Row:
    fault: str
    load: str
    written: int
    delivered: int  # distinct lines that arrived (or were stored, where the row says so)
    duplicated: int
    dropped: int  # lost lines: must be 0 unless `note` says the design allows it and counted it
    note: str = ""


ROWS: list[Row] = []


def record(fault: str, load: str, *, written: int, delivered: int, duplicated: int,
           dropped: int, note: str = "") -> None:
    row = Row(fault, load, written, delivered, duplicated, dropped, note)
    ROWS.append(row)
    print(f"fault report: {row}")


def table() -> str:
    head = "| fault | load | written | delivered | duplicated | dropped | note |"
    lines = [head, "|---|---|---:|---:|---:|---:|---|"]
    for r in ROWS:
        lines.append(f"| {r.fault} | {r.load} | {r.written} | {r.delivered} | {r.duplicated} | "
                     f"{r.dropped} | {r.note} |")
    return "\n".join(lines) + "\n"
