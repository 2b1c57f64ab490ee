# The system test's restart checks (sourced by run.sh, which defines X, show, wait_for, fail, DETAIL):
# clients held by heartbeat-bench inside the container through `systemctl restart` (the fd store keeps
# every one), a plain `systemctl stop` (the store is discarded: every connection closes) and a watchdog
# kill (nothing is stored at SIGABRT: every one reconnects).
# shellcheck shell=bash

RESTART_CLIENTS=${HEARTBEATD_RESTART_CLIENTS:-200}

# heartbeat-bench hold as a transient unit: NAME CLIENTS SECONDS [more hold options]; its JSON summary
# goes to /run/hb-NAME.json, client ids are NAME-<n>.
hold_start() {
    local name=$1 clients=$2 seconds=$3; shift 3
    X systemd-run -q --unit="hb-$name" --collect -p LimitNOFILE=20000 \
        -p StandardOutput="truncate:/run/hb-$name.json" -p StandardError="truncate:/run/hb-$name.err" \
        /opt/heartbeatd-test/heartbeat-bench hold -n "$clients" -i 1s -d "${seconds}s" \
        --server "127.0.0.1:$PORT" --id-prefix "$name" --json "$@"
}
hold_done() { [[ $(X cat "/run/hb-$1.json" 2>/dev/null) == *"}"* ]]; }
# A field of hold's summary, by dotted path (switch.disconnects), read with the host's python3.
hold_field() {
    X cat "/run/hb-$1.json" | python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."): value = value[key]
print(json.dumps(value) if isinstance(value, dict) else value)' "$2"
}
# `heartbeatctl --json clients` for ids starting with PREFIX-, as sorted "id peer connected_at_ms" lines.
sessions_of() {
    X heartbeatctl --json clients | python3 -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.strip()]
for row in sorted(rows, key=lambda r: r["id"]):
    if row["id"].startswith(sys.argv[1] + "-"): print(row["id"], row["peer"], row["connected_at_ms"])' "$1"
}
# Same ids on the same connections (peer address and port), connected-since within 2 ms (each listing
# rounds a monotonic instant to the wall clock's millisecond).
same_sessions() {
    python3 - "$1" "$2" <<'PY'
import sys
def read(path):
    return {f[0]: (f[1], int(f[2])) for f in (l.split() for l in open(path)) if len(f) == 3}
before, after = read(sys.argv[1]), read(sys.argv[2])
bad = [i for i in before if i not in after or after[i][0] != before[i][0] or abs(after[i][1] - before[i][1]) > 2]
sys.exit(1 if bad or len(before) != len(after) else 0)
PY
}
watch_start() {
    X systemd-run -q --unit=hb-watch --collect -p StandardOutput=truncate:/run/hb-watch.log \
        heartbeatctl --json watch --reconnect
    wait_for '[[ $(X heartbeatctl --json status 2>/dev/null) == *"\"watchers\":1"* ]]' 10
}

