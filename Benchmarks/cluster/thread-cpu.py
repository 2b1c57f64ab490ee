#!/usr/bin/env python3
"""CPU per churn cycle of the three nodes' supervisor threads (`heartbeatd`, with the Redis link) and
workers (`hb-worker-N`), and of Redis, as per-cycle.py runs them (three nodes of BIN, cluster on, three
`heartbeat-bench churn -k CYCLES -c 50` at once), but with the threads' CPU from `perf stat -e task-clock`
(nanoseconds) instead of /proc's 10 ms ticks (± 0.7 µs a cycle at 5,000 cycles). Still CPU time on shared
cores: alternate two builds several times and compare medians. Usage: Benchmarks/cluster/thread-cpu.py
BIN [CYCLES] [PORT_BASE]; prints one JSON line."""
import json, os, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib; run = importlib.import_module("run")

def task_clock_ms(path):
    for line in open(path):
        if "task-clock" in line: return float(line.split(",")[0])
    return 0.0

def main():
    bindir = sys.argv[1]; cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    run.PORTS.extend(range(int(sys.argv[3]), int(sys.argv[3]) + 4) if len(sys.argv) > 3 else [])
    rport = run.free_port(); redis = run.redis_server(rport); work = tempfile.mkdtemp()
    try:
        time.sleep(0.5); r = run.Redis(rport)
        nodes = [run.Node(bindir, f"t{i}", rport) for i in range(3)]
        groups = {"supervisor": [], "worker": []}
        for n in nodes:
            for tid in os.listdir(f"/proc/{n.proc.pid}/task"):
                name = open(f"/proc/{n.proc.pid}/task/{tid}/comm").read().strip()
                if name == "heartbeatd": groups["supervisor"].append(tid)
                elif name.startswith("hb-worker"): groups["worker"].append(tid)
        stats = {g: subprocess.Popen(["perf", "stat", "-x", ",", "-e", "task-clock", "-t", ",".join(tids),
                                      "-o", f"{work}/{g}.csv"]) for g, tids in groups.items()}
        redis_cpu = run.cpu(r); time.sleep(0.2)
        rate = run.churn(bindir, [n.port for n in nodes], cycles); time.sleep(0.3)
        redis_cpu = run.cpu(r) - redis_cpu
        for p in stats.values(): p.send_signal(signal.SIGINT); p.wait()
        total = 3 * cycles
        print(json.dumps({"cycles_per_second": rate, "load": float(open("/proc/loadavg").read().split()[0]),
                          "cpu_us_per_cycle": {g: round(task_clock_ms(f"{work}/{g}.csv") * 1000 / total, 2)
                                               for g in groups},
                          "redis_cpu_us_per_cycle": round(redis_cpu * 1e6 / total, 2)}))
        for n in nodes: n.stop()
    finally:
        redis.kill(); redis.wait()

if __name__ == "__main__": main()
