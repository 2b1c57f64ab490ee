"""The lossy link: moves IPv4 packets between the server's TUN and the clients' TUN, doing netem's job
in user space (this kernel has no netem and its nftables rules never match). It also watches every
client->server TCP flow and records when new payload bytes last reached the server, which is what
tells a justified reap (the server really heard nothing for a timeout) from a false one.

Python keeps up: the chaos runs carry a few hundred small packets a second at most.
"""

import errno
import heapq
import os
import random
import select
import struct
import threading
import time
from dataclasses import dataclass

SERVER, CLIENT = "server", "client"  # the side a packet is written to
TCP = 6


@dataclass(frozen=True)
class Impairment:
    """What the link does now. Loss applies to each direction separately; `reorder` is the share of
    packets held back a further 0..`reorder_spread` seconds, so later ones overtake them."""

    loss: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    reorder_spread: float = 0.3
    blackhole: bool = False  # drop everything, both ways, silently
    drop_to_client: bool = False  # one-way: server->client packets vanish, client->server pass
    unreachable: bool = False  # server->client packets are answered by ICMP host unreachable, as a router would
    nat_forgot: frozenset = frozenset()  # client ports whose NAT mapping was forgotten (see `forget`)


class Flow:
    """Client->server bytes of one connection: the contiguous delivered frontier (relative to the ISN)
    and when it last moved. Out-of-order pieces wait in `pending` until the hole before them fills."""

    def __init__(self, isn, now):
        self.isn = isn
        self.frontier = 1  # the SYN takes one sequence number
        self.pending = []
        self.advances = [now]  # when the frontier moved: one entry per beat, a few hundred per run
        self.ack = None  # the highest acknowledgment of server data that reached the server
        self.acked = [now]  # when it moved: what TCP_USER_TIMEOUT measures from

    def deliver(self, seq, length, now):
        start = (seq - self.isn) % 2**32
        if start > 2**31:  # far behind (a keepalive probe's seq - 1): nothing new
            return
        self.pending.append((start, start + length))
        self.pending.sort()
        moved = False
        while self.pending and self.pending[0][0] <= self.frontier:
            _, end = self.pending.pop(0)
            if end > self.frontier:
                self.frontier = end
                moved = True
        if moved:
            self.advances.append(now)

    def heard_before(self, instant):
        return max((t for t in self.advances if t <= instant), default=None)

    def acknowledge(self, ack, now):
        if self.ack is None or 0 < (ack - self.ack) % 2**32 < 2**31:
            if self.ack is not None:
                self.acked.append(now)
            self.ack = ack

    def acked_before(self, instant):
        return max((t for t in self.acked if t <= instant), default=None)


