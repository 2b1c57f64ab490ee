#!/usr/bin/env bash
# The soak: one release heartbeatd under hold + churn + kicks + reloads for MINUTES, sampled every
# SAMPLE seconds (RSS, descriptors, CLOSE-WAIT, sessions), then scripts/soak-summary.py's verdict.
# Usage: scripts/soak.sh [--minutes 60] [--bin .build/release] [--port 26100] [--clients 5000] [--out DIR]
#                       [--hold-procs 5]   (the held clients are split over this many bench processes)
#   --short: a 2-minute smoke (10 s samples, 30 s warm-up), as `make soak-short` runs it.
# Every loop stops at the deadline; the daemon is killed on any exit. Exit 1 if the verdict fails.
set -euo pipefail

minutes=60
bin=.build/release
port=26100
clients=5000
holders=5
out=
sample=60
warmup=300
while [ $# -gt 0 ]; do
    case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --hold-procs) holders=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --short) minutes=2; sample=10; warmup=30; clients=1000; shift ;;
    *) echo "usage: scripts/soak.sh [--minutes N] [--bin DIR] [--port P] [--clients N] [--out DIR] [--short]" >&2
        exit 64 ;;
    esac
done
case $minutes$port$clients$holders in *[!0-9]*) echo "soak: --minutes, --port and --clients are whole numbers" >&2; exit 64 ;; esac
[ "$minutes" -ge 1 ] && [ "$minutes" -le 1440 ] || { echo "soak: --minutes must be 1 to 1440" >&2; exit 64; }
[ "$holders" -ge 1 ] && [ "$holders" -le 50 ] || { echo "soak: --hold-procs must be 1 to 50" >&2; exit 64; }
for tool in heartbeatd heartbeatctl heartbeat-bench; do
    [ -x "$bin/$tool" ] || { echo "soak: $bin/$tool is missing (swift build -c release --product $tool)" >&2; exit 66; }
done
if ss -Hltn "sport = :$port" | grep -q .; then
    echo "soak: something already listens on port $port" >&2
    exit 1
fi
[ -n "$out" ] || out=$(mktemp -d /var/tmp/heartbeatd-soak.XXXXXX)
mkdir -p "$out"
work=$(mktemp -d)
ulimit -n 20000
victims=200

daemon=
children=()
cleanup() {
    for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -z "$daemon" ] || kill -KILL "$daemon" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Two valid configurations that differ in what a reload may change, and one that must be refused
# (timeout_factor 0); the reload loop copies them in turn over the file the daemon reads.
write_config() {
    local level=$1 factor=$2 hello=$3
    cat <<EOF
listen = ["127.0.0.1:$port"]
workers = 2
[heartbeat]
timeout_factor = $factor
hello_timeout = "$hello"
[log]
level = "$level"
sessions = false
[control]
socket = "$work/control.sock"
EOF
}
write_config info 3 5s >"$work/a.toml"
write_config notice 4 3s >"$work/b.toml"
sed 's/^timeout_factor = .*/timeout_factor = 0/' "$work/a.toml" >"$work/bad.toml"
cp "$work/a.toml" "$work/heartbeatd.toml"
ctl() { "$bin/heartbeatctl" --socket "$work/control.sock" --json "$@"; }

# The samples, one JSON line each: the daemon's RSS and descriptors from /proc, its port's sockets
# from the kernel, and its own count of connected clients.
take_sample() {
    local phase=$1 now rss fds closewait persisting established clients_now
    now=$(date +%s)
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$daemon/status")
    fds=$(find "/proc/$daemon/fd" -mindepth 1 -maxdepth 1 | wc -l)
    closewait=$(ss -Htan state close-wait "( sport = :$port )" | wc -l)
    # A FIN the worker has not read yet is CLOSE-WAIT for a moment (a fleet closing at once); only one
    # still there a second later means the daemon did not close.
    persisting=0
    if [ "$closewait" -gt 0 ]; then
        sleep 1
        persisting=$(ss -Htan state close-wait "( sport = :$port )" | wc -l)
    fi
    established=$(ss -Htan state established "( sport = :$port )" | wc -l)
    clients_now=$(ctl status 2>/dev/null | sed -n 's/.*"clients":\([0-9]*\).*/\1/p')
    printf '{"phase":"%s","t":%d,"elapsed_s":%d,"rss_kib":%d,"fds":%d,"close_wait":%d,"close_wait_1s":%d,"established":%d,"sessions":%s,"load":%s}\n' \
        "$phase" "$now" $((now - started)) "$rss" "$fds" "$closewait" "$persisting" "$established" "${clients_now:-null}" \
        "$(cut -d' ' -f1 /proc/loadavg)"
}

"$bin/heartbeatd" --config "$work/heartbeatd.toml" 2>"$out/daemon.log" &
daemon=$!
for _ in $(seq 100); do
    [ -S "$work/control.sock" ] && ss -Hltn "sport = :$port" | grep -q . && break
    sleep 0.1
