#!/usr/bin/env python3
"""A workshop ending at once: N sessions issued (keys only), then N DELETEs
started evenly within SPREAD seconds, each on its own connection. Prints
JSON: statuses, p50/p99/max latency of the DELETEs, and the IAM policy
writes the broker made (from its /metrics, before and after).

  end_workshop.py BASE_URL TOKEN N SPREAD_SECONDS
"""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

BASE, TOKEN, N, SPREAD = urlparse(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def call(method, path, body=None):
    conn = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=120)
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=HEADERS)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def put_policy_writes():
    """PutRolePolicy calls the broker made (any outcome), from /metrics."""
    _, text = call("GET", "/metrics")
    total = 0
    for line in text.decode().splitlines():
        if line.startswith("sandbox_broker_upstream_calls_total{") and 'operation="PutRolePolicy"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def in_threads(work, count):
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


ids = [f"workshop-{i:03d}" for i in range(N)]
issued = {}


def issue(i):
    for _ in range(20):
        status, _ = call("POST", "/sessions?format=credential-process", {"session_id": ids[i]})
        issued[i] = status
        if status == 201:
            return
        time.sleep(0.5)  # 503 overloaded / rate limited: retry as a client would


# Issue in waves of 20 so STS's rate limit is not what is measured.
for wave in range(0, N, 20):
    in_threads(lambda j, w=wave: issue(w + j) if w + j < N else None, 20)
assert all(s == 201 for s in issued.values()), issued

writes_before = put_policy_writes()
results = [None] * N
start = time.monotonic() + 0.2


def end(i):
    time.sleep(max(0.0, start + SPREAD * i / N - time.monotonic()))
    t0 = time.monotonic()
    status, _ = call("DELETE", f"/sessions/{ids[i]}")
    results[i] = (status, time.monotonic() - t0)


in_threads(end, N)
latencies = sorted(r[1] for r in results)
statuses = {}
for status, _ in results:
    statuses[str(status)] = statuses.get(str(status), 0) + 1


def pct(p):
    return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)


print(json.dumps({
    "sessions": N,
    "spread_seconds": SPREAD,
    "statuses": statuses,
    "p50_ms": pct(0.50),
    "p99_ms": pct(0.99),
    "max_ms": round(latencies[-1] * 1000, 1),
    "policy_writes": put_policy_writes() - writes_before,
}))
