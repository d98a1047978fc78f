#!/usr/bin/env bash
# THE run command: the AWS emulator (moto), a local federation endpoint, the
# broker with config/local.toml, bootstrap of the profiles' IAM roles, and a
# demo session. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
ensure_venv

MOTO_PORT=5000 FED_PORT=5001 BROKER_PORT=8080
CONFIG=config/local.toml
# Fake keys for the emulator; moto accepts anything.
export AWS_ACCESS_KEY_ID=AKIALOCALDEVELOPMENT AWS_SECRET_ACCESS_KEY=local-development-only AWS_REGION=eu-west-1 AWS_DEFAULT_REGION=eu-west-1
for port in $MOTO_PORT $FED_PORT $BROKER_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use; stop whatever listens there first" >&2
    exit 1
  fi
done

echo "==> building"
cargo build --locked --quiet
BIN=target/debug/sandbox-broker
"$BIN" --config "$CONFIG" check-config

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo; echo "==> stopping"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

mkdir -p .dev
.venv/bin/moto_server -H 127.0.0.1 -p "$MOTO_PORT" >.dev/moto.log 2>&1 & pids+=($!)
.venv/bin/python scripts/fake_federation.py "$FED_PORT" "http://127.0.0.1:$MOTO_PORT" & pids+=($!)
wait_for() {  # url
  for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "timed out waiting for $1" >&2; return 1
}
wait_for "http://127.0.0.1:$MOTO_PORT/moto-api/"

echo "==> bootstrapping the profiles' roles (sandbox-broker bootstrap)"
"$BIN" --config "$CONFIG" bootstrap | grep -E '"(resource|action)"' | paste - - | sed 's/[",]//g; s/  */ /g'

echo "==> starting the broker on :$BROKER_PORT"
"$BIN" --config "$CONFIG" serve >.dev/broker.log 2>&1 & pids+=($!)
wait_for "http://127.0.0.1:$BROKER_PORT/readyz"

TOKEN=$("$BIN" --config "$CONFIG" token --scope "sessions:issue sessions:revoke admin" --ttl 3600)
echo "==> demo session"
curl -sS -X POST "http://127.0.0.1:$BROKER_PORT/sessions" \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"session_id":"demo-learner@track-s3","profile":"s3"}'
echo
cat <<MSG

The broker runs on http://127.0.0.1:$BROKER_PORT (logs: .dev/broker.log). Try:

  curl -sS -X POST 'http://127.0.0.1:$BROKER_PORT/sessions?format=env' \\
    -H 'Authorization: Bearer $TOKEN' \\
    -H 'Content-Type: application/json' -d '{"session_id":"learner-1"}'

Press Ctrl-C to stop moto, the federation stand-in and the broker.
MSG
wait
