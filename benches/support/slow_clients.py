#!/usr/bin/env python3
"""Slow-client trial against a running broker (stdlib only).

Opens N connections that each send half a request head and then stall
(slowloris), and reports every second: how many of them the broker has
closed, its open file descriptors and RSS (from /proc/<pid>), and whether
/healthz on a fresh connection still answers. Then it sends SIGTERM and
reports how long the broker took to exit.

    slow_clients.py --port 8080 --pid 1234 --connections 5000 --seconds 15
"""

import argparse
import json
import os
import selectors
import signal
import socket
import time


def proc_figures(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    return fds, rss_kb


def healthz_ms(port, timeout=2.0):
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
            if not data.startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return round((time.monotonic() - started) * 1000, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--no-sigterm", action="store_true")
    args = parser.parse_args()

    fds0, rss0 = proc_figures(args.pid)
    sel = selectors.DefaultSelector()
    opened = 0
    for _ in range(args.connections):
        try:
            s = socket.create_connection(("127.0.0.1", args.port), timeout=2)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: ")
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            opened += 1
        except OSError:
            break
    closed = 0
    samples = []
    started = time.monotonic()
    for second in range(1, args.seconds + 1):
        deadline = started + second
        while (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(timeout=left):
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    closed += 1
        fds, rss = proc_figures(args.pid)
        samples.append({"t": second, "closed_by_server": closed, "server_fds": fds,
                        "server_rss_mb": round(rss / 1024, 1), "healthz_ms": healthz_ms(args.port)})
        print(json.dumps(samples[-1]), flush=True)

    exit_ms = None
    if not args.no_sigterm:
        os.kill(args.pid, signal.SIGTERM)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 60:
            try:
                os.kill(args.pid, 0)
                with open(f"/proc/{args.pid}/stat") as stat:
                    if stat.read().split()[2] == "Z":
                        break
            except (ProcessLookupError, FileNotFoundError):
                break
            time.sleep(0.01)
        exit_ms = round((time.monotonic() - t0) * 1000)
    print(json.dumps({"opened": opened, "closed_by_server": closed, "fds_before": fds0,
                      "rss_mb_before": round(rss0 / 1024, 1),
                      "peak_fds": max(s["server_fds"] for s in samples),
                      "peak_rss_mb": max(s["server_rss_mb"] for s in samples),
                      "healthz_failures": sum(1 for s in samples if s["healthz_ms"] is None),
                      "sigterm_exit_ms": exit_ms}))


if __name__ == "__main__":
    main()
