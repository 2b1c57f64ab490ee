#!/usr/bin/env bash
# The formatter's verdict on the tree: `swift format lint --strict` with the committed .swift-format
# (4 spaces, lines <= 120). Usage: scripts/lint.sh [ROOT]   (ROOT defaults to the repository).
# `swift format -i -r Sources Tests Package.swift Benchmarks Fuzz clients/swift` fixes most of what it reports.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
paths=()
for path in Sources Tests Benchmarks Fuzz Package.swift clients/swift/Sources clients/swift/Package.swift; do
    [ -e "$path" ] && paths+=("$path")
done
swift format lint --strict --configuration "$root/.swift-format" -r "${paths[@]}"