done
started=$(date +%s)
: >"$out/samples.jsonl"
# The idle daemon's descriptors: after the loads, the same number must be back.
take_sample baseline >>"$out/samples.jsonl"
deadline=$((started + minutes * 60))
server=(--server "127.0.0.1:$port")
{
    echo "{\"started\":\"$(date -u +%FT%TZ)\",\"minutes\":$minutes,\"clients\":$clients,\"hold_procs\":$holders,\"victims\":$victims,\"port\":$port,"
    echo "\"commit\":\"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
} | tr -d '\n' >"$out/run.json"
echo >>"$out/run.json"

# The held fleet: never kicked, so every one of its drops is a reap for silence. It is split over several
# bench processes because one bench thread, starved on a loaded machine, beats late and gets its own
# clients reaped for it (the first recorded run, docs/benchmarks.md "Soak").
for n in $(seq "$holders"); do
    # 20 s past the last sample: a sample taken while 1,000 clients close at once sees CLOSE-WAIT for
    # the milliseconds before the worker reads their FINs (the first short run did).
    "$bin/heartbeat-bench" hold "${server[@]}" -n "$((clients / holders))" -i 1s -d "$((minutes * 60 + 20))s" \
        --ramp-timeout 120s --id-prefix "soak-hold$n" --pid "$daemon" --json >"$out/hold-$n.json" 2>"$out/hold-$n.err" &
    children+=($!)
done

# The victims: a small fleet that kicks thin out, started again every 5 minutes.
(
    while [ "$(date +%s)" -lt $((deadline - 20)) ]; do
        left=$((deadline - $(date +%s) - 10))
        "$bin/heartbeat-bench" hold "${server[@]}" -n $victims -i 1s -d "$((left < 300 ? left : 300))s" \
            --id-prefix soak-victim --json >>"$out/victims.jsonl" 2>>"$out/victims.err" || true
    done
) &
children+=($!)

# Churn at a bounded rate: 600 cycles (clean, abort, vanish), then the rest of a 10 s slot.
(
    while [ "$(date +%s)" -lt $((deadline - 15)) ]; do
        slot=$(($(date +%s) + 10))
        "$bin/heartbeat-bench" churn "${server[@]}" -k 600 -c 4 --time-limit 8s --settle 500ms \
            --id-prefix soak-churn --json >>"$out/churn.jsonl" 2>>"$out/churn.err" || true
        while [ "$(date +%s)" -lt "$slot" ]; do sleep 1; done
    done
) &
children+=($!)

# A kick every 3 s: mostly a victim, every fourth a churn id (often gone already: a miss is fine).
(
    n=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 3
        n=$((n + 1))
        if [ $((n % 4)) -eq 0 ]; then id=soak-churn-$((RANDOM % 600)); else id=soak-victim-$((RANDOM % victims)); fi
        if ctl kick "$id" >/dev/null 2>&1; then echo "$(date +%s) $id kicked"; else echo "$(date +%s) $id missed"; fi
    done >"$out/kicks.log"
) &
children+=($!)

# A reload every 30 s: a, b, bad, a, b, bad, ... (the bad one must be refused and change nothing).
(
    n=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 30
        file=$(case $((n % 3)) in 0) echo b ;; 1) echo bad ;; 2) echo a ;; esac)
        n=$((n + 1))
        cp "$work/$file.toml" "$work/heartbeatd.toml"
        echo "$(date +%s) $file $(ctl reload 2>&1 | tr -d '\n')"
    done >"$out/reloads.log"
) &
children+=($!)

while true; do
    if ! kill -0 "$daemon" 2>/dev/null; then
        echo '{"daemon_died":true}' >>"$out/samples.jsonl"
        break
    fi
    take_sample load >>"$out/samples.jsonl"
    [ "$(date +%s)" -lt "$deadline" ] || break
    next=$(($(date +%s) + sample))
    while [ "$(date +%s)" -lt "$next" ] && [ "$(date +%s)" -le "$deadline" ]; do sleep 1; done
done

# Let the held fleet drain and report, then stop the daemon.
for pid in "${children[@]}"; do
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
done
children=()
# Vanished churn sessions are reaped at their timeout: wait for the last one, then sample the idle daemon.
for _ in $(seq 30); do
    [ "$(ctl status 2>/dev/null | sed -n 's/.*"clients":\([0-9]*\).*/\1/p')" = 0 ] && break
    sleep 1
done
kill -0 "$daemon" 2>/dev/null && take_sample final >>"$out/samples.jsonl"
alive=true
kill -0 "$daemon" 2>/dev/null || alive=false
kill -TERM "$daemon" 2>/dev/null || true
wait "$daemon" 2>/dev/null || true
daemon=
echo "soak: output in $out" >&2
python3 "$(dirname "$0")/soak-summary.py" "$out" --warmup "$warmup" --daemon-alive "$alive"
