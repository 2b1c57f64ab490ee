#!/usr/bin/env bash
# The figures of docs/benchmarks.md' summary, measured again: a fresh daemon per run, RUNS runs each,
# one JSON line per run on stdout (with the figure's name, the load average and the bench's summary).
# Usage: scripts/bench-figures.sh BIN_DIR [RUNS] [FIGURE...]    (BIN_DIR holds heartbeatd and heartbeat-bench)
# Figures: memory10k memory19k cpu flood16 flood1 churn reap. Summarise with scripts/bench-summary.py.
# BENCH_PORT (default 17800) is the daemon's port; BENCH_CONFIG, if set, a config file it starts with;
# BENCH_ID_PREFIX, if set, the clients' id prefix (the bench's default, bench-<its pid>, makes the ids'
# length, and so memory19k, depend on how many digits the pid has: docs/benchmarks.md).
set -euo pipefail
bin=${1:?usage: bench-figures.sh BIN_DIR [RUNS] [FIGURE...]}
runs=${2:-3}
shift $(( $# >= 2 ? 2 : 1 ))
figures=("$@")
[ ${#figures[@]} -gt 0 ] || figures=(memory10k memory19k cpu flood16 flood1 churn reap)
ulimit -n 20000
port=${BENCH_PORT:-17800}
config=()
[ -z "${BENCH_CONFIG:-}" ] || config=(--config "$BENCH_CONFIG")

daemon=
# Whatever happens (a bench that fails ends the script), no daemon is left behind: a stale one would share
# the port through SO_REUSEPORT and take half of the next run's clients.
trap '[ -z "$daemon" ] || kill -KILL "$daemon" 2>/dev/null || true' EXIT

# Starts a fresh daemon on 127.0.0.1:$port, runs the bench with the given arguments, stops the daemon.
run_once() {
    local figure=$1
    shift
    if ss -Hltn "sport = :$port" | grep -q .; then
        echo "bench-figures: something already listens on port $port" >&2
        exit 1
    fi
    "$bin/heartbeatd" "${config[@]}" --listen "127.0.0.1:$port" 2>/dev/null &
    daemon=$!
    # Ready when it listens (asked of the kernel: a probe connection would be a session of its own).
    for _ in $(seq 50); do
        ss -Hltn "sport = :$port" | grep -q . && break
        sleep 0.1
    done
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    local summary extra=()
    # hold and flood sample the daemon's memory and CPU; churn and reap read only the wire.
    case $1 in hold | flood) extra=(--pid "$daemon") ;; esac
    [ -z "${BENCH_ID_PREFIX:-}" ] || extra+=(--id-prefix "$BENCH_ID_PREFIX")
    summary=$("$bin/heartbeat-bench" "$@" --server "127.0.0.1:$port" --json "${extra[@]}")
    kill -TERM "$daemon"
    wait "$daemon" || true
    daemon=
    printf '{"figure":"%s","load":%s,"summary":%s}\n' "$figure" "$load" "$summary"
    sleep 2
}

for figure in "${figures[@]}"; do
    for _ in $(seq "$runs"); do
        case $figure in
        memory10k) run_once "$figure" hold -n 10000 -i 300s -d 10s ;;
        memory19k) run_once "$figure" hold -n 19000 -i 300s -d 10s ;;
        cpu) run_once "$figure" hold -n 10000 -i 1s -d 20s ;;
        flood16) run_once "$figure" flood -c 50 -D 16 -d 10s ;;
        flood1) run_once "$figure" flood -c 50 -D 1 -d 10s ;;
        churn) run_once "$figure" churn -k 20000 -c 50 -m clean:abort:vanish ;;
        reap) run_once "$figure" reap -n 10000 -i 1s --spread 10s ;;
        *) echo "bench-figures: unknown figure $figure" >&2; exit 64 ;;
        esac
    done
done
