#!/usr/bin/env bash
# Swift Testing suites under AddressSanitizer (with UndefinedBehaviorSanitizer on the C and C++ code: swiftc
# refuses -sanitize=undefined on Linux) and under ThreadSanitizer, each in a build of its own (.build-asan,
# .build-tsan) of everything, heartbeatd included: the DaemonTests chosen here run a sanitized daemon.
# Every process (the test runner, each daemon it starts) writes a report to .build-<kind>/reports/, and one
# report there fails the run even when the tests pass. Usage: scripts/sanitize.sh [asan] [tsan]  (none: both)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(asan tsan)

# ASan: every in-process suite, and the daemon suites that feed it bytes from outside (lines, PROXY headers,
# AUTH, HTTP, control requests).
asan_filter='(TimerWheelTests|PrimitivesTests|WireProtocolTests|ControlProtocolTests|HTTPHeadTests|HandoffTests'
asan_filter+='|HeartbeatConfigTests|ClusterSchemaTests|DeviceKeysTests|PosixTests|EventLoopTests|BufferedIOTests'
asan_filter+='|ServerCoreTests)\.|DaemonTests\.(ProtocolTests|ProxyTests|ChallengeTests|MetricsTests|ControlTests)'
# TSan: what crosses threads — mailboxes and the registry (in-process workers, takeover across workers), and a
# daemon with two workers answering control queries, metrics scrapes, reloads and signals.
tsan_filter='(EventLoopTests|BufferedIOTests|ServerCoreTests)\.'
tsan_filter+='|DaemonTests\.(TakeoverTests|ControlTests|MetricsTests|ConfigTests|SignalTests)'

# Swift's crash backtracer reads raw memory, which ASan reports in place of the real fault.
export SWIFT_BACKTRACE=enable=no

failed=()
for kind in "${kinds[@]}"; do
    scratch="$root/.build-$kind"
    reports="$scratch/reports"
    # One kind's options must not reach the next: TSan's runtime also reads UBSAN_OPTIONS, and would write
    # its report into the ASan run's directory, where nobody looks any more.
    unset ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
    case "$kind" in
    asan)
        flags=(--sanitize=address -Xcc -fsanitize=undefined -Xcxx -fsanitize=undefined)
        filter=$asan_filter
        # No leak check at exit: the test runner (XCTest keeps its suites) and the daemon (its supervisor, control
        # server and workers live until exit and are never torn down; they hold each other in a cycle) hold
        # memory then by design. Leaks per input are the fuzzers' to find (libFuzzer checks after each input).
        export ASAN_OPTIONS="log_path=$reports/asan:halt_on_error=1:detect_leaks=0"
        export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:suppressions=$root/scripts/ubsan.supp"
        ;;
    tsan)
        flags=(--sanitize=thread)
        filter=$tsan_filter
        export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=1:second_deadlock_stack=1"
        ;;
    *)
        echo "sanitize: unknown kind $kind (asan, tsan)" >&2
        exit 2
        ;;
    esac
    start=$SECONDS
    swift build --build-tests --scratch-path "$scratch" "${flags[@]}"
    built=$SECONDS
    rm -rf "$reports"
    mkdir -p "$reports"
    status=0
    swift test --skip-build --scratch-path "$scratch" "${flags[@]}" --filter "$filter" || status=$?
    echo "sanitize: $kind: build $((built - start)) s, tests $((SECONDS - built)) s, exit $status"
    if [ -n "$(ls -A "$reports")" ]; then
        for report in "$reports"/*; do
            echo "== $report" >&2
            cat "$report" >&2
        done
        echo "sanitize: $kind: $(ls "$reports" | wc -l) sanitizer report(s) in $reports" >&2
        failed+=("$kind: sanitizer reports")
    fi
    [ "$status" -eq 0 ] || failed+=("$kind: tests failed")
done
# Both kinds run even when the first fails, so one CI run shows everything.
if [ ${#failed[@]} -gt 0 ]; then
    printf 'sanitize: FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
