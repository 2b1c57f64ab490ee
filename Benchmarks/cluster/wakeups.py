#!/usr/bin/env python3
"""Wake-ups per churn cycle, cluster on vs off: three nodes of BIN and a redis-server of their own, three
`heartbeat-bench churn -k CYCLES -c 50` at once (as run.py --churn-only), on then off, RUNS times. Per
cycle: context switches of each node thread by name (/proc/PID/task/*/status, voluntary = the thread
slept, involuntary = it was preempted), of Redis and of the benches (getrusage of the children), the
machine's (/proc/stat ctxt), and the rate. One JSON line per run.
Usage: Benchmarks/cluster/wakeups.py BIN [CYCLES] [RUNS] [PORT_BASE]"""
import json, os, resource, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib; run = importlib.import_module("run")

def switches(pid):
    """(voluntary, involuntary) context switches per thread name."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            lines = open(f"/proc/{pid}/task/{tid}/status").read().splitlines()
        except FileNotFoundError:
            continue
        fields = dict(l.split(":", 1) for l in lines if ":" in l)
        name = fields["Name"].strip()
        v, n = int(fields["voluntary_ctxt_switches"]), int(fields["nonvoluntary_ctxt_switches"])
        a, b = out.get(name, (0, 0)); out[name] = (a + v, b + n)
    return out

def machine():
    for line in open("/proc/stat"):
        if line.startswith("ctxt "): return int(line.split()[1])

def measure(bindir, mode, rport, redis_pid, cycles, tag):
    nodes = [run.Node(bindir, f"w{mode}{tag}{i}", rport, cluster=(mode == "on")) for i in range(3)]
    before = [switches(n.proc.pid) for n in nodes]; redis0 = switches(redis_pid)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN); ctxt0 = machine()
    rate = run.churn(bindir, [n.port for n in nodes], cycles)
    ctxt1 = machine(); kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = [switches(n.proc.pid) for n in nodes]; redis1 = switches(redis_pid)
    total = 3 * cycles; per = {}
    for a, b in zip(before, after):
        for name, (v, n) in b.items():
            v0, n0 = a.get(name, (0, 0)); pv, pn = per.get(name, (0, 0)); per[name] = (pv + v - v0, pn + n - n0)
    rv = sum(v for v, _ in redis1.values()) - sum(v for v, _ in redis0.values())
    rn = sum(n for _, n in redis1.values()) - sum(n for _, n in redis0.values())
    for n in nodes: n.stop()
    r2 = lambda x: round(x / total, 2)
    return {"mode": mode, "cycles_per_second": rate, "load": float(open("/proc/loadavg").read().split()[0]),
            "node_threads": {k: [r2(v), r2(n)] for k, (v, n) in sorted(per.items()) if v + n},
            "redis": [r2(rv), r2(rn)] if mode == "on" else None,
            "benches": [r2(kids1.ru_nvcsw - kids0.ru_nvcsw), r2(kids1.ru_nivcsw - kids0.ru_nivcsw)],
            "machine_ctxt": r2(ctxt1 - ctxt0)}

def main():
    bindir = sys.argv[1]; cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if len(sys.argv) > 4: run.PORTS.extend(range(int(sys.argv[4]), int(sys.argv[4]) + 1 + 6 * runs))
    rport = run.free_port()
    redis = run.redis_server(rport)
    try:
        time.sleep(0.5)
        for i in range(runs):
            for mode in ("on", "off"):
                print(json.dumps(measure(bindir, mode, rport, redis.pid, cycles, i)), flush=True)
                time.sleep(1)
    finally:
        redis.kill(); redis.wait()

if __name__ == "__main__": main()
