#!/usr/bin/env python3
# Tests of scripts/check-imports.py on small trees in a temporary directory: a tree that keeps the
# map passes, and each kind of violation fails naming the file and the edge. Run by `make test`.
import pathlib
import subprocess
import sys
import tempfile
import unittest

SCRIPT = pathlib.Path(__file__).resolve().parent / "check-imports.py"

DESIGN = """# design
## Modules

| module | what it is | may import |
|---|---|---|
| `Pure` | pure | nothing |
| `Core` | the core | `Pure`, `Synchronization` |
| `app` | executable | `Core`, `Pure`, `Foundation` |

## Next section
"""


class CheckImportsTests(unittest.TestCase):
    def tree(self, files: dict[str, str]) -> pathlib.Path:
        root = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory()))
        (root / "docs").mkdir()
        (root / "docs" / "design.md").write_text(DESIGN)
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        return root

    def check(self, root: pathlib.Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, SCRIPT, root], capture_output=True, text=True)

    def test_the_client_package_sources_are_checked_too(self):
        root = self.tree({
            "Sources/Core/A.swift": "// core\nimport Pure\n",
            "clients/swift/Sources/Pure/B.swift": "// pure, but not\nimport Foundation\n",
        })
        result = self.check(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn("clients/swift/Sources/Pure/B.swift:2: Pure → Foundation", result.stderr)

    def test_a_tree_that_keeps_the_map_passes(self):
        root = self.tree({
            "Sources/Pure/A.swift": "// pure\nlet a = 1\n",
            "Sources/Core/B.swift": "import Pure\n@preconcurrency import Synchronization\n",
            "Sources/app/main.swift": "import Core\nimport struct Foundation.Data\n",
            "Sources/CShim/include/shim.h": "int f(void);\n",
        })
        result = self.check(root)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_an_edge_the_map_does_not_allow_fails_naming_file_and_edge(self):
        root = self.tree({
            "Sources/Pure/A.swift": "let a = 1\n",
            "Sources/Core/B.swift": "import Pure\n\n@testable import Foundation\n",
        })
        result = self.check(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn("Sources/Core/B.swift:3: Core → Foundation is not allowed", result.stderr)

    def test_a_pure_module_may_import_nothing(self):
        root = self.tree({"Sources/Pure/A.swift": "public import Glibc\n"})
        result = self.check(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn("Pure → Glibc", result.stderr)
        self.assertIn("may import: nothing", result.stderr)

    def test_a_module_missing_from_the_map_fails(self):
        root = self.tree({"Sources/Stray/A.swift": "let a = 1\n"})
        result = self.check(root)
        self.assertEqual(result.returncode, 1)
        self.assertIn("module Stray is not in docs/design.md's module table", result.stderr)

    def test_the_repository_itself_keeps_its_map(self):
        result = self.check(SCRIPT.parent.parent)
        self.assertEqual(result.returncode, 0, result.stderr)


if __name__ == "__main__":
    unittest.main()
