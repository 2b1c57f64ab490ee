"""The chaos conditions, one function each: build a scene, degrade the link, check, measure. Every wait
is a poll with a deadline; every scene is torn down even when a check fails.
"""

import time

from actors import eventually
from relay import Impairment


def _alive(run, name, impairment):
    """Loss or delay with the interval well under the timeout: TCP's retransmissions carry the beats,
    so a reap is allowed only where the server really heard nothing new for a whole timeout."""
    scene = run.scene(name)
    try:
        before = dict(run.link.counts)
        start = time.monotonic()
        run.link.set(impairment)
        time.sleep(run.profile["window"])
        run.link.set(Impairment())
        time.sleep(0.5)
        events = scene.reaps(start)
        # eof, replaced: a Python client gave up on the server itself (no PONG within its timeout), closed,
        # and maybe came back. reset ETIMEDOUT: the kernel's TCP_USER_TIMEOUT, checked below.
        left = [e for e in events if e.get("reason") in ("eof", "bye", "replaced")]
        kernel = [e for e in events if (e.get("reason"), e.get("error")) == ("reset", "ETIMEDOUT")]
        others = [(e["client.id"], e.get("reason"), e.get("error")) for e in events
                  if e not in left and e not in kernel and e.get("reason") != "timeout"]
        run.check(f"{name}: the server ended no session except by a timeout or TCP_USER_TIMEOUT", not others, others)
        scene.judge_timeouts(events, "live")
        unacked = [round(e["at"] - (run.link.last_acked(e["port"], e["at"]) or e["at"]), 2) for e in kernel]
        run.check(f"{name}: TCP_USER_TIMEOUT ({scene.user_timeout:g} s) only where the server's data really went "
                  f"unacknowledged that long", all(u >= scene.user_timeout - 0.05 for u in unacked), unacked)
        if kernel:
            run.measure(name, f"{len(kernel)} sessions ended by TCP_USER_TIMEOUT after {unacked} s without an ACK")
        if left:
            run.measure(name, f"{len(left)} Python clients gave up on the server themselves and closed (eof); "
                              f"they saw: {scene.client_saw(start)}")
        dropped = run.link.counts["dropped"] - before["dropped"]
        passed = run.link.counts["passed"] - before["passed"]
        run.measure(name, f"{run.profile['window']} s window, {len(events)} of {scene.expected} sessions reaped; "
                          f"relay passed {passed} packets, dropped {dropped}; timeout {scene.timeout:g} s")
    finally:
        scene.close()


def loss(run):
    _alive(run, "loss", Impairment(loss=0.3))


def delay(run):
    _alive(run, "delay", Impairment(delay=run.profile["delay"], reorder=0.2))


def _all_gone(run, scene, start, within):
    """Waits until every session of the scene has ended after `start`; returns those ends."""
    eventually(lambda: len(scene.reaps(start)) >= scene.expected, within)
    events = scene.reaps(start)
    run.check(f"{scene.name}: all {scene.expected} dead sessions reaped", len(events) >= scene.expected,
              f"{len(events)} reaped within {within:g} s")
    return events


def blackhole(run):
    # user_timeout above the heartbeat timeout, so it never races the timer, and short enough to
    # watch the orphans that reaping leaves behind drain within the run.
    orphan_limit = run.profile["user_timeout"] + 3
    scene = run.scene("blackhole", tcp={"user_timeout": f'"{orphan_limit}s"'})
    try:
        start = time.monotonic()
        run.link.set(Impairment(blackhole=True))
        events = _all_gone(run, scene, start, scene.timeout + 5)
        reasons = sorted({e.get("reason") for e in events})
        run.check("blackhole: every reap says reason=timeout", reasons == ["timeout"], reasons)
        scene.judge_timeouts(events, "dead")
        spent = [e["at"] - start for e in events]
        if spent:
            run.measure("blackhole", f"blackhole to reap {min(spent):.2f}..{max(spent):.2f} s "
                                     f"(timeout {scene.timeout:g} s, interval {run.profile['interval_ms']} ms)")
        # What reaping a dead peer leaves in the kernel: the BYE and FIN it will never acknowledge.
        reaped = max(e["at"] for e in events) if events else start
        run.measure("blackhole", f"after the reaps: {run.sockets('fin-wait-1')} sockets in FIN-WAIT-1, "
                                 f"{run.sockets('time-wait')} in TIME-WAIT, {run.sockets('close-wait')} in CLOSE-WAIT")
        drained = eventually(lambda: run.sockets("fin-wait-1") == 0, orphan_limit + 3, step=0.2)
        run.check(f"blackhole: the orphaned FIN-WAIT-1 sockets go by user_timeout ({orphan_limit} s)", drained,
                  f"{run.sockets('fin-wait-1')} left")
        run.measure("blackhole", f"FIN-WAIT-1 orphans gone {time.monotonic() - reaped:.1f} s after the last reap "
                                 f"(user_timeout {orphan_limit} s)")
    finally:
        scene.close()


