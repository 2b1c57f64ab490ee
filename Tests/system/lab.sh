# Boots and stops the throw-away container of the system test: the cached rootfs under systemd-nspawn -b,
# so systemd is PID 1 and journald runs, on a host whose own PID 1 is not systemd and that has no D-Bus.
# Sourced by run.sh and the figure scripts; functions: lab_up NAME ROOTFS PAYLOAD_DIR STATE_DIR, lab_exec CMD...,
# lab_down, and lab_with_package NAME DEB [AS=FILE...] for the figure scripts.
#
# Why each nspawn option:
#   unshare --mount + tmpfs on /run/systemd/nspawn  nspawn keeps propagation mounts there; on a host whose
#                       /run is on disk it refuses to clean them up ("Attempted to remove disk file system").
#   --register=no --keep-unit  nspawn would otherwise ask the host's systemd over D-Bus for a scope.
#   --volatile=overlay  writes go to a tmpfs over the cached rootfs, so every run starts from the same tree.
#   --private-network   the container has only its own loopback: nothing reaches or leaves the host.
#   nsenter -t LEADER -a   stands in for machinectl (which needs the host's systemd).
# shellcheck shell=bash

LAB_LEADER=""
LAB_NSPAWN_PID=""

lab_up() {
    local name=$1 rootfs=$2 payload=$3 state=$4
    mkdir -p "$state/journal"
    local args=(-q -D "$rootfs" --register=no --keep-unit -M "$name" --volatile=overlay --private-network
                --bind="$state/journal:/var/log/journal" --bind-ro="$payload:/opt/heartbeatd-test"
                -b --console=pipe)
    # setsid: the container gets its own process group, so stopping it can never signal our caller.
    setsid unshare --mount --propagation private -- sh -c '
        mkdir -p /run/systemd/nspawn && mount -t tmpfs -o mode=0755 heartbeatd-lab /run/systemd/nspawn &&
        exec systemd-nspawn "$@"' sh "${args[@]}" </dev/null >"$state/console.log" 2>&1 &
    LAB_NSPAWN_PID=$!
    local i
    # The container's PID 1 is nspawn's child; systemctl works once /run/systemd/private exists.
    for ((i = 0; i < 400; i++)); do
        LAB_LEADER=$(pgrep -P "$LAB_NSPAWN_PID" | head -1 || true)
        if [[ -n $LAB_LEADER ]] && nsenter -t "$LAB_LEADER" -a test -S /run/systemd/private 2>/dev/null; then
            break
        fi
        if ! kill -0 "$LAB_NSPAWN_PID" 2>/dev/null; then
            echo "lab: systemd-nspawn exited during boot:" >&2
            cat "$state/console.log" >&2
            return 1
        fi
        sleep 0.05
    done
    [[ -n $LAB_LEADER ]] || { echo "lab: no container PID 1 after 20 s" >&2; return 1; }
    local state_now
    state_now=$(lab_exec systemctl is-system-running --wait 2>&1 || true)
    if [[ $state_now != running ]]; then
        echo "lab: container state is '$state_now':" >&2
        lab_exec systemctl --failed --no-pager >&2 || true
    fi
}

# Runs a command inside every namespace of the container, with a clean environment.
lab_exec() {
    nsenter -t "$LAB_LEADER" -a env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        TERM=dumb LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# SIGTERM to nspawn becomes SIGRTMIN+3 for the container's systemd, which halts cleanly (~2 s).
lab_down() {
    [[ -n $LAB_NSPAWN_PID ]] || return 0
    if kill -0 "$LAB_NSPAWN_PID" 2>/dev/null; then
        kill -TERM "$LAB_NSPAWN_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 300; i++)); do kill -0 "$LAB_NSPAWN_PID" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$LAB_NSPAWN_PID" 2>/dev/null || true
    fi
    wait "$LAB_NSPAWN_PID" 2>/dev/null || true
    LAB_NSPAWN_PID=""
    LAB_LEADER=""
}

# The figure scripts' container: STATE=$LAB/runs/NAME-PID with DEB (and each FILE, named AS) in its payload,
# booted with lab_down on exit and the package installed; says the machine's load. Needs LAB.
lab_with_package() {
    local name=$1 deb=$2 extra rootfs
    shift 2
    STATE="$LAB/runs/$name-$$"
    mkdir -p "$STATE/payload"
    cp "$deb" "$STATE/payload/heartbeatd.deb"
    for extra in "$@"; do cp "${extra#*=}" "$STATE/payload/${extra%%=*}"; done
    rootfs=$("$(dirname "${BASH_SOURCE[0]}")/build-rootfs.sh" | tail -1) || return 1
    trap 'lab_down' EXIT
    lab_up "$name-$$" "$rootfs" "$STATE/payload" "$STATE" || return 1
    lab_exec dpkg -i /opt/heartbeatd-test/heartbeatd.deb >"$STATE/dpkg.log" 2>&1 || { tail -3 "$STATE/dpkg.log"; return 1; }
    echo "uptime: $(uptime)"
}
