#!/usr/bin/env python3
"""The verdict of a soak run (scripts/soak.sh's output directory): RSS slope by least squares after the
warm-up, descriptor and CLOSE-WAIT extremes, what the loads did. One JSON object on stdout, a table on
stderr; exit 1 if the daemon died, a CLOSE-WAIT was seen, held clients dropped, or descriptors leaked."""
import argparse
import json
import pathlib
import sys


def slope_per_hour(points):
    """Least-squares slope of (seconds, value) points, per hour; None with fewer than 3 points."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return sxy / sxx * 3600


def lines(path):
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dir", type=pathlib.Path)
    parser.add_argument("--warmup", type=int, default=300, help="seconds left out of the slopes")
    parser.add_argument("--daemon-alive", default="true")
    args = parser.parse_args()

    rows = lines(args.dir / "samples.jsonl")
    died = any(r.get("daemon_died") for r in rows) or args.daemon_alive != "true"
    samples = [r for r in rows if "rss_kib" in r and r.get("phase", "load") == "load"]
    baseline = next((r for r in rows if r.get("phase") == "baseline"), None)
    final = next((r for r in rows if r.get("phase") == "final"), None)
    steady = [r for r in samples if r["elapsed_s"] >= args.warmup]
    # Descriptors beyond one per connected client: the daemon's own (listeners, epoll, timers, logs).
    overhead = [r["fds"] - r["sessions"] for r in samples if r.get("sessions") is not None]
    summary = {
        "samples": len(samples),
        "steady_samples": len(steady),
        "duration_s": samples[-1]["elapsed_s"] if samples else 0,
        "rss_kib_min": min((r["rss_kib"] for r in steady), default=None),
        "rss_kib_max": max((r["rss_kib"] for r in steady), default=None),
        "rss_slope_kib_per_hour": slope_per_hour([(r["elapsed_s"], r["rss_kib"]) for r in steady]),
        "fds_min": min((r["fds"] for r in samples), default=None),
        "fds_max": max((r["fds"] for r in samples), default=None),
        "fd_overhead_min": min(overhead, default=None),
        "fd_overhead_max": max(overhead, default=None),
        "fds_idle_before": baseline["fds"] if baseline else None,
        "fds_idle_after": final["fds"] if final else None,
        "sessions_after": final["sessions"] if final else None,
        "rss_kib_idle_before": baseline["rss_kib"] if baseline else None,
        "rss_kib_idle_after": final["rss_kib"] if final else None,
        "close_wait_max": max((r["close_wait"] for r in samples), default=None),
        "sessions_min": min((r["sessions"] for r in steady if r.get("sessions") is not None), default=None),
        "sessions_max": max((r["sessions"] for r in steady if r.get("sessions") is not None), default=None),
        "load_max": max((r["load"] for r in samples), default=None),
        "daemon_died": died,
    }

    # The held fleet: hold.json (one bench) or hold-N.json (split over several), summed.
    holds = [h[-1] for h in (lines(p) for p in sorted(args.dir.glob("hold*.json"))) if h]
    if holds:
        summary["hold"] = {
            k: sum(h.get(k) or 0 for h in holds) for k in ("connected", "failures", "dropped", "heartbeats", "lost_beats")
        }
        summary["hold"]["procs"] = len(holds)
        summary["hold"]["rtt_us_p99_max"] = max((h.get("rtt_us") or {}).get("p99", 0) for h in holds)
        summary["hold"]["rtt_us_max"] = max((h.get("rtt_us") or {}).get("max", 0) for h in holds)
    churn = lines(args.dir / "churn.jsonl")
    summary["churn"] = {
        "runs": len(churn),
        "cycles": sum(c.get("cycles", 0) for c in churn),
        "failures": sum(c.get("failures", 0) for c in churn),
        "server_close_wait_seen": sum(c.get("server_sockets", {}).get("CLOSE_WAIT", 0) for c in churn),
    }
    victims = lines(args.dir / "victims.jsonl")
    summary["victims"] = {"runs": len(victims), "kicked_or_dropped": sum(v.get("dropped", 0) for v in victims)}
    kicks = (args.dir / "kicks.log").read_text().split("\n") if (args.dir / "kicks.log").exists() else []
    summary["kicks"] = {
        "kicked": sum(1 for k in kicks if k.endswith(" kicked")),
        "missed": sum(1 for k in kicks if k.endswith(" missed")),
    }
    reloads = []
    if (args.dir / "reloads.log").exists():
        reloads = [r.split(" ", 2) + [""] for r in (args.dir / "reloads.log").read_text().splitlines()]
    # Each line: time, which file (a, b or bad), heartbeatctl's answer. The bad file must be refused.
    applied = [r for r in reloads if '"outcome":"applied"' in r[2]]
    summary["reloads"] = {
        "applied": len(applied),
        "refused": sum(1 for r in reloads if r[1] == "bad" and '"outcome":"applied"' not in r[2]),
        "unexpected": sum(1 for r in reloads if (r[1] == "bad") == ('"outcome":"applied"' in r[2])),
    }

    failures = []
    if died:
        failures.append("the daemon died")
    summary["close_wait_1s_max"] = max((r.get("close_wait_1s", r["close_wait"]) for r in samples), default=None)
    if summary["close_wait_1s_max"]:
        failures.append(f"CLOSE-WAIT still there a second later: {summary['close_wait_1s_max']}")
    if summary["churn"]["server_close_wait_seen"]:
        failures.append("CLOSE-WAIT seen by churn's socket count")
    if holds and summary["hold"]["dropped"]:
        failures.append(f"{summary['hold']['dropped']} held clients dropped")
    if not baseline or not final:
        failures.append("no idle sample before or after the loads")
    elif final["sessions"] != 0 or final["fds"] != baseline["fds"]:
        failures.append(f"idle descriptors {baseline['fds']} before, {final['fds']} after ({final['sessions']} sessions)")
    if summary["reloads"]["unexpected"]:
        failures.append(f"{summary['reloads']['unexpected']} reloads with an unexpected outcome")
    summary["failures"] = failures
    summary["verdict"] = "pass" if not failures else "fail"

    print(json.dumps(summary))
    print(f"{'phase':>8} {'elapsed':>8} {'rss KiB':>9} {'fds':>6} {'cw':>3} {'sessions':>8} {'load':>5}", file=sys.stderr)
    for r in [baseline] + samples + [final]:
        if r is None:
            continue
        print(
            f"{r.get('phase', ''):>8} {r['elapsed_s']:>8} {r['rss_kib']:>9} {r['fds']:>6} {r['close_wait']:>3} "
            f"{str(r.get('sessions')):>8} {r['load']:>5}",
            file=sys.stderr,
        )
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
