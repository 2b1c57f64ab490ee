// libFuzzer's driver, called from a fuzz target's own main: SwiftPM links every executable with its module's
// main (it renames it for testing), so libFuzzer's main is never the one that runs.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer on argv (its flags, corpus folders, crash files) with `test_one_input`; exits with its status.
_Noreturn void libfuzzer_run(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size));
