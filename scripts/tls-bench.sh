#!/usr/bin/env bash
# The TLS measurements of docs/benchmarks.md ("TLS"), in one run: heartbeatd plain and TLS, Mosquitto
# and Redis with TLS, each a fresh process on loopback, the same heartbeat-bench for all. Prints one
# JSON summary line per measurement (prefixed with its name) and a daemon CPU line per churn.
#
#   scripts/tls-bench.sh [BIN_DIR] [CLIENTS]     BIN_DIR: release heartbeatd and heartbeat-bench
# Environment: TLS_BENCH_TARGETS (default "plain tls mosquitto redis"), TLS_BENCH_CHURN=0 skips the
# handshake churn, TLS_BENCH_PORT (default 17871: heartbeatd plain, +1 TLS), MQTT_PORT, REDIS_PORT.
set -euo pipefail
bin=${1:-.build/release}
clients=${2:-3000}
targets=${TLS_BENCH_TARGETS:-plain tls mosquitto redis}
port=${TLS_BENCH_PORT:-17871}
tls_port=$((port + 1))
mqtt_port=${MQTT_PORT:-8883}
redis_port=${REDIS_PORT:-6380}
work=${TLS_BENCH_DIR:-/tmp/heartbeatd-tls-bench}
here=$(cd "$(dirname "$0")" && pwd)
"$here/tls-peers.sh" "$work" certs
ulimit -n 20000
bench="$bin/heartbeat-bench"
tls=(--tls --tls-ca "$work/ca.pem")

cat >"$work/hb.toml" <<END
listen = ["127.0.0.1:$port"]
[tls]
listen = ["127.0.0.1:$tls_port"]
certificate = "$work/server.pem"
key = "$work/server.key"
[control]
socket = ""
[log]
sessions = false
END

# CPU seconds (user + system) of a process so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }

start() { # name → PID of a fresh server
    case $1 in
    heartbeatd) "$bin/heartbeatd" --config "$work/hb.toml" >"$work/hb.log" 2>&1 & ;;
    mosquitto) mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & ;;
    redis) redis-server --port 0 --tls-port "$redis_port" --bind 127.0.0.1 --protected-mode no \
        --tls-cert-file "$work/server.pem" \
        --tls-key-file "$work/server.key" --tls-ca-cert-file "$work/ca.pem" --tls-auth-clients no \
        --maxclients 20000 --save '' --appendonly no >"$work/redis.log" 2>&1 & ;;
    esac
    PID=$!
    sleep 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

cat >"$work/mosquitto.conf" <<END
listener $mqtt_port 127.0.0.1
certfile $work/server.pem
keyfile $work/server.key
allow_anonymous true
max_connections -1
persistence false
log_dest none
END

run() { # label server args...
    local label=$1 server=$2
    shift 2
    echo "$label $("$bench" "$@" --server "$server" --json --pid "$PID")"
}

for target in $targets; do
    case $target in
    plain) name=heartbeatd server=127.0.0.1:$port extra=() ;;
    tls) name=heartbeatd server=127.0.0.1:$tls_port extra=("${tls[@]}") ;;
    mosquitto) name=mosquitto server=127.0.0.1:$mqtt_port extra=("${tls[@]}" --peer mqtt) ;;
    redis) name=redis server=127.0.0.1:$redis_port extra=("${tls[@]}" --peer redis) ;;
    esac
    # Idle: the longest interval heartbeatd grants, so hardly anyone beats in the window.
    start $name
    run "idle-$target" $server hold -n "$clients" -i 300s -d 10s "${extra[@]}"
    stop
    # Beating once a second: CPU per 1000 heartbeats.
    start $name
    run "beating-$target" $server hold -n "$clients" -i 1s -d 20s "${extra[@]}"
    stop
done

[[ ${TLS_BENCH_CHURN:-1} == 0 ]] && exit 0
# Handshakes: connect, (TLS,) HELLO, OK, BYE — plain, TLS full, TLS resumed; the daemon's CPU per cycle.
for way in plain full resumed; do
    case $way in
    plain) server=127.0.0.1:$port extra=() ;;
    full) server=127.0.0.1:$tls_port extra=("${tls[@]}") ;;
    resumed) server=127.0.0.1:$tls_port extra=("${tls[@]}" --resume) ;;
    esac
    start heartbeatd
    before=$(cpu $PID)
    summary=$("$bench" churn -k 5000 -c 50 -m clean --settle 1s --server $server --json "${extra[@]}")
    after=$(cpu $PID)
    echo "churn-$way $summary"
    awk -v a="$before" -v b="$after" -v w="$way" 'BEGIN { printf "cpu-%s daemon_cpu_s=%.3f us_per_cycle=%.1f\n", w, b - a, (b - a) * 1e6 / 5000 }'
    stop
done
