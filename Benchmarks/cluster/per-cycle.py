#!/usr/bin/env python3
"""Where one build's cluster cost goes, per churn cycle: three nodes of BIN (cluster on) and a redis-server
of their own, three `heartbeat-bench churn -k CYCLES -c 50` at once (as run.py --churn-only), then each
node thread's CPU (/proc/PID/task: `heartbeatd` is the supervisor with the Redis link, `hb-worker-N` the
workers), Redis's CPU (INFO cpu) and the Redis commands (INFO commandstats, including those scripts run
inside Redis) per cycle, as one JSON line. Usage: Benchmarks/cluster/per-cycle.py BIN [CYCLES] [PORT_BASE]"""
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib; run = importlib.import_module("run")

def threads(pid):
    """CPU clock ticks per thread name (user + system)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out

def main():
    bindir = sys.argv[1]; cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    run.PORTS.extend(range(int(sys.argv[3]), int(sys.argv[3]) + 4) if len(sys.argv) > 3 else [])
    rport = run.free_port()
    redis = run.redis_server(rport)
    try:
        time.sleep(0.5); r = run.Redis(rport)
        nodes = [run.Node(bindir, f"p{i}", rport) for i in range(3)]
        before = [threads(n.proc.pid) for n in nodes]; commands, cpu = run.commandstats(r), run.cpu(r)
        rate = run.churn(bindir, [n.port for n in nodes], cycles); time.sleep(1)
        done = run.delta(run.commandstats(r), commands); cpu = run.cpu(r) - cpu
        after = [threads(n.proc.pid) for n in nodes]; total = 3 * cycles; tick = os.sysconf("SC_CLK_TCK")
        per = {}
        for a, b in zip(before, after):
            for name in b: per[name] = per.get(name, 0) + b[name] - a.get(name, 0)
        print(json.dumps({"cycles_per_second": rate, "load": float(open("/proc/loadavg").read().split()[0]),
                          "thread_cpu_us_per_cycle": {k: round(v / tick * 1e6 / total, 1) for k, v in per.items()},
                          "redis_cpu_us_per_cycle": round(cpu * 1e6 / total, 1),
                          "redis_commands_per_cycle": {k: round(v / total, 3) for k, v in sorted(done.items())}}))
        for n in nodes: n.stop()
    finally:
        redis.kill(); redis.wait()

if __name__ == "__main__": main()
