// The one piece of logic in CLinux: the instant this program was loaded, taken by a constructor after the
// dynamic loader and before Swift's `main`, so a restart's log line can tell process start from our own.
#include "CLinux.h"
#include <time.h>

static uint64_t loaded_at;

__attribute__((constructor)) static void clinux_note_loaded(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    loaded_at = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint64_t clinux_loaded_monotonic_ns(void) { return loaded_at; }
