"""The processes a chaos condition runs: the daemon in the server namespace and the clients in the
clients' namespace, each with its stderr collected line by line and stamped with time.monotonic(),
the same clock the relay stamps packets with.
"""

import re
import signal
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON_CLIENT = ROOT / "clients" / "python" / "heartbeat_client.py"
FIELD = re.compile(r'([a-z_.]+)=("[^"]*"|\S+)')


def eventually(condition, within, step=0.05):
    """Polls `condition` until it returns something true or `within` seconds pass; returns its last value."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


class Process:
    """A child whose stderr lines are kept as (arrival time, text)."""

    def __init__(self, argv):
        self.lines = []
        self.lock = threading.Lock()
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        for raw in self.process.stderr:
            stamp = time.monotonic()
            with self.lock:
                self.lines.append((stamp, raw.decode("utf-8", "replace").rstrip("\n")))

    def snapshot(self, since=0.0):
        with self.lock:
            return [(stamp, text) for stamp, text in self.lines if stamp >= since]

    def stop(self, grace=3.0):
        """SIGTERM, then SIGKILL after `grace` seconds: only this child, by its own pid."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


class Daemon(Process):
    """heartbeatd with a generated configuration; `events` parses its session lines."""

    def __init__(self, bin_dir, prefix, workdir, port, tcp, interval_ms, factor, tick_ms=100):
        config = Path(workdir) / f"heartbeatd-{port}.toml"
        tcp_lines = "".join(f'{key} = {value}\n' for key, value in tcp.items())
        config.write_text(
            f'workers = 1\ndrain_timeout = "0s"\n'
            f'[heartbeat]\ninterval = "{interval_ms}ms"\ninterval_min = "100ms"\n'
            f'timeout_factor = {factor}\ntick = "{tick_ms}ms"\n'
            f'[tcp]\n{tcp_lines}'
            f'[control]\nsocket = "{workdir}/control-{port}.sock"\n')
        self.timeout = interval_ms * factor / 1000
        self.tick = tick_ms / 1000
        super().__init__(prefix + [str(Path(bin_dir) / "heartbeatd"), "--config", str(config),
                                   "--listen", f"192.0.2.1:{port}"])

    def events(self, since=0.0):
        """Session lines as dicts of their fields plus `at` (arrival time) and `port` (the peer's)."""
        found = []
        for stamp, text in self.snapshot(since):
            fields = {key: value.strip('"') for key, value in FIELD.findall(text)}
            if "event" not in fields or "peer" not in fields:
                continue
            fields["at"] = stamp
            fields["port"] = int(fields["peer"].rsplit(":", 1)[1])
            found.append(fields)
        return found

    def online(self, since=0.0):
        """Ids online now, by the log: online minus offline/replaced/closed."""
        ids = {}
        for event in self.events(since):
            if "client.id" not in event:
                continue
            if event["event"] == "online":
                ids[event["client.id"]] = event["port"]
            elif ids.get(event["client.id"]) == event["port"]:
                del ids[event["client.id"]]
        return ids


def bench(bin_dir, prefix, port, count, interval_ms, tag):
    """`heartbeat-bench hold`: `count` clients in one process that beat and never reconnect."""
    return Process(prefix + [str(Path(bin_dir) / "heartbeat-bench"), "hold", "--server", f"192.0.2.1:{port}",
                             "--sources", "0", "-n", str(count), "-i", f"{interval_ms}ms", "-d", "3600s",
                             "--id-prefix", tag, "--ramp-timeout", "30s"])


def python_client(prefix, port, client_id, interval_ms):
    """The Python client library's CLI: reconnects with full-jitter backoff; logs what it saw."""
    return Process(prefix + ["python3", str(PYTHON_CLIENT), "--server", f"192.0.2.1:{port}", "--id", client_id,
                             "--interval", str(interval_ms), "--on-replaced", "reconnect",
                             "--connect-timeout", "2000", "--backoff-base", "200", "--backoff-cap", "1000"])
