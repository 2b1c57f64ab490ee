#!/usr/bin/env python3
"""Medians (min-max) per figure from the JSON lines scripts/bench-figures.sh prints.
Usage: scripts/bench-summary.py RESULTS.jsonl [MORE.jsonl ...]  (one table per file, labelled by its name)"""
import json
import statistics
import sys

# figure -> (label, how to read the value from the bench's summary, unit)
FIGURES = {
    "memory10k": ("RSS per idle client, 10k", lambda s: s["rss_per_client_bytes"], "B"),
    "memory19k": ("RSS per idle client, 19k", lambda s: s["rss_per_client_bytes"], "B"),
    "cpu": ("CPU per 1000 heartbeats, 10k at 1/s", lambda s: s["cpu_ms_per_1000_heartbeats"], "ms"),
    "flood16": ("flood, 50 x depth 16", lambda s: s["heartbeats_per_second"], "/s"),
    "flood1": ("flood, 50 x depth 1", lambda s: s["heartbeats_per_second"], "/s"),
    "churn": ("churn clean:abort:vanish", lambda s: s["cycles_per_second"], "/s"),
    "reap": ("reap lateness p99, 10k", lambda s: s["lateness_ms"]["p99"], "ms"),
}


def summarise(path):
    values = {}
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        figure = record["figure"]
        values.setdefault(figure, []).append(FIGURES[figure][1](record["summary"]))
    print(f"## {path}")
    print("| figure | median | min | max | runs |")
    print("|---|---|---|---|---|")
    for figure, (label, _, unit) in FIGURES.items():
        if figure in values:
            v = values[figure]
            print(f"| {label} | {statistics.median(v):,.2f} {unit} | {min(v):,.2f} | {max(v):,.2f} | {len(v)} |")
    print()


for argument in sys.argv[1:]:
    summarise(argument)
