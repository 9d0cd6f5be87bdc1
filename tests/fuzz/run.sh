#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz, built in BUILD_DIR by `make fuzz-build`.
#
#   run.sh BUILD_DIR RUNS [TARGET...]       `make fuzz`: each target for RUNS executions,
#                                            one after another, starting from its corpus;
#                                            then tests/fuzz/corpus/<target>/ is minimized
#                                            with the new finds (-merge=1)
#   run.sh --smoke BUILD_DIR [TARGET...]    `make test`: each target briefly (50k
#                                            executions, at most 15 s); nothing is merged
#
# A crash, hang (-timeout), leak or sanitizer report stops the run with exit status 1 and
# leaves the input in BUILD_DIR/fuzz-artifacts/. A summary of executions and exec/s per
# target is printed at the end and kept in BUILD_DIR/fuzz-summary.txt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
smoke=0
if [ "${1:-}" = "--smoke" ]; then
  smoke=1
  shift
fi
build=${1:?usage: run.sh [--smoke] BUILD_DIR [RUNS] [TARGET...]}
shift
if [ $smoke = 1 ]; then runs=50000; else runs=${1:?RUNS missing}; shift; fi

# Every target and its largest input (bytes): enough for what it parses, small enough
# to keep executions fast. http_codec needs more than the 16 KiB head bound.
targets=(wire_request wire_reply http_codec json_text cluster_codec batch hint ship_batch config)
declare -A max_len=([wire_request]=4096 [wire_reply]=4096 [http_codec]=20000 [json_text]=4096
                    [cluster_codec]=4096 [batch]=4096 [hint]=4096 [ship_batch]=4096
                    [config]=8192)
[ $# -gt 0 ] && targets=("$@")

artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
summary=$build/fuzz-summary.txt
printf '%-14s %12s %9s %8s %s\n' target executions exec/s seconds corpus >"$summary"
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/${t}_fuzz
  corpus=$here/corpus/$t
  [ -n "${max_len[$t]:-}" ] || { echo "run.sh: unknown target $t" >&2; exit 2; }
  [ -x "$bin" ] || { echo "run.sh: $bin missing (make fuzz-build)" >&2; exit 2; }
  mkdir -p "$corpus"
  work=$build/fuzz-work/$t # new inputs land here; the repository's corpus is only read
  rm -rf "$work" && mkdir -p "$work"
  log=$build/fuzz-work/$t.log
  before=$(find "$corpus" -type f | wc -l)
  echo "== $t: $runs executions (max_len ${max_len[$t]}), log $log"
  limits=(-runs="$runs" -max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048)
  [ $smoke = 1 ] && limits+=(-max_total_time=15)
  start=$(date +%s.%N)
  if ! "$bin" "${limits[@]}" -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
      "$work" "$corpus" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "run.sh: $t FAILED: the input is in $artifacts/ (replay: $bin <file>)" >&2
    exit 1
  fi
  seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  # libFuzzer's own average counts whole seconds; this one does not.
  rate=$(awk -v n="$execs" -v s="$seconds" 'BEGIN {printf "%d", (s > 0 ? n / s : n)}')
  after=$before
  if [ $smoke = 0 ]; then
    # The corpus is minimized as a whole: the fewest inputs that reach every edge of the
    # old corpus and of the new finds (edges, not hit counts: -use_counters=0 keeps it at
    # a few hundred files; the runs themselves explore with counters). Named inputs
    # (seed-*, bug-*) always stay; the others (named by their SHA-1, as libFuzzer names
    # them) are replaced by the result.
    merged=$build/fuzz-work/$t.merged
    rm -rf "$merged" && mkdir -p "$merged"
    "$bin" -merge=1 -use_counters=0 -max_len="${max_len[$t]}" -timeout=10 \
      "$merged" "$corpus" "$work" >"$build/fuzz-work/$t.merge.log" 2>&1
    find "$corpus" -type f ! -name 'seed-*' ! -name 'bug-*' -delete
    named=" $(find "$corpus" -type f -exec sha1sum {} + | awk '{print $1}' | tr '\n' ' ') "
    for f in "$merged"/*; do
      [ -e "$f" ] || continue
      [[ $named == *" $(basename "$f") "* ]] || cp "$f" "$corpus/"
    done
    after=$(find "$corpus" -type f | wc -l)
  fi
  line=$(printf '%-14s %12s %9s %8s %s' "$t" "$execs" "$rate" "$seconds" "$before -> $after files")
  echo "$line"
  echo "$line" >>"$summary"
done
echo
cat "$summary"
