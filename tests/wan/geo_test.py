#!/usr/bin/env python3
"""Geo-replication on the emulator: two regions of three nodes (or three of two, `3x2`),
40 ms one-way between regions (protocol/README.md §4). Checked from a client namespace
next to every region:

- local_quorum writes (the default) are acknowledged without waiting for the WAN: their
  latency stays far below one WAN round trip (80 ms); they cross it once per region,
  compressed (minivault_wan_bytes_sent_total);
- each_quorum writes, right after that burst, wait for the other region (at least one
  round trip) and are readable there by a local_quorum QGET right after the
  acknowledgement;
- a local_quorum write becomes visible in the other region within one-way delay plus the
  spec's 50 ms (p99, polled with plain GETs from outside);
- the regions cut off from each other: local_quorum writes go on on both sides (every one
  acknowledged), each_quorum fails fast with `no quorum` naming the missing region;
  after the heal every node converges to the same value of every key (last writer wins
  for keys both sides wrote), no acknowledged write is lost and deleted keys stay deleted;
- (two regions) the whole writing region SIGKILLed right after region_safe writes: all
  of them are on every node of the other region, which goes on taking writes; restarted,
  the region catches up with what it missed;
- writes pile up in the outboxes while the regions are cut off; an east node (a shipper)
  and a remote node (a relay) are SIGKILLed and the cut heals: every write still reaches
  every surviving remote node, the restarted ones catch up, every outbox drains;
- the east outboxes bounded at 64 writes (-geo-backlog-max, east restarted with it) and
  600 incompressible writes made while the regions are cut off: the outboxes overflow
  and mark partitions (minivault_geo_repair_marked_partitions); after the heal
  cross-region anti-entropy delivers every write to every remote node, every mark
  clears, and what crosses east -> other regions (counted by the emulator) stays near
  one copy per region (each remote replica pulling for itself would be 2-3);
- the second region's disks wiped (every node SIGKILLed, data deleted, restarted):
  cross-region anti-entropy refills it, each partition pulled once across the WAN by
  its first replica there and sent on to the others (about one copy of the data crosses,
  not one per replica);
- with --slow-wan (`make test` runs it for 2x3), 500 ms one-way between regions:
  local_quorum writes as fast as before, the outbox grows and drains, and everything
  reaches the other regions.

usage: geo_test.py NETEM_BINARY MINIVAULT_BINARY [2x3|3x2] [--slow-wan]
       (exit 77 = skipped: needs root)
"""

import os
import re
import shutil
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from netem import Netem, Skip, SKIP, skip_unless_possible  # noqa: E402
from wan_cluster import WanCluster, wait_until, all_peers_up, HTTP_PORT  # noqa: E402
import minivault  # noqa: E402  (wan_cluster put client/python on the path)

ONE_WAY_MS = 40.0
REGION_NAMES = ["east", "west", "south"]


