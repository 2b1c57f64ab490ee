#!/usr/bin/env bash
# What storing every session in systemd's fd store at HELLO (and removing it at reap) would cost, under
# a real systemd in the system test's container: heartbeat-bench churn against fdstore-session with
# STORE=0 and STORE=1, interleaved, with HELD sessions already stored (the store's size matters), and
# PID 1's own CPU time (/proc/1/stat) per run. Root; run under the system test's lock:
#
#   flock /var/tmp/heartbeatd-systest.lock Tests/system/fdstore-cost/run.sh BENCH [ROUNDS] [CYCLES] [HELD...]
#
# The held sessions' ramp is timed too (seconds and PID 1's CPU to get them all stored).
# BENCH is a heartbeat-bench built with --static-swift-stdlib (it runs in a plain Debian). Prints one
# line per run and the medians.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$1 rounds=${2:-3} cycles=${3:-20000}
shift $(($# < 3 ? $# : 3))
held_counts=("${@:-0}")
LAB=${HEARTBEATD_LAB:-/var/tmp/heartbeatd-lab}
PORT=22100
. "$HERE/../lab.sh"

STATE="$LAB/runs/fdstore-cost-$$"
mkdir -p "$STATE/payload"
gcc -O2 -Wall -o "$STATE/payload/fdstore-session" "$HERE/fdstore-session.c" $(pkg-config --cflags --libs libsystemd) || exit 1
cp "$bench" "$STATE/payload/heartbeat-bench"
ROOTFS=$("$HERE/../build-rootfs.sh" | tail -1) || exit 1
trap 'lab_down' EXIT
lab_up "fdstore-cost-$$" "$ROOTFS" "$STATE/payload" "$STATE" || exit 1
X() { lab_exec "$@"; }

X sh -c "printf '[Service]\nType=notify\nNotifyAccess=main\nExecStart=/opt/heartbeatd-test/fdstore-session $PORT\n\
Environment=STORE=%%i\nFileDescriptorStoreMax=100000\nLimitNOFILE=20000\n' > /run/systemd/system/fdstore-session@.service"
X systemctl daemon-reload
ticks() { X awk '{ print $14 + $15 }' /proc/1/stat; }
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

echo "uptime: $(uptime)"
echo "held store cycles cycles_per_second pid1_cpu_ms stored held_ramp/pid1_cpu"
for held in "${held_counts[@]}"; do
    for ((round = 1; round <= rounds; round++)); do
        for store in 0 1; do
            X systemctl start "fdstore-session@$store.service" || exit 1
            ramp="-"
            if ((held > 0)); then
                # The held sessions' HELLOs, timed: with STORE=1 PID 1 stores each one as it comes.
                t0=$(date +%s.%N) ticks0=$(ticks)
                X systemd-run -q --unit=hb-held --collect -p LimitNOFILE=20000 /opt/heartbeatd-test/heartbeat-bench \
                    hold -n "$held" -i 60s -d 900s --ramp-timeout 600s --server "127.0.0.1:$PORT" --id-prefix held
                for ((i = 0; i < 1200; i++)); do
                    [[ $(X ss -Htn state established "sport = :$PORT" | wc -l) -ge $held ]] && break
                    sleep 0.5
                done
                ramp="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s/$((($(ticks) - ticks0) * 1000 / $(getconf CLK_TCK)))ms"
                sleep 1
            fi
            stored=$(X systemctl show -p NFileDescriptorStore --value "fdstore-session@$store.service")
            before=$(ticks)
            result=$(X prlimit --nofile=20000 /opt/heartbeatd-test/heartbeat-bench churn -k "$cycles" -c 50 -m clean \
                --server "127.0.0.1:$PORT" --json)
            after=$(ticks)
            rate=$(field cycles_per_second <<<"$result")
            echo "$held $store $(field cycles <<<"$result") $rate $(((after - before) * 1000 / $(getconf CLK_TCK))) $stored $ramp"
            X systemctl stop hb-held.service 2>/dev/null
            X systemctl stop "fdstore-session@$store.service"
        done
    done
done | tee "$STATE/runs.txt"
python3 - "$STATE/runs.txt" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line[0].isdigit()]
for held in sorted({r[0] for r in rows}, key=int):
    for store in "01":
        sel = [r for r in rows if r[0] == held and r[1] == store]
        if not sel: continue
        rate = statistics.median(float(r[3]) for r in sel)
        cpu = statistics.median(int(r[4]) for r in sel)
        print(f"held {held} store {store}: median {rate:.0f} cycles/s, PID 1 {cpu} ms CPU per run ({len(sel)} runs)")
PY
