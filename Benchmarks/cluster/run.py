#!/usr/bin/env python3
"""Cluster measurements for docs/benchmarks.md ("Cluster"): three heartbeatd nodes and a redis-server
of their own on loopback. Usage: Benchmarks/cluster/run.py [--bin DIR] [--runs N] [--churn-only] [--port-base P]

Measures: Redis commands and round trips per session event (INFO commandstats deltas over a churn);
time from a client's OK to its record in Redis (p50/p99); takeover across nodes (HELLO on B → BYE
replaced on A, p99); node-loss detection (kill -9 → records gone); churn cycles/s with the cluster
on and off in the same run; Redis CPU per 1000 events; Redis commands during a heartbeat flood.
--churn-only: just churn, cluster on and off interleaved (on, off, on, off, ...), fresh nodes each run,
so a machine's changing load hits both alike. --port-base: Redis on P, nodes on P+1, P+2, ... instead of
ports the kernel picks. NODE_TOML in the environment: top-level keys put at the head of every node's config
(e.g. "busy_poll_us = 0"). The probes speak RESP to Redis directly: this is a measuring tool, not the daemon."""
import argparse, json, os, signal, socket, subprocess, sys, tempfile, time

PORTS = []

def free_port():
    if PORTS: return PORTS.pop(0)
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port)); self.buf = b""
    def cmd(self, *words):
        out = b"*%d\r\n" % len(words)
        for w in words:
            w = w if isinstance(w, bytes) else str(w).encode()
            out += b"$%d\r\n%s\r\n" % (len(w), w)
        self.sock.sendall(out); return self.read()
    def pipeline(self, commands):
        """Sends every command in one write, then reads (and drops) their answers."""
        out = b""
        for words in commands:
            out += b"*%d\r\n" % len(words)
            for w in words:
                w = w if isinstance(w, bytes) else str(w).encode(); out += b"$%d\r\n%s\r\n" % (len(w), w)
        self.sock.sendall(out)
        for _ in commands: self.read()
    def line(self):
        while b"\r\n" not in self.buf: self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1); return line
    def read(self):
        line = self.line(); kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"): return rest.decode()
        if kind == b":": return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0: return None
            while len(self.buf) < n + 2: self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]; return data.decode()
        if kind == b"*":
            n = int(rest); return None if n < 0 else [self.read() for _ in range(n)]
    def info(self, section):
        return dict(l.split(":", 1) for l in self.cmd("INFO", section).splitlines() if ":" in l)

def commandstats(r):
    stats = {}
    for key, value in r.info("commandstats").items():
        calls = int(value.split(",")[0].split("=")[1]); stats[key.replace("cmdstat_", "")] = calls
    return stats

def cpu(r):
    i = r.info("cpu"); return float(i["used_cpu_sys"]) + float(i["used_cpu_user"])

def delta(after, before):
    return {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0) > 0}

class Node:
    def __init__(self, bindir, name, redis_port, cluster=True, lease="5s"):
        self.dir = tempfile.mkdtemp(); self.port = free_port(); self.name = name
        cfg = os.environ.get("NODE_TOML", "") + "\n" + f'listen = ["127.0.0.1:{self.port}"]\n[heartbeat]\ntick = "10ms"\n[limits]\nmax_clients = 200000\n'
        cfg += f'[log]\nsessions = false\n[control]\nsocket = "{self.dir}/c.sock"\n'
        if cluster:
            cfg += f'[cluster]\nredis = "127.0.0.1:{redis_port}"\nnode = "{name}"\nprefix = "b:"\nlease = "{lease}"\n'
        open(f"{self.dir}/h.toml", "w").write(cfg)
        self.proc = subprocess.Popen([f"{bindir}/heartbeatd", "--config", f"{self.dir}/h.toml"],
                                     stderr=open(f"{self.dir}/log", "w"))
        deadline = time.time() + 10
        while time.time() < deadline:
            log = open(f"{self.dir}/log").read()
            if ("cluster: reconciled" in log) if cluster else ("started: listening" in log): return
            time.sleep(0.05)
        raise SystemExit(f"node {name} did not start:\n" + open(f"{self.dir}/log").read())
    def stop(self):
        if self.proc.poll() is None: self.proc.send_signal(signal.SIGKILL); self.proc.wait()

def hello(port, ident):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(f"HELLO {ident}\n".encode())
    data = b""
    while b"\n" not in data: data += s.recv(256)
    assert data.startswith(b"OK"), data; return s

