#!/usr/bin/env bash
# End-to-end test of heartbeatd as a systemd service: installs the .deb in a Debian container booted with
# a real systemd as PID 1 (systemd-nspawn -b) and checks each promise of deploy/ with systemctl/journalctl.
# Prints one line per check (ok: … / FAIL: …) and then "N passed, M failed"; exits non-zero on a failure.
#
#   Tests/system/run.sh                         builds the .deb with `make deb` first
#   HEARTBEATD_DEB=path/to.deb Tests/system/run.sh   tests that package instead
#   Tests/system/run.sh restart watchdog_clients     the install check, then only the checks named
#                                                    (check_<name> below), in the usual order
#
# The restart checks hold clients with heartbeat-bench from inside the container: $HEARTBEATD_BENCH, or
# the one `make deb` built beside the package (.build-release/release/heartbeat-bench).
#
# Cannot run here (not root, no namespaces)? It prints SKIPPED and exits 0, unless
# HEARTBEATD_REQUIRE_SYSTEM_TESTS=1 (CI), which makes the skip a failure. Caches under /var/tmp/heartbeatd-lab.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
LAB=${HEARTBEATD_LAB:-/var/tmp/heartbeatd-lab}
export HEARTBEATD_LAB=$LAB
PORT=7700
# The daemon's default drain_timeout; `systemctl stop` must finish within it (plus scheduling slack).
DRAIN_TIMEOUT=5
MAX_EXPOSURE=1.5
. "$HERE/lab.sh"
. "$HERE/restart-checks.sh"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

skip() {
    echo "SKIPPED: system test cannot run here: $*"
    echo "SKIPPED: (it needs root, mount namespaces and systemd-nspawn; see Tests/system/run.sh)"
    if [[ ${HEARTBEATD_REQUIRE_SYSTEM_TESTS:-0} == 1 ]]; then
        echo "FAIL: HEARTBEATD_REQUIRE_SYSTEM_TESTS=1 turns this skip into a failure"
        echo "0 passed, 1 failed"
        exit 1
    fi
    exit 0
}

# Preconditions: who we are, what the host can do, what it has installed.
[[ $(id -u) == 0 ]] || skip "not root"
unshare --mount --propagation private true 2>/dev/null || skip "cannot create a mount namespace (no CAP_SYS_ADMIN)"
[[ -d /sys/fs/cgroup ]] || skip "no /sys/fs/cgroup"

missing=()
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v nsenter >/dev/null || missing+=(util-linux)
command -v pgrep >/dev/null || missing+=(procps)
if [[ -z ${HEARTBEATD_DEB:-} ]]; then
    command -v lintian >/dev/null || missing+=(lintian)
    command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
    pkg-config --exists libsystemd 2>/dev/null || missing+=(libsystemd-dev pkg-config)
