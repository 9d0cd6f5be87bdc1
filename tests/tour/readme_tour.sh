#!/usr/bin/env bash
# Runs README.md's five-minute tour verbatim (tests/tour/extract_tour.py turns its
# ```sh tour blocks into a script whose `#> text` lines are checked).
#
#   readme_tour.sh SRC BUILD     the `tour` blocks (ctest: readme_tour_test): `make run`
#                                serves from BUILD, then the blocks run in a scratch
#                                directory whose build/ and config/ point at BUILD and
#                                SRC/config. In a network namespace of its own (unshare
#                                --net), so the README's fixed ports (3000, 8080,
#                                3001-3003) cannot collide with anything; needs root,
#                                exits 77 (skipped) without it.
#   readme_tour.sh --docker SRC  the `tour-docker` block, in a fresh `git clone` of SRC
#                                (committed files only), as a new user would; needs Docker.
#                                Not in ctest. Its containers and volumes go (down -v).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = --docker ]; then
  src=$(realpath "${2:?usage: $0 --docker SRC}")
  work=$(mktemp -d /tmp/minivault-tour-docker-XXXXXX)
  trap '(cd "$work/minivault" 2>/dev/null && docker-compose down -v >/dev/null 2>&1); rm -rf "$work"' EXIT
  git clone -q "$src" "$work/minivault"
  python3 "$here/extract_tour.py" "$src/README.md" tour-docker > "$work/tour.sh"
  cd "$work/minivault"
  bash "$work/tour.sh"
  echo "README docker tour passed"
  exit 0
fi

src=$(realpath "${1:?usage: $0 SRC BUILD}")
build=$(realpath "${2:?usage: $0 SRC BUILD}")
if [ -z "${MV_TOUR_IN_NETNS:-}" ]; then
  [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null ||
    { echo "skipped: needs root for a network namespace (the README's ports are fixed)"; exit 77; }
  exec unshare --net env MV_TOUR_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up

work=$(mktemp -d /tmp/minivault-tour-XXXXXX)
run_pid=""
cleanup() {
  # `make run` and the node it started: their own process group (setsid below).
  [ -n "$run_pid" ] && kill -- -"$run_pid" 2>/dev/null && sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT
ln -s "$build" "$work/build"
ln -s "$src/config" "$work/config"
python3 "$here/extract_tour.py" "$src/README.md" tour > "$work/tour.sh"

# Terminal 1 of the README: `make run` (nothing to build: the test depends on both binaries).
setsid make --no-print-directory -C "$src" run BUILD_DIR="$build" DATA="$work/data" > "$work/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 6000); do # building, when sources changed since, then starting
  curl -sf localhost:8080/health >/dev/null 2>&1 && break
  kill -0 "$run_pid" 2>/dev/null || { cat "$work/run.log"; echo "FAIL: make run exited"; exit 1; }
  sleep 0.1
done
curl -sf localhost:8080/health >/dev/null || { cat "$work/run.log"; echo "FAIL: make run does not serve HTTP on 8080"; exit 1; }
grep -q "protected mode" "$work/run.log" || { cat "$work/run.log"; echo "FAIL: no protected-mode line, as the README says"; exit 1; }

# Terminal 2: the tour, from the scratch directory.
(cd "$work" && bash tour.sh) || { echo "---- make run's log"; cat "$work/run.log"; exit 1; }
echo "README tour passed"
