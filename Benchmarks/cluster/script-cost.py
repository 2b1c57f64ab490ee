#!/usr/bin/env python3
"""Redis's CPU per call of the cluster's per-event commands, before and after the fourth session's script
changes: a redis-server of its own, 20,000 calls of each kind pipelined 100 at a time (10 for `append`),
INFO cpu before and after. `claim`/`append` are the scripts as they were before 5bf84c6 (read from git),
`claim2`/`append2` and `release` as they are now (read from Sources/ClusterSchema/Scripts.swift);
`append2 short` is its layout for a node's own entries (seven values each, the node once per call).
Usage: Benchmarks/cluster/script-cost.py [PORT]"""
import sys, subprocess, time
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run
port = int(sys.argv[1]) if len(sys.argv) > 1 else 26600
redis = run.redis_server(port)
time.sleep(0.5); r = run.Redis(port)
pipe = r.pipeline
SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Sources/ClusterSchema")

def script(case, revision=None):
    """The Lua text of `case` in Scripts.swift, as the daemon loads it: from the working tree, or from
    git at `revision`."""
    def source(name):
        if revision is None: return open(os.path.join(SCHEMA, name)).read()
        return subprocess.run(["git", "-C", SCHEMA, "show", f"{revision}:./{name}"], capture_output=True, text=True, check=True).stdout
    body = source("Scripts.swift").split(f"case .{case}:", 1)[1].split('"""', 2)[1]
    lines = body.strip("\n").split("\n")
    indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
    version = source("PresenceRecord.swift").split('static let version = "', 1)[1].split('"', 1)[0]
    return "\n".join(l[indent:] for l in lines).replace("\\(PresenceRecord.version)", version)

src = {"claim": script("claim", "5bf84c6^"), "append": script("append", "5bf84c6^"),
       "claim2": script("claim"), "append2": script("append"), "release": script("release")}
sha = {k: r.cmd("SCRIPT", "LOAD", v) for k, v in src.items()}
N = 20000
def measure(name, make, batch=100):
    c0 = run.cpu(r)
    for s in range(0, N, batch): pipe([make(i) for i in range(s, s + batch)])
    c1 = run.cpu(r); print(f"{name:28s} {round((c1 - c0) * 1e6 / N, 2)} us/call")
rec = lambda i: ["v", "1", "node", "n1", "session", f"1764000000000.{i}", "peer", "127.0.0.1:40000", "since", "1764000000000", "seq", str(i)]
ent = lambda i, k: [k, "n1", str(i), "1764000000000", f"c0-{i % 50}", "127.0.0.1:40000", "bye" if k == "offline" else "", "0", "", "0"]
measure("PING", lambda i: ["PING"])
measure("EVALSHA claim", lambda i: ["EVALSHA", sha["claim"], "1", f"b:client:{{c{i}}}"] + rec(i) + ["b:", f"c{i}"])
measure("EVALSHA release", lambda i: ["EVALSHA", sha["release"], "1", f"b:client:{{c{i}}}", f"1764000000000.{i}"])
measure("EVALSHA claim2 (values)", lambda i: ["EVALSHA", sha["claim2"], "1", f"b:client:{{d{i}}}", "n1", f"1764000000000.{i}", "127.0.0.1:40000", "1764000000000", str(i)])
measure("HSET 12 args", lambda i: ["HSET", f"b:client:{{e{i}}}"] + rec(i))
measure("DEL", lambda i: ["DEL", f"b:client:{{e{i}}}"])
for name in ("append", "append2", "append", "append2"):
    r.cmd("DEL", "b:events")  # each from an empty stream: the cap's trimming starts at the same point
    # append2 (this tree) takes a node name or "" before the entries: "" = ten values each, the seven of
    # a short entry then node, by, count (append before took event, node, seq, … by, count).
    header = ["1", ""] if name == "append2" else ["1"]
    values = (lambda e: e[:1] + e[2:8] + [e[1], e[8], e[9]]) if name == "append2" else (lambda e: e)
    measure(f"{name} 10 entries", lambda i: ["EVALSHA", sha[name], "1", "b:events", "100000"] + header + sum((values(ent(i * 10 + j, "online")) for j in range(10)), []), batch=10)
    r.cmd("DEL", "b:events")
    if name == "append2":  # a node's own entries: seven values each, the node once
        measure("append2 short 10 entries", lambda i: ["EVALSHA", sha[name], "1", "b:events", "100000", "1", "n1"] + sum((ent(i * 10 + j, "online")[:1] + ent(i * 10 + j, "online")[2:8] for j in range(10)), []), batch=10)
r.cmd("DEL", "b:events")
measure("XADD plain", lambda i: ["XADD", "b:events", "MAXLEN", "~", "100000", "*", "v", "1", "event", "online", "node", "n1", "seq", str(i), "time_ms", "1764000000000", "id", f"c0-{i%50}", "peer", "127.0.0.1:40000", "reason", "", "duration_ms", "0"])
measure("SADD 1", lambda i: ["SADD", "b:node:{n1}:ids", f"c{i}"])
redis.kill(); redis.wait()