def link_down(run):
    """The clients' link goes down for longer than the timeout, then comes back."""
    down = run.profile["link_down"]
    scene = run.scene("link-down")
    try:
        start = time.monotonic()
        run.lab.link(False)
        try:
            eventually(lambda: len(scene.reaps(start)) >= scene.expected, down)
            time.sleep(max(0.0, start + down - time.monotonic()))  # the whole outage, reaped or not
        finally:
            run.lab.link(True)
        back = time.monotonic()
        events = scene.reaps(start)[:scene.expected]
        run.check(f"link-down: all {scene.expected} sessions reaped while the link was down {down} s",
                  len(events) >= scene.expected, f"{len(events)} reaped")
        scene.judge_timeouts(events, "cut-off")
        ids = {f"{scene.name}-py{k}" for k in range(len(scene.observers))}
        returned = eventually(lambda: ids <= set(scene.daemon.online(back)), 20)
        run.check("link-down: the Python clients are online again after the link comes back", returned,
                  f"online: {sorted(scene.daemon.online(back))}")
        if returned:
            times = [e["at"] - back for e in scene.daemon.events(back) if e["event"] == "online"]
            run.measure("link-down", f"link down {down} s; Python clients online again {max(times):.2f} s after "
                                     f"link up; they saw: {scene.client_saw(start)}")
    finally:
        run.lab.link(True)
        scene.close()


def nat_reset(run):
    """The NAT forgets every flow: the server hears silence, the clients get RST on their next beat.
    The bench clients do not reconnect (their old sessions time out); the Python clients do, and
    their new HELLO replaces the old session before it would time out."""
    scene = run.scene("nat-reset")
    try:
        start = time.monotonic()
        run.link.forget()
        events = _all_gone(run, scene, start, scene.timeout + 5)
        scene.judge_timeouts(events, "forgotten")
        replaced = [e for e in events if e.get("reason") == "replaced"]
        run.check(f"nat-reset: the {len(scene.observers)} reconnecting clients replaced their old sessions",
                  len(replaced) == len(scene.observers), [(e["client.id"], e.get("reason")) for e in events][:8])
        if replaced:
            spent = [e["at"] - start for e in replaced]
            run.measure("nat-reset", f"old session replaced {min(spent):.2f}..{max(spent):.2f} s after the NAT "
                                     f"forgot it (timeout {scene.timeout:g} s); "
                                     f"the clients saw: {scene.client_saw(start)}")
    finally:
        scene.close()


