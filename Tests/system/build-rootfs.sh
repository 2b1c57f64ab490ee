#!/usr/bin/env bash
# Builds, once, the Debian bookworm root filesystem that the system test boots with a real systemd as
# PID 1 under systemd-nspawn. Cached under $HEARTBEATD_LAB (default /var/tmp/heartbeatd-lab); a rebuild
# happens only when the recipe below changes (its hash is the cache key) or with --rebuild.
#
#   Tests/system/build-rootfs.sh [--rebuild]      prints the rootfs path on its last line
set -euo pipefail

LAB=${HEARTBEATD_LAB:-/var/tmp/heartbeatd-lab}
MIRROR=${HEARTBEATD_LAB_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# What the package under test depends on (libc6, libstdc++6, libgcc-s1, libsystemd0, libssl3 for TLS and
# device keys, libhiredis0.14 for the cluster link) plus systemd itself, dbus for systemd-run,
# procps/iproute2 for ps and ss in the checks. Clients are plain bash (/dev/tcp).
PACKAGES=systemd,systemd-sysv,dbus,libsystemd0,libstdc++6,libgcc-s1,libssl3,libhiredis0.14,procps,iproute2
# Units that would only slow the boot or wait for a network the container does not have.
MASKED="systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer
        dpkg-db-backup.timer getty@tty1.service console-getty.service systemd-networkd-wait-online.service"

recipe=$(printf '%s\n' "$SUITE" "$MIRROR" "$PACKAGES" "$MASKED" | sha256sum | cut -c1-16)
ROOT="$LAB/rootfs-$recipe"

if [[ ${1:-} == --rebuild ]]; then rm -rf "$ROOT"; fi
if [[ -f $ROOT/.heartbeatd-lab-complete ]]; then echo "$ROOT"; exit 0; fi

command -v debootstrap >/dev/null || { echo "build-rootfs: debootstrap is missing" >&2; exit 1; }
mkdir -p "$LAB"
# Another run may be building the same recipe: the lock makes the second one wait and then reuse it.
exec 9>"$LAB/.build.lock"
flock 9
if [[ -f $ROOT/.heartbeatd-lab-complete ]]; then echo "$ROOT"; exit 0; fi

started=$(date +%s)
tmp="$ROOT.partial"
rm -rf "$tmp"
echo "build-rootfs: debootstrap $SUITE into $tmp (about a minute, once)" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp" "$MIRROR" >"$LAB/debootstrap.log" 2>&1 \
    || { tail -20 "$LAB/debootstrap.log" >&2; exit 1; }

echo heartbeatd-lab >"$tmp/etc/hostname"
for unit in $MASKED; do ln -sf /dev/null "$tmp/etc/systemd/system/$unit"; done
# Persistent journal: the host bind-mounts a per-run folder here to read the journal after shutdown.
mkdir -p "$tmp/var/log/journal" "$tmp/opt/heartbeatd-test"
rm -rf "$tmp/var/cache/apt/archives/"*.deb
touch "$tmp/.heartbeatd-lab-complete"
mv "$tmp" "$ROOT"
# Older recipes are dead weight once a new one is complete.
find "$LAB" -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$recipe" -exec rm -rf {} +
echo "build-rootfs: built in $(( $(date +%s) - started ))s ($(du -sh "$ROOT" | cut -f1))" >&2
echo "$ROOT"
