// The parts of libsystemd heartbeatd uses at its systemd edge.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <stdlib.h>
