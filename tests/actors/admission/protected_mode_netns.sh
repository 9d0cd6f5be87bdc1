#!/usr/bin/env bash
# Protected mode over real sockets: a client connecting from a non-loopback address is
# refused (binary: an error reply with the reason, then EOF; HTTP: 403 JSON) unless the
# node has -auth, an explicit -bind or -protected-mode no; loopback clients always get in.
#
# Runs in a network namespace of its own (unshare --net), where 10.213.0.1 is put on that
# namespace's lo: connecting to it comes from 10.213.0.1, a non-loopback source. Nothing
# changes in the caller's namespace, and the namespace ends with this script's processes.
# Needs root (unshare); exits 77 (ctest: skipped) without it.
# Usage: protected_mode_netns.sh path/to/minivault
set -euo pipefail
bin=$(realpath "${1:?usage: $0 path/to/minivault}")
if [ -z "${MV_IN_NETNS:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "skipped: needs root for a network namespace"; exit 77; }
  command -v unshare >/dev/null && command -v ip >/dev/null && command -v python3 >/dev/null ||
    { echo "skipped: needs unshare, ip and python3"; exit 77; }
  unshare --net true 2>/dev/null || { echo "skipped: cannot create a network namespace"; exit 77; }
  exec unshare --net env MV_IN_NETNS=1 bash "$0" "$@"
fi

outside=10.213.0.1
ip link set lo up
ip addr add "$outside/32" dev lo
work=$(mktemp -d /tmp/minivault-protected-XXXXXX)
pid=""
stop_node() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=""; }
trap 'stop_node; rm -rf "$work"' EXIT

# probe SOURCE PROTO: prints "served" or "refused: <reason>" (binary), or the HTTP status
# line's code and body (http), for a client connecting from SOURCE to the node.
probe() {
  python3 - "$1" "$2" <<'PY'
import socket, struct, sys
src, proto = sys.argv[1], sys.argv[2]
s = socket.socket()
s.settimeout(5)
s.bind((src, 0))
s.connect(("10.213.0.1" if src != "127.0.0.1" else "127.0.0.1", 3000 if proto == "binary" else 8080))
if proto == "binary":
    s.sendall(b"\x05\x00\x00")  # HEALTH with an empty key
    head = b""
    while len(head) < 5:
        chunk = s.recv(5 - len(head))
        if not chunk: sys.exit("closed before a reply")
        head += chunk
    status, n = head[0], struct.unpack("<I", head[1:5])[0]
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    if status == 0:
        print("served")
    else:
        rest = s.recv(100)  # the node closes after the error reply
        print("refused: " + body.decode() + (" (then closed)" if rest == b"" else " (left open)"))
else:
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    print(head.split(b" ")[1].decode() + " " + body.decode())
PY
}

start_node() { # start_node [ARGS...]: readiness is checked from $ready_src
  "$bin" -port 3000 -http 8080 -data "$work/data" "$@" 2>"$work/log" &
  pid=$!
  for _ in $(seq 1 100); do
    [ "$(probe "${ready_src:-127.0.0.1}" binary 2>/dev/null)" = served ] && return 0
    sleep 0.1
  done
  cat "$work/log"; echo "FAIL: the node did not start ($*)"; exit 1
}
fail() { echo "FAIL: $*"; cat "$work/log"; exit 1; }
expect() { # expect WHAT GOT PATTERN
  [[ "$2" == $3 ]] || fail "$1: got '$2', expected '$3'"
  echo "ok: $1: $2"
}

# Default: protected. Loopback is served on both protocols, 10.213.0.1 refused on both.
start_node
grep -q "protected mode" "$work/log" || fail "no protected-mode line in the log at start"
expect "default, loopback, binary" "$(probe 127.0.0.1 binary)" "served"
expect "default, loopback, http" "$(probe 127.0.0.1 http)" '200 {"status":*'
expect "default, $outside, binary" "$(probe $outside binary)" \
  "refused: protected mode: *-protected-mode no (then closed)"
expect "default, $outside, http" "$(probe $outside http)" \
  '403 {"success":false,"error":"protected mode: *-protected-mode no"}'
stop_node

# Each way of turning it off serves the outside address.
for args in "-protected-mode no" "-bind 0.0.0.0" "-bind $outside" "-auth s3cret"; do
  ready_src=127.0.0.1
  [[ "$args" == "-bind $outside" ]] && ready_src=$outside
  # shellcheck disable=SC2086
  start_node $args
  [[ "$args" == "-bind $outside" ]] || expect "$args, loopback, binary" "$(probe 127.0.0.1 binary)" "served"
  expect "$args, $outside, binary" "$(probe $outside binary)" "served"
  expect "$args, $outside, http" "$(probe $outside http)" '200 {"status":*'
  ! grep -q "protected mode" "$work/log" || fail "$args: the log still claims protected mode"
  stop_node
done
echo "protected mode netns test passed"
