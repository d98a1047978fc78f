#!/usr/bin/env bash
# API conformance fuzzing: schemathesis generates requests from openapi.yaml
# against the running broker (with moto and the federation stand-in) and
# checks that no response is a server error and every response matches the
# document. Runs once with a token carrying every scope and once without.
# Bounded in time: CONFORMANCE_SECONDS per run (default 90). One worker:
# with two, schemathesis itself once crashed on Python 3.11 compiling its
# own code in two threads at once ("AST constructor recursion depth
# mismatch"), a runtime error of the tool, not a finding about the API.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
source scripts/lib/stack.sh
ensure_venv
if [[ ! -x .venv/bin/st ]] || ! cmp -s scripts/requirements-conformance.txt .venv/.conformance; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-conformance.txt
  cp scripts/requirements-conformance.txt .venv/.conformance
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# No client-side STS cap here: the fuzzer's pace is not what it protects against.
export SANDBOX_BROKER__AWS__STS_MAX_RPS=0
start_stack "$(free_port)" "$(free_port)" "$(free_port)" target/conformance

TOKEN=$("$BIN" --config "$CONFIG" token --scope "sessions:issue sessions:revoke sessions:read admin" --ttl 3600)
seconds=${CONFORMANCE_SECONDS:-90}
run() {
  .venv/bin/st run openapi.yaml --url "$BASE_URL" \
    --checks not_a_server_error,response_schema_conformance \
    --max-time "$seconds" --workers 1 --seed 1 --no-color "$@"
}
echo "==> schemathesis with a token"
run -H "Authorization: Bearer $TOKEN"
echo "==> schemathesis without a token"
run
