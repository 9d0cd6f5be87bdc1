#!/usr/bin/env python3
"""Regression test: six nodes in two groups of three, 40 ms one-way between the groups
(80 ms round trip), form a cluster quickly and their peer links do not flap, also after a
partition between the groups heals.

Before the fix, both sides of a pair dialled each other at once on a fixed retry
interval; the two BASP connections closed each other, so links went up and down every
~0.6 s in lockstep and a six-node cluster took up to 27 s to form.

usage: formation_test.py NETEM_BINARY MINIVAULT_BINARY   (exit 77 = skipped: needs root)
"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from netem import Netem, Skip, SKIP, skip_unless_possible  # noqa: E402
from wan_cluster import WanCluster, wait_until, all_peers_up, log_events  # noqa: E402

NODES = 6
FORM_WITHIN_S = 10.0  # generous for 2 shared cores; the bug took 16-27 s
HEAL_WITHIN_S = 6.0  # measured ~2 s: backoff (<= 1.2 s with jitter), probe, connect
WATCH_S = 10.0


def time_until_all_up(cluster, timeout_s):
    """(whether every node saw every peer up within timeout_s, seconds it took)."""
    t0 = time.time()
    ok = wait_until(lambda: all(all_peers_up(cluster, i) for i in range(cluster.n)),
                    timeout_s, 0.05)
    return ok, time.time() - t0


def downs(cluster):
    return sum(len(log_events(cluster, i, "is down")) for i in range(cluster.n))


def main():
    netem_bin, mv_bin = sys.argv[1], sys.argv[2]
    skip_unless_possible(netem_bin)
    failures = []
    try:
        net = Netem(netem_bin, NODES + 1)
    except Skip as e:
        print("SKIPPED:", e)
        return SKIP
    with net, tempfile.TemporaryDirectory(prefix="mv-formation-") as work:
        east, west, client = [0, 1, 2], [3, 4, 5], NODES
        net.delay(east, west, 40)
        cluster = WanCluster(net, mv_bin, NODES, work)
        try:
            client_ns = net.inside(client)  # this thread's sockets: the client namespace
            client_ns.__enter__()
            cluster.start_all()
            formed, took = time_until_all_up(cluster, 60)
            print("formed=%s in %.2f s" % (formed, took), flush=True)
            if not formed or took > FORM_WITHIN_S:
                failures.append("six nodes over an 80 ms RTT formed=%s in %.1f s (limit %.0f s)"
                                % (formed, took, FORM_WITHIN_S))
            time.sleep(WATCH_S)
            flaps = downs(cluster)  # from the start: forming must not drop links either
            print("links lost while forming and %.0f s idle: %d" % (WATCH_S, flaps), flush=True)
            if flaps:
                failures.append("%d peer links went down on a healthy WAN" % flaps)

            # A partition between the groups, then the heal: links come back once each
            # and stay up.
            net.cut(east, west)
            wait_until(lambda: all(len(log_events(cluster, i, "is down")) >= 3
                                   for i in range(NODES)), 15, 0.2)
            net.heal()
            healed, took = time_until_all_up(cluster, 30)
            print("after the heal: all up=%s in %.2f s" % (healed, took), flush=True)
            if not healed or took > HEAL_WITHIN_S:
                failures.append("links came back=%s in %.1f s after the heal (limit %.0f s)"
                                % (healed, took, HEAL_WITHIN_S))
            time.sleep(1.0)  # the first heartbeats after the heal
            before = downs(cluster)
            time.sleep(WATCH_S / 2)
            flaps = downs(cluster) - before
            print("links lost after the heal: %d" % flaps, flush=True)
            if flaps:
                failures.append("%d peer links went down after the heal" % flaps)
        finally:
            client_ns.__exit__(None, None, None)
            cluster.stop_all()
            if failures:
                for i in range(NODES):
                    print("---- node %d log (tail)" % i)
                    print("\n".join(cluster.log_text(i).splitlines()[-40:]))
    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else "FAILED", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
