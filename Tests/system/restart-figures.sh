#!/usr/bin/env bash
# The restart figures of docs/benchmarks.md: CLIENTS clients beating once a second (heartbeat-bench hold,
# --reconnect) inside the system test's container, across `systemctl restart`, `heartbeatctl upgrade`,
# and `systemctl restart` with FileDescriptorStoreMax=0 (everyone reconnects). Per switch: what hold saw
# (disconnects, unanswered beats, slowest beat, back online), how long the command took (until READY),
# and how many presence events `heartbeatctl watch` got for it. Root; under the system test's lock:
#
#   flock /var/tmp/heartbeatd-systest.lock Tests/system/restart-figures.sh DEB BENCH [CLIENTS] [SWITCHES]
#
# SWITCHES: any of restart, upgrade, nostore (default: all three, in that order). PID1_DEBUG=1 sets the
# container's systemd to log at debug level around each switch (its fork, the sandbox's steps, the fd store
# in the journal; PID 1 is slower for it, so such a run's figures are for reading the split, not for the
# table). Each run's journal stays in the artefacts: `journalctl -D DIR/journal -o short-monotonic`.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deb=$1 bench=$2 clients=${3:-15000}
shift $(($# < 3 ? $# : 3))
switches=("${@:-restart upgrade nostore}")
read -ra switches <<<"${switches[*]}"
LAB=${HEARTBEATD_LAB:-/var/tmp/heartbeatd-lab}
PORT=7700
. "$HERE/lab.sh"
X() { lab_exec "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
status_field() { X heartbeatctl --json status 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" 2>/dev/null; }
wait_clients() { # COUNT SECONDS
    local deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do [[ $(status_field clients) == "$1" ]] && return 0; sleep 0.2; done
    return 1
}

lab_with_package restart-figures "$deb" heartbeat-bench="$bench" || exit 1
echo "commit: $(git -C "$HERE" rev-parse --short HEAD), $clients clients, PID 1 nofile: $(X awk '/Max open files/ { print $4 "/" $5 }' /proc/1/limits)"

for switch in "${switches[@]}"; do
    X rm -rf /run/systemd/system/heartbeatd.service.d
    if [[ $switch == nostore ]]; then
        X mkdir -p /run/systemd/system/heartbeatd.service.d
        X sh -c 'printf "[Service]\nFileDescriptorStoreMax=0\nEnvironment=FDSTORE=0\n" > /run/systemd/system/heartbeatd.service.d/nostore.conf'
    fi
    X systemctl daemon-reload
    X systemctl restart heartbeatd.service || { echo "$switch: start failed"; exit 1; }
    X systemd-run -q --unit=hb-hold --collect -p LimitNOFILE=20000 -p StandardOutput=truncate:/run/hb-hold.json \
        -p StandardError=truncate:/run/hb-hold.err /opt/heartbeatd-test/heartbeat-bench hold -n "$clients" -i 1s -d 40s \
        --ramp-timeout 120s --reconnect --reconnect-spread 1s --slow 250ms --server "127.0.0.1:$PORT" --json
    wait_clients "$clients" 150 || { echo "$switch: only $(status_field clients) connected; $(X cat /run/hb-hold.err)"; exit 1; }
    # The watcher starts after the ramp: the ramp's N `online` events at once put it more than the control
    # socket's backlog behind, the daemon cut it off, and its unit was gone before the switch.
    X systemd-run -q --unit=hb-watch --collect -p StandardOutput=truncate:/run/hb-watch.log heartbeatctl --json watch --reconnect
    sleep 5
    before=$(X sh -c 'wc -l < /run/hb-watch.log')
    pid=$(X systemctl show -p MainPID --value heartbeatd.service)
    [[ ${PID1_DEBUG:-0} == 1 ]] && X systemd-analyze log-level debug
    t0=$(now)
    case $switch in
        upgrade) X heartbeatctl upgrade >"$STATE/$switch.out" 2>&1 ;;
        *) X systemctl restart heartbeatd.service ;;
    esac
    took=$(since "$t0")
    [[ ${PID1_DEBUG:-0} == 1 ]] && X systemd-analyze log-level info
    # Back online from the daemon's view: every client listed again (at once when nothing was dropped).
    # (A hold that ended during a long switch leaves nobody to list: the wait then times out.)
    wait_clients "$clients" 60
    online=$(since "$t0")
    sleep 3
    after=$(X sh -c 'wc -l < /run/hb-watch.log')
    for ((i = 0; i < 600; i++)); do [[ $(X cat /run/hb-hold.json 2>/dev/null) == *"}"* ]] && break; sleep 0.2; done
    X cat /run/hb-hold.json >"$STATE/$switch.json"
    X cat /run/hb-watch.log >"$STATE/$switch-watch.log"
    X systemctl stop hb-watch.service
    events=$(X sh -c "sed -n '$((before + 1)),${after}p' /run/hb-watch.log" | python3 -c '
import collections, json, sys
kinds = collections.Counter(json.loads(l)["event"] for l in sys.stdin if l.startswith("{"))
print(sum(kinds.values()), dict(kinds))')
    python3 - "$STATE/$switch.json" "$switch" "$took" "$online" "$events" "$pid" "$(X systemctl show -p MainPID --value heartbeatd.service)" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); w = s["switch"]
print(f"{sys.argv[2]}: command {sys.argv[3]} s (pid {sys.argv[6]} -> {sys.argv[7]}), all {s['clients']} listed again after {sys.argv[4]} s;"
      f" hold: connected {s['connected']}, disconnects {w['disconnects']} {w['disconnect_reasons']}, unanswered {w['unanswered']},"
      f" lost_beats {s['lost_beats']}, max RTT {w['max_rtt_ms']} ms (sent at {w['max_rtt_sent_s']} s), beats > {w['slow_ms']} ms: {w['slow_beats']},"
      f" reconnected {w.get('reconnected')} back_online {w.get('back_online_s')} s, rtt p99 {s['rtt_us']['p99']} us;"
      f" events {sys.argv[5]}")
PY
done | tee "$STATE/figures.txt"
echo "artefacts: $STATE"
