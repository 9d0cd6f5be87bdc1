#!/usr/bin/env bash
# Clang's thread-safety analysis over the sources: every .cpp of actors/ protocol/
# storage/ http/ client/, compiled -fsyntax-only with the build's own flags (from
# <build_dir>/compile_commands.json) plus -Wthread-safety -Werror. A field declared
# MV_GUARDED_BY(m) that is touched without holding m, or a function that needs a lock
# its caller does not hold, fails the check with clang's diagnostics
# (protocol/thread_annotations.hpp says how to annotate).
#
# usage: tests/lint/thread_safety.sh <build_dir> [source.cpp ...]
#   (ctest runs it as lint_thread_safety over every source; naming sources checks only
#   those, e.g. tests/lint/thread_safety.sh build storage/table.cpp)
# Exit: 0 clean, 1 findings (or a broken setup), 77 skipped: clang++ is not installed
# (apt-get install clang; make deps installs it).
set -euo pipefail

build_dir=${1:?usage: thread_safety.sh <build_dir> [source.cpp ...]}
shift
src_dir=$(cd "$(dirname "$0")/../.." && pwd)
clangxx=${CLANGXX:-clang++}
jobs=${LINT_JOBS:-2}

if ! command -v "$clangxx" >/dev/null 2>&1; then
  echo "SKIP: $clangxx not found; install the Debian package clang to run this check"
  exit 77
fi
db="$build_dir/compile_commands.json"
if [ ! -f "$db" ]; then
  echo "FAIL: $db missing (configure with CMAKE_EXPORT_COMPILE_COMMANDS=ON)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mv-thread-safety.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One clang response file per source: the build's command with the compiler, -o and -c
# dropped and the warning flags replaced (GCC's -Wall set is not clang's; only the
# thread-safety findings decide here).
python3 - "$db" "$src_dir" "$work" "$@" <<'PY'
import json, os, shlex, subprocess, sys

db, src, work = sys.argv[1:4]
only = [os.path.relpath(os.path.realpath(p), src) for p in sys.argv[4:]]
dirs = ("actors/", "protocol/", "storage/", "http/", "client/")
entries = {}
for e in json.load(open(db)):
    path = os.path.realpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(path, src)
    if rel.startswith(dirs) and rel.endswith(".cpp"):
        entries[rel] = e

try:  # a source tree without git (a tarball) skips this completeness check
    tracked = subprocess.run(["git", "-C", src, "ls-files", "--", *[d + "*.cpp" for d in dirs]],
                             capture_output=True, text=True).stdout.split()
except OSError:
    tracked = []
missing = [f for f in tracked if f not in entries]
if missing:
    print("FAIL: no compile command for " + ", ".join(missing) +
          " (not in any target, or the build dir predates them: re-run cmake)", file=sys.stderr)
    sys.exit(1)
if not entries:
    print("FAIL: no sources of " + " ".join(dirs) + " in " + db, file=sys.stderr)
    sys.exit(1)
if only:
    unknown = [f for f in only if f not in entries]
    if unknown:
        print("FAIL: not a source of " + " ".join(dirs) + ": " + ", ".join(unknown),
              file=sys.stderr)
        sys.exit(1)
    entries = {f: entries[f] for f in only}

for n, (rel, e) in enumerate(sorted(entries.items())):
    args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    out, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c" or a.startswith("-W") or a.startswith("-o"):
            continue
        out.append(a)
    with open(os.path.join(work, "%03d.rsp" % n), "w") as f:
        f.write("-working-directory=" + shlex.quote(e["directory"]) + "\n")
        f.write("\n".join(shlex.quote(a) for a in out) + "\n")
        f.write("-fsyntax-only\n-Wthread-safety\n-Werror\n")
    with open(os.path.join(work, "%03d.name" % n), "w") as f:
        f.write(rel)
PY

count=$(ls "$work"/*.rsp | wc -l)
# Each source in its own clang process, $jobs at a time; diagnostics go to a log per
# source and are printed together at the end, not interleaved.
ls "$work"/*.rsp | xargs -P "$jobs" -I{} sh -c \
  '"$0" @"$1" >"${1%.rsp}.log" 2>&1 || touch "${1%.rsp}.failed"' "$clangxx" {}

failed=0
for f in "$work"/*.failed; do
  [ -e "$f" ] || continue
  failed=$((failed + 1))
  echo "== $(cat "${f%.failed}.name")"
  cat "${f%.failed}.log"
done
if [ "$failed" -gt 0 ]; then
  echo "FAIL: clang -fsyntax-only -Wthread-safety -Werror: $failed of $count source(s) failed" \
       "(diagnostics above). For a thread-safety finding, hold the lock its MV_GUARDED_BY or" \
       "MV_REQUIRES names (protocol/thread_annotations.hpp)." >&2
  exit 1
fi
echo "ok: clang -Wthread-safety clean over $count sources"
