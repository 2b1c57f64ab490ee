"""Two network namespaces joined only through the relay: the daemon's (192.0.2.1) and the clients'
(192.0.2.2), each with a TUN device whose point-to-point peer is the other side. 192.0.2.0/24 is
TEST-NET-1: nothing here can reach a real network. Names are unique per run; `close` deletes both
namespaces (and with them the TUN devices) whatever happened before.
"""

import ctypes
import fcntl
import os
import struct
import subprocess

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
DEVICE = "hbchaos0"
SERVER_ADDRESS, CLIENT_ADDRESS = "192.0.2.1", "192.0.2.2"


class LabError(Exception):
    pass


def _ip(*args, namespace=None):
    argv = ["ip"] + (["netns", "exec", namespace, "ip"] if namespace else []) + list(args)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {done.stderr.strip()}")


class Lab:
    def __init__(self, tag):
        self.server_ns = f"hbchaos-{tag}-srv"
        self.client_ns = f"hbchaos-{tag}-cli"
        self.created = []
        self.fds = []

    def open(self):
        """Creates both namespaces and their TUN devices; returns (server TUN fd, client TUN fd)."""
        for name, mine, peer in ((self.server_ns, SERVER_ADDRESS, CLIENT_ADDRESS),
                                 (self.client_ns, CLIENT_ADDRESS, SERVER_ADDRESS)):
            _ip("netns", "add", name)
            self.created.append(name)
            _ip("link", "set", "lo", "up", namespace=name)
            _ip("tuntap", "add", "dev", DEVICE, "mode", "tun", namespace=name)
            # A peer address: its route belongs to the address, so it comes back after link down/up.
            _ip("addr", "add", mine, "peer", peer, "dev", DEVICE, namespace=name)
            _ip("link", "set", DEVICE, "up", namespace=name)
        self.fds = [self._attach(self.server_ns), self._attach(self.client_ns)]
        return tuple(self.fds)

    def _attach(self, namespace):
        """Opens the namespace's TUN device from this thread, inside that namespace, then returns."""
        libc = ctypes.CDLL(None, use_errno=True)
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise LabError(f"setns({namespace}): {os.strerror(ctypes.get_errno())}")
            try:
                fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
                fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", DEVICE.encode(), IFF_TUN | IFF_NO_PI))
            finally:
                if libc.setns(home, CLONE_NEWNET) != 0:
                    raise LabError(f"setns(back): {os.strerror(ctypes.get_errno())}")
            return fd
        finally:
            os.close(target)
            os.close(home)

    def link(self, up):
        """The clients' side of the link goes down or up (`ip link set ... down` on their TUN)."""
        _ip("link", "set", DEVICE, "up" if up else "down", namespace=self.client_ns)

    def run_in(self, namespace):
        """argv prefix that runs a command in `namespace`."""
        return ["ip", "netns", "exec", namespace]

    def close(self):
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        problems = []
        for name in reversed(self.created):
            try:
                _ip("netns", "delete", name)
            except (LabError, subprocess.TimeoutExpired) as error:
                problems.append(str(error))
        self.created = []
        return problems
