#!/usr/bin/env bash
# A workshop ending at once: REVOKE_SESSIONS (200) sessions of one role are
# issued, then all ended within REVOKE_SPREAD_SECONDS (1) through a proxy
# that adds REVOKE_LATENCY_MS (20) to every call in front of moto. Reports
# the DELETEs' statuses, p50/p99/max and how many IAM policy writes the
# broker made for them. BENCH_BIN measures another build of the broker
# (the figures compare round trips: a debug build serves as well).
# Results: stdout and target/bench/revocations.md. Run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
ensure_venv
PY=.venv/bin/python
N=${REVOKE_SESSIONS:-200}; SPREAD=${REVOKE_SPREAD_SECONDS:-1}; LATENCY=${REVOKE_LATENCY_MS:-20}
BIN=${BENCH_BIN:-target/release/sandbox-broker}
if [[ -z "${BENCH_BIN:-}" ]]; then
  cargo build --release --locked --quiet --bin sandbox-broker
fi
source scripts/lib/bench_moto.sh
start_moto_behind_proxy "$LATENCY"
PORT=$(free_port)
mkdir -p "$work/policies"; cp config/policies/s3.json "$work/policies/"
cat > "$work/config.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
public_url = "http://127.0.0.1:$PORT"
replica_id = "bench"
[auth]
issuer = "https://platform.bench"
audience = "sandbox-broker"
hs256_secret = "bench-hs256-secret-0123456789abcdefghijklmnop"
[aws]
region = "eu-west-1"
endpoint_url = "$MOTO"
federation_endpoint = "http://127.0.0.1:9/federation"
sts_max_rps = 0
[trust]
principal_arn = "arn:aws:iam::123456789012:role/sandbox-broker"
[console]
issuer = "Bench"
ticket_secret = "bench-ticket-secret-0123456789abcdefghijklmnop"
[cleanup]
enabled = false
[profiles.s3]
access_policy = "policies/s3.json"
TOML
"$BIN" --config "$work/config.toml" bootstrap >/dev/null
sed -i "s|endpoint_url = \"$MOTO\"|endpoint_url = \"$PROXY\"|" "$work/config.toml"
"$BIN" --config "$work/config.toml" serve 2>"$work/broker.log" & pids+=($!)
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.05; done
TOKEN=$("$BIN" --config "$work/config.toml" token --scope "sessions:issue sessions:revoke")
echo "==> $N sessions of one role ended within ${SPREAD} s, ${LATENCY} ms per upstream call ($BIN)"
RESULT=$($PY benches/support/end_workshop.py "http://127.0.0.1:$PORT" "$TOKEN" "$N" "$SPREAD")
echo "$RESULT"
mkdir -p target/bench
$PY - "$RESULT" "$BIN" "$LATENCY" <<'PY' | tee target/bench/revocations.md
import json, sys
r, binary, latency = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
print(f"| {r['sessions']} DELETEs of one role within {r['spread_seconds']} s, {latency} ms per call ({binary}) "
      f"| statuses | p50 ms | p99 ms | max ms | IAM policy writes |")
print("|---|---|---|---|---|---|")
statuses = ", ".join(f"{n}x {s}" for s, n in sorted(r["statuses"].items()))
print(f"| | {statuses} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['policy_writes']} |")
PY
