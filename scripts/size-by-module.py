#!/usr/bin/env python3
# How many bytes of an unstripped binary each module owns: sums `nm -S` symbol sizes by the module a
# Swift symbol's mangling names ($s<length><Module>...), or by a known prefix for C/C++ symbols.
# Usage: scripts/size-by-module.py .build/release/heartbeatd   (docs/benchmarks.md, "Binary size")
import collections
import re
import subprocess
import sys

SWIFT = re.compile(r"^_?\$s(\d+)([A-Za-z_]\w*)")
# Symbols that are not Swift: known libraries by prefix, everything else in one bucket.
C_PREFIXES = [
    ("_ZN4toml", "toml++ (TOMLKit's C++)"),
    ("_ZNK4toml", "toml++ (TOMLKit's C++)"),
    ("_ZN6icu_", "ICU (Foundation)"),
    ("_ZNK6icu_", "ICU (Foundation)"),
    ("_Z", "other C++ (libc++/libstdc++ templates)"),
    ("swift_", "Swift runtime"),
    ("_swift_", "Swift runtime"),
    ("sd_", "CSystemd"),
]
# Swift's standard substitutions ($sS..., $ss...) are the standard library.
STDLIB = re.compile(r"^_?\$s[sS]")


def owner(symbol: str) -> str:
    match = SWIFT.match(symbol)
    if match:
        length, rest = int(match.group(1)), match.group(2)
        return rest[:length]
    if STDLIB.match(symbol):
        return "Swift"
    for prefix, name in C_PREFIXES:
        if symbol.startswith(prefix):
            return name
    if symbol.endswith(("_74", "_72", "_73")) or "icu" in symbol.lower():
        return "ICU (Foundation)"
    return "other C / runtime"


def main() -> int:
    binary = sys.argv[1]
    listing = subprocess.run(["nm", "-S", "--size-sort", binary], capture_output=True, text=True, check=True)
    totals: collections.Counter[str] = collections.Counter()
    for line in listing.stdout.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        totals[owner(parts[3])] += int(parts[1], 16)
    everything = sum(totals.values())
    print(f"{'module':40} {'KiB':>9} {'share':>6}")
    for name, size in totals.most_common():
        if size * 1000 < everything:
            continue
        print(f"{name:40} {size / 1024:9.0f} {100 * size / everything:5.1f}%")
    rest = sum(size for size in totals.values() if size * 1000 < everything)
    print(f"{'(each < 0.1 %)':40} {rest / 1024:9.0f} {100 * rest / everything:5.1f}%")
    print(f"{'symbols total':40} {everything / 1024:9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
