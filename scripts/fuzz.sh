#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (-sanitize=fuzzer,address, release, in .build-fuzz) and runs each for
# SECONDS, one after another, on a copy of its committed seed corpus. Any crash, sanitizer report or failed
# check fails the run and leaves the input in .build-fuzz/artifacts/<target>/ (replay it: <binary> <file>).
# Usage: scripts/fuzz.sh SECONDS [TARGET...]      (no TARGET: every target in Fuzz/corpus/)
#        FUZZ_RUNS=10000000 scripts/fuzz.sh 3600     (each stops after that many executions, or SECONDS)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for dir in Fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
scratch="$root/.build-fuzz"
# gold stops with an internal error on these objects; lld links them.
# UBSan for the C and C++ code (toml++): swiftc has no -sanitize=undefined on Linux.
flags=(-c release --package-path Fuzz --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
    -Xcc -fsanitize=undefined -Xcxx -fsanitize=undefined)
for target in "${targets[@]}"; do
    # One product at a time: a plain build of Fuzz/ would also build every executable of the root package.
    mkdir -p "$scratch"
    # SwiftPM 6.3 does not notice a file added to or removed from a path dependency (the root package, here)
    # and keeps building from its cached plan; without the plan it plans again (a few seconds).
    rm -f "$scratch/release.yaml" "$scratch/release/description.json"
    if ! swift build "${flags[@]}" --product "$target" >"$scratch/build-$target.log" 2>&1; then
        cat "$scratch/build-$target.log" >&2
        echo "fuzz: $target did not build" >&2
        exit 1
    fi
done

summary=()
# What CTOML allocates and cannot free is suppressed there (each named, with why); every other leak fails the run.
# Swift's own crash backtracer reads raw memory, which ASan reports in place of the real trap; libFuzzer
# prints the stack itself.
export SWIFT_BACKTRACE=enable=no
# A UBSan report stops the target like a crash, so libFuzzer keeps the input.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/scripts/ubsan.supp"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0"
for target in "${targets[@]}"; do
    # New inputs go to a working copy, so the committed corpus stays a handful of readable seeds.
    work="$scratch/corpus/$target"
    artifacts="$scratch/artifacts/$target"
    mkdir -p "$work" "$artifacts"
    cp -n Fuzz/corpus/"$target"/* "$work"/
    log="$scratch/$target.log"
    echo "fuzz: $target for ${seconds}s${FUZZ_RUNS:+ or $FUZZ_RUNS executions} (log: $log)"
    extra=()
    # Each parse leaves toml++'s emptied table, 96 B (scripts/lsan.supp), so libFuzzer's leak check after each input
    # that mallocs more than it frees would scan the heap every time: 100 inputs a second instead of 13,000.
    [ "$target" = fuzz-config ] && extra+=(-detect_leaks=0)
    # In rounds of at most a million executions (fuzz-config: 200,000), each a fresh process: TOMLKit's Swift layer
    # leaked up to 2 KB a parse and reached the 2 GB RSS limit within a million (96 B now). The corpus carries over.
    rounds=1000000
    [ "$target" = fuzz-config ] && rounds=200000
    : >"$log"
    runs=0
    status=0
    end=$((SECONDS + seconds))
    while [ "$status" -eq 0 ] && [ "$SECONDS" -lt "$end" ] && { [ -z "${FUZZ_RUNS:-}" ] || [ "$runs" -lt "$FUZZ_RUNS" ]; }; do
        round=$rounds
        [ -n "${FUZZ_RUNS:-}" ] && [ $((FUZZ_RUNS - runs)) -lt "$round" ] && round=$((FUZZ_RUNS - runs))
        "$scratch/release/$target" -runs="$round" -max_total_time=$((end - SECONDS)) -print_final_stats=1 \
            -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" "${extra[@]}" "$work" >>"$log" 2>&1 \
            || status=$?
        done_now=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        runs=$((runs + ${done_now:-0}))
    done
    summary+=("$target: $runs executions in $((seconds - (end - SECONDS)))s, exit $status")
    if [ "$status" -ne 0 ]; then
        tail -40 "$log" >&2
        echo "fuzz: $target FAILED; the input is in $artifacts/" >&2
        printf '%s\n' "${summary[@]}"
        exit 1
    fi
done
printf '%s\n' "${summary[@]}"
