#!/usr/bin/env python3
# Checks every `import` in Sources/ and in the client package's clients/swift/Sources/ against the module
# table in docs/design.md: an edge the table's "may import" column does not name fails the check. The table
# is the one source of truth for both packages.
# Usage: scripts/check-imports.py [ROOT]   (ROOT defaults to the repository holding this script)
import pathlib
import re
import sys

# `import X`, `@testable import X`, `public import X`, `import struct X.Y`: the module is X.
IMPORT = re.compile(
    r"^\s*(?:@\w+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+"
    r"(?:(?:struct|class|enum|protocol|typealias|func|var|let)\s+)?([A-Za-z_]\w*)"
)
CELL_NAME = re.compile(r"`([^`]+)`")
# The daemon's package and the client library's (clients/swift, which the root depends on by path).
SOURCE_ROOTS = ["Sources", "clients/swift/Sources"]


def read_map(design: pathlib.Path) -> dict[str, set[str]]:
    """The table under '## Modules' whose header is `| module | ... | may import |`."""
    allowed: dict[str, set[str]] = {}
    in_table = False
    for number, line in enumerate(design.read_text().splitlines(), 1):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not in_table:
            in_table = line.startswith("|") and cells[0] == "module" and cells[-1] == "may import"
            continue
        if not line.startswith("|"):
            break
        if set(line) <= set("|-: "):
            continue
        names = CELL_NAME.findall(cells[0])
        if len(names) != 1:
            sys.exit(f"{design}:{number}: expected one `Module` in the first column, got {cells[0]!r}")
        allowed[names[0]] = set(CELL_NAME.findall(cells[-1]))
    if not allowed:
        sys.exit(f"{design}: no module table (| module | ... | may import |) found")
    return allowed


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    allowed = read_map(root / "docs" / "design.md")
    failures = []
    module_dirs = [p for sources in SOURCE_ROOTS if (root / sources).is_dir() for p in (root / sources).iterdir()]
    for module_dir in sorted(p for p in module_dirs if p.is_dir()):
        module = module_dir.name
        sources = sorted(module_dir.rglob("*.swift"))
        if not sources:
            continue  # a C target (CLinux, CSystemd, COpenSSL)
        if module not in allowed:
            failures.append(f"{module_dir.relative_to(root)}: module {module} is not in docs/design.md's module table")
            continue
        for source in sources:
            for number, line in enumerate(source.read_text().splitlines(), 1):
                match = IMPORT.match(line)
                if match and match.group(1) not in allowed[module]:
                    failures.append(
                        f"{source.relative_to(root)}:{number}: {module} → {match.group(1)} "
                        f"is not allowed by docs/design.md (may import: {', '.join(sorted(allowed[module])) or 'nothing'})"
                    )
    for failure in failures:
        print(f"check-imports: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