def pct(values, p):
    values = sorted(values); return values[min(len(values) - 1, int(len(values) * p / 100))]

def churn(bindir, ports, cycles, summaries=None):
    """The benches' cycles/s, summed; each bench's JSON summary is appended to `summaries` if given."""
    procs = [subprocess.Popen([f"{bindir}/heartbeat-bench", "churn", "-k", str(cycles), "-c", "50", "-m", "clean",
                               "--server", f"127.0.0.1:{p}", "--id-prefix", f"c{i}", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for i, p in enumerate(ports)]
    outs = [json.loads(p.communicate()[0].decode().strip().splitlines()[-1]) for p in procs]
    if summaries is not None: summaries.extend(outs)
    return round(sum(o["cycles_per_second"] for o in outs))

def proc_cpu(pid):
    """User + system CPU seconds of a process, all threads (/proc/PID/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def churn_interleaved(a, rport, r):
    """Cluster on, then off, --runs times, three fresh nodes each time; with the load average of each run
    and the CPU the nodes (and Redis) spent per cycle, which a loaded machine disturbs far less than rates."""
    out = {"on": [], "off": [], "load_on": [], "load_off": [], "node_cpu_us_per_cycle_on": [],
           "node_cpu_us_per_cycle_off": [], "redis_cpu_us_per_cycle_on": [], "bench_cpu_us_per_cycle_on": [],
           "bench_cpu_us_per_cycle_off": []}
    for run in range(a.runs):
        for mode in ("on", "off"):
            nodes = [Node(a.bin, f"{mode}{run}{i}", rport, cluster=(mode == "on")) for i in range(3)]
            out[f"load_{mode}"].append(float(open("/proc/loadavg").read().split()[0]))
            cpu0, rcpu0 = sum(proc_cpu(n.proc.pid) for n in nodes), cpu(r)
            summaries = []
            out[mode].append(churn(a.bin, [n.port for n in nodes], a.cycles, summaries))
            # The benches' own CPU over their cycles (`cpu_s`): getrusage of the children would add the
            # settle wait and the count of the port's sockets after them (a /proc/net/tcp full of
            # TIME_WAIT), several times the cycles' own cost.
            out[f"bench_cpu_us_per_cycle_{mode}"].append(
                round(sum(o["cpu_s"] for o in summaries) * 1e6 / (3 * a.cycles), 1))
            time.sleep(0.5)
            cycles = 3 * a.cycles
            out[f"node_cpu_us_per_cycle_{mode}"].append(
                round((sum(proc_cpu(n.proc.pid) for n in nodes) - cpu0) * 1e6 / cycles, 1))
            if mode == "on": out["redis_cpu_us_per_cycle_on"].append(round((cpu(r) - rcpu0) * 1e6 / cycles, 1))
            for n in nodes: n.stop()
            time.sleep(1)
    med = lambda v: sorted(v)[len(v) // 2]
    out["median_on"], out["median_off"] = med(out["on"]), med(out["off"])
    out["ratio"] = round(out["median_on"] / out["median_off"], 3)
    for k in ("node_cpu_us_per_cycle_on", "node_cpu_us_per_cycle_off", "redis_cpu_us_per_cycle_on",
              "bench_cpu_us_per_cycle_on", "bench_cpu_us_per_cycle_off"):
        out["median_" + k] = med(out[k])
    # On cores that everything shares, cycles/s follow the CPU all parties spend per cycle.
    total = lambda m: out[f"median_bench_cpu_us_per_cycle_{m}"] + out[f"median_node_cpu_us_per_cycle_{m}"]
    out["cpu_bound_ratio"] = round(total("off") / (total("on") + out["median_redis_cpu_us_per_cycle_on"]), 3)
    return out

def redis_server(port):
    """A redis-server of the measurement's own on loopback: no persistence, warnings only."""
    return subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--loglevel", "warning"], stdout=subprocess.DEVNULL)

def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--bin", default=".build/release"); ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cycles", type=int, default=5000); ap.add_argument("--churn-only", action="store_true")
    ap.add_argument("--port-base", type=int); a = ap.parse_args()
    if a.port_base: PORTS.extend(range(a.port_base, a.port_base + 1 + 6 * a.runs))
    rport = free_port()
    redis = redis_server(rport)
    time.sleep(0.5); r = Redis(rport); results = {}
    if a.churn_only:
        try: print(json.dumps(churn_interleaved(a, rport, r), indent=1))
        finally: redis.send_signal(signal.SIGKILL); redis.wait()
        return
    try:
        nodes = [Node(a.bin, n, rport) for n in ("n1", "n2", "n3")]
        ports = [n.port for n in nodes]
        # 1. commands and CPU per session event, over a churn spread over the three nodes.
        for run in range(a.runs):
            before, cpu0 = commandstats(r), cpu(r)
            rate_on = churn(a.bin, ports, a.cycles)
            time.sleep(1.5)
            d = delta(commandstats(r), before); cpu_used = cpu(r) - cpu0
            events = 2 * 3 * a.cycles
            xadd = d.get("xadd", 0)
            results.setdefault("churn_on", []).append(rate_on)
            results.setdefault("commands", []).append(d)
            # Commands a script runs inside Redis are counted too (type, hmget, hset, publish, and the
            # append script's xadd): count only what the nodes send over the wire. (Builds before the
            # append script sent XADD on the wire: add xadd_per_event for those.)
            wire = sum(d.get(k, 0) for k in ("evalsha", "eval", "sadd", "srem", "smembers", "ping"))
            results.setdefault("wire_commands_per_event", []).append(round(wire / events, 2))
            results.setdefault("evalsha_per_event", []).append(round(d.get("evalsha", 0) / events, 3))
            results.setdefault("xadd_per_event", []).append(round(xadd / events, 3))
            results.setdefault("redis_cpu_ms_per_1000_events", []).append(round(cpu_used * 1000 / events * 1000, 1))
        # 2. OK → record in Redis.
        lat = []
        for i in range(500):
            ident = f"lat-{i}"; key = f"b:client:{{{ident}}}"
            s = hello(ports[i % 3], ident); t0 = time.perf_counter()
            while r.cmd("EXISTS", key) != 1: pass
            lat.append((time.perf_counter() - t0) * 1000); s.close()
        results["ok_to_record_ms"] = {"p50": round(pct(lat, 50), 3), "p99": round(pct(lat, 99), 3)}
        # 3. takeover across nodes: HELLO on B answered OK → BYE replaced on A.
        take = []
        for i in range(300):
            ident = f"tk-{i}"; a_sock = hello(ports[i % 3], ident)
            while r.cmd("EXISTS", f"b:client:{{{ident}}}") != 1: pass
            b_sock = hello(ports[(i + 1) % 3], ident); t0 = time.perf_counter()
            data = b""
            while b"\n" not in data: data += a_sock.recv(256)
            take.append((time.perf_counter() - t0) * 1000); assert data.startswith(b"BYE replaced"), data
            a_sock.close(); b_sock.close()
        results["takeover_ms"] = {"p50": round(pct(take, 50), 3), "p99": round(pct(take, 99), 3), "tick_ms": 10}
        # 4. heartbeats touch no Redis: commands during a flood, minus the lease ticks.
        before = commandstats(r); t0 = time.time()
        subprocess.run([f"{a.bin}/heartbeat-bench", "flood", "--server", f"127.0.0.1:{ports[0]}", "--duration", "5s",
                        "--json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results["flood_commands"] = delta(commandstats(r), before); results["flood_seconds"] = round(time.time() - t0, 1)
        # 5. churn with the cluster off, same machine, same run.
        for n in nodes: n.stop()
        off = [Node(a.bin, f"off{i}", rport, cluster=False) for i in range(3)]
        for run in range(a.runs): results.setdefault("churn_off", []).append(churn(a.bin, [n.port for n in off], a.cycles))
        for n in off: n.stop()
        # 6. node loss: lease 2 s; kill -9 with 200 clients; time until their records are gone.
        loss = []
        for run in range(a.runs):
            ns = [Node(a.bin, f"l{run}{i}", rport, lease="2s") for i in range(3)]
            socks = [hello(ns[0].port, f"lost-{run}-{i}") for i in range(200)]
            while len(r.cmd("KEYS", f"b:client:{{lost-{run}-*")) < 200: time.sleep(0.01)
            time.sleep(0.5); t0 = time.perf_counter(); ns[0].stop()
            while r.cmd("KEYS", f"b:client:{{lost-{run}-*"): time.sleep(0.005)
            loss.append(round((time.perf_counter() - t0) * 1000)); [s.close() for s in socks]
            for n in ns: n.stop()
        results["node_loss_ms_lease_2s"] = loss
    finally:
        redis.send_signal(signal.SIGKILL); redis.wait()
    print(json.dumps(results, indent=1))

if __name__ == "__main__": main()
