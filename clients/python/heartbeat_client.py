"""An asyncio heartbeatd client (protocol v1, docs/protocol.md), standard library only.

`HeartbeatClient.run()` connects, beats on the interval the server grants, treats a silent server as
dead and reconnects with full-jitter backoff, until `stop()` (which sends BYE) or a stop that
reconnecting cannot fix. `python3 -m heartbeat_client --help` runs it from the command line.
"""

import argparse
import asyncio
import enum
import hashlib
import hmac
import random
import re
import signal
import socket
import ssl as ssl_module
import sys
from dataclasses import dataclass
from typing import Callable, Optional

__all__ = ["HeartbeatClient", "Event", "Result", "hmac_token", "challenge_response"]

_ID = re.compile(r"[A-Za-z0-9._:@-]{1,64}")
_TOKEN = re.compile(r"[0-9A-Fa-f]{1,128}")
_SERVER_LINE = 256  # protocol: a server line is at most 256 bytes with its \n
_SEND_QUEUE_LIMIT = 2 * _SERVER_LINE  # more unsent than this: the server stopped reading a beat ago


class Result(enum.IntEnum):
    """What `run()` returns; the values are heartbeat-agent's exit statuses."""

    STOPPED = 0  # stop() was called (BYE sent if a session was up)
    REPLACED = 3  # BYE replaced while on_replaced == "stop"
    AUTH_FAILED = 77  # ERR auth-failed: the token is wrong; retrying cannot help
    REJECTED = 78  # ERR bad-hello: the same HELLO would be refused again


@dataclass(frozen=True)
class Event:
    """A state change: kind is "connecting", "connected", "disconnected", "waiting" or "stopped"."""

    kind: str
    attempt: int = 0
    interval_ms: int = 0  # the grant, for "connected"
    timeout_ms: int = 0
    delay: float = 0.0  # seconds until the next attempt, for "waiting"
    detail: str = ""  # the address for "connected", why for "disconnected" and "stopped"


def hmac_token(secret: bytes, client_id: str) -> str:
    """The token of [auth] mode = "hmac": lowercase hex HMAC-SHA256(secret, id)."""
    return hmac.new(secret, client_id.encode("ascii"), hashlib.sha256).hexdigest()


def challenge_response(device_key: str, nonce: str) -> str:
    """What AUTH carries for CHALLENGE <nonce> in [auth] mode = "challenge": lowercase hex HMAC-SHA256 keyed
    with the device key's hex text over the nonce's hex text, as sent (docs/protocol.md, test vector)."""
    return hmac.new(device_key.encode("ascii"), nonce.encode("ascii"), hashlib.sha256).hexdigest()


_NONCE = re.compile(r"[0-9a-fA-F]{32}")


class _End(Exception):
    """How a session ended: `outcome` is None to reconnect, else the Result to return."""

    def __init__(self, outcome: Optional[Result], detail: str):
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


