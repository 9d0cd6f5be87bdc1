#!/usr/bin/env python3
"""Geo-replication on the emulator: two regions of three nodes, 40 ms one-way between them
(protocol/README.md §4). Checked from a client namespace next to both regions:

- local_quorum writes (the default) are acknowledged without waiting for the WAN: their
  latency stays far below one WAN round trip (80 ms);
- each_quorum writes wait for the other region (at least one round trip) and are readable
  there by a local_quorum QGET right after the acknowledgement;
- a local_quorum write becomes visible in the other region within one-way delay plus the
  spec's 50 ms (p99, polled with plain GETs from outside);
- the regions cut off from each other: local_quorum writes go on on both sides (every one
  acknowledged), each_quorum fails fast with `no quorum` naming the missing region;
  after the heal every node converges to the same value of every key (last writer wins
  for keys both sides wrote), no acknowledged write is lost and deleted keys stay deleted.

usage: geo_test.py NETEM_BINARY MINIVAULT_BINARY   (exit 77 = skipped: needs root)
"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from netem import Netem, Skip, SKIP, skip_unless_possible  # noqa: E402
from wan_cluster import WanCluster, wait_until, all_peers_up  # noqa: E402
import minivault  # noqa: E402  (wan_cluster put client/python on the path)

EAST, WEST = [0, 1, 2], [3, 4, 5]
NODES = 6
CLIENT = NODES  # the client's namespace: no delay to either region
ONE_WAY_MS = 40.0


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def timed(f):
    t0 = time.monotonic()
    f()
    return (time.monotonic() - t0) * 1000.0


class Check:
    def __init__(self):
        self.failures = []

    def expect(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            self.failures.append(what)


def local_writes_do_not_wait_for_the_wan(cluster, check):
    db = cluster.client(0)
    lat = [timed(lambda i=i: db.set("lq-%d" % i, "v%d" % i)) for i in range(200)]
    p50, p90 = percentile(lat, 0.5), percentile(lat, 0.9)
    print("local_quorum SET p50 %.2f ms, p90 %.2f ms, p99 %.2f ms" %
          (p50, p90, percentile(lat, 0.99)))
    check.expect(p50 < 20 and p90 < 60,
                 "local_quorum SET p50 %.1f ms / p90 %.1f ms, far below the 80 ms round trip"
                 % (p50, p90))


def each_quorum_waits_for_the_other_region(cluster, check):
    # The burst above filled the window of requests in flight to each remote replica
    # (-workers); until it drains, a level that needs the other region cannot be met and
    # fails at once. Shipping (one stream per region instead of a request per replica)
    # is what removes that coupling.
    time.sleep(1.0)
    east = minivault.Client(cluster.net.address(0), 3000, timeout=5, consistency="each_quorum")
    west = minivault.Client(cluster.net.address(4), 3000, timeout=5, consistency="local_quorum")
    lat, stale = [], 0
    for i in range(20):
        key, value = "eq-%d" % i, "each-%d" % i
        lat.append(timed(lambda: east.set(key, value)))
        if west.get(key, quorum=True) != value.encode():
            stale += 1
    print("each_quorum SET min %.1f ms, p50 %.1f ms" % (min(lat), percentile(lat, 0.5)))
    check.expect(min(lat) >= 2 * ONE_WAY_MS - 2,
                 "each_quorum SET takes a WAN round trip (min %.1f ms)" % min(lat))
    check.expect(stale == 0, "each_quorum writes readable in the other region right after "
                 "the ack (%d of 20 were not)" % stale)


def visibility_in_the_other_region(cluster, check):
    east, west = cluster.client(1), cluster.client(3)
    seen = []
    for i in range(60):
        key, value = "vis-%d" % i, ("x%d" % i).encode()
        t0 = time.monotonic()
        east.set(key, value)
        while west.get(key) != value:
            if time.monotonic() - t0 > 5:
                break
            time.sleep(0.001)
        seen.append((time.monotonic() - t0) * 1000.0)
    p50, p99 = percentile(seen, 0.5), percentile(seen, 0.99)
    print("cross-region visibility from send: p50 %.1f ms, p99 %.1f ms (one-way %.0f ms)" %
          (p50, p99, ONE_WAY_MS))
    check.expect(p99 <= ONE_WAY_MS + 50,
                 "visible in the other region within one-way + 50 ms (p99 %.1f ms)" % p99)


def partition_and_heal(cluster, net, check):
    east, west = cluster.client(0), cluster.client(3)
    # Keys deleted on one side during the partition, written everywhere before it.
    for i in range(10):
        east.set("del-%d" % i, "before")
    time.sleep(0.5)

    net.cut(EAST, WEST)
    cut_at = time.time()
    last = {}  # key -> the value of its last acknowledged write (None: deleted)
    shared_last = {}  # shared key -> {side: its last acknowledged value}
    attempts = {"east": 0, "west": 0}
    acked = {"east": 0, "west": 0}
    i = 0
    while time.time() - cut_at < 8:
        for side, db in (("east", east), ("west", west)):
            for key, value in (("%s-only-%d" % (side, i % 40), "%s%d" % (side, i)),
                               ("shared-%d" % (i % 10), "%s%d" % (side, i))):
                attempts[side] += 1
                try:
                    db.set(key, value)
                    acked[side] += 1
                    if key.startswith("shared"):
                        shared_last.setdefault(key, {})[side] = value
                    else:
                        last[key] = value
                except minivault.MinivaultError as e:
                    print("%s write of %s failed: %s" % (side, key, e))
        if i < 10:
            attempts["east"] += 1
            try:
                east.delete("del-%d" % i)
                acked["east"] += 1
                last["del-%d" % i] = None
            except minivault.MinivaultError as e:
                print("east delete failed: %s" % e)
        i += 1
        time.sleep(0.01)
    for side in ("east", "west"):
        check.expect(acked[side] == attempts[side],
                     "%s keeps serving local_quorum writes while cut off: %d of %d acknowledged"
                     % (side, acked[side], attempts[side]))

    # The other region is known down by now: each_quorum fails at once, naming it.
    wait_until(lambda: all(p.get("state") == "down" for p in cluster.health(0)["peers"]
                           if p.get("region") == "west"), 15, 0.2)
    regions = cluster.health(0)["regions"]
    check.expect([r["nodes_up"] for r in regions] == [3, 0],
                 "health shows the other region down: %s" % regions)
    eq = minivault.Client(cluster.net.address(0), 3000, timeout=5, consistency="each_quorum")
    error, took = "", 0.0
    t0 = time.monotonic()
    try:
        eq.set("eq-cut", "x")
    except minivault.ReplyError as e:
        error = str(e)
    took = (time.monotonic() - t0) * 1000.0
    print("each_quorum during the cut: %r after %.1f ms" % (error, took))
    check.expect(error.startswith("no quorum") and took < 500,
                 "each_quorum fails fast with no quorum while the other region is cut off")

    net.heal()
    healed_at = time.time()
    keys = sorted(set(last) | set(shared_last))
    clients = [cluster.client(n) for n in range(NODES)]

    def values_everywhere():
        return [[c.get(k) for k in keys] for c in clients]

    def converged():
        vs = values_everywhere()
        return all(v == vs[0] for v in vs)

    ok = wait_until(converged, 60, 0.5)
    print("converged=%s %.1f s after the heal" % (ok, time.time() - healed_at))
    check.expect(ok, "every node returns the same value for every key after the heal")
    got = dict(zip(keys, values_everywhere()[0]))
    lost = [k for k, v in last.items() if got[k] != (None if v is None else v.encode())]
    check.expect(not lost, "no acknowledged write lost or deleted key back (%d wrong: %s)"
                 % (len(lost), lost[:5]))
    bad_shared = [k for k, sides in shared_last.items()
                  if got[k] not in {v.encode() for v in sides.values()}]
    check.expect(not bad_shared, "keys both regions wrote hold one side's last write "
                 "(%d do not: %s)" % (len(bad_shared), bad_shared[:5]))


def main():
    netem_bin, mv_bin = sys.argv[1], sys.argv[2]
    skip_unless_possible(netem_bin)
    check = Check()
    try:
        net = Netem(netem_bin, NODES + 1)
    except Skip as e:
        print("SKIPPED:", e)
        return SKIP
    with net, tempfile.TemporaryDirectory(prefix="mv-geo-") as work:
        net.delay(EAST, WEST, ONE_WAY_MS)
        cluster = WanCluster(net, mv_bin, NODES, work, regions=["east"] * 3 + ["west"] * 3)
        client_ns = net.inside(CLIENT)
        client_ns.__enter__()
        try:
            cluster.start_all()
            formed = wait_until(lambda: all(all_peers_up(cluster, n) for n in range(NODES)),
                                60, 0.1)
            check.expect(formed, "two regions of three nodes formed")
            regions = cluster.health(4).get("regions")
            check.expect(regions == [{"name": "west", "nodes": 3, "nodes_up": 3},
                                     {"name": "east", "nodes": 3, "nodes_up": 3}],
                         "health lists the regions, this node's first: %s" % regions)
            if formed:
                local_writes_do_not_wait_for_the_wan(cluster, check)
                each_quorum_waits_for_the_other_region(cluster, check)
                visibility_in_the_other_region(cluster, check)
                partition_and_heal(cluster, net, check)
        finally:
            client_ns.__exit__(None, None, None)
            cluster.stop_all()
            if check.failures:
                for n in range(NODES):
                    print("---- node %d log (tail)" % n)
                    print("\n".join(cluster.log_text(n).splitlines()[-15:]))
    print("PASS" if not check.failures else "FAILED", flush=True)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
