#!/usr/bin/env bash
# Boots systemd as PID 1 in ROOT (a Debian root with the minivault package and systemd
# installed) and checks that minivault.service starts there, the way it would on a
# Debian host: enabled by the package's postinst, run by systemd with the unit's
# sandboxing as the minivault user, serving on loopback. A check unit records what it
# saw in ROOT/root/minivault-check.out, then powers the container off.
#
# The container is made of namespaces only (PID, mount, network, UTS, IPC, cgroup) with
# pivot_root into ROOT, /proc/sys and /sys read-only, and the capabilities to set the
# clock, load modules and raw I/O dropped: nothing reaches the host, and every mount
# and process goes with it. Usage: boot_systemd.sh ROOT (as root).
set -euo pipefail
root=$(realpath "${1:?usage: $0 ROOT}")
out="$root/root/minivault-check.out"

cat > "$root/etc/systemd/system/minivault-check.service" <<'UNIT'
[Unit]
Description=minivault package test: is minivault.service serving? then power off
After=minivault.service
Wants=minivault.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'for i in $(seq 1 150); do minivault-cli --timeout 500 health >/dev/null 2>&1 && break; sleep 0.2; done; { minivault-cli set via-systemd yes && echo "get: $(minivault-cli get via-systemd)"; systemctl show -p ActiveState -p SubState -p User -p Result minivault.service; echo "process owner: $(stat -c %%U /proc/$(systemctl show -p MainPID --value minivault.service))"; } > /root/minivault-check.out 2>&1'
ExecStartPost=/bin/systemctl poweroff
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/minivault-check.service \
  "$root/etc/systemd/system/multi-user.target.wants/minivault-check.service"
rm -f "$out"

timeout -k 5 180 unshare --pid --fork --mount --net --uts --ipc --cgroup bash -c "
  set -e
  mount --make-rprivate /
  mount --bind '$root' '$root'
  mount -t proc proc '$root/proc'
  mount --bind '$root/proc/sys' '$root/proc/sys' && mount -o remount,bind,ro '$root/proc/sys'
  mount -t sysfs -o ro sysfs '$root/sys'
  mount -t tmpfs tmpfs '$root/run'
  mount -t tmpfs tmpfs '$root/tmp'
  mount --bind /dev '$root/dev'
  ip link set lo up
  cd '$root' && mkdir -p oldroot && pivot_root . oldroot && umount -l /oldroot
  exec setpriv --bounding-set -sys_time,-sys_module,-sys_rawio /usr/bin/env -i \
    container=minivault-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    /lib/systemd/systemd --system --unit=multi-user.target --show-status=no
" >/dev/null 2>&1 || true # systemd's exit status after poweroff says nothing; the file does

rm -f "$root/etc/systemd/system/multi-user.target.wants/minivault-check.service" \
  "$root/etc/systemd/system/minivault-check.service"
rmdir "$root/oldroot" 2>/dev/null || true
[ -f "$out" ] || { echo "FAIL: systemd did not run the check (no $out)"; exit 1; }
cat "$out"
grep -qx 'get: yes' "$out" && grep -qx 'ActiveState=active' "$out" && grep -qx 'SubState=running' "$out" &&
  grep -qx 'User=minivault' "$out" && grep -qx 'process owner: minivault' "$out" ||
  { echo "FAIL: minivault.service did not serve under systemd"; exit 1; }
echo "minivault.service started by systemd and served"
