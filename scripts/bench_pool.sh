#!/usr/bin/env bash
# Account pool benchmark, every call through a proxy adding POOL_LATENCY_MS
# (default 20) in front of moto, a debug build of the broker (the ignored
# tests in tests/api/pool_bench.rs, run in-process):
# - end of session (DELETE) to the account `available` again, two regions,
#   two verify passes: a near-empty account, then one holding the whole-lab
#   footprint (the VPC lab, tests/support/vpc_lab.py, in both regions, plus
#   POOL_BUCKETS buckets x POOL_VERSIONS object versions), against boto3
#   deleting the same footprint one call at a time;
# - POST /sessions p50/p90 for a shared profile, and for an account profile
#   with 5 and then 5,000 accounts registered.
# Results: stdout and target/bench/pool.md. Run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
LATENCY=${POOL_LATENCY_MS:-20}
BUCKETS=${POOL_BUCKETS:-20}
VERSIONS=${POOL_VERSIONS:-500}
source scripts/lib/bench_moto.sh
prepare_moto_bench "$LATENCY"
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
LAB_ENV=(BENCH_LAB=1 BENCH_BUCKETS="$BUCKETS" BENCH_VERSIONS="$VERSIONS")
echo "==> end of session to available: the VPC lab in two regions and $BUCKETS buckets x $VERSIONS versions"
run bench_end_of_session_to_available_through_the_proxy "$work/lab.out" "${LAB_ENV[@]}"
LAB=$(grep -o 'BENCH {.*}' "$work/lab.out" | cut -c7-)
echo "==> end of session to available: a near-empty account again (moto warm)"
run bench_end_of_session_to_available_through_the_proxy "$work/empty2.out" BENCH_LAB=0
EMPTY2=$(grep -o 'BENCH {.*}' "$work/empty2.out" | cut -c7-)
echo "==> end of session to available: the same footprint, one call at a time (max_parallel 1)"
run bench_end_of_session_to_available_through_the_proxy "$work/serial.out" "${LAB_ENV[@]}" BENCH_PARALLEL=1
SERIAL=$(grep -o 'BENCH {.*}' "$work/serial.out" | cut -c7-)
echo "==> reference: boto3 deleting the same lab in both regions, one call at a time"
REF_S=0
for region in eu-west-1 us-east-1; do
  key=$(printf '%s' "ref-$region" | sha256sum | tr -d '0-9' | cut -c1-2)$(printf '%s' "$region" | sha256sum | cut -c1-10)
  $PY tests/support/vpc_lab.py --endpoint "$MOTO" --region "$region" --key "$key" > "$work/ref-$region.json"
  S=$($PY benches/support/reference_lab.py "$PROXY" "$region" "$work/ref-$region.json")
  REF_S=$(awk -v a="$REF_S" -v b="$S" 'BEGIN {printf "%.3f", a + b}')
done
REF_LAB_S=$REF_S
$PY scripts/lib/footprint.py --endpoint "$MOTO" --region eu-west-1 --key refbuckets01 --only bucket \
  --buckets "$BUCKETS" --versions "$VERSIONS" > "$work/ref-buckets.json"
REF_BUCKETS_S=$($PY benches/support/reference_cleanup.py "$PROXY" eu-west-1 "$work/ref-buckets.json" refbuckets01)
REF_S=$(awk -v a="$REF_S" -v b="$REF_BUCKETS_S" 'BEGIN {printf "%.3f", a + b}')
ratio() { awk -v r="$REF_S" -v e="$1" 'BEGIN {printf "%.1f", r / e}'; }
{
  echo "| end of session to \`available\`, ${LATENCY} ms per call, two regions, 2 verify passes | seconds | resources deleted | vs reference |"
  echo "|---|---|---|---|"
  echo "| near-empty account (baseline only), the first account moto serves | $(field seconds "$EMPTY") | $(field deleted "$EMPTY") | |"
  echo "| near-empty account (baseline only), moto warm | $(field seconds "$EMPTY2") | $(field deleted "$EMPTY2") | |"
  echo "| the VPC lab in both regions + $BUCKETS buckets x $VERSIONS versions ($(field built "$LAB") resources built) | $(field seconds "$LAB") | $(field deleted "$LAB") | $(ratio "$(field seconds "$LAB")")x faster |"
  echo "| the same, the engine one call at a time (cleanup.max_parallel = 1): a sequential wipe with the same searches | $(field seconds "$SERIAL") | $(field deleted "$SERIAL") | $(ratio "$(field seconds "$SERIAL")")x faster |"
  echo "| reference: boto3 deleting the same footprint one call at a time, given the ARNs (lab $REF_LAB_S s, buckets $REF_BUCKETS_S s) | $REF_S | | 1x |"
} | tee target/bench/pool.md

echo "==> POST /sessions: shared profile, account profile with 5 and 5,000 accounts"
run bench_issue_latency_account_against_shared_profile "$work/issue.out"
{
  echo
  echo "| POST /sessions?format=credential-process, sequential, ${LATENCY} ms per call | p50 ms | p90 ms |"
  echo "|---|---|---|"
  grep -o 'BENCH {.*}' "$work/issue.out" | cut -c7- | while read -r line; do
    echo "| $(field what "$line") | $(field p50_ms "$line") | $(field p90_ms "$line") |"
  done
} | tee -a target/bench/pool.md
