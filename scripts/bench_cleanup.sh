#!/usr/bin/env bash
# Cleanup benchmark: one session's footprint (CLEANUP_BUCKETS buckets x
# CLEANUP_VERSIONS object versions, plus CLEANUP_EXTRA other resources and one
# of every other supported type) cleaned through a proxy that adds
# CLEANUP_LATENCY_MS (default 20) to every call in front of moto, as a
# region's API is that far away. Compared with a sequential boto3 reference
# deleting an identical footprint one call at a time, and with the critical
# path: the longest chain of dependent calls times the latency.
# Results: stdout and target/bench/cleanup.md. Run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/venv.sh
ensure_venv
PY=.venv/bin/python
BUCKETS=${CLEANUP_BUCKETS:-20}
VERSIONS=${CLEANUP_VERSIONS:-500}
EXTRA=${CLEANUP_EXTRA:-91}
LATENCY=${CLEANUP_LATENCY_MS:-20}
PARALLEL=${CLEANUP_MAX_PARALLEL:-64}
BIN=${BENCH_BIN:-target/release/sandbox-broker}
if [[ -z "${BENCH_BIN:-}" ]]; then
  echo "==> building (release)"
  cargo build --release --locked --quiet --bin sandbox-broker
fi
source scripts/lib/bench_moto.sh
start_moto_behind_proxy "$LATENCY"

mkdir -p "$work/policies"; cp config/policies/s3.json "$work/policies/"
cat > "$work/config.toml" <<TOML
[aws]
region = "eu-west-1"
endpoint_url = "$MOTO"
[trust]
principal_arn = "arn:aws:iam::123456789012:role/sandbox-broker"
[cleanup]
max_parallel = $PARALLEL
[profiles.s3]
access_policy = "policies/s3.json"
TOML
"$BIN" --config "$work/config.toml" bootstrap >/dev/null

ROLE=$(.venv/bin/aws --endpoint-url "$MOTO" iam create-role --role-name lambda-bench --output text --query Role.Arn \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')
echo "==> creating two identical footprints ($BUCKETS buckets x $VERSIONS versions, $EXTRA extra, one of each other type)"
for who in broker reference; do
  key=$(printf '%s' "bench-$who" | sha256sum | cut -c1-12)
  $PY scripts/lib/footprint.py --endpoint "$MOTO" --region eu-west-1 --key "$key" --lambda-role "$ROLE" \
    --buckets "$BUCKETS" --versions "$VERSIONS" --extra "$EXTRA" > "$work/$who.json"
  eval "KEY_${who}=$key"
done
RESOURCES=$($PY -c "import json,sys; d=json.load(open('$work/broker.json')); print(len(d['$KEY_broker']['expected']))")

# The ledger record of the ended session whose footprint the broker cleans.
now=$(date +%s)
.venv/bin/aws --endpoint-url "$MOTO" dynamodb put-item --table-name sandbox-broker-sessions --item "{
  \"session_id\": {\"S\": \"bench-broker\"}, \"sandbox_key\": {\"S\": \"$KEY_broker\"},
  \"role_session_name\": {\"S\": \"bench-broker\"}, \"profiles\": {\"SS\": [\"s3\"]},
  \"created_at\": {\"N\": \"$now\"}, \"lease_expires_at\": {\"N\": \"$now\"}, \"state\": {\"S\": \"ended\"},
  \"ended_at\": {\"N\": \"$now\"}, \"queue\": {\"S\": \"pending\"}, \"due_at\": {\"N\": \"$now\"}}"

echo "==> broker: sandbox-broker cleanup --session (through the ${LATENCY} ms proxy, max_parallel $PARALLEL)"
sed -i "s|endpoint_url = \"$MOTO\"|endpoint_url = \"$PROXY\"|" "$work/config.toml"
start=$(date +%s%N)
RUST_LOG=sandbox_broker::audit=info "$BIN" --config "$work/config.toml" cleanup --session bench-broker \
  > "$work/report.json" 2> "$work/audit.log"
BROKER_S=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
STATE=$($PY -c "import json; print(json.load(open('$work/report.json'))['state'])")
DELETED=$($PY -c "import json; print(len(json.load(open('$work/report.json'))['cleanup']['deleted']))")
ENGINE_S=$(grep -o '"seconds":[0-9.]*' "$work/audit.log" | tail -1 | cut -d: -f2 || true)
ENGINE_S=${ENGINE_S:-$(grep -o 'seconds=[0-9.]*' "$work/audit.log" | tail -1 | cut -d= -f2)}

if [[ "${CLEANUP_REFERENCE:-1}" == 1 ]]; then
  echo "==> reference: boto3, one call at a time"
  REF_S=$($PY benches/support/reference_cleanup.py "$PROXY" eu-west-1 "$work/reference.json" "$KEY_reference")
else
  REF_S=0
fi

# Critical path of one bucket: discover -> ListObjectVersions -> DeleteObjects
# -> DeleteBucket (multipart uploads listed alongside): 4 dependent calls.
# The CLI adds its bookkeeping: GetCallerIdentity, the ledger read, end,
# claim and finish (5 calls), and one DescribeInstances after termination.
CRIT_ENGINE=$(awk -v l="$LATENCY" 'BEGIN {printf "%.3f", 4 * l / 1000}')
CRIT_CLI=$(awk -v l="$LATENCY" 'BEGIN {printf "%.3f", 10 * l / 1000}')
mkdir -p target/bench
{
  echo "| cleanup, ${LATENCY} ms per call | seconds | vs reference | vs critical path |"
  echo "|---|---|---|---|"
  awk -v r="$REF_S" -v c="$CRIT_CLI" -v b="$BROKER_S" 'BEGIN {printf "| broker, whole CLI run (%s) | %.2f | %.0fx faster | %.1fx of %.2f s |\n", "'"$STATE, $DELETED of $RESOURCES deleted"'", b, r / b, b / c, c}'
  if [[ -n "$ENGINE_S" ]]; then
    awk -v r="$REF_S" -v c="$CRIT_ENGINE" -v e="$ENGINE_S" 'BEGIN {printf "| broker, claim to finish (audit event) | %.2f | %.0fx faster | %.1fx of %.2f s |\n", e, r / e, e / c, c}'
  fi
  awk -v r="$REF_S" 'BEGIN {printf "| reference: boto3, one call at a time | %.2f | 1x | |\n", r}'
} | tee target/bench/cleanup.md