fi
if ((${#missing[@]})); then
    echo "run.sh: installing missing host packages: ${missing[*]}"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}"; } >"$LAB.apt.log" 2>&1; then
        tail -5 "$LAB.apt.log"
        skip "could not install ${missing[*]} (log: $LAB.apt.log)"
    fi
fi

ONLY=("$@")
started=$(now)
passed=0 failed=0
RUN="heartbeatd-e2e-$$"
STATE="$LAB/runs/$RUN"
mkdir -p "$STATE/payload"
# Keep the artefacts of the last few runs only.
ls -1dt "$LAB"/runs/heartbeatd-e2e-* 2>/dev/null | tail -n +4 | xargs -r rm -rf

report_ok() { echo "ok: $1${2:+ — $2}"; passed=$((passed + 1)); }
report_fail() { echo "FAIL: $1: $2"; failed=$((failed + 1)); }
finish() {
    lab_down
    echo "timing: total $(since "$started")s; artefacts and journal: $STATE"
    echo "$passed passed, $failed failed"
    ((failed == 0))
    exit
}

# The package under test: given, or built here.
deb=${HEARTBEATD_DEB:-}
if [[ -z $deb ]]; then
    echo "run.sh: building the package (make deb; the first release build takes minutes)"
    t=$(now)
    if [[ -f $SRC/Makefile ]] && grep -q 'install.mk' "$SRC/Makefile"; then
        build=(make -C "$SRC" deb)
    else
        build=(make -C "$SRC" -f deploy/install.mk deb)
    fi
    if "${build[@]}" >"$STATE/make-deb.log" 2>&1; then
        deb=$(ls -1t "$SRC"/dist/heartbeatd_*.deb | head -1)
        report_ok "make deb builds the package and lintian reports no error" "$(basename "$deb"), $(since "$t")s"
    else
        tail -25 "$STATE/make-deb.log"
        report_fail "make deb builds the package and lintian reports no error" "see $STATE/make-deb.log"
        finish
    fi
fi
[[ -f $deb ]] || { report_fail "package exists" "no such file: $deb"; finish; }
cp "$deb" "$STATE/payload/heartbeatd.deb"
# The agent's package, built beside the daemon's by the same `make deb`.
agent_deb=$(ls -1t "$(dirname "$deb")"/heartbeat-agent_*.deb 2>/dev/null | head -1)
[[ -n $agent_deb ]] && cp "$agent_deb" "$STATE/payload/heartbeat-agent.deb"
cp "$HERE/client.sh" "$STATE/payload/client.sh"
bench=${HEARTBEATD_BENCH:-$SRC/.build-release/release/heartbeat-bench}
[[ -x $bench ]] && cp "$bench" "$STATE/payload/heartbeat-bench"
# TLS: certificates made here, and the host's openssl (same Debian, same libssl3) for s_client inside.
mkdir -p "$STATE/payload/tls"
(cd "$STATE/payload/tls" && k='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' &&
    openssl req -x509 $k -keyout ca.key -out ca.pem -days 30 -subj /CN=e2e-ca &&
    openssl req $k -keyout server.key -out server.csr -subj /CN=localhost &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext &&
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 30 \
        -extfile server.ext) >"$STATE/openssl.log" 2>&1
cp /usr/bin/openssl "$STATE/payload/openssl"
chmod 0755 "$STATE/payload/client.sh"

ROOTFS=$("$HERE/build-rootfs.sh" | tail -1) || { report_fail "debootstrap rootfs" "build-rootfs.sh failed"; finish; }
trap 'lab_down' EXIT
trap 'lab_down; exit 130' INT TERM

t=$(now)
if ! lab_up "$RUN" "$ROOTFS" "$STATE/payload" "$STATE"; then
    report_fail "container boots with systemd as PID 1" "systemd-nspawn failed (console: $STATE/console.log)"
    finish
fi
booted=$(since "$t")
checks_started=$(now)

# Helpers; X runs a command inside the container.
X() { lab_exec "$@"; }
show() { X systemctl show -p "$1" --value "${2:-heartbeatd.service}"; }
# Polls a shell condition (evaluated on the host, usually via X) every 50 ms until a deadline.
wait_for() {
    local condition=$1 limit=${2:-10} deadline
    deadline=$(awk -v a="$(now)" -v l="$limit" 'BEGIN { printf "%.3f", a + l }')
    while ! eval "$condition"; do
        awk -v d="$deadline" -v n="$(now)" 'BEGIN { exit !(n > d) }' && return 1
        sleep 0.05
    done
}
cursor() { X journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p'; }
# PID 1's and the daemon's journal lines for heartbeatd.service since a cursor. --sync first: journald
# may still have messages queued (it answers a sync only once it has written everything received).
unit_log() { X journalctl --sync; X journalctl -u heartbeatd.service --no-pager -o cat --after-cursor="$1"; }
# PID 1 at debug level logs each sd_notify message it accepts ("Got notification message from PID n
# (READY=1)") and each state change: how READY, RELOADING and STOPPING are seen. Only around the checks
# that need it, since it floods the journal.
pid1_debug() { X systemd-analyze log-level "$([[ $1 == on ]] && echo debug || echo info)"; }
# One connection: HELLO, and the first line the server sends back.
probe() { X timeout 5 /opt/heartbeatd-test/client.sh "$1" 0 "$PORT" | head -1; }
# Clients run as transient units; their output goes to a file (journald attributes a unit's stdout
# stream to init.scope on this host's hybrid cgroups, so the journal cannot tell the clients apart).
client_start() {
    X systemd-run -q --unit="hb-client-$1" --collect -p StandardOutput="truncate:/run/hb-client-$1.log" \
        /opt/heartbeatd-test/client.sh "$1" "$2" "$PORT"
}
client_log() { X cat "/run/hb-client-$1.log" 2>/dev/null; }
# Lines between two patterns must appear in this order in text given on stdin.
in_order() { awk -v a="$1" -v b="$2" 'index($0, a) && !seen_a { seen_a = NR } index($0, b) && seen_a { found = 1 } END { exit !found }'; }
fail() { REASON=$1; return 1; }

run_check() {
    local description=$1; shift
    # Named checks only (arguments): the install check always runs, since every other one needs it.
    if ((${#ONLY[@]})) && [[ $1 != check_install && " ${ONLY[*]} " != *" ${1#check_} "* ]]; then return 0; fi
    REASON="" DETAIL=""
    local t0; t0=$(now)
    if "$@"; then
        report_ok "$description" "${DETAIL:+$DETAIL, }$(since "$t0")s"
    else
        report_fail "$description" "$REASON"
    fi
}

# The checks, in the order they run; each leaves the service stopped or running for the next.
check_install() {
    X dpkg -i /opt/heartbeatd-test/heartbeatd.deb >"$STATE/dpkg-install.log" 2>&1 \
        || fail "dpkg -i failed: $(tail -3 "$STATE/dpkg-install.log")" || return 1
    [[ $(X dpkg-query -W -f='${Status}' heartbeatd) == "install ok installed" ]] || fail "dpkg does not list it installed" || return 1
    X test -x /usr/sbin/heartbeatd || fail "/usr/sbin/heartbeatd missing" || return 1
    X test -f /etc/heartbeatd/heartbeatd.toml || fail "config missing" || return 1
    X grep -qx /etc/heartbeatd/heartbeatd.toml /var/lib/dpkg/info/heartbeatd.conffiles || fail "config is no conffile" || return 1
    [[ $(X stat -c %a /etc/heartbeatd/secret 2>&1) == 600 ]] || fail "no auth secret with mode 0600 for LoadCredential=" || return 1
    local unit state
    for unit in heartbeatd.service heartbeatd.socket; do
        state=$(X systemctl is-enabled "$unit" 2>&1)
        [[ $state == disabled ]] || fail "$unit is '$state' after install; must stay disabled" || return 1
        state=$(X systemctl is-active "$unit" 2>&1)
        [[ $state == inactive ]] || fail "$unit is '$state' after install; nothing may start by surprise" || return 1
    done
    local missing_libs
    missing_libs=$(X ldd /usr/sbin/heartbeatd | grep 'not found')
    [[ -z $missing_libs ]] || fail "libraries missing in a plain Debian: $missing_libs" || return 1
    X systemd-analyze verify --man=no heartbeatd.service heartbeatd.socket >"$STATE/verify.log" 2>&1 \
        || fail "systemd-analyze verify: $(head -3 "$STATE/verify.log")" || return 1
    DETAIL="units disabled and inactive, verify clean"
}

check_start() {
    local c; c=$(cursor)
    X systemctl start heartbeatd.service || fail "systemctl start failed: $(X systemctl status --no-pager heartbeatd | tail -5)" || return 1
    # Type=notify: start returns once READY=1 arrived, so a client must be served at once.
    local reply; reply=$(probe e2e-start)
    [[ $(show ActiveState)/$(show SubState) == active/running ]] || fail "not active (running): $(show ActiveState)/$(show SubState)" || return 1
    [[ $(show Type) == notify ]] || fail "Type=$(show Type)" || return 1
    [[ $reply == "OK e2e-start interval="*" timeout="* ]] || fail "first client right after start got '$reply'" || return 1
    # PID 1's debug log: the unit stays in 'start' until the READY=1 message, then becomes 'running'.
    local log; log=$(unit_log "$c")
    grep -q 'Changed dead -> start' <<<"$log" || fail "no 'dead -> start' transition in the log" || return 1
    in_order 'READY=1' 'Changed start -> running' <<<"$log" || fail "'start -> running' not preceded by READY=1" || return 1
    DETAIL="READY=1 before 'start -> running'; served '$reply'"
}

check_status_clients() {
    local id
    for id in c1 c2 c3; do client_start "$id" 60 || fail "systemd-run client $id failed" || return 1; done
    wait_for '[[ $(client_log c1; client_log c2; client_log c3) == *OK*OK*OK* ]]' 10 \
        || fail "clients got no OK: $(client_log c1 | head -2)" || return 1
    local ok; ok=$(client_log c1 | head -1)
    [[ $ok =~ ^OK\ c1\ interval=[0-9]+\ timeout=[0-9]+$ ]] || fail "c1 got '$ok'" || return 1
    # e2e-start left; the three live clients must show in STATUS= within a couple of its 1 s updates.
    wait_for '[[ $(show StatusText) == "3 clients"* ]]' 5 || fail "StatusText is '$(show StatusText)', wanted '3 clients…'" || return 1
    DETAIL="StatusText='$(show StatusText)'"
}

check_heartbeatctl() {
    # root in the container reaches the hardened daemon's control socket (SO_PEERCRED sees uid 0).
    local out
    out=$(X heartbeatctl clients 2>&1) || fail "heartbeatctl clients failed: $out" || return 1
    [[ $out == *c1* && $out == *c2* && $out == *c3* ]] || fail "heartbeatctl clients shows '$out'" || return 1
    out=$(X heartbeatctl status --json 2>&1) || fail "heartbeatctl status failed: $out" || return 1
    DETAIL="clients listed c1 c2 c3; status: ${out:0:80}"
}

# The agent's package on the same machine: its files, a session with the running daemon, and a token
# file it cannot read ending it with 78, which its unit does not restart (no 5-second loop).
check_agent() {
    X test -f /opt/heartbeatd-test/heartbeat-agent.deb || fail "no heartbeat-agent_*.deb beside $(basename "$deb")" || return 1
    X dpkg -i /opt/heartbeatd-test/heartbeat-agent.deb >"$STATE/dpkg-agent.log" 2>&1 \
        || fail "dpkg -i heartbeat-agent failed: $(tail -3 "$STATE/dpkg-agent.log")" || return 1
    local file
    for file in /usr/bin/heartbeat-agent /usr/share/man/man1/heartbeat-agent.1.gz /usr/share/man/man5/heartbeatd.toml.5.gz \
        /usr/share/man/man1/heartbeatctl.1.gz /usr/share/bash-completion/completions/heartbeat-agent \
        /usr/share/zsh/vendor-completions/_heartbeatctl /usr/share/fish/vendor_completions.d/heartbeatd.fish \
        /usr/share/doc/heartbeat-agent/copyright; do
        X test -f "$file" || fail "$file missing" || return 1
    done
    [[ $(X systemctl is-enabled heartbeat-agent.service 2>&1) == disabled ]] || fail "the agent's unit is enabled after install" || return 1
    X mkdir -p /run/systemd/system/heartbeat-agent.service.d
    X sh -c "printf '[Service]\nEnvironment=HEARTBEAT_SERVER=127.0.0.1:$PORT HEARTBEAT_ID=e2e-agent\n' \
        > /run/systemd/system/heartbeat-agent.service.d/server.conf"
    X systemctl daemon-reload
    X systemctl start heartbeat-agent.service || fail "starting heartbeat-agent failed" || return 1
    wait_for '[[ $(X heartbeatctl clients 2>&1) == *e2e-agent* ]]' 10 || fail "the agent never showed in heartbeatctl clients" || return 1
    X systemctl stop heartbeat-agent.service
    X sh -c "printf '[Service]\nExecStart=\nExecStart=/usr/bin/heartbeat-agent --server 127.0.0.1:$PORT --id e2e-agent --token-file /nonexistent/token\n' \
        > /run/systemd/system/heartbeat-agent.service.d/token.conf"
    X systemctl daemon-reload
    X systemctl start heartbeat-agent.service
    wait_for '[[ $(show ActiveState heartbeat-agent.service) == failed ]]' 10 \
        || fail "with an unreadable token file the agent is $(show ActiveState heartbeat-agent.service)/$(show SubState heartbeat-agent.service), not failed" || return 1
    [[ $(show ExecMainStatus heartbeat-agent.service) == 78 ]] || fail "exit status $(show ExecMainStatus heartbeat-agent.service), wanted 78" || return 1
    [[ $(show NRestarts heartbeat-agent.service) == 0 ]] || fail "restarted $(show NRestarts heartbeat-agent.service) times" || return 1
    X rm -rf /run/systemd/system/heartbeat-agent.service.d
    X systemctl reset-failed heartbeat-agent.service
    X dpkg --purge heartbeat-agent >"$STATE/dpkg-agent-purge.log" 2>&1 || fail "purging heartbeat-agent failed" || return 1
    DETAIL="files in place, session seen, token file: exit 78 and no restart"
}

check_journal_fields() {
    # c3 leaves (its bash is killed, the kernel sends FIN): the daemon reaps it with reason eof.
    X systemctl stop hb-client-c3.service
    wait_for '[[ $(X journalctl -u heartbeatd.service -o json CLIENT_ID=c3 | grep -c "\"REASON\":\"eof\"") != 0 ]]' 10 \
        || fail "no journal entry with CLIENT_ID=c3 and REASON=eof" || return 1
    local json ids id
    json=$(X journalctl -u heartbeatd.service -o json --no-pager _SYSTEMD_UNIT=heartbeatd.service)
    grep '"CLIENT_ID":"c1"' <<<"$json" | grep -q '"MESSAGE_ID":' || fail "c1's entries carry no MESSAGE_ID" || return 1
    grep '"REASON":"eof"' <<<"$json" | grep -q '"SESSION_DURATION_MS":"[0-9]' || fail "no SESSION_DURATION_MS with the reap" || return 1
    grep '"CLIENT_ID":"c3"' <<<"$json" | grep -q '"PEER":"' || fail "no PEER field" || return 1
    ids=$(grep -o '"MESSAGE_ID":"[0-9a-f]*"' <<<"$json" | cut -d'"' -f4 | sort -u)
    (($(wc -l <<<"$ids") >= 2)) || fail "fewer than 2 distinct MESSAGE_IDs: $ids" || return 1
    # Each id the daemon uses has an entry in the installed catalog (postinst ran --update-catalog).
    local catalog; catalog=$(X journalctl --list-catalog --no-pager)
    for id in $ids; do
        grep -q "^$id" <<<"$catalog" || fail "MESSAGE_ID $id has no catalog entry" || return 1
    done
    DETAIL="$(wc -l <<<"$ids") MESSAGE_IDs, all in the catalog"
}

check_reload() {
    local pid c t0 elapsed reply
    pid=$(show MainPID)
    X cp /etc/heartbeatd/heartbeatd.toml /run/heartbeatd.toml.orig
    # A good change that a client can see: the timeout it is told in OK (interval × timeout_factor).
    X sh -c 'printf "[heartbeat]\ntimeout_factor = 2\n" > /etc/heartbeatd/heartbeatd.toml'
    c=$(cursor); t0=$(now)
    X timeout 30 systemctl reload heartbeatd.service || fail "systemctl reload failed or hung" || return 1
    # ExecReload= only sends SIGHUP; the reload is over when the daemon answers RELOADING=1, then READY=1.
    wait_for 'unit_log "$c" | in_order RELOADING=1 READY=1' 10 || fail "no RELOADING=1 then READY=1 within 10 s" || return 1
    wait_for '[[ $(show SubState) == running ]]' 10 || fail "still '$(show SubState)' 10 s after reload" || return 1
    elapsed=$(since "$t0")
    unit_log "$c" | grep 'RELOADING=1' | grep -q 'MONOTONIC_USEC=' || fail "RELOADING=1 without MONOTONIC_USEC" || return 1
    reply=$(probe e2e-reload)
    [[ $reply == "OK e2e-reload interval=10000 timeout=20000" ]] || fail "after reload with timeout_factor = 2: '$reply'" || return 1
    # A bad config (unknown key) is refused; the daemon keeps serving with the previous one.
    X sh -c 'printf "[heartbeat]\ntimeout_factor = 5\nno_such_key = 1\n" > /etc/heartbeatd/heartbeatd.toml'
    c=$(cursor)
    X timeout 30 systemctl reload heartbeatd.service || fail "reload with a bad config failed or hung" || return 1
    wait_for 'unit_log "$c" | in_order RELOADING=1 READY=1' 10 || fail "bad config: no RELOADING=1 then READY=1" || return 1
    wait_for '[[ $(show SubState) == running ]]' 10 || fail "'$(show SubState)' after a bad reload" || return 1
    wait_for 'unit_log "$c" | grep -q no_such_key' 5 || fail "no log line naming the bad key" || return 1
    [[ $(show MainPID) == "$pid" && $(show NRestarts) == 0 ]] || fail "daemon restarted on a bad config" || return 1
    reply=$(probe e2e-bad)
    [[ $reply == "OK e2e-bad interval=10000 timeout=20000" ]] || fail "bad config not ignored: '$reply'" || return 1
    X cp /run/heartbeatd.toml.orig /etc/heartbeatd/heartbeatd.toml
    X systemctl reload heartbeatd.service
    DETAIL="reload done in ${elapsed}s, bad config kept the old one"
}

# One connection with a device key in HELLO ([auth] mode = "hmac"): the first line the server sends back.
hmac_probe() {
    X timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$PORT"' || exit 1; printf "HELLO %s token=%s\n" "$1" "$2" >&3
        IFS= read -r -t 5 line <&3; echo "$line"' probe "$1" "$2"
}

# docs/operations.md "Rotating the secret", step by step under systemd: credentials are copied at start,
# so a reload keeps the old secret; a drop-in with the previous secret and a restart accept both keys;
# removing it and restarting retires the old key. heartbeatctl token reads the new file and warns.
check_rotation() {
    local old new reply warned
    X cp -p /etc/heartbeatd/heartbeatd.toml /run/heartbeatd.toml.orig
    X cp -p /etc/heartbeatd/secret /run/heartbeatd.secret.orig
    X sh -c 'printf "[auth]\nmode = \"hmac\"\n" > /etc/heartbeatd/heartbeatd.toml'
    X systemctl restart heartbeatd.service || fail "restart with mode hmac failed" || return 1
    old=$(X heartbeatctl token e2e-rot 2>/dev/null)
    [[ $(hmac_probe e2e-rot "$old") == "OK e2e-rot "* ]] || fail "the key from heartbeatctl token is refused" || return 1
    # Step 1: keep the old secret as the previous one, write a new one.
    X sh -c 'cp -p /etc/heartbeatd/secret /etc/heartbeatd/previous-secret && (umask 077; openssl rand -hex 32 > /etc/heartbeatd/secret 2>/dev/null || head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n" > /etc/heartbeatd/secret)'
    new=$(X heartbeatctl token e2e-rot 2>/dev/null)
    warned=$(X heartbeatctl token e2e-rot 2>&1 >/dev/null)
    [[ $warned == *"secret from /etc/heartbeatd/secret"* && $warned == *"running heartbeatd holds a different secret"* ]] \
        || fail "heartbeatctl token did not say what it read and warn: '$warned'" || return 1
    # A reload is not enough: the daemon re-reads its credential copy, fixed when the service started.
    X systemctl reload heartbeatd.service
    sleep 0.5
    reply=$(hmac_probe e2e-rot "$new")
    [[ $reply == "ERR auth-failed" ]] || fail "after a reload the new key got '$reply' (expected the old credential copy)" || return 1
    # Step 2: the previous secret as a second credential, and a restart: both keys work.
    X mkdir -p /etc/systemd/system/heartbeatd.service.d
    X sh -c 'printf "[Service]\nLoadCredential=heartbeatd-previous-secret:/etc/heartbeatd/previous-secret\n" > /etc/systemd/system/heartbeatd.service.d/rotation.conf'
    X systemctl daemon-reload
    X systemctl restart heartbeatd.service || fail "restart with the previous secret failed" || return 1
    [[ $(hmac_probe e2e-rot "$new") == "OK e2e-rot "* ]] || fail "new key refused during the overlap" || return 1
    [[ $(hmac_probe e2e-rot "$old") == "OK e2e-rot "* ]] || fail "old key refused during the overlap" || return 1
    [[ -z $(X heartbeatctl token e2e-rot 2>&1 >/dev/null | grep "different secret") ]] || fail "heartbeatctl still warns after the restart" || return 1
    # Step 4: the overlap ends; the old key is refused.
    X rm -f /etc/systemd/system/heartbeatd.service.d/rotation.conf /etc/heartbeatd/previous-secret
    X systemctl daemon-reload
    X systemctl restart heartbeatd.service || fail "restart without the previous secret failed" || return 1
    [[ $(hmac_probe e2e-rot "$new") == "OK e2e-rot "* ]] || fail "new key refused after the overlap" || return 1
    reply=$(hmac_probe e2e-rot "$old")
    [[ $reply == "ERR auth-failed" ]] || fail "old key after the overlap got '$reply'" || return 1
    X cp -p /run/heartbeatd.secret.orig /etc/heartbeatd/secret
    X cp -p /run/heartbeatd.toml.orig /etc/heartbeatd/heartbeatd.toml
    X systemctl restart heartbeatd.service
    DETAIL="reload kept the old copy; previous-secret credential + restart took both keys; removal retired the old"
}

check_security() {
    local line exposure pid user soft hard
    line=$(X systemd-analyze security --no-pager heartbeatd.service 2>&1 | grep 'Overall exposure level')
    exposure=$(sed -n 's/.*heartbeatd.service: \([0-9.]*\).*/\1/p' <<<"$line")
    [[ -n $exposure ]] || fail "no exposure level in systemd-analyze output" || return 1
    awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }' || fail "exposure $exposure > $MAX_EXPOSURE" || return 1
    # ... and the daemon runs under all of it: not root, still serving, its fd limit raised.
    pid=$(show MainPID)
    user=$(X ps -o uid= -p "$pid" | tr -d ' ')
    [[ -n $user && $user != 0 ]] || fail "daemon runs as uid '$user'" || return 1
    [[ $(probe e2e-hardened) == OK* ]] || fail "hardened daemon does not answer" || return 1
    read -r soft hard < <(X awk '/Max open files/ { print $4, $5 }' "/proc/$pid/limits")
    [[ $soft == "$hard" ]] || fail "RLIMIT_NOFILE soft $soft != hard $hard" || return 1
    # LoadCredential=: the secret is there for the service's user alone.
    local credential
    credential=$(X stat -c '%a %u' /run/credentials/heartbeatd.service/heartbeatd-secret 2>&1)
    [[ $credential == "400 $user" || $credential == "440 $user" ]] || fail "credential: $credential" || return 1
    DETAIL="exposure $exposure, uid $user, nofile $soft, credential ${credential%% *}"
}

# A TLS listener whose key arrives by LoadCredential= (the shipped drop-in), and `openssl s_client` inside.
check_tls() {
    local status=0
    X cp /etc/heartbeatd/heartbeatd.toml /run/heartbeatd.toml.orig
    tls_steps || status=1
    # Whatever happened, the next checks get the shipped configuration back.
    X rm -rf /etc/systemd/system/heartbeatd.service.d/tls.conf /etc/heartbeatd/tls
    X cp /run/heartbeatd.toml.orig /etc/heartbeatd/heartbeatd.toml
    X systemctl daemon-reload
    X timeout 30 systemctl restart heartbeatd.service
    return $status
}

tls_steps() {
    local reply user credential
    X install -d /etc/heartbeatd/tls /etc/systemd/system/heartbeatd.service.d
    X install -m 0644 /opt/heartbeatd-test/tls/server.pem /etc/heartbeatd/tls/cert.pem
    # Root-only: the dynamic user can read it only as the credential systemd copies for it.
    X install -m 0600 /opt/heartbeatd-test/tls/server.key /etc/heartbeatd/tls/key.pem
    X cp /usr/share/doc/heartbeatd/tls-credential.conf /etc/systemd/system/heartbeatd.service.d/tls.conf ||
        fail "no tls-credential.conf in the package" || return 1
    X sh -c 'printf "[tls]\nlisten = [\"127.0.0.1:7701\"]\n" > /etc/heartbeatd/heartbeatd.toml'
    X systemctl daemon-reload
    X timeout 30 systemctl restart heartbeatd.service || fail "restart with [tls] failed: $(show Result)" || return 1
    user=$(X ps -o uid= -p "$(show MainPID)" | tr -d ' ')
    credential=$(X stat -c '%a %u' /run/credentials/heartbeatd.service/heartbeatd-tls-key 2>&1)
    [[ $credential == "400 $user" || $credential == "440 $user" ]] || fail "key credential: $credential" || return 1
    reply=$(X sh -c 'printf "HELLO e2e-tls\nBYE\n" | timeout 5 /opt/heartbeatd-test/openssl s_client -quiet \
        -connect 127.0.0.1:7701 -CAfile /opt/heartbeatd-test/tls/ca.pem -verify_return_error -verify_ip 127.0.0.1 \
        2>/dev/null | head -1')
    [[ $reply == "OK e2e-tls "* ]] || fail "HELLO over s_client: '$reply'" || return 1
    [[ $(probe e2e-plain) == OK* ]] || fail "the plain listener stopped answering" || return 1
    DETAIL="s_client got '$reply'; key credential ${credential%% *} for uid $user"
}

check_stop() {
    local c t0 elapsed
    c=$(cursor); t0=$(now)
    X timeout 60 systemctl stop heartbeatd.service || fail "systemctl stop failed" || return 1
    elapsed=$(since "$t0")
    local log; log=$(unit_log "$c")
    grep -q 'STOPPING=1' <<<"$log" || fail "no STOPPING=1 notification" || return 1
    grep -q 'SIGKILL' <<<"$log" && { fail "systemd had to SIGKILL: $(grep SIGKILL <<<"$log" | head -1)"; return 1; }
    [[ $(show Result) == success && $(show ExecMainStatus) == 0 ]] \
        || fail "Result=$(show Result) ExecMainStatus=$(show ExecMainStatus)" || return 1
    awk -v e="$elapsed" -v d="$DRAIN_TIMEOUT" 'BEGIN { exit !(e <= d + 1.5) }' || fail "stop took ${elapsed}s (drain_timeout ${DRAIN_TIMEOUT}s)" || return 1
    local bye; bye=$(client_log c1 | sed -n 2p)
    DETAIL="stopped in ${elapsed}s, exit 0${bye:+, c1 got '$bye'}"
}

check_watchdog() {
    # A short watchdog for the test, and a low soft fd limit the daemon must raise itself under its filter.
    X mkdir -p /run/systemd/system/heartbeatd.service.d
    X sh -c 'printf "[Service]\nWatchdogSec=2s\nRestartSec=100ms\nLimitNOFILE=1024:524288\n" \
        > /run/systemd/system/heartbeatd.service.d/e2e-watchdog.conf'
    X systemctl daemon-reload
    X systemctl start heartbeatd.service || fail "start with the watchdog drop-in failed" || return 1
    [[ $(show WatchdogUSec) == 2s ]] || fail "WatchdogUSec=$(show WatchdogUSec)" || return 1
    local pid soft hard; pid=$(show MainPID)
    read -r soft hard < <(X awk '/Max open files/ { print $4, $5 }' "/proc/$pid/limits")
    [[ $soft == "$hard" && $soft != 1024 ]] || fail "daemon did not raise RLIMIT_NOFILE: soft $soft hard $hard" || return 1
    local restarts0 c t0; restarts0=$(show NRestarts); c=$(cursor); t0=$(now)
    X kill -STOP "$pid"
    wait_for "[[ \$(show NRestarts) -ge $((restarts0 + 1)) ]]" 15 || fail "no restart 15 s after SIGSTOP (NRestarts=$(show NRestarts))" || return 1
    local elapsed; elapsed=$(since "$t0")
    wait_for '[[ $(show SubState) == running ]]' 10 || fail "not running again after the watchdog restart" || return 1
    local log; log=$(unit_log "$c")
    grep -q 'Watchdog timeout' <<<"$log" || fail "no 'Watchdog timeout' in the journal" || return 1
    grep -q "Failed with result 'watchdog'" <<<"$log" || fail "result is not 'watchdog'" || return 1
    [[ $(show MainPID) != "$pid" ]] || fail "MainPID unchanged" || return 1
    [[ $(probe e2e-watchdog) == OK* ]] || fail "restarted daemon does not answer" || return 1
    DETAIL="NRestarts=$(show NRestarts) after ${elapsed}s, nofile raised to $soft"
    X rm -f /run/systemd/system/heartbeatd.service.d/e2e-watchdog.conf
    X systemctl daemon-reload
    X systemctl stop heartbeatd.service
}

check_socket_activation() {
    X systemctl stop heartbeatd.service
    X systemctl start heartbeatd.socket || fail "starting heartbeatd.socket failed" || return 1
    [[ $(show ActiveState heartbeatd.socket) == active ]] || fail "socket not active" || return 1
    [[ $(show ActiveState) == inactive ]] || fail "service is $(show ActiveState) before any client" || return 1
    local reply; reply=$(probe e2e-activated)
    [[ $reply == "OK e2e-activated interval="* ]] || fail "first client through the socket got '$reply'" || return 1
    [[ $(show ActiveState) == active ]] || fail "service is $(show ActiveState) after the first client" || return 1
    # One listening socket on the port, held by PID 1 and by the daemon (the passed fd): it bound nothing itself.
    local holders pid; holders=$(X ss -Hltnp "sport = :$PORT"); pid=$(show MainPID)
    (($(wc -l <<<"$holders") == 1)) || fail "more than one listener on $PORT: $holders" || return 1
    grep -q "pid=$pid,fd=" <<<"$holders" || fail "daemon (pid $pid) does not hold the listener: $holders" || return 1
    grep -q 'pid=1,fd=' <<<"$holders" || fail "the listener is not systemd's: $holders" || return 1
    DETAIL="one listener, held by systemd and the daemon ($(grep -o "pid=$pid,fd=[0-9]*" <<<"$holders"))"
    X systemctl stop heartbeatd.socket heartbeatd.service
}

check_upgrade_and_purge() {
    X systemctl start heartbeatd.service || fail "start before upgrade failed" || return 1
    local pid; pid=$(show MainPID)
    X dpkg -i /opt/heartbeatd-test/heartbeatd.deb >"$STATE/dpkg-upgrade.log" 2>&1 || fail "reinstall failed" || return 1
    # postinst upgrades in place (heartbeatctl upgrade: same PID, the new binary exec'd), falling back to a
    # restart (a new PID): either way the running daemon must be the file dpkg just put there, not the
    # old one it replaced (which /proc shows as "(deleted)").
    local after exe; after=$(show MainPID); exe=$(X readlink "/proc/$after/exe")
    [[ $(show ActiveState) == active && $exe == /usr/sbin/heartbeatd ]] ||
        fail "running daemon not upgraded (pid $pid -> $after, exe '$exe')" || return 1
    [[ $(X systemctl is-enabled heartbeatd.service) == disabled ]] || fail "upgrade enabled the service" || return 1
    X dpkg --purge heartbeatd >"$STATE/dpkg-purge.log" 2>&1 || fail "purge failed: $(tail -3 "$STATE/dpkg-purge.log")" || return 1
    [[ $(show ActiveState) == inactive ]] || fail "still $(show ActiveState) after purge" || return 1
    X test ! -e /etc/heartbeatd || fail "/etc/heartbeatd left after purge: $(X ls -A /etc/heartbeatd)" || return 1
    X test ! -e /lib/systemd/system/heartbeatd.service || fail "unit left after purge" || return 1
    DETAIL="upgrade put the new binary in the running daemon (pid $pid -> $after), purge stopped it and left nothing"
}

run_check "install from the .deb enables and starts nothing" check_install
if ((failed == 0)); then
    pid1_debug on
    run_check "start is active (running) only after READY=1" check_start
    pid1_debug off
    run_check "StatusText shows the clients connected inside" check_status_clients
    run_check "heartbeatctl as root talks to the hardened daemon" check_heartbeatctl
    run_check "the heartbeat-agent package installs beside it and its agent connects; 78 is not restarted" check_agent
    run_check "journal entries carry CLIENT_ID, REASON and catalogued MESSAGE_IDs" check_journal_fields
    pid1_debug on
    run_check "reload completes promptly; a bad config keeps the old one" check_reload
    pid1_debug off
    run_check "systemd-analyze security ≤ $MAX_EXPOSURE and the hardened daemon works" check_security
    run_check "a TLS listener with its key from LoadCredential= answers openssl s_client" check_tls
    run_check "secret rotation: a credential change takes a restart; the previous secret bridges it" check_rotation
    pid1_debug on
    run_check "stop sends STOPPING=1 and exits 0 within drain_timeout" check_stop
    pid1_debug off
    run_check "watchdog: SIGSTOP leads to a watchdog restart (NRestarts=1)" check_watchdog
    run_check "systemctl restart with $RESTART_CLIENTS clients beating: none dropped, every beat answered, one event" check_restart
    run_check "systemctl stop with $RESTART_CLIENTS clients: the store is discarded, every connection closes" check_stop_clients
    run_check "watchdog kill with $RESTART_CLIENTS clients: all dropped (nothing stored at SIGABRT), all back" check_watchdog_clients
    run_check "socket activation: the first client starts the service on the passed fd" check_socket_activation
    run_check "upgrade puts the new binary in the running daemon; purge removes everything" check_upgrade_and_purge
fi
echo "timing: container boot ${booted}s, checks $(since "$checks_started")s"
X journalctl --no-pager -o short-monotonic >"$STATE/journal.txt" 2>&1
finish
