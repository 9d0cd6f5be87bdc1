#!/usr/bin/env bash
# The .deb in a clean Debian root: installs it with apt-get (dependencies from Debian's
# mirror; systemd first, as on a Debian host), checks what the package put where
# (binaries, unit enabled, conffile, user, data directory, clients), then
#  1. starts the unit's ExecStart line as the unit's User in a chroot, and checks the
#     node serves both protocols and the Python and JavaScript clients read it back;
#  2. boots systemd as PID 1 in the root (boot_systemd.sh: namespaces only) and checks
#     that it starts minivault.service, which serves.
#
# Usage: deb_chroot_test.sh DEB [ROOT]
#   ROOT: a debootstrap'd bookworm (--variant=minbase); made in a temporary directory
#   (and removed) when not given. Needs root. The node runs in a network namespace of
#   its own (unshare --net), with mounts private to the test (unshare --mount).
set -euo pipefail
deb=$(realpath "${1:?usage: $0 DEB [ROOT]}")
root=${2:-}
[ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }
made_root=""
if [ -z "$root" ]; then
  root=$(mktemp -d /var/tmp/minivault-debroot-XXXXXX)
  chmod 755 "$root" # it becomes /: mktemp made it 0700, which only root could enter
  made_root=$root
  echo "== debootstrap --variant=minbase bookworm $root"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1
fi
cleanup() { [ -n "$made_root" ] && rm -rf "$made_root" "$made_root.log"; true; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
# in_root CMD...: runs CMD in the root with private mounts (/proc, /dev/pts) and PIDs.
in_root() {
  unshare --mount --pid --fork --mount-proc="$root/proc" chroot "$root" /usr/bin/env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
}

echo "== apt-get install systemd python3 nodejs, then ./$(basename "$deb")"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/"
in_root apt-get update -qq
in_root apt-get install -y -qq systemd python3 nodejs >/dev/null
in_root apt-get install -y -qq "/tmp/$(basename "$deb")" >/dev/null

echo "== what the package installed"
for f in /usr/bin/minivault /usr/bin/minivault-cli /lib/systemd/system/minivault.service \
         /etc/minivault/minivault.ini /usr/lib/python3/dist-packages/minivault.py \
         /usr/share/nodejs/minivault/minivault.js /usr/share/nodejs/minivault/package.json \
         /usr/share/doc/minivault/README.md; do
  [ -e "$root$f" ] || fail "missing $f"
done
grep -qx /etc/minivault/minivault.ini "$root/var/lib/dpkg/info/minivault.conffiles" || fail "config is not a conffile"
in_root getent passwd minivault | grep -q ':/var/lib/minivault:/usr/sbin/nologin$' || fail "no minivault system user"
owner=$(in_root stat -c '%U %a' /var/lib/minivault)
[ "$owner" = "minivault 750" ] || fail "/var/lib/minivault: $owner"
[ -L "$root/etc/systemd/system/multi-user.target.wants/minivault.service" ] || fail "unit not enabled"
in_root systemd-analyze verify /lib/systemd/system/minivault.service || fail "systemd-analyze verify"
unit="$root/lib/systemd/system/minivault.service"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
workdir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
echo "   ExecStart=$exec_start, User=$user, WorkingDirectory=$workdir"

echo "== the service's command as $user, in a network namespace of its own"
cat > "$root/tmp/serve_check.sh" <<CHECK
set -eu
trap 'echo "---- node log:"; cat /tmp/node.log' EXIT
cd "$workdir"
setpriv --reuid="$user" --regid="$user" --init-groups $exec_start 2>/tmp/node.log &
pid=\$!
for i in \$(seq 1 300); do minivault-cli --timeout 500 health >/dev/null 2>&1 && break; sleep 0.1; done
minivault-cli set pkg-key pkg-value
[ "\$(minivault-cli get pkg-key)" = pkg-value ]
exec 3<>/dev/tcp/127.0.0.1/8080
printf 'GET /pkg-key HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
reply=\$(cat <&3)
case "\$reply" in *'{"success":true,"data":"pkg-value"}'*) ;; *) echo "HTTP: \$reply"; exit 1 ;; esac
python3 -c 'import minivault; c = minivault.Client("127.0.0.1", 3000); assert c.get("pkg-key") == b"pkg-value"; print("python client ok")'
node -e 'const {Client} = require("minivault"); const c = new Client({port: 3000}); c.get("pkg-key").then((v) => { if (String(v) !== "pkg-value") process.exit(1); console.log("js client ok"); c.close(); })'
[ "\$(stat -c %U /var/lib/minivault/minivault.db)" = "$user" ]
[ "\$(stat -c %U /proc/\$pid)" = "$user" ]
kill \$pid; wait \$pid
CHECK
unshare --net --mount --pid --fork --mount-proc="$root/proc" \
  bash -c "ip link set lo up && chroot '$root' /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin bash /tmp/serve_check.sh" \
  || fail "the service command did not serve (see above)"
echo "== systemd as PID 1 in the root starts minivault.service"
bash "$(dirname "$0")/boot_systemd.sh" "$root"
echo "deb chroot test passed ($(basename "$deb"))"