class Link:
    """Runs on its own thread; `impairment` may be swapped at any time from another thread."""

    NAT_SHIFT = 20000  # a forgotten flow's packets reappear from client port p + NAT_SHIFT (mod 2^16)

    def __init__(self, server_tun, client_tun, seed=12):
        self.fds = {SERVER: server_tun, CLIENT: client_tun}
        self.impairment = Impairment()
        self.random = random.Random(seed)
        self.flows = {}  # client port -> Flow (the latest connection from that port)
        self.lock = threading.Lock()
        self.counts = {"passed": 0, "dropped": 0, "write_failed": 0}
        self.queue = []  # (due, order, side, packet)
        self.order = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True, name="relay")

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=2)

    def set(self, impairment):
        self.impairment = impairment

    def forget(self):
        """A NAT that forgets every current mapping: the clients' next packets of those flows get a
        new public port, so the server sees segments of a connection it does not know (and answers
        RST, which the NAT carries back to the client); the server's packets to the old port find no
        mapping and vanish. New connections after this get mappings of their own and pass."""
        with self.lock:
            ports = frozenset(self.flows)
        self.impairment = Impairment(nat_forgot=ports)

    def last_heard(self, port, before):
        """When new client bytes from `port` last reached the server before the instant `before`
        (bytes a client retransmits after its session was reaped do not count), or None."""
        with self.lock:
            flow = self.flows.get(port)
            return flow.heard_before(before) if flow else None

    def last_acked(self, port, before):
        """When an acknowledgment of new server data from `port` last reached the server before `before`."""
        with self.lock:
            flow = self.flows.get(port)
            return flow.acked_before(before) if flow else None

    def _run(self):
        poller = select.poll()
        for fd in self.fds.values():
            poller.register(fd, select.POLLIN)
        side_of = {self.fds[SERVER]: CLIENT, self.fds[CLIENT]: SERVER}  # read from one, write to the other
        while not self.stopping:
            now = time.monotonic()
            while self.queue and self.queue[0][0] <= now:
                _, _, side, packet = heapq.heappop(self.queue)
                self._write(side, packet, now)
            wait = 100 if not self.queue else max(0, int((self.queue[0][0] - now) * 1000) + 1)
            for fd, _ in poller.poll(min(wait, 100)):
                for _ in range(64):  # bounded: the other side gets its turn
                    try:
                        packet = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    except OSError:  # the TUN is down
                        break
                    self._route(side_of[fd], packet, time.monotonic())

    def _route(self, side, packet, now):
        imp = self.impairment
        if side == CLIENT and imp.unreachable:
            self.counts["dropped"] += 1
            self._write(SERVER, _host_unreachable(packet), now)
            return
        if imp.blackhole or (side == CLIENT and imp.drop_to_client):
            self.counts["dropped"] += 1
            return
        if imp.nat_forgot:
            packet = self._translate(side, packet, imp.nat_forgot)
            if packet is None:
                self.counts["dropped"] += 1
                return
        if imp.loss and self.random.random() < imp.loss:
            self.counts["dropped"] += 1
            return
        due = now + imp.delay
        if imp.reorder and self.random.random() < imp.reorder:
            due += self.random.uniform(0, imp.reorder_spread)
        if due <= now:
            self._write(side, packet, now)
            return
        self.order += 1
        heapq.heappush(self.queue, (due, self.order, side, packet))

    def _write(self, side, packet, now):
        try:
            os.write(self.fds[side], packet)
        except OSError as error:  # EIO while that side's TUN is down: the packet is lost
            if error.errno not in (errno.EIO, errno.EAGAIN, errno.EINVAL):
                raise
            self.counts["write_failed"] += 1
            return
        self.counts["passed"] += 1
        if side == SERVER:
            self._observe(packet, now)

    def _observe(self, packet, now):
        tcp = _tcp(packet)
        if tcp is None:
            return
        header, offset = tcp
        sport, _, seq, ack, data_offset, flags = struct.unpack_from("!HHIIBB", packet, offset)
        payload = len(packet) - offset - (data_offset >> 4) * 4
        with self.lock:
            if flags & 0x02:  # SYN: a new connection from this port
                self.flows[sport] = Flow(seq, now)
                return
            flow = self.flows.get(sport)
            if flow is None:
                return
            if payload > 0:
                flow.deliver(seq, payload, now)
            if flags & 0x10:
                flow.acknowledge(ack, now)

    def _translate(self, side, packet, forgotten):
        """NAT rewriting after `forget`: client->server packets of forgotten flows leave from the new
        port; server->client packets to the new port go back to the client's real port; packets to
        a forgotten old port are dropped (the mapping is gone)."""
        tcp = _tcp(packet)
        if tcp is None:
            return packet
        _, offset = tcp
        sport, dport = struct.unpack_from("!HH", packet, offset)
        if side == SERVER and sport in forgotten:
            return _with_port(packet, offset, 0, (sport + self.NAT_SHIFT) % 65536)
        if side == CLIENT:
            if dport in forgotten:
                return None
            original = (dport - self.NAT_SHIFT) % 65536
            if original in forgotten:
                return _with_port(packet, offset, 2, original)
        return packet


def _tcp(packet):
    """(IPv4 header length, TCP offset) for an unfragmented IPv4 TCP packet, else None."""
    if len(packet) < 40 or packet[0] >> 4 != 4 or packet[9] != TCP:
        return None
    header = (packet[0] & 0x0F) * 4
    return header, header


def _host_unreachable(packet):
    """ICMP destination unreachable, code 1 (host), about `packet`, from its destination back to its source."""
    quoted = packet[:(packet[0] & 0x0F) * 4 + 8]
    icmp = bytearray(struct.pack("!BBHI", 3, 1, 0, 0) + quoted)
    struct.pack_into("!H", icmp, 2, _checksum(bytes(icmp)))
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0,
                                   packet[16:20], packet[12:16]))
    struct.pack_into("!H", header, 10, _checksum(bytes(header)))
    return bytes(header + icmp)


def _with_port(packet, offset, at, port):
    """The packet with the TCP port at `offset + at` replaced and the TCP checksum computed again."""
    data = bytearray(packet)
    struct.pack_into("!H", data, offset + at, port)
    struct.pack_into("!H", data, offset + 16, 0)
    segment = bytes(data[offset:])
    pseudo = bytes(data[12:20]) + struct.pack("!BBH", 0, TCP, len(segment))
    struct.pack_into("!H", data, offset + 16, _checksum(pseudo + segment))
    return bytes(data)


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
