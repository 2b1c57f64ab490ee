#!/usr/bin/env bash
# The slowest heartbeat across `heartbeatctl upgrade` without systemd or a container (docs/benchmarks.md,
# restart): a release heartbeatd on loopback, CLIENTS clients beating once a second (heartbeat-bench hold),
# one upgrade in place; prints what hold saw of the switch. Quicker than Tests/system/restart-figures.sh,
# for comparing two daemon binaries run after run (A, B, A, B, ...):
#
#   scripts/upgrade-figures.sh DAEMON BIN_DIR [CLIENTS] [PORT]
#
# DAEMON is copied to a scratch folder (an upgrade execs the file at the path the daemon started from);
# BIN_DIR holds heartbeat-bench and heartbeatctl. Needs a descriptor limit of CLIENTS + 1,000 or more.
set -uo pipefail
daemon=$1 bin=$2 clients=${3:-15000} port=${4:-22000}
dir=$(mktemp -d /tmp/upgrade-figures.XXXXXX)
cp "$daemon" "$dir/heartbeatd"
printf 'listen = ["127.0.0.1:%s"]\n[control]\nsocket = "%s/control.sock"\n[log]\nsessions = false\n' "$port" "$dir" >"$dir/hb.toml"
ulimit -n 20000
"$dir/heartbeatd" --config "$dir/hb.toml" >"$dir/daemon.log" 2>&1 &
daemon_pid=$!
trap 'kill $daemon_pid 2>/dev/null' EXIT
ctl() { "$bin/heartbeatctl" --socket "$dir/control.sock" "$@"; }
for _ in $(seq 50); do [[ -S $dir/control.sock ]] && break; sleep 0.1; done
"$bin/heartbeat-bench" hold -n "$clients" -i 1s -d 30s --ramp-timeout 120s --reconnect --reconnect-spread 1s \
    --slow 250ms --server "127.0.0.1:$port" --json >"$dir/hold.json" 2>"$dir/hold.err" &
hold_pid=$!
for _ in $(seq 600); do
    [[ $(ctl --json status 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["clients"])' 2>/dev/null) == "$clients" ]] && break
    sleep 0.2
done
sleep 4
start=$(date +%s.%N)
ctl upgrade >"$dir/upgrade.out" 2>&1 || { echo "upgrade failed: $(cat "$dir/upgrade.out")"; exit 1; }
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
wait $hold_pid
python3 - "$dir/hold.json" "$took" "$(uptime)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); w = s["switch"]
print(f"upgrade {sys.argv[2]} s; connected {s['connected']}, disconnects {w['disconnects']}, unanswered {w['unanswered']},"
      f" slowest beat {w['max_rtt_ms']} ms, beats > {w['slow_ms']} ms: {w['slow_beats']}; uptime:{sys.argv[3].split('load')[1]}")
PY
grep -o 'took over .* ms' "$dir/daemon.log"
rm -rf "$dir"
