// libfuzzer_run: hands argc/argv to LLVMFuzzerRunDriver (libFuzzer's documented entry for a program with its
// own main; linked in by -sanitize=fuzzer) and exits with what it returns.
#include "CLibFuzzer.h"
#include <stdlib.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test_one_input)(const uint8_t *data, size_t size));

void libfuzzer_run(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size)) {
    exit(LLVMFuzzerRunDriver(&argc, &argv, test_one_input));
}
