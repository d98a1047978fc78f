#!/usr/bin/env bash
# Price list import benchmark: `prices import` over synthetic EC2 offer
# files of PRICES_PRODUCTS products each (default 200,000 and 1,000,000:
# about 0.3 and 1.4 GB; AWS's real EC2 file is several GB), written in
# AWS's layout by scripts/lib/offer_file.py, one product in 50 kept (a plain
# Linux instance in us-east-1, the region config/default.toml names).
# Reports the file size, the import's wall time and its peak resident
# memory (/usr/bin/time): memory must stay flat as the file grows. A debug
# build, as the other benchmarks. Results: stdout and
# target/bench/prices.md. Run by scripts/bench.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time is required: apt-get install time" >&2; exit 1; }
echo "==> building (debug)"
cargo build --locked --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p target/bench
{
  echo "| products | file MB | kept | seconds | peak RSS MB |"
  echo "|---|---|---|---|---|"
} > target/bench/prices.md
for n in ${PRICES_PRODUCTS:-200000 1000000}; do
  echo "==> an offer file of $n products"
  python3 scripts/lib/offer_file.py "$n" "$work/AmazonEC2.json"
  mb=$(( $(stat -c %s "$work/AmazonEC2.json") / 1000000 ))
  /usr/bin/time -f "%e %M" -o "$work/time" ./target/debug/sandbox-broker --config config/default.toml \
    prices import "$work/AmazonEC2.json" --out "$work/prices.toml" 2> "$work/summary"
  read -r seconds kb < "$work/time"
  kept=$(grep -o '[0-9]* kept' "$work/summary" | cut -d' ' -f1)
  printf '| %s | %s | %s | %s | %s |\n' "$n" "$mb" "$kept" "$seconds" "$(( kb / 1024 ))" >> target/bench/prices.md
  rm -f "$work/AmazonEC2.json"
done
cat target/bench/prices.md
