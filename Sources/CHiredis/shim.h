// hiredis (Debian's libhiredis-dev, 0.14): the blocking API for heartbeatctl and tests, the
// asynchronous one (driven by heartbeatd's own epoll loop through ac->ev's hooks) for the daemon.
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
