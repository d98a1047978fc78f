#!/usr/bin/env bash
# Account pool benchmark, every call through a proxy adding POOL_LATENCY_MS
# (default 20) in front of moto, a debug build of the broker (the ignored
# tests in tests/api/pool_bench.rs, run in-process):
# - end of session (DELETE) to the account `available` again, two regions,
#   two verify passes: a near-empty account, then one holding the VPC lab
#   (tests/support/vpc_lab.py) in both regions;
# - POST /sessions p50/p90 for a shared profile, and for an account profile
#   with 5 and then 5,000 accounts registered.
# Results: stdout and target/bench/pool.md. Run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
ensure_venv
PY=.venv/bin/python
LATENCY=${POOL_LATENCY_MS:-20}
echo "==> building (test binary, debug)"
cargo test --locked --test api --no-run --quiet 2>/dev/null
source scripts/lib/bench_moto.sh
start_moto_behind_proxy "$LATENCY"
run() { # test name, output file, extra env…
  local name=$1 out=$2; shift 2
  env BENCH_ENDPOINT="$PROXY" BENCH_MOTO="$MOTO" "$@" \
    cargo test --locked --quiet --test api -- --ignored --exact "pool_bench::$name" --nocapture > "$out" 2>&1 \
    || { cat "$out"; exit 1; }
}
field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$2"; }

mkdir -p target/bench
echo "==> end of session to available: a near-empty account"
run bench_end_of_session_to_available_through_the_proxy "$work/empty.out" BENCH_LAB=0
EMPTY=$(grep -o 'BENCH {.*}' "$work/empty.out" | cut -c7-)
echo "==> end of session to available: the VPC lab in two regions"
run bench_end_of_session_to_available_through_the_proxy "$work/lab.out" BENCH_LAB=1
LAB=$(grep -o 'BENCH {.*}' "$work/lab.out" | cut -c7-)
{
  echo "| end of session to \`available\`, ${LATENCY} ms per call, two regions, 2 verify passes | seconds | resources deleted |"
  echo "|---|---|---|"
  echo "| near-empty account (baseline only) | $(field seconds "$EMPTY") | $(field deleted "$EMPTY") |"
  echo "| the VPC lab in both regions ($(field built "$LAB") resources built) | $(field seconds "$LAB") | $(field deleted "$LAB") |"
} | tee target/bench/pool.md

echo "==> POST /sessions: shared profile, account profile with 5 and 5,000 accounts"
run bench_issue_latency_account_against_shared_profile "$work/issue.out"
{
  echo
  echo "| POST /sessions (JSON, console link), ${LATENCY} ms per call | p50 ms | p90 ms |"
  echo "|---|---|---|"
  grep -o 'BENCH {.*}' "$work/issue.out" | cut -c7- | while read -r line; do
    echo "| $(field what "$line") | $(field p50_ms "$line") | $(field p90_ms "$line") |"
  done
} | tee -a target/bench/pool.md
