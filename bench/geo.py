#!/usr/bin/env python3
"""Geo-replication figures on the WAN emulator (tests/wan), one run, one machine
(protocol/README.md §4; issue 11's table). Needs root (network namespaces); without it,
says so and exits 0 so that `make bench` goes on.

Rows:
- local_quorum SET p50/p99 with 40 ms one-way between regions vs the same cluster with
  no WAN delay (sequential SETs from a client next to the region);
- cross-region visibility from send (SET in one region, GET polled in the other);
- the replication lag metric (minivault_geo_replication_lag_seconds of the writing
  region's nodes, mean over the visibility samples) vs the visibility measured from
  outside (mean);
- WAN bytes per write per remote region / value size, counted by the emulator on the
  region pair (every IP packet from one region to the other: shipped batches, TCP/IP
  and BASP framing, heartbeats, anti-entropy), for incompressible and JSON-like values;
- convergence after a region partition (both sides writing) heals;
- SET throughput of 3 regions x 3 nodes vs one region of 3 (minivault-bench, 50
  connections, against one node), same machine.

usage: geo.py --build DIR [--partition-seconds S] [--out DIR]
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "wan"))
from netem import Netem, Skip  # noqa: E402
from wan_cluster import WanCluster, wait_until, all_peers_up, HTTP_PORT  # noqa: E402
import minivault  # noqa: E402

ONE_WAY_MS = 40


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def timed_sets(db, prefix, n, value):
    lat = []
    for i in range(n):
        t0 = time.monotonic()
        db.set("%s-%d" % (prefix, i), value)
        lat.append((time.monotonic() - t0) * 1000.0)
    return lat


def lag_totals(cluster, nodes):
    """(sum of seconds, count) of minivault_geo_replication_lag_seconds over `nodes`."""
    total, count = 0.0, 0
    for n in nodes:
        url = "http://%s:%d/metrics" % (cluster.net.address(n), HTTP_PORT)
        text = urllib.request.urlopen(url, timeout=3).read().decode()
        for line in text.splitlines():
            m = re.match(r"minivault_geo_replication_lag_seconds_(sum|count)\{[^}]*\} (\S+)", line)
            if m and m.group(1) == "sum":
                total += float(m.group(2))
            elif m:
                count += int(float(m.group(2)))
    return total, count


class Regions:
    """`regions` x `per_region` nodes in namespaces 0.., the client in the last one."""

    def __init__(self, net, mv_bin, work, regions, per_region):
        self.net, self.regions, self.per = net, regions, per_region
        self.n = regions * per_region
        self.members = [list(range(r * per_region, (r + 1) * per_region)) for r in range(regions)]
        labels = ["r%d" % (i // per_region) for i in range(self.n)]
        os.makedirs(work, exist_ok=True)
        self.cluster = WanCluster(net, mv_bin, self.n, work, regions=labels)

    def start(self):
        self.cluster.start_all()
        if not wait_until(lambda: all(all_peers_up(self.cluster, i) for i in range(self.n)),
                          60, 0.1):
            raise RuntimeError("the cluster did not form")

    def delay(self, ms):
        for a in range(self.regions):
            for b in range(a + 1, self.regions):
                self.net.delay(self.members[a], self.members[b], ms)


def latency_and_visibility(net, mv_bin, work, rows):
    g = Regions(net, mv_bin, os.path.join(work, "lat"), 2, 3)
    home, away = g.members[0], g.members[1]
    g.start()
    try:
        db = g.cluster.client(home[0])
        timed_sets(db, "warm", 300, "x" * 100)
        no_wan = timed_sets(db, "nowan", 2000, "x" * 100)
        g.delay(ONE_WAY_MS)
        time.sleep(2.0)  # the burst above is shipped
        other = g.cluster.client(away[1])
        lag_before = lag_totals(g.cluster, home)
        seen = []
        for i in range(300):
            key, value = "vis-%d" % i, ("v%d" % i).encode()
            t0 = time.monotonic()
            db.set(key, value)
            while other.get(key) != value and time.monotonic() - t0 < 5:
                time.sleep(0.0005)
            seen.append((time.monotonic() - t0) * 1000.0)
        rows.append(("cross-region visibility from send p50 / p99 (one-way 40 ms)",
                     "%.1f / %.1f ms" % (pct(seen, 0.5), pct(seen, 0.99))))
        time.sleep(1.0)
        lag_after = lag_totals(g.cluster, home)
        shipped = lag_after[1] - lag_before[1]
        lag_mean = (lag_after[0] - lag_before[0]) / shipped * 1000.0 if shipped else float("nan")
        seen_mean = sum(seen) / len(seen)
        rows.append(("lag metric mean / visibility mean (%d shipped writes)" % shipped,
                     "%.1f / %.1f ms = %.2f" % (lag_mean, seen_mean, lag_mean / seen_mean)))
        wan = timed_sets(db, "wan", 2000, "x" * 100)
        rows.append(("local_quorum SET p50 / p99, 40 ms WAN",
                     "%.2f / %.2f ms" % (pct(wan, 0.5), pct(wan, 0.99))))
        rows.append(("local_quorum SET p50 / p99, no WAN (same cluster)",
                     "%.2f / %.2f ms" % (pct(no_wan, 0.5), pct(no_wan, 0.99))))
        rows.append(("  ratio p99 WAN / no WAN", "%.2fx" % (pct(wan, 0.99) / pct(no_wan, 0.99))))
        for kind, make in (("incompressible 1 KiB", lambda i: os.urandom(1024)),
                           ("JSON-like 1 KiB", lambda i: json_like(i))):
            time.sleep(3.0)  # the burst above is shipped
            before = net.stats(home, away)["bytes"]
            n, size = 500, 0
            for i in range(n):
                v = make(i)
                size += len(v)
                db.set("bytes-%d" % i, v)
            time.sleep(3.0)  # the last writes cross
            sent = net.stats(home, away)["bytes"] - before
            rows.append(("WAN bytes per write to the remote region / value size, " + kind,
                         "%.2f" % (sent / size)))
    finally:
        g.cluster.stop_all()


def json_like(i):
    rnd = random.Random(i)
    doc = {"id": i, "name": "user-%06d" % i, "email": "user%d@example.com" % i,
           "tags": ["alpha", "beta", "gamma"][: 1 + i % 3],
           "history": [{"at": 1700000000 + k, "event": "login", "ok": True} for k in range(12)],
           "score": rnd.random()}
    return json.dumps(doc).encode()[:1024].ljust(1024, b" ")


def partition_convergence(net, mv_bin, work, seconds, rows):
    g = Regions(net, mv_bin, os.path.join(work, "part"), 2, 3)
    home, away = g.members[0], g.members[1]
    g.delay(ONE_WAY_MS)
    g.start()
    try:
        a, b = g.cluster.client(home[0]), g.cluster.client(away[0])
        net.cut(home, away)
        t_end = time.time() + seconds
        keys, i = set(), 0
        while time.time() < t_end:
            for side, db in (("a", a), ("b", b)):
                key = "p-%d" % (i % 500)
                db.set(key, "%s%d" % (side, i))
                keys.add(key)
            i += 1
        net.heal()
        t0 = time.time()
        clients = [g.cluster.client(n) for n in range(g.n)]
        keys = sorted(keys)

        def equal():
            first = [clients[0].get(k) for k in keys]
            return all([c.get(k) for k in keys] == first for c in clients[1:])

        ok = wait_until(equal, 120, 0.2)
        rows.append(("convergence after a %d s region partition heals (%d keys, both sides)"
                     % (seconds, len(keys)),
                     "%.1f s" % (time.time() - t0) if ok else "not within 120 s"))
    finally:
        g.cluster.stop_all()


def throughput(net, mv_bin, bench_bin, work, regions, per_region):
    g = Regions(net, mv_bin, os.path.join(work, "tp%d" % regions), regions, per_region)
    g.delay(ONE_WAY_MS)
    g.start()
    try:
        cmd = [bench_bin, "--host", net.address(0), "--port", "3000", "--json", "--duration", "5",
               "--warmup", "1", "--connections", "50", "--keys", "10000"]
        p = net.popen(9, cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=60)
        if p.returncode != 0:
            raise RuntimeError("minivault-bench failed: " + err)
        return json.loads(out)["ops_per_sec"]
    finally:
        g.cluster.stop_all()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-opt")
    ap.add_argument("--partition-seconds", type=int, default=30)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    netem_bin = os.path.join(a.build, "tests", "wan", "minivault-netem")
    mv_bin = os.path.join(a.build, "minivault")
    bench_bin = os.path.join(a.build, "minivault-bench")
    for b in (netem_bin, mv_bin, bench_bin):
        if not os.path.exists(b):
            sys.exit("%s not found (build it first)" % b)
    rows = []
    try:
        net = Netem(netem_bin, 10)
    except Skip as e:
        print("geo benchmark skipped: %s" % e)
        return 0
    with net, tempfile.TemporaryDirectory(prefix="mv-geo-bench-") as work:
        with net.inside(9):  # health and client sockets of this thread live in namespace 9
            latency_and_visibility(net, mv_bin, work, rows)
            partition_convergence(net, mv_bin, work, a.partition_seconds, rows)
            one = throughput(net, mv_bin, bench_bin, work, 1, 3)
            three = throughput(net, mv_bin, bench_bin, work, 3, 3)
        rows.append(("SET throughput, 1 region x 3 nodes (50 connections, 1 in flight)",
                     "%.0f ops/s" % one))
        rows.append(("SET throughput, 3 regions x 3 nodes, same machine", "%.0f ops/s" % three))
        rows.append(("  ratio 3 regions / 1 region", "%.2fx" % (three / one)))
    print("\n| figure | measured |\n|---|---|")
    for k, v in rows:
        print("| %s | %s |" % (k, v))
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "geo-%s.json" % time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    with open(path, "w") as f:
        json.dump(dict(rows), f, indent=1)
    print("results:", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