class Layout:
    """`regions` regions of `per_region` nodes: node namespaces 0.., region by region;
    the client's namespace is the last one (no delay to any region). `home` is the first
    region (where most writes go), `away` every node of the others."""

    def __init__(self, spec):
        self.regions, self.per_region = (int(x) for x in spec.split("x"))
        self.nodes = self.regions * self.per_region
        self.members = [list(range(r * self.per_region, (r + 1) * self.per_region))
                        for r in range(self.regions)]
        self.home = self.members[0]
        self.away = [n for m in self.members[1:] for n in m]
        self.client = self.nodes
        self.labels = [REGION_NAMES[n // self.per_region] for n in range(self.nodes)]


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


def wan_bytes(cluster, node):
    """minivault_wan_bytes_sent_total of `node`, by region."""
    url = "http://%s:%d/metrics" % (cluster.net.address(node), HTTP_PORT)
    text = urllib.request.urlopen(url, timeout=3).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'minivault_wan_bytes_sent_total\{region="([^"]*)"\} (\d+)', line)
        if m:
            out[m.group(1)] = int(m.group(2))
    return out


def local_writes_do_not_wait_for_the_wan(cluster, lay, check):
    db = cluster.client(lay.home[0])
    before = {n: wan_bytes(cluster, n) for n in lay.home}
    lat = [timed(lambda i=i: db.set("lq-%d" % i, "v%d" % i)) for i in range(200)]
    remote = sorted(set(lay.labels) - {"east"})
    # Shipped: each write crosses the WAN once per region, packed (header, version, key,
    # value: about 30 bytes) and compressed, from whichever east node leads its partition.
    # Not once per remote replica (3 or 2 times that), as a coordinator would send it.
    def counted():
        got = {r: 0 for r in remote}
        for n in lay.home:
            now = wan_bytes(cluster, n)
            for r in remote:
                got[r] += now.get(r, 0) - (before[n].get(r, 0) if n in before else 0)
        return all(v > 0 for v in got.values()), got
    wait_until(lambda: counted()[0], 10, 0.2)
    ok, sent = counted()
    check.expect(ok and all(v <= 200 * 35 for v in sent.values()),
                 "the writes cross the WAN once per region, compressed "
                 "(minivault_wan_bytes_sent_total of the east nodes): %s" % sent)
    p50, p90 = percentile(lat, 0.5), percentile(lat, 0.9)
    print("local_quorum SET p50 %.2f ms, p90 %.2f ms, p99 %.2f ms" %
          (p50, p90, percentile(lat, 0.99)))
    check.expect(p50 < 20 and p90 < 60,
                 "local_quorum SET p50 %.1f ms / p90 %.1f ms, far below the 80 ms round trip"
                 % (p50, p90))


def each_quorum_waits_for_the_other_region(cluster, lay, check):
    # Right after the burst above: local_quorum writes are shipped, not sent to the
    # remote replicas, so they leave the window of requests in flight to those replicas
    # (-workers) free, and a level that needs the other region is met at once.
    east = minivault.Client(cluster.net.address(lay.home[0]), 3000, timeout=5,
                            consistency="each_quorum")
    west = minivault.Client(cluster.net.address(lay.away[-1]), 3000, timeout=5,
                            consistency="local_quorum")
    lat, stale = [], 0
    for i in range(20):
        key, value = "eq-%d" % i, "each-%d" % i
        try:
            lat.append(timed(lambda: east.set(key, value)))
        except minivault.MinivaultError as e:
            check.expect(False, "each_quorum SET right after a burst of local writes: %r" % e)
            return
        if west.get(key, quorum=True) != value.encode():
            stale += 1
    print("each_quorum SET min %.1f ms, p50 %.1f ms" % (min(lat), percentile(lat, 0.5)))
    check.expect(min(lat) >= 2 * ONE_WAY_MS - 2,
                 "each_quorum SET takes a WAN round trip (min %.1f ms)" % min(lat))
    check.expect(stale == 0, "each_quorum writes readable in the other region right after "
                 "the ack (%d of 20 were not)" % stale)


def visibility_in_the_other_region(cluster, lay, check):
    east, west = cluster.client(lay.home[1]), cluster.client(lay.away[0])
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


def partition_and_heal(cluster, net, lay, check):
    east, west = cluster.client(lay.home[0]), cluster.client(lay.away[0])
    # Keys deleted on one side during the partition, written everywhere before it.
    for i in range(10):
        east.set("del-%d" % i, "before")
    time.sleep(0.5)

    net.cut(lay.home, lay.away)
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
    home = lay.home[0]
    wait_until(lambda: all(p.get("state") == "down" for p in cluster.health(home)["peers"]
                           if p.get("region") != "east"), 15, 0.2)
    regions = cluster.health(home)["regions"]
    check.expect([r["nodes_up"] for r in regions] == [lay.per_region] + [0] * (lay.regions - 1),
                 "health shows the other regions down: %s" % regions)
    eq = minivault.Client(cluster.net.address(home), 3000, timeout=5, consistency="each_quorum")
    error, took = "", 0.0
    t0 = time.monotonic()
    try:
        eq.set("eq-cut", "x")
    except minivault.ReplyError as e:
        error = str(e)
    took = (time.monotonic() - t0) * 1000.0
    print("each_quorum during the cut: %r after %.1f ms" % (error, took))
    first_remote = sorted(set(lay.labels) - {"east"})[0]
    check.expect(error.startswith("no quorum: region %s has 0 of " % first_remote) and took < 500,
                 "each_quorum fails fast with no quorum naming the region cut off")

    net.heal()
    healed_at = time.time()
    keys = sorted(set(last) | set(shared_last))
    clients = [cluster.client(n) for n in range(lay.nodes)]

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


def backlog(cluster, node):
    """What `node` has yet to ship to each other region: {region: (writes, oldest ms)}."""
    return {r["name"]: (r["backlog_writes"], r["oldest_unshipped_ms"])
            for r in cluster.health(node)["regions"] if "backlog_writes" in r}


def shipper_and_relay_killed(cluster, net, lay, check):
    """Writes pile up in the east outboxes while the regions are cut off; then an east
    node (the shipper of about a third of the partitions) and a node of the other region
    (the relay of some east shippers) are SIGKILLed, and the cut heals: the other east
    nodes ship what the dead one led, the shippers whose relay died pick another, and
    every write reaches every surviving remote node. Restarted, the two catch up and
    every outbox drains."""
    net.cut(lay.home, lay.away)
    east = cluster.client(lay.home[0])
    written = {}
    for i in range(300):
        key, value = "bk-%d" % i, "b%d" % i
        east.set(key, value)
        written[key] = value.encode()
    remote = sorted(set(lay.labels) - {"east"})
    held = {n: backlog(cluster, n) for n in lay.home}
    check.expect(all(b[r][0] >= 100 and b[r][1] > 0 for b in held.values() for r in remote),
                 "the writes wait in the east outboxes while cut off (writes, oldest ms): %s"
                 % held)
    shipper, relay = lay.home[1], lay.away[0]
    cluster.kill(shipper)
    cluster.kill(relay)
    net.heal()
    t0 = time.time()
    survivors = [cluster.client(n) for n in lay.away if n != relay]
    arrived = wait_until(lambda: all(c.get(k) == v for c in survivors
                                     for k, v in written.items()), 40, 0.2)
    print("with a shipper and a relay SIGKILLed: every write on every surviving remote node="
          "%s after %.1f s" % (arrived, time.time() - t0))
    check.expect(arrived, "another east node ships what the killed shipper led, through "
                 "another relay: every write reaches the other regions")
    cluster.start(shipper)
    cluster.start(relay)
    back = cluster.client(relay)
    caught_up = wait_until(lambda: all(back.get(k) == v for k, v in written.items()), 40, 0.2)
    check.expect(caught_up, "the restarted relay has every write")
    drained = wait_until(lambda: all(w == 0 for n in lay.home
                                     for w, _ in backlog(cluster, n).values()), 40, 0.5)
    check.expect(drained, "every east outbox drains, the restarted shipper's too: %s"
                 % {n: backlog(cluster, n) for n in lay.home})
    wait_until(lambda: all(all_peers_up(cluster, n) for n in range(lay.nodes)), 30, 0.2)


def metric(cluster, node, name):
    """{region: value} of the metric `name` of `node` ("" for a sample with no label)."""
    url = "http://%s:%d/metrics" % (cluster.net.address(node), HTTP_PORT)
    text = urllib.request.urlopen(url, timeout=3).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(name + r'(?:\{region="([^"]*)"\})? (\d+)$', line)
        if m:
            out[m.group(1) or ""] = int(m.group(2))
    return out


def backlog_overflow(cluster, net, lay, check):
    """The east nodes restart with outboxes of 64 writes; 600 writes while cut off
    overflow them: their partitions are marked, and after the heal anti-entropy (the
    leaders' pushes and pulls, each once across the WAN, fanned out in the region)
    delivers them everywhere and clears the marks."""
    base = list(cluster.extra)
    cluster.extra = base + ["-geo-backlog-max", "64"]
    for n in lay.home:
        cluster.kill(n)
        cluster.start(n)
    cluster.extra = base
    formed = wait_until(lambda: all(all_peers_up(cluster, n) for n in range(lay.nodes)), 30, 0.2)
    check.expect(formed, "east restarted with -geo-backlog-max 64")
    net.cut(lay.home, lay.away)
    east = cluster.client(lay.home[0])
    written = {}
    for i in range(600):
        key, value = "of-%d" % i, os.urandom(1000)  # incompressible
        east.set(key, value)
        written[key] = value
    payload = sum(len(k) + len(v) for k, v in written.items())
    marked = {n: metric(cluster, n, "minivault_geo_repair_marked_partitions") for n in lay.home}
    overflow = {n: metric(cluster, n, "minivault_geo_outbox_overflow_total") for n in lay.home}
    check.expect(all(v > 0 for m in marked.values() for v in m.values()),
                 "the full outboxes mark partitions for every other region: %s" % marked)
    before = net.stats(lay.home, lay.away)["bytes"]
    net.heal()
    t0 = time.time()
    away = [cluster.client(n) for n in lay.away]
    arrived = wait_until(lambda: all(c.get(k) == v for c in away for k, v in written.items()),
                         60, 0.5)
    took = time.time() - t0
    cleared = wait_until(lambda: all(v == 0 for n in lay.home for v in metric(
        cluster, n, "minivault_geo_repair_marked_partitions").values()), 60, 0.5)
    sent = net.stats(lay.home, lay.away)["bytes"] - before
    remote_regions = lay.regions - 1
    ratio = sent / float(payload * remote_regions)
    print("overflow: %s writes not kept per east node, every write on every remote node=%s "
          "after %.1f s; marks cleared=%s; east -> others %d bytes = %.2f x the payload per "
          "region" % ({n: sum(o.values()) for n, o in overflow.items()}, arrived, took,
                      cleared, sent, ratio))
    check.expect(arrived, "every write past the outbox's bound reaches every remote node")
    check.expect(cleared, "every repair mark clears once its partition is repaired")
    check.expect(ratio < 1.6, "the repair crosses the WAN about once per region "
                 "(%.2f x the payload; every remote replica pulling for itself: %d x)"
                 % (ratio, lay.per_region))
    return written


def region_wiped(cluster, net, lay, check, written):
    """Every node of the second region loses its disk: anti-entropy with the first
    region refills it, pulling each partition once across the WAN."""
    wiped = lay.members[1]
    others = [n for n in range(lay.nodes) if n not in wiped]
    for n in wiped:
        cluster.kill(n)
        shutil.rmtree(os.path.join(cluster.workdir, "node%d" % n))
    before = net.stats(others, wiped)["bytes"]
    for n in wiped:
        cluster.start(n)
    t0 = time.time()
    clients = [cluster.client(n) for n in wiped]
    refilled = wait_until(lambda: all(c.get(k) == v for c in clients
                                      for k, v in written.items()), 90, 0.5)
    took = time.time() - t0
    sent = net.stats(others, wiped)["bytes"] - before
    payload = sum(len(k) + len(v) for k, v in written.items())
    ratio = sent / float(payload)
    print("wiped region refilled=%s after %.1f s; the other regions -> it %d bytes = %.2f x "
          "the 1 KiB values (the smaller keys of the other phases come on top)"
          % (refilled, took, sent, ratio))
    check.expect(refilled, "a region whose disks were wiped is refilled from the other")
    check.expect(ratio < 1.8, "each partition crosses the WAN once to refill the region, not "
                 "once per replica (%.2f x the data; once per replica: %d x)"
                 % (ratio, lay.per_region))
    wait_until(lambda: all(all_peers_up(cluster, n) for n in range(lay.nodes)), 30, 0.2)


def slow_wan(cluster, net, lay, check):
    """500 ms one-way: local_quorum writes stay as fast as on a LAN; the outboxes grow
    while the writes cross, then drain, and every write reaches the other regions."""
    for a in range(lay.regions):
        for b in range(a + 1, lay.regions):
            net.delay(lay.members[a], lay.members[b], 500)
    db = cluster.client(lay.home[0])
    written = {}
    lat = []
    peak = 0
    for i in range(300):
        key, value = "slow-%d" % i, "s%d" % i
        lat.append(timed(lambda: db.set(key, value)))
        written[key] = value.encode()
        if i % 50 == 49:
            peak = max([peak] + [w for w, _ in backlog(cluster, lay.home[0]).values()])
    p99 = percentile(lat, 0.99)
    print("local_quorum SET with 500 ms one-way: p50 %.2f ms, p99 %.2f ms; outbox peak %d" %
          (percentile(lat, 0.5), p99, peak))
    check.expect(p99 < 60, "a 500 ms WAN does not slow local_quorum writes (p99 %.1f ms)" % p99)
    check.expect(peak > 0, "the outbox grows while the writes cross (peak %d writes)" % peak)
    away = [cluster.client(n) for n in lay.away]
    t0 = time.time()
    arrived = wait_until(lambda: all(c.get(k) == v for c in away for k, v in written.items()),
                         30, 0.5)
    print("every write on every remote node=%s after %.1f s" % (arrived, time.time() - t0))
    check.expect(arrived, "everything written during the 500 ms WAN reaches the other regions")
    drained = wait_until(lambda: all(w == 0 for n in lay.home
                                     for w, _ in backlog(cluster, n).values()), 30, 0.5)
    check.expect(drained, "the outboxes drain")
    for a in range(lay.regions):
        for b in range(a + 1, lay.regions):
            net.delay(lay.members[a], lay.members[b], ONE_WAY_MS)


def region_loss(cluster, lay, check):
    """The home region is SIGKILLed right after region_safe writes: every one of them is
    readable in the other region once it has settled; the other region goes on; the
    restarted region catches up with what it missed."""
    safe = minivault.Client(cluster.net.address(lay.home[0]), 3000, timeout=5,
                            consistency="region_safe")
    acked = {}
    for i in range(30):
        key, value = "rs-%d" % i, "safe-%d" % i
        try:
            safe.set(key, value)
            acked[key] = value.encode()
        except minivault.MinivaultError as e:
            print("region_safe write failed: %s" % e)
    check.expect(len(acked) == 30, "region_safe writes acknowledged (%d of 30)" % len(acked))
    for n in lay.home:
        cluster.kill(n)
    away = [cluster.client(n) for n in lay.away]
    survived = wait_until(lambda: all(c.get(k) == v for c in away for k, v in acked.items()),
                          15, 0.2)
    check.expect(survived, "every region_safe write is readable on every node of the "
                 "surviving region after the whole writing region was SIGKILLed")
    missed = {}
    for i in range(30):
        key, value = "while-down-%d" % i, "w%d" % i
        away[0].set(key, value)
        missed[key] = value.encode()
    for n in lay.home:
        cluster.start(n)
    t0 = time.time()
    home = [cluster.client(n) for n in lay.home]
    caught_up = wait_until(lambda: all(c.get(k) == v for c in home
                                       for k, v in {**missed, **acked}.items()), 30, 0.2)
    print("restarted region caught up=%s in %.1f s" % (caught_up, time.time() - t0))
    check.expect(caught_up, "the restarted region has every write it missed")


def main():
    netem_bin, mv_bin = sys.argv[1], sys.argv[2]
    args = [a for a in sys.argv[3:] if a != "--slow-wan"]
    lay = Layout(args[0] if args else "2x3")
    skip_unless_possible(netem_bin)
    check = Check()
    try:
        net = Netem(netem_bin, lay.nodes + 1)
    except Skip as e:
        print("SKIPPED:", e)
        return SKIP
    with net, tempfile.TemporaryDirectory(prefix="mv-geo-") as work:
        for a in range(lay.regions):
            for b in range(a + 1, lay.regions):
                net.delay(lay.members[a], lay.members[b], ONE_WAY_MS)
        cluster = WanCluster(net, mv_bin, lay.nodes, work, regions=lay.labels)
        client_ns = net.inside(lay.client)
        client_ns.__enter__()
        try:
            cluster.start_all()
            formed = wait_until(
                lambda: all(all_peers_up(cluster, n) for n in range(lay.nodes)), 60, 0.1)
            check.expect(formed, "%d regions of %d nodes formed" % (lay.regions, lay.per_region))
            regions = cluster.health(lay.away[0]).get("regions")
            want_first = REGION_NAMES[1]
            check.expect(regions is not None and len(regions) == lay.regions and
                         regions[0]["name"] == want_first and
                         all(r["nodes"] == r["nodes_up"] == lay.per_region for r in regions),
                         "health lists the regions, this node's first: %s" % regions)
            phases = [lambda: local_writes_do_not_wait_for_the_wan(cluster, lay, check),
                      lambda: each_quorum_waits_for_the_other_region(cluster, lay, check),
                      lambda: visibility_in_the_other_region(cluster, lay, check),
                      lambda: partition_and_heal(cluster, net, lay, check),
                      lambda: shipper_and_relay_killed(cluster, net, lay, check)]
            if "--slow-wan" in sys.argv:
                phases.append(lambda: slow_wan(cluster, net, lay, check))
            if lay.regions == 2:
                phases.append(lambda: region_loss(cluster, lay, check))
            overflowed = {}
            phases.append(lambda: overflowed.update(backlog_overflow(cluster, net, lay, check)))
            phases.append(lambda: region_wiped(cluster, net, lay, check, overflowed))
            for phase in phases if formed else []:
                try:
                    phase()
                except minivault.MinivaultError as e:  # an error reply or a broken link
                    check.expect(False, "unexpected client error: %r" % e)
                    break
        finally:
            client_ns.__exit__(None, None, None)
            cluster.stop_all()
            if check.failures:
                for n in range(lay.nodes):
                    print("---- node %d log (tail)" % n)
                    print("\n".join(cluster.log_text(n).splitlines()[-15:]))
    print("PASS" if not check.failures else "FAILED", flush=True)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
