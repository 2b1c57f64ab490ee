#!/usr/bin/env python3
# What the kernel keeps per idle heartbeat connection, both ends: N clients held by `heartbeat-bench hold`
# against a heartbeatd on loopback, sampled in the steady window with `ss -tmn` (each socket's skmem),
# /proc/net/sockstat (TCP "mem", in pages) and /proc/slabinfo (the slab caches a socket lives in).
#
#     scripts/socket-memory.py --bin DIR [--clients 10000] [--port 25001] [--interval 10s] [--samples 3]
import argparse
import json
import os
import re
import subprocess
import sys
import time

SLABS = ["TCP", "TCPv6", "sock_inode_cache", "dentry", "filp", "eventpoll_epi", "eventpoll_pwq",
         "kmalloc-64", "kmalloc-128", "kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1k",
         "skbuff_head_cache", "request_sock_TCP", "tw_sock_TCP"]
SKMEM = {"r": "rmem_alloc", "rb": "rcvbuf", "t": "wmem_alloc", "tb": "sndbuf", "f": "fwd_alloc",
         "w": "wmem_queued", "o": "opt_mem", "bl": "backlog", "d": "drops"}


def sockstat():
    with open("/proc/net/sockstat") as f:
        text = f.read()
    tcp = re.search(r"TCP: inuse (\d+) orphan (\d+) tw (\d+) alloc (\d+) mem (\d+)", text)
    return {"inuse": int(tcp[1]), "alloc": int(tcp[4]), "mem_pages": int(tcp[5])}


def slabs():
    """Objects in use and object size per cache, or None when /proc/slabinfo is not readable."""
    try:
        with open("/proc/slabinfo") as f:
            lines = f.readlines()[2:]
    except OSError:
        return None
    table = {}
    for line in lines:
        fields = line.split()
        if fields[0] in SLABS:
            table[fields[0]] = {"active": int(fields[1]), "size": int(fields[3])}
    return table


def skmem(filter_expr):
    """Sum and count of each skmem field over the established sockets `filter_expr` selects."""
    out = subprocess.run(["ss", "-tmnH", "state", "established", filter_expr],
                         capture_output=True, text=True, check=True).stdout
    totals = {name: 0 for name in SKMEM.values()}
    count = 0
    for match in re.finditer(r"skmem:\(([^)]*)\)", out):
        count += 1
        for item in match[1].split(","):
            key = item.rstrip("0123456789")
            if key in SKMEM:
                totals[SKMEM[key]] += int(item[len(key):])
    return count, totals


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="directory with release heartbeatd and heartbeat-bench")
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=25001)
    parser.add_argument("--interval", default="10s")
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()

    before = {"sockstat": sockstat(), "slabs": slabs()}
    daemon = subprocess.Popen([os.path.join(args.bin, "heartbeatd"), "--listen", f"127.0.0.1:{args.port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    duration = 20 + 10 * args.samples
    hold = subprocess.Popen([os.path.join(args.bin, "heartbeat-bench"), "hold", "--server",
                             f"127.0.0.1:{args.port}", "-n", str(args.clients), "-i", args.interval,
                             "-d", f"{duration}s", "--pid", str(daemon.pid), "--json"],
                            stdout=subprocess.PIPE, text=True)
    samples = []
    deadline = time.time() + 120
    while time.time() < deadline:
        server_count, _ = skmem(f"sport = :{args.port}")
        if server_count >= args.clients:
            break
        time.sleep(1)
    time.sleep(5)
    for _ in range(args.samples):
        server_count, server = skmem(f"sport = :{args.port}")
        client_count, client = skmem(f"dport = :{args.port}")
        samples.append({"server": {"sockets": server_count, **server},
                        "client": {"sockets": client_count, **client},
                        "sockstat": sockstat(), "slabs": slabs()})
        time.sleep(8)
    report = json.loads(hold.communicate(timeout=duration + 120)[0])
    daemon.terminate()
    daemon.wait(timeout=30)
    time.sleep(3)
    after = {"sockstat": sockstat(), "slabs": slabs()}
    print(json.dumps({"clients": args.clients, "interval": args.interval, "before": before, "samples": samples,
                      "after": after, "hold": report}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
