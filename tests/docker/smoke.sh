#!/usr/bin/env bash
# make docker-test: the image from `make docker-build` serves both protocols, keeps data
# in its volume across a container restart, and stops cleanly on SIGTERM. Only loopback
# ports are published; the container and volume are removed by name at the end.
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
name="mv-smoke-$$"
volume="mv-smoke-data-$$"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
bin_port=$(free_port)
http_port=$(free_port)
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; docker volume rm "$volume" >/dev/null 2>&1 || true; }
trap cleanup EXIT

start() {
  docker run -d --name "$name" --init -p "127.0.0.1:$bin_port:3000" -p "127.0.0.1:$http_port:8080" \
    -v "$volume:/data" "$image" >/dev/null
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$http_port/health" >/dev/null && return 0
    sleep 0.1
  done
  docker logs "$name"; echo "FAIL: the container did not serve HTTP"; exit 1
}
fail() { echo "FAIL: $*"; docker logs "$name" 2>&1 | tail -20; exit 1; }

start
[ "$(curl -s -X PUT "http://127.0.0.1:$http_port/smoke" -d '{"value":{"n":12345678901234567890}}')" = '{"success":true}' ] \
  || fail "HTTP PUT"
cli --port "$bin_port" set bin-key bin-value || fail "binary SET"
[ "$(cli --port "$bin_port" get smoke)" = '{"n":12345678901234567890}' ] || fail "binary GET of an HTTP value"
docker stop -t 10 "$name" >/dev/null
[ "$(docker inspect -f '{{.State.ExitCode}}' "$name")" = 0 ] || fail "SIGTERM did not stop the node cleanly"
docker rm "$name" >/dev/null
start # a new container on the same volume
[ "$(curl -s "http://127.0.0.1:$http_port/bin-key")" = '{"success":true,"data":"bin-value"}' ] \
  || fail "data did not survive the container restart"
echo "docker smoke test passed ($image)"
