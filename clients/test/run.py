#!/usr/bin/env python3
"""Tests the C and Python clients against the real heartbeatd over loopback: online with the granted
interval, no reap over three timeouts, silence detection (SIGSTOP) and reconnect (SIGCONT), the
BYE replaced policy, HMAC tokens, challenge auth (with docs/protocol.md's test vector), BYE on exit. Prints one line per check, then `N passed, M failed`.

Usage: python3 clients/test/run.py [--bin DIR]   (DIR holds heartbeatd and heartbeatctl; .build/debug)
"""

import argparse
import concurrent.futures
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"correct horse battery staple"
# Clients propose 5000 ms; the server allows at most 1 s, so it grants 1000 ms with a 3000 ms timeout.
# A client that beat on its proposal would be reaped after 3 s.
PROPOSED, GRANTED, TIMEOUT = 5000, 1000, 3000
FAST = ["--interval", str(PROPOSED), "--connect-timeout", "1500", "--backoff-base", "200", "--backoff-cap", "1000"]

processes = []  # every process this driver started, ended in `cleanup`
results = []
results_lock = threading.Lock()


def record(name, ok, detail=""):
    with results_lock:
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}", flush=True)


def eventually(condition, within):
    """Polls `condition` until it returns something true or `within` seconds pass; returns its last value."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(0.05)


class Lines:
    """A child process whose stderr is collected line by line on a thread."""

    def __init__(self, argv, **kwargs):
        self.lines = []
        self.lock = threading.Lock()
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
        processes.append(self.process)
        self.collector = threading.Thread(target=self._collect, daemon=True)
        self.collector.start()

    def _collect(self):
        for raw in self.process.stderr:
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def find(self, pattern, start=0):
        """The index of the first line from `start` on that matches `pattern` (a regex), or None."""
        for index, line in enumerate(self.snapshot()[start:], start):
            if re.search(pattern, line):
                return index
        return None

    def wait_for(self, pattern, within, start=0):
        """Like `find`, waiting up to `within` seconds for such a line."""
        found = eventually(lambda: [index for index in [self.find(pattern, start)] if index is not None], within)
        return found[0] if found else None

    def has(self, pattern):
        return self.find(pattern) is not None

    def wait_exit(self, within):
        """The exit status, once every line it wrote has been collected; None if it still runs."""
        try:
            status = self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            return None
        self.collector.join(timeout=2)
        return status

    def stop(self, within=5):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait_exit(within)


class Daemon(Lines):
    def __init__(self, bin_dir, work, name, auth=None):
        directory = Path(tempfile.mkdtemp(prefix=name + "-", dir=work))
        self.bin_dir, self.socket = bin_dir, directory / "control.sock"
        config = f'[heartbeat]\ninterval = "1s"\ninterval_max = "1s"\n\n[control]\nsocket = "{self.socket}"\n'
        if auth:
            secret = directory / "secret"
            secret.write_bytes(SECRET + b"\n")
            secret.chmod(0o600)
            config += f'\n[auth]\nmode = "{auth}"\nsecret_file = "{secret}"\n'
        (directory / "heartbeatd.toml").write_text(config)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTEN_", "NOTIFY_", "WATCHDOG_"))}
        super().__init__([str(bin_dir / "heartbeatd"), "--config", str(directory / "heartbeatd.toml"),
                          "--listen", "127.0.0.1:0"], env=env)
        started = r"started: listening on 127\.0\.0\.1:\d+"
        eventually(lambda: self.find(started) is not None or self.process.poll() is not None, 10)
        index = self.find(started)
        if index is None:
            raise RuntimeError(f"heartbeatd did not start: {self.snapshot()}")
        self.port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", self.snapshot()[index]).group(1))

    def clients(self):
        """heartbeatctl clients --json, as {id: record}."""
        run = subprocess.run([str(self.bin_dir / "heartbeatctl"), "clients", "--socket", str(self.socket), "--json"],
                             capture_output=True, text=True, timeout=10)
        records = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
        return {r["id"]: r for r in records if "id" in r}

    def online(self, client_id, start=0):
        return self.find(rf"client online client\.id={re.escape(client_id)} ", start)

    def offline(self, client_id, reason=None, start=0):
        suffix = rf".* reason={reason} " if reason else " "
        return self.find(rf"client offline client\.id={re.escape(client_id)}{suffix}", start)


class Variants:
    def __init__(self, build):
        self.commands = {
            "c": [str(build / "heartbeat-example")],
            "c-openssl": [str(build / "heartbeat-example-openssl")],
            "python": [sys.executable, "-m", "heartbeat_client"],
        }

    def start(self, variant, daemon, client_id, *extra):
        argv = self.commands[variant] + ["--server", f"127.0.0.1:{daemon.port}", "--id", client_id] + FAST + list(extra)
        return Lines(argv, cwd=ROOT / "clients" / "python")


def check_beating(variants, daemon, variant):
    """Online with the granted interval, not reaped over three timeouts, BYE on SIGTERM."""
    client_id = f"{variant}-beat"
    client = variants.start(variant, daemon, client_id)
    if eventually(lambda: daemon.online(client_id) is not None, 5) is False:
        return record(f"{variant}: connects and is listed online", False, "\n".join(client.snapshot()))
    listed = eventually(lambda: daemon.clients().get(client_id), 5)
    record(f"{variant}: connects and is listed online", bool(listed), "not in heartbeatctl clients")
    granted = listed and listed["interval_ms"] == GRANTED and client.has(f"interval {GRANTED} ms, timeout {TIMEOUT} ms")
    record(f"{variant}: is granted interval={GRANTED} for a proposal of {PROPOSED}", bool(granted), str(listed))
    # Three timeouts' worth of time: a client beating on its proposal (5 s) would be reaped after 3 s.
    reaped = eventually(lambda: daemon.offline(client_id) is not None or client.process.poll() is not None,
                        3 * TIMEOUT / 1000)
    fresh = daemon.clients().get(client_id)
    alive = not reaped and fresh and fresh["last_heard_ms_ago"] < 2 * GRANTED
    record(f"{variant}: beats on the granted interval (up for {3 * TIMEOUT} ms, not reaped)", bool(alive), str(fresh))
    status = client.stop()
    bye = eventually(lambda: daemon.offline(client_id, "bye") is not None, 5)
    record(f"{variant}: SIGTERM sends BYE (daemon logs reason=bye), exit 0", status == 0 and bye,
           f"status {status}, log: {daemon.snapshot()[-3:]}")


def take_over(daemon, client_id):
    """A raw connection that says HELLO with `client_id`; returns it after its OK."""
    raw = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
    raw.sendall(f"HELLO {client_id}\n".encode())
    answer = raw.makefile("rb").readline().decode()
    if not answer.startswith(f"OK {client_id} "):
        raise RuntimeError(f"takeover answered {answer!r}")
    return raw


def check_replaced(variants, daemon, variant):
    client_id = f"{variant}-stop"
    client = variants.start(variant, daemon, client_id, "--on-replaced", "stop")
    up = client.wait_for("connected to", 5) is not None
    raw = take_over(daemon, client_id) if up else None
    status = client.wait_exit(5)
    record(f"{variant}: BYE replaced with policy stop exits 3", status == 3 and client.has("BYE replaced"),
           f"status {status}: {client.snapshot()}")
    if raw:
        raw.close()

    client_id = f"{variant}-again"
    client = variants.start(variant, daemon, client_id, "--on-replaced", "reconnect")
    first = client.wait_for("connected to", 5)
    raw = take_over(daemon, client_id) if first is not None else None
    back = first is not None and client.wait_for("connected to", 5, first + 1) is not None
    raw_replaced = False
    if raw:
        raw.settimeout(5)
        try:
            raw_replaced = raw.makefile("rb").readline() == b"BYE replaced\n"
        except OSError:
            pass
        raw.close()
    record(f"{variant}: BYE replaced with policy reconnect comes back and takes the id again",
           back and raw_replaced and client.process.poll() is None, str(client.snapshot()))
    client.stop()


def check_silence(variants, daemon):
    """SIGSTOP the daemon: every client notices within the timeout and backs off; SIGCONT: all come back."""
    clients = {v: variants.start(v, daemon, f"{v}-silence", "--on-replaced", "reconnect") for v in variants.commands}
    for variant, client in clients.items():
        if client.wait_for("connected to", 5) is None:
            record(f"{variant}: notices a silent server", False, f"never connected: {client.snapshot()}")
    marks = {v: len(c.snapshot()) for v, c in clients.items()}
    stopped_at = time.monotonic()
    daemon.process.send_signal(signal.SIGSTOP)
    try:
        for variant, client in clients.items():
            index = client.wait_for("disconnected: server silent", TIMEOUT / 1000 + 3, marks[variant])
            took = time.monotonic() - stopped_at
            backing_off = index is not None and client.wait_for("reconnecting in", 3, index) is not None
            record(f"{variant}: notices a silent server (SIGSTOP) within its timeout and backs off",
                   index is not None and backing_off, f"after {took:.1f} s: {client.snapshot()[marks[variant]:]}")
            marks[variant] = index + 1 if index is not None else len(client.snapshot())
        # Still stopped: each client's next attempt gets no OK and it backs off again.
        for variant, client in clients.items():
            client.wait_for(r"disconnected: (no OK|connect)", 4, marks[variant])
    finally:
        daemon.process.send_signal(signal.SIGCONT)
    for variant, client in clients.items():
        client_id = f"{variant}-silence"
        back = client.wait_for("connected to", 8, marks[variant]) is not None
        listed = back and eventually(lambda: client_id in daemon.clients(), 5)
        record(f"{variant}: reconnects after SIGCONT", bool(listed), str(client.snapshot()[marks[variant]:]))
        client.stop()


def check_auth(variants, daemon, variant, work):
    right, wrong = Path(work) / f"{variant}-right", Path(work) / f"{variant}-wrong"
    client_id = f"{variant}-auth"
    if variant == "c":  # without OpenSSL the C client takes a token, not a secret
        right.write_text(hmac.new(SECRET, client_id.encode(), hashlib.sha256).hexdigest() + "\n")
        wrong.write_text(hmac.new(b"not the secret at all", client_id.encode(), hashlib.sha256).hexdigest() + "\n")
        flag = "--token-file"
        refused = variants.start(variant, daemon, client_id, "--secret-file", str(right))
        status = refused.wait_exit(5)
        record("c: without OpenSSL, --secret-file is refused with a clear message (78)",
               status == 78 and refused.has("OPENSSL"), str(refused.snapshot()))
    else:
        right.write_bytes(SECRET + b"\n")
        wrong.write_bytes(b"not the secret at all\n")
        flag = "--secret-file"
    client = variants.start(variant, daemon, client_id, flag, str(right))
    online = eventually(lambda: daemon.online(client_id) is not None, 5)
    record(f"{variant}: token mode accepted with the right secret", online, str(client.snapshot()))
    client.stop()
    client = variants.start(variant, daemon, client_id, flag, str(wrong))
    status = client.wait_exit(5)
    record(f"{variant}: a wrong secret gets ERR auth-failed and exits 77",
           status == 77 and client.has("ERR auth-failed"), f"status {status}: {client.snapshot()}")


# docs/protocol.md's test vector: secret, id, nonce -> the AUTH line every client must produce.
VECTOR_NONCE = "00112233445566778899aabbccddeeff"
VECTOR_AUTH = "AUTH 424e8e37301f61d7b55c5841f225ded454bbeb50dcae93c229cfc5fee14fc7b7"


def check_challenge(variants, daemon, variant, work):
    """Challenge auth: the test vector, the right key online, a wrong one refused (77); plain C refuses it (78)."""
    right, wrong = Path(work) / f"{variant}-challenge-right", Path(work) / f"{variant}-challenge-wrong"
    right.write_bytes(SECRET + b"\n")
    wrong.write_bytes(b"not the secret at all\n")
    client_id = f"{variant}-challenge"
    if variant == "c":
        key = Path(work) / "c-challenge-key"
        key.write_text(hmac.new(SECRET, client_id.encode(), hashlib.sha256).hexdigest() + "\n")
        refused = variants.start(variant, daemon, client_id, "--challenge", "--token-file", str(key))
        status = refused.wait_exit(5)
        return record("c: without OpenSSL, --challenge is refused with a clear message (78)",
                      status == 78 and refused.has("challenge auth needs a build with -DHEARTBEAT_WITH_OPENSSL"),
                      str(refused.snapshot()))
    answer = subprocess.run(variants.commands[variant] + ["--server", "127.0.0.1:1", "--id", "dev-1", "--secret-file",
                                                          str(right), "--answer", VECTOR_NONCE],
                            capture_output=True, text=True, timeout=10, cwd=ROOT / "clients" / "python")
    record(f"{variant}: computes the protocol's challenge test vector", answer.stdout.strip() == VECTOR_AUTH,
           answer.stdout + answer.stderr)
    client = variants.start(variant, daemon, client_id, "--challenge", "--secret-file", str(right))
    online = eventually(lambda: daemon.online(client_id) is not None, 5)
    record(f"{variant}: challenge auth accepted with the right key", online, str(client.snapshot()))
    client.stop()
    client = variants.start(variant, daemon, client_id, "--challenge", "--secret-file", str(wrong))
    status = client.wait_exit(5)
    record(f"{variant}: a wrong key gets ERR auth-failed in challenge auth and exits 77",
           status == 77 and client.has("ERR auth-failed"), f"status {status}: {client.snapshot()}")


def cleanup():
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
            process.wait()


def run_checks(bin_dir, work):
    build = Path(work) / "build"
    build.mkdir()
    make = subprocess.run(["make", "-s", "-C", str(ROOT / "clients" / "c"), f"O={build}"],
                          capture_output=True, text=True)
    built = make.returncode == 0 and not make.stderr.strip()
    record("make -C clients/c builds both variants (plain, OpenSSL) without warnings", built,
           make.stdout + make.stderr)
    if not built:
        return
    variants = Variants(build)
    try:
        plain, silent, auth = (Daemon(bin_dir, work, "plain"), Daemon(bin_dir, work, "silent"),
                               Daemon(bin_dir, work, "auth", auth="hmac"))
        challenge = Daemon(bin_dir, work, "challenge", auth="challenge")
    except (OSError, RuntimeError) as error:
        return record(f"heartbeatd starts from {bin_dir}", False, str(error))
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        jobs = [pool.submit(check_silence, variants, silent)]
        for variant in variants.commands:
            jobs.append(pool.submit(check_beating, variants, plain, variant))
            jobs.append(pool.submit(check_replaced, variants, plain, variant))
            jobs.append(pool.submit(check_auth, variants, auth, variant, work))
            jobs.append(pool.submit(check_challenge, variants, challenge, variant, work))
        for job in jobs:
            try:
                job.result(timeout=60)
            except Exception as error:  # a broken check is a failure, not a crash of the driver
                record("a check raised", False, repr(error))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/debug", help="the directory of heartbeatd and heartbeatctl")
    bin_dir = Path(parser.parse_args().bin).resolve()
    work = tempfile.mkdtemp(prefix="heartbeat-clients-")
    started = time.monotonic()
    try:
        run_checks(bin_dir, work)
    finally:
        cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print(f"({time.monotonic() - started:.1f} s)")
    print(f"{results.count(True)} passed, {results.count(False)} failed")
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