check_restart() {
    [[ -x $STATE/payload/heartbeat-bench ]] || fail "no heartbeat-bench to hold clients (HEARTBEATD_BENCH)" || return 1
    local n=$RESTART_CLIENTS
    X systemctl start heartbeatd.service || fail "start failed" || return 1
    watch_start || fail "heartbeatctl watch did not connect" || return 1
    hold_start rs "$n" 12 || fail "systemd-run heartbeat-bench failed" || return 1
    wait_for '[[ $(sessions_of rs | wc -l) == '"$n"' ]]' 20 || fail "only $(sessions_of rs | wc -l) of $n clients connected" || return 1
    sessions_of rs >"$STATE/restart-before.txt"
    sleep 2
    local pid t0 ready; pid=$(show MainPID); t0=$(now)
    X timeout 60 systemctl restart heartbeatd.service || fail "systemctl restart failed" || return 1
    ready=$(since "$t0")
    [[ $(show MainPID) != "$pid" ]] || fail "MainPID unchanged: no restart happened" || return 1
    sessions_of rs >"$STATE/restart-after.txt"
    same_sessions "$STATE/restart-before.txt" "$STATE/restart-after.txt" \
        || fail "sessions differ across the restart: see $STATE/restart-{before,after}.txt" || return 1
    wait_for 'hold_done rs' 30 || fail "heartbeat-bench did not finish: $(X cat /run/hb-rs.err)" || return 1
    X cat /run/hb-rs.json >"$STATE/restart-hold.json"
    local field
    for field in failures dropped lost_beats switch.disconnects switch.unanswered; do
        [[ $(hold_field rs "$field") == 0 ]] || fail "hold: $field = $(hold_field rs "$field") (wanted 0)" || return 1
    done
    [[ $(hold_field rs connected) == "$n" ]] || fail "hold connected $(hold_field rs connected) of $n" || return 1
    # The watcher: N onlines, one `restarted` restoring them, nothing else until the fleet leaves at
    # the end of the hold (N offlines); seq never skips.
    wait_for '(( $(X grep -c "\"event\":\"offline\"" /run/hb-watch.log) >= '"$n"' ))' 15 \
        || fail "the watcher did not see the hold's clients leave" || return 1
    X cat /run/hb-watch.log >"$STATE/restart-watch.log"
    python3 - "$STATE/restart-watch.log" "$n" <<'PY' || fail "watch events: $(cat "$STATE/restart-watch.verdict")" || return 1
import json, sys
events = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
n = int(sys.argv[2])
kinds = [e["event"] for e in events]
seqs = [e["seq"] for e in events]
verdict = []
if kinds.count("restarted") != 1: verdict.append(f"{kinds.count('restarted')} restarted events")
else:
    at = kinds.index("restarted")
    if kinds[:at] != ["online"] * n: verdict.append(f"before restarted: {kinds[:at][:5]}... ({at} events)")
    if events[at].get("restored", 0) < n: verdict.append(f"restored {events[at].get('restored')}")
    if set(kinds[at + 1:]) != {"offline"}: verdict.append(f"after restarted: {sorted(set(kinds[at + 1:]))}")
if seqs != list(range(seqs[0], seqs[0] + len(seqs))): verdict.append(f"seq not continuous: {seqs}")
open(sys.argv[1].replace("watch.log", "watch.verdict"), "w").write("; ".join(verdict))
sys.exit(1 if verdict else 0)
PY
    X systemctl stop hb-watch.service 2>/dev/null
    DETAIL="$n clients: 0 disconnects, 0 unanswered, same peers and connected-since, one restarted event;"
    DETAIL+=" READY after ${ready}s, slowest beat $(hold_field rs switch.max_rtt_ms) ms"
}

# A plain `systemctl stop` with clients connected: the daemon hands its sessions over as for a restart
# (it cannot tell the two apart), and systemd discards the store, carrier and all. Every connection must
# close — the kernel closes the sockets in flight with the carrier — and PID 1 keeps nothing of them.
check_stop_clients() {
    [[ -x $STATE/payload/heartbeat-bench ]] || fail "no heartbeat-bench to hold clients (HEARTBEATD_BENCH)" || return 1
    local n=$RESTART_CLIENTS
    X systemctl start heartbeatd.service || fail "start failed" || return 1
    hold_start st "$n" 10 || fail "systemd-run heartbeat-bench failed" || return 1
    wait_for '[[ $(sessions_of st | wc -l) == '"$n"' ]]' 20 || fail "only $(sessions_of st | wc -l) of $n clients connected" || return 1
    local before; before=$(X sh -c 'ls /proc/1/fd | wc -l')
    X systemctl stop heartbeatd.service || fail "systemctl stop failed" || return 1
    # journald may not have read the daemon's last line yet when `systemctl stop` returns: poll for it.
    # grep -c reads to the end: grep -q would stop at the match and, under pipefail, journalctl's SIGPIPE
    # (its output is past a pipe's buffer) would fail the pipeline although the line is there.
    wait_for '[[ $(X journalctl -u heartbeatd.service --no-pager -o cat | grep -c "stopped: '"$n"' sessions in 1 carriers") != 0 ]]' 5 \
        || fail "the daemon did not hand its $n sessions over in one carrier" || return 1
    wait_for 'hold_done st' 30 || fail "heartbeat-bench did not finish: $(X cat /run/hb-st.err)" || return 1
    X cat /run/hb-st.json >"$STATE/stop-hold.json"
    [[ $(hold_field st switch.disconnects) == "$n" ]] \
        || fail "disconnects $(hold_field st switch.disconnects), wanted all $n (the store is discarded)" || return 1
    local after; after=$(X sh -c 'ls /proc/1/fd | wc -l')
    ((after <= before)) || fail "PID 1 holds $after descriptors after the stop, $before before" || return 1
    DETAIL="all $n closed ($(hold_field st switch.disconnect_reasons)); PID 1: $before descriptors before, $after after"
}

