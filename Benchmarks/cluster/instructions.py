#!/usr/bin/env python3
"""Instructions per churn cycle on each thread of one cluster node, under valgrind's callgrind: unlike
CPU time on these shared cores, the count does not move with the load (two runs of one build agree to
0.1 %), so it tells a build's cost apart from another's in one run each. A redis-server of its own, one
node of BIN (cluster on; callgrind cannot read the Swift binary's DWARF 5, so a copy stripped of its
debug info runs), one `heartbeat-bench churn -k CYCLES -c 50 -m clean`; the counters are zeroed when the
node is up and dumped after the churn (`callgrind_control`). Thread 1 is the supervisor (with the Redis
link), thread 2 the worker. Usage: Benchmarks/cluster/instructions.py BIN [CYCLES] [PORT_BASE] [OUTDIR];
prints one JSON line; `callgrind_annotate OUTDIR/callgrind.out.*.1-01` shows where thread 1's went."""
import glob, json, os, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib; run = importlib.import_module("run")

def totals(path):
    for line in open(path, errors="replace"):
        if line.startswith("totals:"): return int(line.split()[1])
    return 0

def main():
    bindir = sys.argv[1]; cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    run.PORTS.extend(range(int(sys.argv[3]), int(sys.argv[3]) + 2) if len(sys.argv) > 3 else [])
    out = sys.argv[4] if len(sys.argv) > 4 else tempfile.mkdtemp()
    os.makedirs(out, exist_ok=True)
    for old in glob.glob(f"{out}/callgrind.out*"): os.remove(old)
    work = tempfile.mkdtemp()
    subprocess.run(["strip", "--strip-debug", "-o", f"{work}/heartbeatd", f"{bindir}/heartbeatd"], check=True)
    rport = run.free_port(); nport = run.free_port()
    redis = run.redis_server(rport)
    node = None
    try:
        time.sleep(0.5); run.Redis(rport)
        cfg = f'listen = ["127.0.0.1:{nport}"]\n[heartbeat]\ntick = "10ms"\n[limits]\nmax_clients = 200000\n'
        cfg += f'[log]\nsessions = false\n[control]\nsocket = "{work}/c.sock"\n'
        cfg += f'[cluster]\nredis = "127.0.0.1:{rport}"\nnode = "cg"\nprefix = "b:"\nlease = "30s"\n'
        open(f"{work}/h.toml", "w").write(cfg)
        node = subprocess.Popen(["valgrind", "--tool=callgrind", "--separate-threads=yes",
                                 f"--callgrind-out-file={out}/callgrind.out.%p", f"{work}/heartbeatd", "--config",
                                 f"{work}/h.toml"], stderr=open(f"{work}/log", "w"))
        deadline = time.time() + 60
        while "cluster: reconciled" not in open(f"{work}/log").read():
            if time.time() > deadline: raise SystemExit("node did not start:\n" + open(f"{work}/log").read())
            time.sleep(0.2)
        subprocess.run(["callgrind_control", "-z", str(node.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        rate = run.churn(bindir, [nport], cycles); time.sleep(1)
        subprocess.run(["callgrind_control", "-d", "churn", str(node.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        time.sleep(1)
        threads = {}
        for path in glob.glob(f"{out}/callgrind.out.{node.pid}.1-*"):
            threads[f"thread {int(path.rsplit('-', 1)[1])}"] = round(totals(path) / cycles)
        print(json.dumps({"cycles": cycles, "cycles_per_second_under_valgrind": rate,
                          "instructions_per_cycle": dict(sorted(threads.items())), "callgrind_out": out}))
    finally:
        if node and node.poll() is None: node.send_signal(signal.SIGKILL); node.wait()
        redis.kill(); redis.wait()

if __name__ == "__main__": main()
