#!/usr/bin/env bash
# The TLS benchmark's peers on loopback: makes a test CA and a server certificate for 127.0.0.1 in DIR
# (once), then starts Mosquitto 2 (TLS on 8883) and Redis 7 (TLS on 6380, plain port off) with them,
# each in the foreground of its own background process; `stop` ends them. docs/benchmarks.md, "TLS".
# MQTT_PORT and REDIS_PORT move them. Redis runs with protected mode off: it is bound to 127.0.0.1 only,
# and protected mode refuses every client whose address is not exactly 127.0.0.1 or ::1 — which is
# what made 7 of 8 bench clients fail (heartbeat-bench spreads them over 127.0.0.1–127.0.0.8).
#
#   scripts/tls-peers.sh DIR certs     only the certificates (ca.pem, server.pem, server.key)
#   scripts/tls-peers.sh DIR start     certificates, then both servers; prints their pids
#   scripts/tls-peers.sh DIR stop
set -euo pipefail
dir=${1:?usage: tls-peers.sh DIR certs|start|stop}
action=${2:?usage: tls-peers.sh DIR certs|start|stop}
mqtt_port=${MQTT_PORT:-8883}
redis_port=${REDIS_PORT:-6380}
mkdir -p "$dir"
cd "$dir"

certs() {
    [[ -s server.pem ]] && return
    local key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
    openssl req -x509 $key -keyout ca.key -out ca.pem -days 365 -subj /CN=bench-ca 2>/dev/null
    openssl req $key -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 365 \
        -extfile server.ext 2>/dev/null
    chmod 644 server.key # the peers run as their own users
}

case $action in
certs) certs ;;
start)
    certs
    cat >mosquitto.conf <<END
listener $mqtt_port 127.0.0.1
certfile $PWD/server.pem
keyfile $PWD/server.key
allow_anonymous true
max_connections -1
persistence false
log_dest none
END
    mosquitto -c mosquitto.conf >mosquitto.log 2>&1 &
    echo $! >mosquitto.pid
    redis-server --port 0 --tls-port "$redis_port" --bind 127.0.0.1 --protected-mode no --tls-cert-file "$PWD/server.pem" \
        --tls-key-file "$PWD/server.key" --tls-ca-cert-file "$PWD/ca.pem" --tls-auth-clients no \
        --maxclients 20000 --save '' --appendonly no --daemonize no >redis.log 2>&1 &
    echo $! >redis.pid
    echo "mosquitto $(cat mosquitto.pid) on 127.0.0.1:$mqtt_port, redis $(cat redis.pid) on 127.0.0.1:$redis_port"
    ;;
stop)
    for name in mosquitto redis; do
        [[ -s $name.pid ]] && kill "$(cat $name.pid)" 2>/dev/null || true
        rm -f $name.pid
    done
    ;;
*) echo "unknown action $action" >&2; exit 2 ;;
esac