class HeartbeatClient:
    """One client id reporting to one server. Times are in seconds, except the proposed interval.

    `ssl` is an `ssl.SSLContext` for TLS (heartbeatd has no TLS listener yet: untested against it).
    `on_replaced` is "stop" or "reconnect". `on_event` is called with each `Event`.
    Create, `run()` and `stop()` it on one event loop.
    """

    def __init__(self, host: str, port: int, client_id: str, *, interval_ms: Optional[int] = None,
                 token: Optional[str] = None, secret: Optional[bytes] = None,
                 ssl: Optional[ssl_module.SSLContext] = None, server_hostname: Optional[str] = None,
                 connect_timeout: float = 10.0, backoff_base: float = 1.0, backoff_cap: float = 60.0,
                 reset_backoff_after: float = 60.0, bye_timeout: float = 2.0, on_replaced: str = "stop",
                 expects_pongs: bool = True, on_event: Optional[Callable[[Event], None]] = None,
                 rng: Optional[random.Random] = None, challenge: bool = False):
        if not _ID.fullmatch(client_id):
            raise ValueError("the id must be 1 to 64 bytes of A-Z a-z 0-9 . _ : @ -")
        if token is None and secret is not None:
            token = hmac_token(secret, client_id)
        if token is not None and not _TOKEN.fullmatch(token):
            raise ValueError("the token must be 1 to 128 hex digits")
        if challenge and token is None:
            raise ValueError("challenge auth needs the device key (a token) or the secret")
        if interval_ms is not None and not 0 <= interval_ms <= 9_999_999_999:
            raise ValueError("the interval must be 0 to 9999999999 ms")
        if on_replaced not in ("stop", "reconnect"):
            raise ValueError('on_replaced must be "stop" or "reconnect"')
        if connect_timeout <= 0 or backoff_base < 0 or backoff_cap < backoff_base or bye_timeout < 0:
            raise ValueError("timeouts must be positive and the backoff cap at least its base")
        self.host, self.port, self.client_id = host, port, client_id
        self.interval_ms, self.token, self.ssl, self.server_hostname = interval_ms, token, ssl, server_hostname
        self.connect_timeout, self.bye_timeout = connect_timeout, bye_timeout
        self.backoff_base, self.backoff_cap, self.reset_backoff_after = backoff_base, backoff_cap, reset_backoff_after
        self.on_replaced, self.expects_pongs = on_replaced, expects_pongs
        self.on_event = on_event
        self.challenge = challenge  # the token is then the device key, kept off the wire
        self.rng = rng or random.SystemRandom()
        self._stopping: Optional[asyncio.Event] = None
        self._running = False

    def backoff_delay(self, attempt: int) -> float:
        """Full jitter: random in [0, min(cap, base * 2^attempt)) seconds."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** min(attempt, 62))
        return self.rng.random() * ceiling

    def hello(self) -> bytes:
        words = ["HELLO", self.client_id]
        if self.interval_ms:
            words.append(f"interval={self.interval_ms}")
        if self.token and not self.challenge:
            words.append(f"token={self.token}")
        return (" ".join(words) + "\n").encode("ascii")

    def stop(self) -> None:
        """Asks run() to send BYE, wait up to bye_timeout for BYE bye, and return Result.STOPPED."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        self._stopping.set()

    async def run(self) -> Result:
        """Runs until stop() or a stop that reconnecting cannot fix; see Result. Call it once."""
        if self._running:
            raise RuntimeError("run() is already running")
        self._running = True
        if self._stopping is None:
            self._stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            self._emit(Event("connecting", attempt=attempt))
            session = _Session(self)
            end = await session.run()
            if end.outcome is not None:
                self._emit(Event("stopped", detail=end.detail))
                return end.outcome
            self._emit(Event("disconnected", attempt=attempt, detail=end.detail))
            if session.up_since is not None and loop.time() - session.up_since >= self.reset_backoff_after:
                attempt = 0  # it stayed up: a new outage, not a server that drops us at once
            delay = self.backoff_delay(attempt)
            self._emit(Event("waiting", attempt=attempt, delay=delay))
            attempt += 1
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
                self._emit(Event("stopped", detail="on request"))
                return Result.STOPPED
            except asyncio.TimeoutError:
                pass

    def _emit(self, event: Event) -> None:
        if self.on_event:
            self.on_event(event)


def _set_liveness(sock, interval: float, timeout: float) -> None:
    """Kernel-side liveness scaled to the session: keepalive probes after `timeout` of silence, and
    data unacknowledged for `timeout` drops the connection. Best effort, like the options themselves."""
    if sock is None:
        return
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    seconds = lambda value: max(1, min(32767, int(value)))  # noqa: E731
    for name, value in (("TCP_KEEPIDLE", seconds(timeout)), ("TCP_KEEPINTVL", seconds(interval)),
                        ("TCP_KEEPCNT", 3), ("TCP_USER_TIMEOUT", int(timeout * 1000))):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    for level, option, value in options:
        try:
            sock.setsockopt(level, option, value)
        except OSError:
            pass


