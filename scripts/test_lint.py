#!/usr/bin/env python3
# Tests of scripts/lint.sh on small trees: a formatted tree passes, a line over 120 columns and a
# wrongly indented line fail naming the file. Run by `make test` (as `make lint` does the real tree).
import pathlib
import shutil
import subprocess
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
SCRIPT = HERE / "lint.sh"
CONFIG = HERE.parent / ".swift-format"

GOOD = "// A file the formatter accepts.\nlet answer = 42\n"


class LintTests(unittest.TestCase):
    def tree(self, text: str) -> pathlib.Path:
        root = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory()))
        shutil.copy(CONFIG, root / ".swift-format")
        (root / "Sources" / "M").mkdir(parents=True)
        (root / "Sources" / "M" / "A.swift").write_text(text)
        return root

    def lint(self, root: pathlib.Path) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", SCRIPT, root], capture_output=True, text=True)

    def test_a_formatted_tree_passes(self):
        run = self.lint(self.tree(GOOD))
        self.assertEqual(run.returncode, 0, run.stderr)

    def test_a_long_line_fails(self):
        long_line = "let text = \"" + "x" * 120 + "\"\n"
        run = self.lint(self.tree(GOOD + long_line))
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("A.swift", run.stderr)
        self.assertIn("LineLength", run.stderr)

    def test_two_space_indentation_fails(self):
        run = self.lint(self.tree("// Indented by two.\nfunc f() {\n  print(1)\n}\n"))
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("Indentation", run.stderr)


if __name__ == "__main__":
    unittest.main()
