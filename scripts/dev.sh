#!/usr/bin/env bash
# THE run command: the AWS emulator (moto), a local federation endpoint, the
# broker with config/local.toml, bootstrap of the profiles' IAM roles, and a
# demo session. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
source scripts/lib/stack.sh
ensure_venv

start_stack 5000 5001 8080 .dev

TOKEN=$("$BIN" --config "$CONFIG" token --scope "sessions:issue sessions:revoke sessions:read admin" --ttl 3600)
echo "==> demo session"
curl -sS -X POST "$BASE_URL/sessions" \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"session_id":"demo-learner@track-s3","profile":"s3"}'
echo
cat <<MSG

The broker runs on $BASE_URL (logs: .dev/broker.log). Try:

  curl -sS -X POST '$BASE_URL/sessions?format=env' \\
    -H 'Authorization: Bearer $TOKEN' \\
    -H 'Content-Type: application/json' -d '{"session_id":"learner-1"}'

Press Ctrl-C (or send SIGTERM) to stop moto, the federation stand-in and the broker.
MSG
# `wait` returns when a trapped signal arrives, so the traps run at once.
wait
