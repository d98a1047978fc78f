#!/usr/bin/env python3
"""An HTTP proxy that adds a fixed latency to every call before forwarding
it to moto, as a region's API endpoint is tens of milliseconds away.

  latency_proxy.py PORT UPSTREAM_URL LATENCY_MS

Replay mode models an upstream whose listings cost what AWS's do (the
latency alone) rather than what moto's do: moto renders each resource's
tags by scanning every tag it holds, so a DescribeVolumes of 3,000 volumes
takes it seconds of CPU. `POST /__replay/on` makes the proxy keep the
answer of each listing call (an EC2 `Describe*` or the tagging API's
`GetResources`, keyed by path, target and body) and answer the same call
again from what it kept, after the latency; every other call (DynamoDB,
STS, anything that writes) is still forwarded. `POST /__replay/off` stops
and forgets. Each answers the counts so far, {"hits", "misses"}, as does
`GET /__replay`.
"""

import http.client
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

PORT, UPSTREAM, LATENCY = int(sys.argv[1]), urlparse(sys.argv[2]), int(sys.argv[3]) / 1000.0
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}
replay = {"on": False, "kept": {}, "hits": 0, "misses": 0}
lock = threading.Lock()


def listing(headers, body):
    target = headers.get("X-Amz-Target") or ""
    return target.endswith(".GetResources") or (body or b"").startswith(b"Action=Describe")


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def control(self):
        with lock:
            counts = json.dumps({"hits": replay["hits"], "misses": replay["misses"]}).encode()
            if self.command == "POST":
                replay.update(on=self.path.endswith("/on"), kept={}, hits=0, misses=0)
        self.answer(200, [("Content-Type", "application/json")], counts)

    def answer(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def forward(self):
        if self.path.startswith("/__replay"):
            return self.control()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        time.sleep(LATENCY)
        key = None
        if replay["on"] and listing(self.headers, body):
            key = (self.path, self.headers.get("X-Amz-Target"), body)
            with lock:
                kept = replay["kept"].get(key)
                replay["hits" if kept else "misses"] += 1
            if kept:
                return self.answer(*kept)
        upstream = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()
        if key and response.status == 200:
            with lock:
                replay["kept"][key] = (200, response.getheaders(), data)
        self.answer(response.status, response.getheaders(), data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 512
ThreadingHTTPServer(("127.0.0.1", PORT), Proxy).serve_forever()
