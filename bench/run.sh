#!/usr/bin/env bash
# make bench: engine benchmarks, then minivault vs Redis with the same load generator
# (bench/compare.py), on the optimised build. Results land in bench/results/; the plot
# goes to bench/throughput.png. BENCH_SKIP_ENGINE=1 runs only the comparison.
set -euo pipefail
build_dir=${1:-build-opt}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/results"
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json="$out/engine-$stamp.json"

if [ -z "${BENCH_SKIP_ENGINE:-}" ]; then
echo "== storage engine (100-byte values; puts acknowledged after commit = SIGKILL-safe)"
"$build_dir/engine_bench" --benchmark_out="$json" --benchmark_out_format=json \
  --benchmark_repetitions="${BENCH_REPETITIONS:-3}" --benchmark_report_aggregates_only=true \
  ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"}

python3 - "$json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
print("\n%-48s %14s" % ("case (median of repetitions)", "ops/s"))
for b in data["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    name = b["run_name"].replace("/min_time:2.000", "").replace("/real_time", "")
    print("%-48s %14s" % (name, "{:,.0f}".format(b["items_per_second"])))
PY
echo "results: $json"
fi

echo
echo "== minivault vs Redis, same client (minivault-bench), interleaved rounds"
python3 "$here/compare.py" --build "$build_dir" --out "$out" --plot "$here/throughput.png"
