#!/usr/bin/env python3
"""A stand-in for the AWS console federation endpoint, for local runs only.

No emulator implements https://signin.aws.amazon.com/federation. This one
answers Action=getSigninToken (form POST or GET) after checking that the
submitted key triple is one the local moto server issued, and Action=login by
redirecting to Destination. Usage: fake_federation.py PORT MOTO_URL
"""
import json
import secrets
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
MOTO = sys.argv[2].rstrip("/")
TOKENS = set()


def issued_by_moto(key, secret, token):
    with urllib.request.urlopen(f"{MOTO}/moto-api/data.json") as response:
        data = json.load(response)
    return any(
        r["access_key_id"] == key and r["secret_access_key"] == secret and r["session_token"] == token
        for r in data.get("sts", {}).get("AssumedRole", [])
    )


class Handler(BaseHTTPRequestHandler):
    def _params(self):
        if self.command == "POST":
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length).decode()
        else:
            raw = urllib.parse.urlsplit(self.path).query
        return dict(urllib.parse.parse_qsl(raw))

    def _answer(self, status, body=b"", headers=()):
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. a load generator stopping)

    def _handle(self):
        params = self._params()
        action = params.get("Action")
        if action == "getSigninToken":
            session = json.loads(params.get("Session", "{}"))
            if not issued_by_moto(session.get("sessionId"), session.get("sessionKey"), session.get("sessionToken")):
                return self._answer(400, b"unknown credentials")
            token = "local-" + secrets.token_urlsafe(24)
            TOKENS.add(token)
            body = json.dumps({"SigninToken": token}).encode()
            return self._answer(200, body, [("Content-Type", "application/json")])
        if action == "login" and params.get("SigninToken") in TOKENS:
            return self._answer(302, headers=[("Location", params.get("Destination", "/"))])
        return self._answer(400, b"bad request")

    do_GET = _handle
    do_POST = _handle

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
