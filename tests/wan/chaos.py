#!/usr/bin/env python3
"""Jepsen-style randomized fault test (tests/wan/README.md).

A seeded schedule of faults (SIGKILL + restart, SIGSTOP/SIGCONT, a node partitioned from
the rest, a majority/minority split, one-way partitions, added delay and loss, and rarely
a SIGKILL of the whole cluster) runs against real nodes in emulator namespaces while
writers in a client namespace send SET/DELETE through random nodes and record every
outcome. At the end: heal, restart what is dead, wait for convergence, then check
  (a) every node serves,
  (b) no acknowledged write is lost: each key holds the value of its writer's last
      acknowledged write, or of a later write of that writer whose outcome is unknown,
  (c) every node answers the same for every key,
  (d) and report availability (acknowledged / attempted) per fault kind.

With --regions R the nodes form R regions (consecutive nodes, --wan-ms one-way between
regions), the schedule adds a region cut off from the others and a whole region
SIGKILLed, and each writer is a client of one region: it writes (local_quorum) and
checks its reads through that region's nodes only. (a)-(c) are checked everywhere: what
a region acknowledged reaches every region, and all end equal.

usage: chaos.py NETEM MINIVAULT [--seed N] [--seconds S] [--nodes N] [--writers W]
                [--regions R] [--wan-ms MS] [--keep DIR]
                                             (exit 0 pass, 1 fail, 77 skipped: needs root)
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from netem import Netem, Skip, SKIP, skip_unless_possible  # noqa: E402
from wan_cluster import WanCluster, wait_until, minivault  # noqa: E402
from chaos_schedule import make_schedule, describe  # noqa: E402
from chaos_check import History, check_final  # noqa: E402

KEYS_PER_WRITER = 16
DELETE_SHARE = 0.15
HANDOVER_SHARE = 0.3  # the next write goes to the same key through another node at once
CHECK_READ_SHARE = 0.2  # after an acknowledged write, a quorum read of it through any node


class Writer(threading.Thread):
    """Sends one write at a time through random nodes and records every outcome."""

    def __init__(self, w, cluster, net, client_ns, history, stop, fault_now, seed, nodes):
        super().__init__(daemon=True)
        self.w, self.cluster, self.net, self.client_ns = w, cluster, net, client_ns
        self.nodes = nodes  # the nodes of this writer's region
        self.history, self.stop, self.fault_now = history, stop, fault_now
        self.rng = random.Random(seed)
        self.clients = {}
        self.error = None

    def client(self, node):
        c = self.clients.get(node)
        if c is None:
            c = self.clients[node] = self.cluster.client(node, timeout=3.0)
        return c

    def drop(self, node):
        c = self.clients.pop(node, None)
        if c is not None:
            c.close()

    def check_read(self, key, value):
        """A quorum read right after the ack must return exactly that write: quorums
        intersect, and this writer has sent nothing newer."""
        node = self.rng.choice(self.nodes)
        try:
            got = self.client(node).get(key, quorum=True)
        except minivault.ReplyError:
            return  # no quorum now: nothing to judge
        except (minivault.ConnectionFailed, OSError):
            self.drop(node)
            return
        self.history.read_after_ack(key, value, None if got is None else got.decode(), node)

    def run(self):
        try:
            self.net.enter(self.client_ns)
            seq, key, node = 0, None, None
            while not self.stop.is_set():
                seq += 1
                if key is not None and len(self.nodes) > 1 and \
                        self.rng.random() < HANDOVER_SHARE:
                    # The same key again through another node, right after the last
                    # write: the coordinators' clocks must not reorder them.
                    i = self.nodes.index(node)
                    node = self.nodes[(i + 1 + self.rng.randrange(len(self.nodes) - 1))
                                      % len(self.nodes)]
                else:
                    key = "w%d-k%d" % (self.w, self.rng.randrange(KEYS_PER_WRITER))
                    node = self.rng.choice(self.nodes)
                value = None if self.rng.random() < DELETE_SHARE else "w%d:%d" % (self.w, seq)
                op = self.history.begin(key, value, node, self.fault_now[0])
                try:
                    c = self.client(node)
                    if value is None:
                        c.delete(key)
                    else:
                        c.set(key, value)
                    self.history.end(op, "ok")
                    if self.rng.random() < CHECK_READ_SHARE:
                        self.check_read(key, value)
                except minivault.ReplyError as e:
                    self.history.end(op, "error", str(e))
                except (minivault.ConnectionFailed, OSError) as e:
                    self.history.end(op, "unknown", str(e))
                    self.drop(node)
                    time.sleep(0.02)
        except Exception as e:  # a bug in the test itself: fail loudly
            self.error = e
        finally:
            for n in list(self.clients):
                self.drop(n)


def wan(net, regions, ms):
    """`ms` one-way between every two regions (and nothing inside one)."""
    for a in range(len(regions)):
        for b in range(a + 1, len(regions)):
            net.delay(regions[a], regions[b], ms)


def apply_fault(f, cluster, net, regions, wan_ms):
    """Starts fault f; returns its undo."""
    kind = f["kind"]
    if kind == "region_cut":
        net.cut(f["a"], f["b"])
        return net.heal
    if kind == "kill_region":
        for i in f["a"]:
            cluster.kill(i)
        return lambda: [cluster.start(i) for i in f["a"]]
    if kind == "kill":
        cluster.kill(f["node"])
        return lambda: cluster.start(f["node"])
    if kind == "kill_all":
        for i in range(cluster.n):
            cluster.kill(i)
        return lambda: [cluster.start(i) for i in range(cluster.n)]
    if kind == "freeze":
        cluster.freeze(f["node"])
        return lambda: cluster.thaw(f["node"])
    if kind in ("isolate", "split"):
        net.cut(f["a"], f["b"])
        return net.heal
    if kind == "one_way":
        net.cut(f["a"], f["b"], one_way=True)
        return net.heal
    if kind == "delay":
        net.delay(f["a"], f["b"], f["ms"], f["jitter_ms"])

        def undo():
            net.delay(f["a"], f["b"], 0, 0)
            wan(net, regions, wan_ms)  # the WAN between regions stays
        return undo
    if kind == "loss":
        net.loss(f["a"], f["b"], f["percent"])
        return lambda: net.loss(f["a"], f["b"], 0)
    raise ValueError(kind)


def run(args):
    skip_unless_possible(args.netem)
    rng = random.Random(args.seed)
    if args.regions < 1 or args.nodes % args.regions != 0:
        print("--nodes must be a multiple of --regions")
        return 2
    per = args.nodes // args.regions
    regions = [list(range(r * per, (r + 1) * per)) for r in range(args.regions)]
    schedule = make_schedule(rng, args.nodes, args.seconds, regions)
    print("chaos: seed %d, %d nodes in %d region(s), %d writers, %.0f s, %d faults (replay: "
          "--seed %d --seconds %g --nodes %d --regions %d)"
          % (args.seed, args.nodes, args.regions, args.writers, args.seconds, len(schedule),
             args.seed, args.seconds, args.nodes, args.regions), flush=True)
    for f in schedule:
        print("  schedule %7.2f s  %s" % (f["at"], describe(f)), flush=True)
    try:
        net = Netem(args.netem, args.nodes + 1)
    except Skip as e:
        print("SKIPPED:", e)
        return SKIP
    client_ns = args.nodes
    work = tempfile.mkdtemp(prefix="mv-chaos-")
    failures = []
    history = History()
    with net:
        labels = ["r%d" % (i // per) for i in range(args.nodes)] if args.regions > 1 else None
        wan(net, regions, args.wan_ms)
        cluster = WanCluster(net, args.minivault, args.nodes, work, regions=labels,
                             extra_args=["-request-timeout-ms", "1000"])
        try:
            cluster.start_all()
            with net.inside(client_ns):
                if not wait_until(lambda: all(cluster.health(i)["status"] == "healthy"
                                              for i in range(args.nodes)), 60, 0.1):
                    raise RuntimeError("the cluster did not form within 60 s")
            stop = threading.Event()
            fault_now = ["none"]
            writers = [Writer(w, cluster, net, client_ns, history, stop, fault_now,
                              args.seed * 1000 + w, regions[w % len(regions)])
                       for w in range(args.writers)]
            for w in writers:
                w.start()
            t0 = time.time()
            for f in schedule:
                time.sleep(max(0.0, t0 + f["at"] - time.time()))
                print("  %7.2f s  start %s" % (time.time() - t0, describe(f)), flush=True)
                undo = apply_fault(f, cluster, net, regions, args.wan_ms)
                fault_now[0] = f["kind"]
                time.sleep(f["duration"])
                undo()
                fault_now[0] = "none"
            time.sleep(max(0.0, t0 + args.seconds - time.time()))
            stop.set()
            for w in writers:
                w.join(30)
                if w.error:
                    raise w.error
            # Heal everything, restart what is dead, then converge and check.
            net.clear()
            for i in range(args.nodes):
                cluster.thaw(i)
                if not cluster.alive(i):
                    cluster.start(i)
            with net.inside(client_ns):
                failures += check_final(cluster, history, args.converge_seconds)
            for i in range(args.nodes):
                if not cluster.alive(i):
                    failures.append("node %d died (see its log)" % i)
        except Exception as e:
            failures.append("test error: %r" % (e,))
        finally:
            cluster.stop_all()
            print(history.report(), flush=True)
            if failures or args.keep:
                dest = args.keep or os.path.join(tempfile.gettempdir(),
                                                 "mv-chaos-seed%d" % args.seed)
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(work, dest, ignore=shutil.ignore_patterns("*.db*", "clock"))
                history.dump(os.path.join(dest, "history.txt"))
                print("logs and history kept in %s" % dest)
                for i in range(args.nodes):
                    print("---- node %d log (tail)" % i)
                    print("\n".join(cluster.log_text(i).splitlines()[-20:]))
            shutil.rmtree(work, ignore_errors=True)
    for f in failures[:50]:
        print("FAIL:", f)
    print("lost=%d" % history.lost, "PASS" if not failures else "FAILED", flush=True)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("netem")
    p.add_argument("minivault")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--regions", type=int, default=1)
    p.add_argument("--wan-ms", type=float, default=40, help="one-way between regions")
    p.add_argument("--converge-seconds", type=float, default=60)
    p.add_argument("--keep", default="", help="copy logs and history here")
    return run(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
