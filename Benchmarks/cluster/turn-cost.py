#!/usr/bin/env python3
"""Redis's CPU per connect-and-leave cycle for the two ways the cluster link sends a loop turn's presence
changes (docs/design.md, "Scripts and round trips"): a Redis Cluster's, one `claim` or `release` per record
plus the turn's SADD, SREM and `append`; a single Redis's, one `turn` call. Each simulated turn carries PER
onlines of new ids and the offlines of the turn before's (default 8: about what a supervisor turn carries
under the cluster benchmark's churn). 20,000 cycles each way, three times, alternating; a redis-server of
its own; INFO cpu before and after. The scripts are read from Sources/ClusterSchema/Scripts.swift.
Usage: Benchmarks/cluster/turn-cost.py [PORT] [PER]"""
import sys, os, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run
port = int(sys.argv[1]) if len(sys.argv) > 1 else 26610
per = int(sys.argv[2]) if len(sys.argv) > 2 else 8
redis = run.redis_server(port); time.sleep(0.5); r = run.Redis(port)
pipe = r.pipeline
def script(case):
    body = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Sources/ClusterSchema/Scripts.swift")).read().split(f"case .{case}:", 1)[1].split('"""', 2)[1]
    lines = body.strip("\n").split("\n"); indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
    return "\n".join(l[indent:] for l in lines).replace("\\(PresenceRecord.version)", "1")
sha = {k: r.cmd("SCRIPT", "LOAD", script(k)) for k in ("claim", "release", "append", "turn")}
RUN = "1764000000000"
def short(event, seq, cid, reason): return [event, str(seq), "1764000000000", cid, "127.0.0.1:40000", reason, "0"]
def perkey(t, p):
    cmds = []
    ids_on = [f"{p}{t*per+j}" for j in range(per)]; ids_off = [f"{p}{(t-1)*per+j}" for j in range(per)] if t > 0 else []
    ents = []
    for j, c in enumerate(ids_on):
        seq = 2 * (t * per + j)
        cmds.append(["EVALSHA", sha["claim"], "1", f"b:client:{{{c}}}", "n1", f"{RUN}.{seq}", "127.0.0.1:40000", "1764000000000", str(seq)])
        ents += short("online", seq, c, "")
    for j, c in enumerate(ids_off):
        seq = 2 * ((t - 1) * per + j)
        cmds.append(["EVALSHA", sha["release"], "1", f"b:client:{{{c}}}", f"{RUN}.{seq}"])
        ents += short("offline", seq + 1, c, "eof")
    cmds.append(["SADD", "b:node:{n1}:ids"] + ids_on)
    if ids_off: cmds.append(["SREM", "b:node:{n1}:ids"] + ids_off)
    cmds.append(["EVALSHA", sha["append"], "1", "b:events", "100000", "1", "n1"] + ents)
    return cmds
def turn(t, p):
    ids_on = [f"{p}{t*per+j}" for j in range(per)]; ids_off = [f"{p}{(t-1)*per+j}" for j in range(per)] if t > 0 else []
    keys = [f"b:client:{{{c}}}" for c in ids_on + ids_off]
    argv = ["100000", "1", "n1", RUN, str(len(ids_on)), str(len(ids_off))] + ids_on + ids_off
    for j, c in enumerate(ids_on):
        seq = 2 * (t * per + j); argv += ["c", str(seq), "1764000000000", c, "127.0.0.1:40000"]
    for j, c in enumerate(ids_off):
        seq = 2 * ((t - 1) * per + j); argv += ["r", str(seq)] + short("offline", seq + 1, c, "eof")
    return [["EVALSHA", sha["turn"], str(2 + len(keys)), "b:events", "b:node:{n1}:ids"] + keys + argv]
T = 20000 // per
def measure(name, make, p):
    r.cmd("DEL", "b:events")
    c0 = run.cpu(r)
    for s in range(0, T, 10): pipe(sum((make(t, p) for t in range(s, s + 10)), []))
    c1 = run.cpu(r); print(f"{name:10s} {round((c1 - c0) * 1e6 / (T * per), 2)} us/cycle", flush=True)
for k in range(3):
    measure("per-key", perkey, f"k{k}-"); measure("turn", turn, f"t{k}-")
print("stream", r.cmd("XLEN", "b:events"), "keys", r.cmd("DBSIZE"))
redis.kill(); redis.wait()
