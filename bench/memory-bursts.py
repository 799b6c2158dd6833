#!/usr/bin/env python3
"""Memory bursts against a real `ringkv serve` (issue 15): RSS before, peak, and after idle.

Starts one fresh node per scenario (its own temp data directory, a port it picks itself), runs one burst
from a plain-socket client, then idles, sampling /proc/<pid>/status. Scenarios:

  mset100     one MSET of 100 values of 1 MiB (about 105 MB)
  mset300x2   one MSET of 300 values of 1 MiB (about 315 MB), sent twice
  mset100small  (not by default) one MSET of 400,000 pairs of 200-byte values (about 90 MB), sent at once
  slowreader  500 pipelined GETs of a 1 MiB value from a client that never reads; it stays connected
              through the idle period (a server with a reply-buffer limit disconnects it)

Output: one CSV line per scenario on stdout:
  scenario,memory_mb,rss_before_mib,peak_rss_mib,rss_after_idle_mib,seconds_to_goal,goal_after,goal_peak,notes
where peak is the kernel's VmHWM (high-water mark), rss_after_idle the VmRSS after --idle-s seconds,
seconds_to_goal when VmRSS first fell to budget + 128 MiB after the burst (-1: never), and the goals are
"after <= budget + 128 MiB" and "peak < 2 x budget". Progress goes to stderr. Stdlib only.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

MIB = 1 << 20
VALUE_BYTES = MIB


def log(text):
    print(f"memory-bursts: {text}", file=sys.stderr, flush=True)


def status_kib(pid, field):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/{pid}/status")


class Node:
    """A `ringkv serve` process on 127.0.0.1:0 over a temp data directory; the port is read from its log."""

    def __init__(self, binary, memory_mb, extra):
        self.dir = tempfile.mkdtemp(prefix="ringkv-memory-bursts.")
        args = [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.dir,
                "--memory-mb", str(memory_mb), "--sync", "periodic:1000"] + extra
        self.log_lines = []
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.port = None
        deadline = time.time() + 60
        while self.port is None:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("ringkv exited before serving:\n" + "".join(self.log_lines))
            self.log_lines.append(line)
            m = re.search(r"serving RESP on [0-9.]+:([0-9]+)", line)
            if m:
                self.port = int(m.group(1))
            if time.time() > deadline:
                raise RuntimeError("ringkv did not log 'serving RESP' in 60 s")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log_lines.append(line)

    def rss_mib(self):
        return status_kib(self.proc.pid, "VmRSS") / 1024

    def hwm_mib(self):
        return status_kib(self.proc.pid, "VmHWM") / 1024

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n" % len(a))
        out.append(a)
        out.append(b"\r\n")
    return out


def read_line(s, buf):
    while b"\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        buf.extend(chunk)
    at = buf.index(b"\r\n")
    line = bytes(buf[:at])
    del buf[:at + 2]
    return line


def call(s, *args):
    for piece in encode(*args):
        s.sendall(piece)
    buf = bytearray()
    line = read_line(s, buf)
    if line.startswith(b"$") and int(line[1:]) >= 0:
        n = int(line[1:]) + 2
        while len(buf) < n:
            buf.extend(s.recv(n - len(buf)))
        return bytes(buf[:n - 2])
    return line


def info_fields(port):
    s = connect(port)
    try:
        text = call(s, b"INFO").decode("utf-8", "replace")
    finally:
        s.close()
    fields = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            fields[k] = v
    return fields


def values(count, seed):
    base = bytearray(os.urandom(VALUE_BYTES))
    for i in range(count):
        base[:16] = f"{seed}:{i:010d}".encode().ljust(16, b".")[:16]
        yield bytes(base)


def mset(port, prefix, count):
    s = connect(port)
    try:
        args = [b"MSET"]
        pairs = list(values(count, prefix))
        for i, v in enumerate(pairs):
            args.append(f"{prefix}:{i}".encode())
            args.append(v)
        started = time.time()
        try:
            for piece in encode(*args):
                s.sendall(piece)
        except OSError as e:  # a server that rejects the request may close before reading all of it
            log(f"send stopped: {e}")
        try:
            reply = read_line(s, bytearray())
        except (OSError, RuntimeError) as e:
            reply = f"no reply: {e}".encode()
        log(f"MSET of {count} x 1 MiB: {reply[:200]!r} in {time.time() - started:.1f} s")
        return reply
    finally:
        s.close()


def idle(node, seconds, goal_mib):
    """Samples VmRSS every 100 ms for `seconds`; returns (rss at the end, seconds from which it stayed <= goal, -1 never)."""
    started = time.time()
    reached = -1.0
    while True:
        rss = node.rss_mib()
        elapsed = time.time() - started
        if rss > goal_mib:
            reached = -1.0
        elif reached < 0:
            reached = elapsed
        if elapsed >= seconds:
            return rss, reached
        time.sleep(0.1)


def run(args, name, burst):
    node = Node(args.binary, args.memory_mb, args.serve_arg)
    try:
        s = connect(node.port)
        call(s, b"PING")
        s.close()
        time.sleep(1)
        before = node.rss_mib()
        notes = burst(node) or ""
        goal_mib = args.memory_mb + 128
        after, reached = idle(node, args.idle_s, goal_mib)
        peak = node.hwm_mib()
        fields = info_fields(node.port)
        notes = (notes + " " + " ".join(f"{k}={fields.get(k, '?')}" for k in (
            "used_memory", "engine_memory_bytes", "gc_gen2_collections", "client_recent_max_input_buffer"))).strip()
        extra = getattr(burst, "after", None)
        if extra:
            notes = (notes + " " + extra(node)).strip()
        line = ",".join([
            name, str(args.memory_mb), f"{before:.0f}", f"{peak:.0f}", f"{after:.0f}", f"{reached:.1f}",
            "met" if after <= goal_mib else "missed", "met" if peak < 2 * args.memory_mb else "missed", notes])
        print(line, flush=True)
        log(line)
    finally:
        node.stop()


def burst_mset100(node):
    mset(node.port, "a", 100)


def burst_mset100small(node):
    base = os.urandom(200)
    args = [b"MSET"]
    for i in range(400_000):
        args.append(b"small:%d" % i)
        args.append(base[:192] + b"%08d" % i)
    data = b"".join(encode(*args))
    s = connect(node.port)
    try:
        started = time.time()
        s.sendall(data)
        reply = read_line(s, bytearray())
        log(f"MSET of 400,000 x 200 B ({len(data)} bytes): {reply[:200]!r} in {time.time() - started:.1f} s")
        return "reply=" + reply.decode("utf-8", "replace")[:60].replace(",", ";")
    finally:
        s.close()


def burst_mset300x2(node):
    notes = []
    for _ in range(2):
        notes.append(mset(node.port, "b", 300).decode("utf-8", "replace")[:60])
    return "replies=" + "|".join(notes).replace(",", ";")


class SlowReader:
    """Sets a 1 MiB value, then sends 500 GETs of it on a connection it never reads until the end."""

    def __init__(self):
        self.sock = None

    def __call__(self, node):
        s = connect(node.port)
        call(s, b"SET", b"c:big", next(values(1, "c")))
        s.close()
        self.sock = connect(node.port)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.sock.sendall(b"".join(b"".join(encode(b"GET", b"c:big")) for _ in range(500)))
        return ""

    def after(self, node):
        # Still connected? Read what is there: a server that disconnected the client gives EOF or a reset.
        self.sock.settimeout(2)
        received = 0
        closed = False
        while True:
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += len(chunk)
        self.sock.close()
        fields = info_fields(node.port)
        counted = fields.get("client_output_buffer_limit_disconnections", "absent")
        return f"closed_by_server={closed} reply_bytes_read_after_idle={received} client_output_buffer_limit_disconnections={counted}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default="artifacts/ringkv/ringkv", help="the published ringkv executable")
    p.add_argument("--memory-mb", type=int, default=512)
    p.add_argument("--idle-s", type=float, default=30)
    p.add_argument("--scenario", action="append", choices=["mset100", "mset300x2", "slowreader", "mset100small"],
                   help="run only these (repeatable); default all three")
    p.add_argument("--serve-arg", action="append", default=[], help="extra argument for ringkv serve (repeatable)")
    args = p.parse_args()
    scenarios = {"mset100": burst_mset100, "mset300x2": burst_mset300x2, "slowreader": None, "mset100small": burst_mset100small}
    print("scenario,memory_mb,rss_before_mib,peak_rss_mib,rss_after_idle_mib,seconds_to_goal,goal_after,goal_peak,notes")
    for name in args.scenario or ["mset100", "mset300x2", "slowreader"]:
        run(args, name, scenarios[name] or SlowReader())


if __name__ == "__main__":
    main()
