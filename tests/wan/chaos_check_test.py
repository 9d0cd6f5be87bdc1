#!/usr/bin/env python3
"""Unit tests of the chaos checker (chaos_check.py) against a fake cluster: it must flag
a lost acknowledged write, an old value coming back, a deleted key coming back and
replicas that disagree, and accept every state an unknown outcome allows."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from chaos_check import History, check_final  # noqa: E402
from wan_cluster import minivault  # noqa: E402


class FakeClient:
    def __init__(self, data):
        self.data = data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def pipeline(self, ops):
        return [self.data[k].encode() if self.data.get(k) is not None
                else minivault.NotFound("not found") for _, k in ops]


class FakeCluster:
    def __init__(self, *nodes):
        self.nodes = nodes
        self.n = len(nodes)

    def health(self, i):
        return {"status": "healthy"}

    def client(self, i, timeout=None):
        return FakeClient(self.nodes[i])


def history(*ops):
    h = History()
    for key, value, outcome in ops:
        h.end(h.begin(key, value, 0, "none"), outcome)
    return h


class CheckerTest(unittest.TestCase):
    def judge(self, h, *nodes):
        return check_final(FakeCluster(*nodes), h, converge_s=0)

    def test_last_acknowledged_or_later_unknown_values_pass(self):
        h = history(("k", "a", "ok"), ("k", "b", "unknown"), ("k", "c", "error"))
        for v in ("a", "b", "c"):
            self.assertEqual(self.judge(h, {"k": v}, {"k": v}), [], v)

    def test_an_earlier_write_of_unknown_outcome_may_land_late(self):
        # SET a (outcome unknown: e.g. a frozen node holds it), SET b acknowledged: a may
        # still take effect after b, in the end state and in a read right after b's ack.
        h = history(("k", "a", "unknown"), ("k", "b", "ok"))
        self.assertEqual(self.judge(h, {"k": "a"}), [])
        h.read_after_ack("k", "b", "a", 0)
        self.assertEqual(self.judge(h, {"k": "b"}), [])
        # An earlier acknowledged write may not.
        h = history(("k", "a", "ok"), ("k", "b", "ok"))
        h.read_after_ack("k", "b", "a", 0)
        self.assertTrue(self.judge(h, {"k": "b"}))

    def test_a_lost_acknowledged_write_fails(self):
        h = history(("k", "a", "ok"), ("k", "b", "ok"))
        problems = self.judge(h, {"k": "a"}, {"k": "a"})
        self.assertTrue(any("lost acknowledged write" in p for p in problems))
        self.assertEqual(h.lost, 1)
        problems = self.judge(h, {}, {})
        self.assertTrue(any("lost acknowledged write" in p for p in problems))

    def test_a_deleted_key_must_stay_deleted(self):
        h = history(("k", "a", "ok"), ("k", None, "ok"))
        self.assertEqual(self.judge(h, {}, {}), [])
        self.assertTrue(self.judge(h, {"k": "a"}, {"k": "a"}))

    def test_without_any_acknowledged_write_anything_attempted_or_nothing_passes(self):
        h = history(("k", "a", "unknown"), ("k", "b", "error"))
        for v in (None, "a", "b"):
            self.assertEqual(self.judge(h, {"k": v}), [], v)
        self.assertTrue(self.judge(h, {"k": "zzz"}))

    def test_replicas_that_disagree_fail(self):
        h = history(("k", "a", "ok"), ("k", "b", "unknown"))
        problems = self.judge(h, {"k": "a"}, {"k": "b"})
        self.assertTrue(any("disagree" in p for p in problems))

    def test_a_stale_quorum_read_after_an_ack_fails(self):
        h = history(("k", "a", "ok"))
        h.read_after_ack("k", "a", "a", 0)
        self.assertEqual(self.judge(h, {"k": "a"}), [])
        h.read_after_ack("k", "b", "a", 1)
        problems = self.judge(h, {"k": "a"})
        self.assertTrue(any("right after the ack" in p for p in problems))

    def test_availability_report_counts_outcomes(self):
        h = history(("k", "a", "ok"), ("k", "b", "unknown"), ("k", "c", "error"))
        report = h.report()
        self.assertIn("1 /      3", report)


if __name__ == "__main__":
    unittest.main()