def one_way(run):
    """Server->client packets vanish, client->server pass: the server's PONGs stay unacknowledged,
    so TCP_USER_TIMEOUT (shorter than the heartbeat timeout here) drops the connection."""
    user_timeout = run.profile["user_timeout"]
    scene = run.scene("one-way", tcp={"user_timeout": f'"{user_timeout}s"'})
    try:
        start = time.monotonic()
        run.link.set(Impairment(drop_to_client=True))
        events = _all_gone(run, scene, start, scene.timeout + 10)
        kernel = [e for e in events if e.get("reason") == "reset" and e.get("error") == "ETIMEDOUT"]
        run.check("one-way: TCP_USER_TIMEOUT ends every session (reason=reset error=ETIMEDOUT)",
                  len(kernel) == len(events), sorted({(e.get("reason"), e.get("error")) for e in events}))
        unacked = [round(e["at"] - (run.link.last_acked(e["port"], e["at"]) or e["at"]), 2) for e in kernel]
        run.check("one-way: only after the server's data went unacknowledged for user_timeout",
                  all(u >= user_timeout - 0.05 for u in unacked), unacked)
        bound = user_timeout + run.profile["interval_ms"] / 1000 + 1.0
        spent = [e["at"] - start for e in events]
        run.check(f"one-way: within user_timeout + interval + 1 s ({bound:g} s)", max(spent, default=0) <= bound,
                  f"{max(spent, default=0):.2f} s")
        run.measure("one-way", f"user_timeout {user_timeout} s, heartbeat timeout {scene.timeout:g} s: reaped "
                               f"{min(spent, default=0):.2f}..{max(spent, default=0):.2f} s "
                               f"after the return path died, "
                               f"reasons {sorted({(e.get('reason'), e.get('error')) for e in events})}")
    finally:
        scene.close()


def keepalive(run):
    """Clients that beat once a minute (timeout minutes away); keepalive probes after 1 s of silence,
    1 s apart, 2 unanswered: the kernel finds the blackholed peer long before the heartbeat timer."""
    idle, interval, count = 1, 1, 2
    tcp = {"keepalive_idle": f'"{idle}s"', "keepalive_interval": f'"{interval}s"', "keepalive_count": count,
           "user_timeout": '"0s"'}
    scene = run.scene("keepalive", interval_ms=60000, tcp=tcp)
    try:
        quiet = time.monotonic()
        time.sleep(idle + interval * count + 1)
        run.check("keepalive: answered probes keep idle clients online", not scene.reaps(quiet),
                  [(e["client.id"], e.get("reason")) for e in scene.reaps(quiet)])
        start = time.monotonic()
        run.link.set(Impairment(blackhole=True))
        events = _all_gone(run, scene, start, idle + interval * count + 5)
        kinds = sorted({(e.get("reason"), e.get("error")) for e in events})
        run.check("keepalive: every reap is reason=reset error=ETIMEDOUT", kinds == [("reset", "ETIMEDOUT")], kinds)
        bound = idle + interval * count + 1.0
        spent = [e["at"] - start for e in events]
        run.check(f"keepalive: within idle + interval x count + 1 s ({bound:g} s)", max(spent, default=0) <= bound,
                  f"{max(spent, default=0):.2f} s")
        run.measure("keepalive", f"idle {idle} s, interval {interval} s, count {count}, heartbeat timeout "
                                 f"{scene.timeout:g} s: reaped "
                                 f"{min(spent, default=0):.2f}..{max(spent, default=0):.2f} s "
                                 f"after the blackhole")
    finally:
        scene.close()


def unreachable(run):
    """As one-way, but a router answers each of the server's packets with ICMP host unreachable. TCP
    keeps that as a soft error (only for a segment in flight: ICMP about a keepalive probe, whose
    sequence number lies before snd_una, is ignored) and reports it instead of ETIMEDOUT when
    TCP_USER_TIMEOUT gives up: reason=reset error=EHOSTUNREACH."""
    user_timeout = run.profile["user_timeout"]
    scene = run.scene("unreachable", tcp={"user_timeout": f'"{user_timeout}s"'})
    try:
        start = time.monotonic()
        run.link.set(Impairment(unreachable=True))
        events = _all_gone(run, scene, start, scene.timeout + 10)
        kinds = sorted({(e.get("reason"), e.get("error")) for e in events})
        run.check("unreachable: every reap is reason=reset error=EHOSTUNREACH", kinds == [("reset", "EHOSTUNREACH")],
                  kinds)
        spent = [e["at"] - start for e in events]
        run.measure("unreachable", f"user_timeout {user_timeout} s: reaped {min(spent, default=0):.2f}.."
                                   f"{max(spent, default=0):.2f} s after the first ICMP, reasons {kinds}")
    finally:
        scene.close()


CONDITIONS = {"loss": loss, "delay": delay, "blackhole": blackhole, "link-down": link_down,
              "nat-reset": nat_reset, "one-way": one_way, "keepalive": keepalive,
              "unreachable": unreachable}