class _Session:
    """One connection from connecting to its end: HELLO sent → up → BYE sent.

    Challenge auth, when the protocol gains it, is one more step in `_on_hello_reply`:
    on `CHALLENGE <nonce>`, write `AUTH <proof>` and keep waiting for OK.
    """

    def __init__(self, client: HeartbeatClient):
        self.client = client
        self.loop = asyncio.get_running_loop()
        self.phase = "hello"
        self.up_since: Optional[float] = None
        self.interval = self.timeout = 0.0
        self.address = ""

    async def run(self) -> _End:
        client = self.client
        self.deadline = self.loop.time() + client.connect_timeout
        stop_wait = asyncio.ensure_future(client._stopping.wait())
        writer = None
        read = None
        try:
            connect = asyncio.ensure_future(asyncio.open_connection(
                client.host, client.port, ssl=client.ssl, limit=2 * _SERVER_LINE,
                server_hostname=client.server_hostname if client.ssl else None,
                happy_eyeballs_delay=0.25))
            done, _ = await asyncio.wait({connect, stop_wait}, timeout=client.connect_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            if connect not in done:
                connect.cancel()
                if stop_wait in done:
                    return _End(Result.STOPPED, "on request")
                return _End(None, f"connect to {client.host}:{client.port}: timed out")
            try:
                reader, writer = connect.result()
            except (OSError, ssl_module.SSLError) as error:
                return _End(None, f"connect to {client.host}:{client.port}: {error}")
            sock = writer.get_extra_info("socket")
            peer = writer.get_extra_info("peername")
            if peer:
                self.address = f"[{peer[0]}]:{peer[1]}" if ":" in peer[0] else f"{peer[0]}:{peer[1]}"
            _set_liveness(sock, client.connect_timeout / 3, client.connect_timeout)
            writer.write(client.hello())
            self.last_heard = self.loop.time()
            while True:
                if read is None:
                    read = asyncio.ensure_future(reader.readline())
                waiting = {read} if self.phase == "bye" else {read, stop_wait}
                left = max(0.0, self._next_wake() - self.loop.time())
                done, _ = await asyncio.wait(waiting, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                if stop_wait in done and self.phase != "bye":
                    if self.phase != "up":
                        return _End(Result.STOPPED, "on request")
                    writer.write(b"BYE\n")
                    self.phase = "bye"
                    self.deadline = self.loop.time() + client.bye_timeout
                if read in done:
                    end = self._on_read(read, writer)
                    read = None
                    if end:
                        return end
                end = self._on_timers(writer, sock)
                if end:
                    return end
        finally:
            for task in (read, stop_wait):
                if task is not None:
                    task.cancel()
            if writer is not None:
                writer.transport.abort()  # BYE, if any, has been answered or waited for already

    def _next_wake(self) -> float:
        if self.phase != "up":
            return self.deadline
        if self.client.expects_pongs:
            return min(self.next_beat, self.last_heard + self.timeout)
        return self.next_beat

    def _on_read(self, read: asyncio.Future, writer) -> Optional[_End]:
        try:
            data = read.result()
        except (ValueError, asyncio.LimitOverrunError):
            return self._end_or_stop(f"a server line over {_SERVER_LINE} bytes")
        except (OSError, ssl_module.SSLError) as error:
            return self._end_or_stop(f"read: {error}")
        if not data.endswith(b"\n"):
            return self._end_or_stop("closed by the server")
        self.last_heard = self.loop.time()
        line = data.rstrip(b"\n").rstrip(b"\r").decode("ascii", "replace")
        words = line.split()
        if not words:
            return None
        if self.phase == "hello":
            return self._on_hello_reply(words, line, writer)
        if self.phase == "bye":
            return _End(Result.STOPPED, "on request") if words[0] == "BYE" else None
        if words[0] == "ERR":
            return self._on_error(words, line)
        if words[0] == "BYE":
            if words[1:2] == ["replaced"] and self.client.on_replaced == "stop":
                return _End(Result.REPLACED, line)
            return _End(None, line)
        return None  # PONG, or a line a newer server sends: any line proves the server alive

    def _end_or_stop(self, detail: str) -> _End:
        return _End(Result.STOPPED, "on request") if self.phase == "bye" else _End(None, detail)

    def _on_hello_reply(self, words, line: str, writer) -> Optional[_End]:
        if words[0] == "OK" and len(words) >= 4 and words[1] == self.client.client_id:
            grant = {}
            for word in words[2:]:  # in any order; words a newer server adds are skipped
                key, _, value = word.partition("=")
                if key in ("interval", "timeout") and key not in grant and value.isdigit() and int(value) > 0:
                    grant[key] = int(value)
            if len(grant) == 2:
                self.interval, self.timeout = grant["interval"] / 1000, grant["timeout"] / 1000
                _set_liveness(writer.get_extra_info("socket"), self.interval, self.timeout)
                self.phase = "up"
                self.up_since = self.loop.time()
                self.next_beat = self.up_since + self.interval
                self.client._emit(Event("connected", interval_ms=grant["interval"], timeout_ms=grant["timeout"],
                                        detail=self.address))
                return None
        if words[0] == "CHALLENGE" and len(words) == 2 and self.client.challenge and _NONCE.fullmatch(words[1]):
            # Answer once and keep waiting for OK under the same deadline.
            writer.write(f"AUTH {challenge_response(self.client.token, words[1])}\n".encode("ascii"))
            return None
        if words[0] == "ERR":
            return self._on_error(words, line)
        if words[0] == "BYE":
            return _End(None, line)
        return _End(None, f"unexpected answer to HELLO: {line[:200]}")

    @staticmethod
    def _on_error(words, line: str) -> Optional[_End]:
        code = words[1] if len(words) > 1 else ""
        if code == "unknown-command":
            return None  # the session stays open: a newer client tried a newer verb
        if code == "auth-failed":
            return _End(Result.AUTH_FAILED, line)
        if code == "bad-hello":
            return _End(Result.REJECTED, line)
        return _End(None, line)  # server-full, hello-timeout, …: worth another try after a backoff

    def _on_timers(self, writer, sock) -> Optional[_End]:
        now = self.loop.time()
        if self.phase == "hello":
            if now >= self.deadline:
                return _End(None, f"no OK from {self.address} within {self.client.connect_timeout:g} s")
            return None
        if self.phase == "bye":
            return _End(Result.STOPPED, "on request") if now >= self.deadline else None
        if self.client.expects_pongs and now - self.last_heard >= self.timeout:
            return _End(None, f"server silent for {int((now - self.last_heard) * 1000)} ms")
        if now >= self.next_beat:
            # On the grant's rhythm, not "interval after the last send": no drift. After a stall,
            # beat at once and start the rhythm again from now.
            self.next_beat += self.interval
            if self.next_beat <= now:
                self.next_beat = now + self.interval
            if writer.transport.get_write_buffer_size() > _SEND_QUEUE_LIMIT:
                return _End(None, "the server is not reading (send queue full)")
            writer.write(b"PING\n")
        return None


def _read_secret(path: str) -> bytes:
    """The file's bytes without one trailing newline, as heartbeatd reads its secret."""
    with open(path, "rb") as file:
        data = file.read()
    return data[:-1] if data.endswith(b"\n") else data


def _split_server(server: str):
    host, _, port = server.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--server wants HOST:PORT or [IPv6]:PORT, got {server!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m heartbeat_client", description="Report to heartbeatd.")
    parser.add_argument("--server", required=True, help="HOST:PORT or [IPv6]:PORT")
    parser.add_argument("--id", required=True)
    parser.add_argument("--interval", type=int, help="proposed interval in ms; the server's grant is used")
    credential = parser.add_mutually_exclusive_group()
    credential.add_argument("--secret-file", help="the server's secret: the token is computed from it")
    credential.add_argument("--token-file", help="a token from `heartbeatctl token ID`")
    parser.add_argument("--challenge", action="store_true",
                        help='[auth] mode = "challenge": answer CHALLENGE with AUTH instead of sending the token')
    parser.add_argument("--answer", metavar="NONCE", help="print the AUTH line for NONCE and exit (for tests)")
    parser.add_argument("--seconds", type=float, help="stop (with BYE) after this long")
    parser.add_argument("--on-replaced", choices=("stop", "reconnect"), default="stop")
    parser.add_argument("--connect-timeout", type=int, default=10000, metavar="MS")
    parser.add_argument("--backoff-base", type=int, default=1000, metavar="MS")
    parser.add_argument("--backoff-cap", type=int, default=60000, metavar="MS")
    parser.add_argument("--tls", action="store_true", help="TLS with server verification (untested: no TLS server yet)")
    parser.add_argument("--ca-file", help="PEM CA bundle instead of the system's")
    parser.add_argument("--server-name", help="the name to verify (and send as SNI); default: the host")
    args = parser.parse_args(argv)

    def log(event: Event) -> None:
        text = {
            "connecting": f"connecting (attempt {event.attempt})",
            "connected": f"connected to {event.detail}: interval {event.interval_ms} ms, timeout {event.timeout_ms} ms",
            "disconnected": f"disconnected: {event.detail}",
            "waiting": f"reconnecting in {int(event.delay * 1000)} ms",
            "stopped": f"stopped: {event.detail}",
        }[event.kind]
        print(f"heartbeat-client: {text}", file=sys.stderr, flush=True)

    try:
        host, port = _split_server(args.server)
        context = None
        if args.tls:
            context = ssl_module.create_default_context(cafile=args.ca_file)
        client = HeartbeatClient(
            host, port, args.id, interval_ms=args.interval,
            secret=_read_secret(args.secret_file) if args.secret_file else None,
            token=_read_secret(args.token_file).decode("ascii").strip() if args.token_file else None,
            ssl=context, server_hostname=args.server_name or (host if args.tls else None),
            connect_timeout=args.connect_timeout / 1000, backoff_base=args.backoff_base / 1000,
            backoff_cap=args.backoff_cap / 1000, on_replaced=args.on_replaced, on_event=log,
            challenge=args.challenge)
        if args.answer is not None:
            if client.token is None or not _NONCE.fullmatch(args.answer):
                raise ValueError("--answer needs a 32-hex-digit nonce and --secret-file or --token-file")
            print(f"AUTH {challenge_response(client.token, args.answer)}")
            return 0
    except (ValueError, OSError, UnicodeDecodeError) as error:
        print(f"heartbeat-client: {error}", file=sys.stderr)
        return 64

    async def run() -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, client.stop)
        if args.seconds:
            loop.call_later(args.seconds, client.stop)
        return int(await client.run())

    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
