#!/usr/bin/env bash
# Reset benchmark: the VPC lab (tests/support/vpc_lab.py: 29 resources
# across VPC, EC2, ELB, RDS, ECS, ECR, Lambda, API Gateway, IAM and eight
# other services) plus a bucket footprint (RESET_BUCKETS buckets x
# RESET_VERSIONS versions), built twice under two keys, cleaned through a
# proxy that adds RESET_LATENCY_MS (default 20) to every call in front of
# moto. The engine's session cleanup (the ignored test
# registry::bench, a debug build) against a boto3 reference that deletes
# the other copy one call at a time in a correct order, waiting where AWS
# needs it. The removal's critical path is the longest chain of dependent
# deletes and waits in the engine's own record.
# Then a near-empty pool account's whole reset (engine::reset_account,
# two regions, two verify passes) through the same proxy.
# Results: stdout and target/bench/reset.md. Run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
ensure_venv
PY=.venv/bin/python
LATENCY=${RESET_LATENCY_MS:-20}
PARALLEL=${RESET_MAX_PARALLEL:-32}
BUCKETS=${RESET_BUCKETS:-20}
VERSIONS=${RESET_VERSIONS:-500}
echo "==> building (test binary, debug)"
cargo test --locked --test api --no-run --quiet 2>/dev/null
source scripts/lib/bench_moto.sh
start_moto_behind_proxy "$LATENCY"

echo "==> creating two identical footprints: the VPC lab and $BUCKETS buckets x $VERSIONS versions each"
for who in engine reference; do
  key=$(printf '%s' "reset-$who" | sha256sum | tr -d '0-9' | cut -c1-2)$(printf '%s' "$who" | sha256sum | cut -c1-10)
  $PY tests/support/vpc_lab.py --endpoint "$MOTO" --region eu-west-1 --key "$key" > "$work/$who-lab.json"
  $PY scripts/lib/footprint.py --endpoint "$MOTO" --region eu-west-1 --key "$key" --only bucket \
    --buckets "$BUCKETS" --versions "$VERSIONS" > "$work/$who-buckets.json"
  eval "KEY_${who}=$key"
done
LAB=$($PY -c "import json; print(len(json.load(open('$work/engine-lab.json'))['arns']))")

echo "==> engine: session cleanup through the ${LATENCY} ms proxy, max_parallel $PARALLEL"
BENCH_ENDPOINT=$PROXY BENCH_KEY=$KEY_engine BENCH_PARALLEL=$PARALLEL \
  cargo test --locked --quiet --test api -- --ignored --exact registry::bench::bench_session_cleanup_through_the_proxy \
  --nocapture > "$work/engine.out" 2>&1 || { cat "$work/engine.out"; exit 1; }
RESULT=$(grep -o 'BENCH {.*}' "$work/engine.out" | cut -c7-)
field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$RESULT"; }
ENGINE_S=$(field seconds); CHAIN_S=$(field chain); DELETED=$(field deleted); DISCOVERY_S=$(field discovery)

echo "==> reference: boto3, one call at a time"
LAB_S=$($PY benches/support/reference_lab.py "$PROXY" eu-west-1 "$work/reference-lab.json")
BUCKETS_S=$($PY benches/support/reference_cleanup.py "$PROXY" eu-west-1 "$work/reference-buckets.json" "$KEY_reference")
REF_S=$(awk -v a="$LAB_S" -v b="$BUCKETS_S" 'BEGIN {printf "%.3f", a + b}')

mkdir -p target/bench
{
  echo "| reset of the VPC lab ($LAB resources) + $BUCKETS buckets x $VERSIONS versions, ${LATENCY} ms per call | seconds | vs reference | removal vs its critical path |"
  echo "|---|---|---|---|"
  awk -v r="$REF_S" -v c="$CHAIN_S" -v e="$ENGINE_S" -v d="$DELETED" -v s="$DISCOVERY_S" 'BEGIN {printf "| engine, max_parallel '"$PARALLEL"' (%d deleted): discovery %.2f s + removal %.2f s | %.2f | %.1fx faster | %.2fx of %.2f s |\n", d, s, e - s, e, r / e, (e - s) / c, c}'
  awk -v r="$REF_S" -v l="$LAB_S" -v b="$BUCKETS_S" 'BEGIN {printf "| reference: boto3, one call at a time, given the ARNs (lab %.2f s, buckets %.2f s) | %.2f | 1x | |\n", l, b, r}'
} | tee target/bench/reset.md

echo "==> a near-empty pool account's whole reset: two regions, two verify passes"
BENCH_ENDPOINT=$PROXY BENCH_ACCOUNT=400000000001 \
  cargo test --locked --quiet --test api -- --ignored --exact registry::bench::bench_near_empty_account_reset_through_the_proxy \
  --nocapture > "$work/empty.out" 2>&1 || { cat "$work/empty.out"; exit 1; }
EMPTY=$(grep -o 'BENCH {.*}' "$work/empty.out" | cut -c7-)
EMPTY_S=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['seconds'])" "$EMPTY")
{
  echo
  echo "| a near-empty pool account's whole reset (baseline only), ${LATENCY} ms per call | seconds |"
  echo "|---|---|"
  echo "| two regions, deletion round + baseline check + 2 verify passes (engine::reset_account) | $EMPTY_S |"
} | tee -a target/bench/reset.md