# SIGSTOP past WatchdogSec: systemd kills the daemon with SIGABRT, which stores nothing (the hand-off
# happens only at SIGTERM), so every client loses its connection and comes back to the new process.
check_watchdog_clients() {
    [[ -x $STATE/payload/heartbeat-bench ]] || fail "no heartbeat-bench to hold clients (HEARTBEATD_BENCH)" || return 1
    local n=$RESTART_CLIENTS
    X mkdir -p /run/systemd/system/heartbeatd.service.d
    X sh -c 'printf "[Service]\nWatchdogSec=2s\nRestartSec=100ms\n" > /run/systemd/system/heartbeatd.service.d/e2e-watchdog.conf'
    X systemctl daemon-reload
    X systemctl restart heartbeatd.service || fail "start with the watchdog drop-in failed" || return 1
    hold_start wd "$n" 15 --reconnect || fail "systemd-run heartbeat-bench failed" || return 1
    wait_for '[[ $(sessions_of wd | wc -l) == '"$n"' ]]' 20 || fail "only $(sessions_of wd | wc -l) of $n clients connected" || return 1
    sessions_of wd >"$STATE/watchdog-before.txt"
    local pid restarts0 t0; pid=$(show MainPID); restarts0=$(show NRestarts); t0=$(now)
    X kill -STOP "$pid"
    wait_for "[[ \$(show NRestarts) -ge $((restarts0 + 1)) && \$(show SubState) == running ]]" 20 \
        || fail "no watchdog restart 20 s after SIGSTOP" || return 1
    local restarted; restarted=$(since "$t0")
    # They come back as new sessions: new connections (peers), new connected-since.
    wait_for '[[ $(sessions_of wd | wc -l) == '"$n"' ]]' 15 || fail "only $(sessions_of wd | wc -l) of $n came back" || return 1
    sessions_of wd >"$STATE/watchdog-after.txt"
    ! same_sessions "$STATE/watchdog-before.txt" "$STATE/watchdog-after.txt" || fail "the same sessions after a kill?" || return 1
    wait_for 'hold_done wd' 40 || fail "heartbeat-bench did not finish: $(X cat /run/hb-wd.err)" || return 1
    X cat /run/hb-wd.json >"$STATE/watchdog-hold.json"
    [[ $(hold_field wd switch.disconnects) == "$n" ]] \
        || fail "disconnects $(hold_field wd switch.disconnects), wanted all $n (nothing is stored at a kill)" || return 1
    [[ $(hold_field wd switch.reconnected) == "$n" && $(hold_field wd switch.still_away) == 0 ]] \
        || fail "reconnected $(hold_field wd switch.reconnected) of $n" || return 1
    X rm -f /run/systemd/system/heartbeatd.service.d/e2e-watchdog.conf
    X systemctl daemon-reload
    X systemctl stop heartbeatd.service
    DETAIL="killed and restarted after ${restarted}s; all $n dropped ($(hold_field wd switch.disconnect_reasons)),"
    DETAIL+=" $(hold_field wd switch.unanswered) beats unanswered, all back within $(hold_field wd switch.back_online_s)s"
}
