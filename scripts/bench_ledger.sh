#!/usr/bin/env bash
# What the ledger write costs POST /sessions: sequential sessions (c=1)
# against the fake upstream at LEDGER_DELAY_MS (default 20) per call, where
# the broker writes the ledger record (DynamoDB UpdateItem) alongside
# AssumeRole, then mints the sign-in token; against the direct baseline
# (AssumeRole then getSigninToken with the same clients, no broker, no
# ledger). Prints the median p50 of BENCH_RUNS (3) runs of BENCH_SECONDS (5).
# Results: stdout and target/bench/ledger.md. Run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
DELAY=${LEDGER_DELAY_MS:-20}; RUNS=${BENCH_RUNS:-3}; DURATION=${BENCH_SECONDS:-5}
# BENCH_PROFILE=debug measures a debug build (the comparison is of network
# round trips, a few percent of CPU either way) where a release one is missing.
PROFILE=${BENCH_PROFILE:-release}
if [[ $PROFILE == release ]]; then
  cargo build --release --locked --quiet --bin sandbox-broker --example fake_upstream --example direct_baseline
else
  cargo build --locked --quiet --bin sandbox-broker --example fake_upstream --example direct_baseline
fi
T=target/$PROFILE
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
OUT=target/bench; mkdir -p "$OUT"
UP_PORT=$(free_port); PORT=$(free_port)
$T/examples/fake_upstream "$UP_PORT" "$DELAY" 2>/dev/null & pids+=($!)
UPSTREAM=http://127.0.0.1:$UP_PORT
for _ in $(seq 100); do curl -s -o /dev/null "$UPSTREAM/federation" && break; sleep 0.05; done
sed -e "s|^endpoint_url = .*|endpoint_url = \"$UPSTREAM\"|" \
    -e "s|^federation_endpoint = .*|federation_endpoint = \"$UPSTREAM/federation\"|" \
    -e "s|^listen = .*|listen = \"127.0.0.1:$PORT\"|" \
    -e "s|^public_url = .*|public_url = \"http://127.0.0.1:$PORT\"|" \
    -e "s|^\[aws\]|[aws]\nsts_max_rps = 0|" config/local.toml > "$OUT/ledger-config.toml"
cp -r config/policies "$OUT/"
export AWS_ACCESS_KEY_ID=AKIABENCH AWS_SECRET_ACCESS_KEY=bench
$T/sandbox-broker --config "$OUT/ledger-config.toml" serve 2>"$OUT/ledger-broker.log" & pids+=($!)
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; do sleep 0.01; done
export BENCH_TOKEN; BENCH_TOKEN=$($T/sandbox-broker --config "$OUT/ledger-config.toml" token --scope sessions:issue)
median() { sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}'; }
broker=(); direct=()
for _ in $(seq "$RUNS"); do
  out=$(wrk -t1 -c1 -d"${DURATION}s" --latency -s benches/support/post_session.lua "http://127.0.0.1:$PORT/sessions")
  broker+=("$(awk '$1 == "50%" { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v) } else { sub(/s/, "", v); v *= 1000 } print v }' <<<"$out")")
  direct+=("$($T/examples/direct_baseline "$OUT/ledger-config.toml" 1 "$DURATION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["p50_ms"])')")
done
B=$(printf '%s\n' "${broker[@]}" | median); D=$(printf '%s\n' "${direct[@]}" | median)
{
  echo "| POST /sessions, c=1, ${DELAY} ms per upstream call, $PROFILE build | p50 ms (median of $RUNS) |"
  echo "|---|---|"
  echo "| broker (ledger write alongside AssumeRole, then the sign-in token) | $B |"
  echo "| direct baseline (AssumeRole, then the sign-in token; no ledger) | $D |"
  awk -v b="$B" -v d="$D" 'BEGIN {printf "| broker / baseline | %.3f (%+.1f %%) |\n", b / d, (b / d - 1) * 100}'
} | tee "$OUT/ledger.md"
