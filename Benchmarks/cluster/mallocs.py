#!/usr/bin/env python3
"""malloc calls per churn cycle in each thread of one cluster node: a redis-server of its own, one node
of BIN (cluster on), one `heartbeat-bench churn -k CYCLES -c 50 -m clean`, counted with a uprobe on
libc's malloc (`perf probe -x <libc> malloc` once, as root) and `perf stat --per-thread` on the node.
Usage: Benchmarks/cluster/mallocs.py BIN [CYCLES] [PORT_BASE]; prints one JSON line."""
import json, os, re, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib; run = importlib.import_module("run")

def main():
    bindir = sys.argv[1]; cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    run.PORTS.extend(range(int(sys.argv[3]), int(sys.argv[3]) + 2) if len(sys.argv) > 3 else [])
    rport = run.free_port()
    redis = run.redis_server(rport)
    try:
        time.sleep(0.5); run.Redis(rport)
        node = run.Node(bindir, "m0", rport)
        names = {}
        for tid in os.listdir(f"/proc/{node.proc.pid}/task"):
            names[tid] = open(f"/proc/{node.proc.pid}/task/{tid}/comm").read().strip()
        perf = subprocess.Popen(["perf", "stat", "-e", "probe_libc:malloc", "--per-thread", "-x", ",",
                                 "-p", str(node.proc.pid)], stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        rate = run.churn(bindir, [node.port], cycles); time.sleep(0.5)
        perf.send_signal(2); err = perf.communicate()[1]
        node.stop()
        per = {}
        for line in err.splitlines():
            parts = line.split(",")
            m = re.match(r".*-(\d+)$", parts[0]) if parts else None
            if not m or not parts[1].strip().isdigit(): continue
            name = names.get(m.group(1), "other")
            per[name] = per.get(name, 0) + int(parts[1])
        print(json.dumps({"cycles_per_second": rate, "cycles": cycles,
                          "mallocs_per_cycle": {k: round(v / cycles, 2) for k, v in sorted(per.items())}}))
    finally:
        redis.kill(); redis.wait()

if __name__ == "__main__": main()
