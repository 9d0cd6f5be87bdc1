#!/usr/bin/env bash
# make docker-cluster-test: the three nodes of docker-compose.yml, end to end, from the image
# `make docker-build` made. Brings the cluster up, waits until every node sees both peers up,
# writes through node1 and reads through node2 and node3 (binary protocol with minivault-cli,
# HTTP with curl), stops node3 and checks writes still succeed (2 of 3), starts it again and
# checks it caught up (hinted handoff), then does the same with node2 killed (SIGKILL).
# Runs in its own compose project on free loopback ports, so a `make cluster-up` cluster is
# not disturbed, and removes its containers, network and volumes at the end (down -v).
set -euo pipefail
image=${1:-minivault:latest}
cli_path=${2:-}
# minivault-cli: the binary given as $2, else the image's own, run on the host network so
# that it reaches the published ports.
cli() {
  if [ -n "$cli_path" ]; then "$cli_path" "$@"; else
    docker run --rm -i --network host --entrypoint /usr/local/bin/minivault-cli "$image" "$@"
  fi
}
compose_cmd=${COMPOSE:-docker-compose}
root=$(cd "$(dirname "$0")/../.." && pwd)
project="mvclustersmoke$$"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

export MINIVAULT_IMAGE="$image" MINIVAULT_HOST_IP=127.0.0.1
declare -A bin http
for n in 1 2 3; do
  bin[$n]=$(free_port)
  http[$n]=$(free_port)
  export "MINIVAULT_NODE${n}_PORT=${bin[$n]}" "MINIVAULT_NODE${n}_HTTP_PORT=${http[$n]}"
done
compose() { $compose_cmd -p "$project" -f "$root/docker-compose.yml" "$@"; }

cleanup() { compose down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  compose ps || true
  compose logs --tail=20 || true
  exit 1
}
# until SECONDS_MAX CMD...: retries CMD every 0.1 s until it succeeds or time runs out.
until_ok() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
health() { cli --port "${bin[$1]}" --timeout 2000 health; }
# peers_up N: node N's health lists exactly two peers, both up.
peers_up() {
  health "$1" | python3 -c '
import json, sys
h = json.load(sys.stdin)
states = [p["state"] for p in h["peers"]]
sys.exit(0 if states == ["up", "up"] else 1)'
}
status_is() { [ "$(health "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = "$2" ]; }
bin_get_is() { [ "$(cli --port "${bin[$1]}" get "$2")" = "$3" ]; }
http_get_is() { [ "$(curl -s "http://127.0.0.1:${http[$1]}/$2")" = "$3" ]; }
wait_cluster() {
  for n in 1 2 3; do
    until_ok 60 peers_up "$n" || fail "node$n does not see both peers up: $(health "$n" 2>&1)"
  done
}

echo "== up: project $project, binary ports ${bin[*]}, HTTP ports ${http[*]}"
compose up -d
wait_cluster
status_is 1 healthy || fail "node1 is not healthy with every peer up"

echo "== write through node1, read through node2 and node3"
cli --port "${bin[1]}" set greeting hello || fail "binary SET on node1"
[ "$(curl -s -X PUT "http://127.0.0.1:${http[1]}/doc" -d '{"value":{"n":12345678901234567890}}')" \
  = '{"success":true}' ] || fail "HTTP PUT on node1"
for n in 2 3; do
  # A write is acknowledged by 2 of 3 replicas; the third gets it within milliseconds.
  until_ok 5 bin_get_is "$n" greeting hello || fail "binary GET greeting on node$n"
  until_ok 5 bin_get_is "$n" doc '{"n":12345678901234567890}' || fail "binary GET doc on node$n"
  http_get_is "$n" greeting '{"success":true,"data":"hello"}' || fail "HTTP GET greeting on node$n"
  http_get_is "$n" doc '{"success":true,"data":{"n":12345678901234567890}}' || fail "HTTP GET doc on node$n"
done
cli --port "${bin[3]}" del greeting || fail "binary DELETE on node3"
gone() { ! cli --port "${bin[$1]}" get "$2"; }
until_ok 5 gone 1 greeting || fail "the DELETE did not reach node1"

# outage NODE HOW: takes NODE down (stop = SIGTERM, kill = SIGKILL), checks that writes
# through the other two nodes still succeed, brings it back and checks it caught up.
outage() {
  local down=$1 how=$2 up1 up2
  up1=1
  up2=$((down == 2 ? 3 : 2))
  echo "== $how node$down: writes go on through node$up1 and node$up2"
  if [ "$how" = stop ]; then
    compose stop -t 20 "node$down"
    [ "$(docker inspect -f '{{.State.ExitCode}}' "$(compose ps -q "node$down")")" = 0 ] \
      || fail "node$down did not stop cleanly on SIGTERM"
  else
    compose kill -s SIGKILL "node$down"
  fi
  until_ok 10 status_is "$up1" degraded || fail "node$up1 is not degraded with node$down $how"
  for i in $(seq 1 50); do
    cli --port "${bin[$up1]}" set "$how-$i" "value-$i" >/dev/null || fail "binary SET $how-$i on node$up1 with node$down down"
  done
  for i in $(seq 1 10); do
    [ "$(curl -s -X PUT "http://127.0.0.1:${http[$up2]}/$how-http-$i" -d "{\"value\":$i}")" = '{"success":true}' ] \
      || fail "HTTP PUT $how-http-$i on node$up2 with node$down down"
  done
  cli --port "${bin[$up2]}" del doc || fail "DELETE doc on node$up2 with node$down down"
  bin_get_is "$up2" "$how-50" value-50 || fail "node$up2 does not have $how-50"
  # The outage was real: the restart policy did not bring the node back meanwhile.
  [ "$(docker inspect -f '{{.State.Running}}' "$(compose ps -q "node$down")")" = false ] \
    || fail "node$down came back by itself during the outage"

  echo "== start node$down again: it catches up"
  compose start "node$down"
  wait_cluster
  until_ok 30 bin_get_is "$down" "$how-50" value-50 || fail "node$down did not catch up ($how-50)"
  for i in $(seq 1 50); do
    bin_get_is "$down" "$how-$i" "value-$i" || fail "node$down misses $how-$i after catching up"
  done
  for i in $(seq 1 10); do
    until_ok 10 http_get_is "$down" "$how-http-$i" "{\"success\":true,\"data\":$i}" \
      || fail "node$down misses $how-http-$i (HTTP)"
  done
  until_ok 10 gone "$down" doc || fail "node$down missed the DELETE of doc"
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${http[$down]}/doc")" = 404 ] \
    || fail "HTTP GET doc on node$down is not 404"
  # Restore doc for the next round.
  cli --port "${bin[1]}" set doc '{"n":1}' >/dev/null || fail "SET doc"
  status_is "$down" healthy || fail "node$down is not healthy after its restart"
}
outage 3 stop
outage 2 kill

echo "== every node holds the same keys"
keys() { health "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"])'; }
same_keys() { [ "$(keys 1)" = "$(keys 2)" ] && [ "$(keys 2)" = "$(keys 3)" ]; }
until_ok 15 same_keys || fail "key counts differ: $(keys 1) / $(keys 2) / $(keys 3)"

echo "== down -v"
compose down -v --remove-orphans
trap - EXIT
if docker volume ls -q | grep -q "^${project}_"; then
  fail "volumes left behind: $(docker volume ls -q | grep "^${project}_")"
fi
echo "docker cluster smoke test passed ($image, 3 nodes)"
