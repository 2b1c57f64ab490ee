#!/usr/bin/env bash
# Runs COMMAND next to a real systemd-journald that stores into JOURNAL_DIR, with no systemd as PID 1.
# journald lives in a private mount namespace, so the host's /run and /var/log/journal stay untouched.
#   journald-sandbox.sh JOURNAL_DIR COMMAND [ARG...]     (root: it needs `unshare --mount`)
#   journalctl -D JOURNAL_DIR -o json FIELD=value         afterwards, from anywhere
set -euo pipefail
if [[ $# -lt 2 ]]; then
    echo "usage: $0 JOURNAL_DIR COMMAND [ARG...]" >&2
    exit 2
fi
journal_dir=$(realpath -m "$1")
shift
mkdir -p "$journal_dir"

exec unshare --mount --propagation private -- bash -euo pipefail -c '
    journal_dir=$1
    shift
    # Fresh /run/systemd and /run/log: journald makes its sockets there, and finds no host journald.
    for dir in /run/systemd /run/log; do
        mkdir -p "$dir"
        mount -t tmpfs -o mode=0755 journald-sandbox "$dir"
    done
    mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /var/log/journal
    mount --bind "$journal_dir" /var/log/journal
    # A drop-in under /run outranks /etc/systemd/journald.conf: keep entries on disk in JOURNAL_DIR,
    # and import nothing from the host kernel log or forward anything to the host.
    printf "[Journal]\nStorage=persistent\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\nRateLimitBurst=0\n" \
        > /run/systemd/journald.conf.d/zz-sandbox.conf
    /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
    journald=$!
    for _ in $(seq 500); do
        [[ -S /run/systemd/journal/socket ]] && break
        sleep 0.01
    done
    if [[ ! -S /run/systemd/journal/socket ]]; then
        echo "journald-sandbox: systemd-journald did not create its socket" >&2
        exit 3
    fi
    # Until asked, journald writes to /run/log/journal, as at boot before /var is mounted.
    journalctl --flush >/dev/null
    status=0
    "$@" || status=$?
    # Entries still in the socket buffer are written before journald stops.
    journalctl --sync >/dev/null 2>&1 || true
    kill -TERM "$journald"
    wait "$journald" || true
    exit "$status"
' journald-sandbox "$journal_dir" "$@"
