"""What chaos.py records and how it judges the end state.

Every key belongs to one writer, which sends one write at a time, so the writes of a key
are totally ordered by when they were sent. A write's outcome is `ok` (acknowledged),
`error` (the node refused it: the outcome is unknown, it may have reached some replicas)
or `unknown` (the connection broke or timed out). A write whose outcome is not known may
take effect at any time after it was sent, also after later writes (as in Jepsen: a node
frozen with the request in its socket buffer versions and applies it when it resumes).
So after the heal a key may hold:
  - the value of its last acknowledged write (missing when that was a DELETE), or
  - the value of any write that was not acknowledged;
  - with no acknowledged write at all, also nothing.
An acknowledged write other than the last is never allowed: that is a lost write. A
quorum read right after an ack may return that write, or a write not acknowledged.
"""

import threading
import time
from collections import defaultdict

from wan_cluster import minivault


class History:
    def __init__(self):
        self._lock = threading.Lock()
        self.ops = []  # dicts: key, value (None = DELETE), node, fault, outcome, reason, t0, t1
        self.lost = 0
        self.reads_checked = 0
        self.stale_reads = []  # (key, acknowledged value, what the quorum read returned, node)
        self.unacked = {}  # key -> values of its writes that were not acknowledged

    def begin(self, key, value, node, fault):
        op = {"key": key, "value": value, "node": node, "fault": fault, "outcome": None,
              "reason": "", "t0": time.time(), "t1": None}
        with self._lock:
            self.ops.append(op)
        return op

    def end(self, op, outcome, reason=""):
        op["outcome"], op["reason"], op["t1"] = outcome, reason, time.time()
        if outcome != "ok":
            with self._lock:
                self.unacked.setdefault(op["key"], set()).add(op["value"])

    def read_after_ack(self, key, acked, got, node):
        with self._lock:
            self.reads_checked += 1
            if got != acked and got not in self.unacked.get(key, ()):
                self.stale_reads.append((key, acked, got, node))

    def by_key(self):
        keys = defaultdict(list)
        with self._lock:
            for op in self.ops:
                keys[op["key"]].append(op)
        return keys

    def allowed(self, ops):
        """The values the key may hold in the end (None: missing)."""
        last_ok = max((i for i, op in enumerate(ops) if op["outcome"] == "ok"), default=-1)
        unacked = {op["value"] for op in ops if op["outcome"] != "ok"}
        if last_ok < 0:
            return {None} | unacked
        return {ops[last_ok]["value"]} | unacked

    def report(self):
        with self._lock:
            ops = [op for op in self.ops if op["outcome"] is not None]
        per = defaultdict(lambda: [0, 0, 0, 0])  # attempted, ok, error, unknown
        for op in ops:
            for kind in (op["fault"], "all"):
                row = per[kind]
                row[0] += 1
                row[{"ok": 1, "error": 2, "unknown": 3}[op["outcome"]]] += 1
        lines = ["availability (acknowledged / attempted writes) by fault in progress:"]
        for kind in sorted(per, key=lambda k: (k == "all", k)):
            a, ok, err, unk = per[kind]
            lines.append("  %-9s %6d / %6d  %5.1f%%   refused %d, unknown %d"
                         % (kind, ok, a, 100.0 * ok / max(a, 1), err, unk))
        lines.append("acknowledged writes: %d, lost: %d" % (per["all"][1], self.lost))
        lines.append("quorum reads right after an ack: %d, stale: %d"
                     % (self.reads_checked, len(self.stale_reads)))
        return "\n".join(lines)

    def dump(self, path):
        with open(path, "w") as f, self._lock:
            for op in self.ops:
                f.write("%.6f %s %s %-8s node=%d fault=%s %s\n" % (
                    op["t0"], op["key"], op["value"] if op["value"] is not None else "<delete>",
                    op["outcome"], op["node"], op["fault"], op["reason"]))


def read_all(cluster, i, keys):
    """Node i's local answer for every key (None: missing)."""
    out = {}
    with cluster.client(i, timeout=5.0) as c:
        results = c.pipeline([("get", k) for k in keys])
    for k, r in zip(keys, results):
        if isinstance(r, minivault.NotFound):
            out[k] = None
        elif isinstance(r, Exception):
            raise r
        else:
            out[k] = r.decode()
    return out


def _healthy(cluster, i):
    h = cluster.health(i)
    return h.get("status") == "healthy"


def check_final(cluster, history, converge_s):
    """Waits up to converge_s for every node to serve and agree, then judges."""
    from wan_cluster import wait_until
    failures = ["quorum read through node %d right after the ack of %s=%r returned %r"
                % (node, key, acked, got) for key, acked, got, node in history.stale_reads]
    n = cluster.n
    t0 = time.time()
    if not wait_until(lambda: all(_healthy(cluster, i) for i in range(n)), converge_s, 0.2):
        for i in range(n):
            try:
                failures.append("node %d not healthy: %s" % (i, cluster.health(i)))
            except (minivault.MinivaultError, OSError) as e:
                failures.append("node %d does not serve: %r" % (i, e))
        return failures
    keys_ops = history.by_key()
    keys = sorted(keys_ops)
    deadline = t0 + converge_s
    while True:
        views, problems = [], []
        try:
            views = [read_all(cluster, i, keys) for i in range(n)]
        except (minivault.MinivaultError, OSError) as e:
            problems.append("a node failed to answer reads: %r" % (e,))
        lost = 0
        for k in keys if views else []:
            allowed = history.allowed(keys_ops[k])
            seen = [v[k] for v in views]
            if len(set(seen)) > 1:
                problems.append("replicas disagree on %s: %s" % (k, seen))
            bad = [s for s in seen if s not in allowed]
            if bad:
                lost += 1
                acked = [op["value"] for op in keys_ops[k] if op["outcome"] == "ok"]
                problems.append("lost acknowledged write of %s: nodes hold %s, allowed %s "
                                "(last acknowledged %r)" % (k, seen, sorted(map(str, allowed)),
                                                            acked[-1] if acked else None))
        if not problems or time.time() > deadline:
            history.lost = lost
            took = time.time() - t0
            print("converged=%s: %d keys on %d nodes checked %.1f s after the heal"
                  % (not problems, len(keys), n, took), flush=True)
            return failures + problems
        time.sleep(0.5)
