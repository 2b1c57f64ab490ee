#!/usr/bin/env bash
# What the unit's sandbox costs a start: heartbeatd restarted with no clients, ROUNDS times per variant, under
# the packaged unit and under diagnostic drop-ins that each lift one group of its settings (never shipped:
# docs/benchmarks.md says why the unit keeps them all). Per variant, the took-over line's `exec` part (the
# fork to the program's loading: the sandbox set up between fork and exec, the exec, the dynamic loader;
# /proc's 10 ms steps) and systemd's stop -> start gap. Root; under the system test's lock:
#
#   flock /var/tmp/heartbeatd-systest.lock Tests/system/start-cost.sh DEB [ROUNDS]
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deb=$1 rounds=${2:-5}
LAB=${HEARTBEATD_LAB:-/var/tmp/heartbeatd-lab}
. "$HERE/lab.sh"
X() { lab_exec "$@"; }

lab_with_package start-cost "$deb" || exit 1
echo "commit: $(git -C "$HERE" rev-parse --short HEAD), $rounds restarts per variant, no clients"

declare -A lift=(
    [packaged]=""
    [no-syscall-filter]="SystemCallFilter=\nSystemCallArchitectures=\nSystemCallErrorNumber="
    [no-credential]="LoadCredential="
    [no-private-devices]="PrivateDevices=no\nDevicePolicy=auto"
    [no-file-system]="ProtectSystem=no\nProtectHome=no\nPrivateTmp=no\nPrivateMounts=no\nReadWritePaths="
    [no-kernel-protection]="ProtectKernelTunables=no\nProtectKernelModules=no\nProtectKernelLogs=no\nProtectControlGroups=no\nProtectClock=no\nProtectHostname=no\nProtectProc=default\nProcSubset=all"
    [no-dynamic-user]="DynamicUser=no"
    [none]="SystemCallFilter=\nSystemCallArchitectures=\nLoadCredential=\nPrivateDevices=no\nDevicePolicy=auto\nProtectSystem=no\nProtectHome=no\nPrivateTmp=no\nPrivateMounts=no\nProtectKernelTunables=no\nProtectKernelModules=no\nProtectKernelLogs=no\nProtectControlGroups=no\nProtectClock=no\nProtectHostname=no\nProtectProc=default\nProcSubset=all\nDynamicUser=no\nRestrictNamespaces=no\nMemoryDenyWriteExecute=no\nRestrictAddressFamilies=\nLockPersonality=no\nRestrictRealtime=no\nRestrictSUIDSGID=no\nRemoveIPC=no\nNoNewPrivileges=no"
)
for variant in packaged no-syscall-filter no-credential no-private-devices no-file-system no-kernel-protection \
    no-dynamic-user none; do
    X rm -rf /run/systemd/system/heartbeatd.service.d
    if [[ -n ${lift[$variant]} ]]; then
        X mkdir -p /run/systemd/system/heartbeatd.service.d
        X sh -c "printf '[Service]\n${lift[$variant]}\n' > /run/systemd/system/heartbeatd.service.d/lift.conf"
    fi
    X systemctl daemon-reload
    # reset-failed: the unit's StartLimitBurst would refuse the sixth start in a minute.
    X systemctl reset-failed heartbeatd.service 2>/dev/null
    X systemctl restart heartbeatd.service || { echo "$variant: start failed"; continue; }
    X logger -t start-cost "variant $variant"
    for ((i = 0; i < rounds; i++)); do
        X systemctl reset-failed heartbeatd.service 2>/dev/null
        X systemctl restart heartbeatd.service
        sleep 0.3
    done
    X journalctl -o short-monotonic --no-pager >"$STATE/$variant.all" 2>/dev/null
    python3 - "$STATE/$variant.all" "$variant" "$rounds" <<'PY'
import re, sys, statistics
lines = open(sys.argv[1]).read().splitlines()
marker = max(i for i, l in enumerate(lines) if l.endswith(f"variant {sys.argv[2]}"))
lines = lines[marker:]
stamp = lambda l: float(re.match(r"\[\s*([\d.]+)\]", l).group(1))
execs, gaps, starts, switches = [], [], [], []
deactivated = stopping = None
for l in lines:
    if "Stopping heartbeatd.service" in l: stopping = stamp(l)
    if "Starting heartbeatd.service" in l and stopping is not None: switches.append((stamp(l) - stopping) * 1000); stopping = None
    if "heartbeatd.service: Deactivated successfully" in l: deactivated = stamp(l)
    elif "Starting heartbeatd.service" in l and deactivated is not None: gaps.append((stamp(l) - deactivated) * 1000); deactivated = None
    m = re.search(r"from fork: exec ([\d.]+)", l)
    if m: execs.append(float(m.group(1)))
    m = re.search(r"started in ([\d.]+) ms from fork", l)
    if m: starts.append(float(m.group(1)))
med = lambda v: f"{statistics.median(v):.1f}" if v else "-"
print(f"{sys.argv[2]:22} fork->loaded median {med(execs)} ms {execs}; fork->took over median {med(starts)} ms;"
      f" systemd: exited->starting median {med(gaps)} ms {[round(g, 1) for g in gaps]}, stopping->starting median {med(switches)} ms")
PY
done | tee "$STATE/figures.txt"
echo "artefacts: $STATE"
