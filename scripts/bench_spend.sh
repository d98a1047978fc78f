#!/usr/bin/env bash
# Spend meter benchmark: one meter pass over 50, 200 and 500 active
# sessions holding ten resources each (two instances with their root
# volumes, four volumes, two elastic IPs: made straight in moto), every
# broker call through a proxy adding SPEND_LATENCY_MS (default 20) in front
# of moto, a debug build of the broker (BENCH_RELEASE=1: release; the
# ignored test in tests/api/spend_bench.rs, run in-process). Reports the pass time and its
# listing calls; the same pass with the proxy replaying the listings'
# answers (latency alone: what the broker costs when listings cost what
# AWS's do, not moto's rendering); the same listings made by boto3 straight
# to moto, one after another (scripts/lib/moto_floor.py: moto's own
# floor); and the
# headline figures with spend.interval_seconds = 5: a learner's
# RunInstances to an estimate naming the instance, and a budget spent to
# the session frozen. Results: stdout and target/bench/spend.md. Run by
# scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
LATENCY=${SPEND_LATENCY_MS:-20}
source scripts/lib/bench_moto.sh
prepare_moto_bench "$LATENCY"
field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$2"; }
mkdir -p target/bench
{
  echo "| active sessions (10 resources each), ${LATENCY} ms per call | seconds per pass | listing calls per pass | seconds per pass, listings replayed | the same listings, boto3 straight to moto, s | RunInstances to estimate, s | spent budget to frozen, s |"
  echo "|---|---|---|---|---|---|---|"
} > target/bench/spend.md
for n in ${SPEND_SESSIONS:-50 200 500}; do
  echo "==> a meter pass over $n sessions"
  curl -sf -X POST "$MOTO/moto-api/reset" >/dev/null
  env BENCH_ENDPOINT="$PROXY" BENCH_MOTO="$MOTO" BENCH_SESSIONS="$n" \
    cargo test --locked "${PROFILE[@]}" --quiet --test api -- --ignored --exact spend_bench::bench_meter_pass_through_the_proxy \
    --nocapture > "$work/spend-$n.out" 2>&1 || { cat "$work/spend-$n.out"; exit 1; }
  line=$(grep -o 'BENCH {.*}' "$work/spend-$n.out" | cut -c7-)
  floor=$($PY scripts/lib/moto_floor.py "$MOTO" eu-west-1)
  printf '| %s | %.2f | %s | %.2f | %s | %.1f | %.1f |\n' "$n" "$(field pass_seconds "$line")" "$(field listings "$line")" \
    "$(field replayed_pass_seconds "$line")" "$floor" \
    "$(field launch_to_estimate_seconds "$line")" "$(field crossing_to_frozen_seconds "$line")" >> target/bench/spend.md
done
cat target/bench/spend.md
