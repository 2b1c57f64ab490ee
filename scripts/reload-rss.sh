#!/usr/bin/env bash
# RSS growth per config reload of an idle daemon (docs/benchmarks.md, "Soak"): SIGHUP after SIGHUP, each
# after writing a file that differs from the last (`--unchanged`: the same file), each waited for in the log.
# Usage: scripts/reload-rss.sh [--bin DIR] [--port P] [--reloads N] [--unchanged]
set -euo pipefail

bin=.build/release
port=23100
reloads=300
unchanged=false
while [ $# -gt 0 ]; do
    case $1 in
    --bin) bin=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --reloads) reloads=$2; shift 2 ;;
    --unchanged) unchanged=true; shift ;;
    *) echo "usage: scripts/reload-rss.sh [--bin DIR] [--port P] [--reloads N] [--unchanged]" >&2; exit 64 ;;
    esac
done

work=$(mktemp -d /var/tmp/heartbeatd-reload-rss.XXXXXX)
daemon=
finish() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    rm -rf "$work"
}
trap finish EXIT

# The soak's config (scripts/soak.sh), with one value that makes each file differ from the one before.
write_config() {
    cat >"$work/heartbeatd.toml" <<EOF
listen = ["127.0.0.1:$port"]
workers = 2
[heartbeat]
timeout_factor = 3
hello_timeout = "5s"
[limits]
max_clients = $((100000 + $1))
[log]
level = "info"
sessions = false
[control]
socket = "$work/control.sock"
EOF
}
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$daemon/status"; }
applied() { grep -c 'event=reloaded' "$work/daemon.log" || true; }
# Sends one SIGHUP and waits (at most 5 s) until the daemon has logged the reload number $1 as applied.
reload() {
    local deadline=$((SECONDS + 5))
    [ "$unchanged" = true ] || write_config "$1"
    kill -HUP "$daemon"
    until [ "$(applied)" -ge "$1" ]; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "reload-rss: reload $1 not applied within 5 s" >&2; exit 1; }
        sleep 0.01
    done
}

write_config 0
"$bin/heartbeatd" --config "$work/heartbeatd.toml" 2>"$work/daemon.log" &
daemon=$!
for _ in $(seq 100); do [ -S "$work/control.sock" ] && break; sleep 0.05; done
# Twenty reloads first, so what malloc sets up once is not counted.
for i in $(seq 20); do reload "$i"; done
before=$(rss)
for i in $(seq 21 $((20 + reloads))); do reload "$i"; done
after=$(rss)
echo "reloads=$reloads unchanged=$unchanged rss_before_kib=$before rss_after_kib=$after" \
    "growth_kib=$((after - before)) bytes_per_reload=$(((after - before) * 1024 / reloads))"
