"""The Python client (client/python/minivault.py) against real minivault nodes.

Run by ctest with MINIVAULT_BIN set; each node runs on free 127.0.0.1 ports in its own
temporary data directory and is stopped by its own PID.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "client", "python"))

import minivault  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """One real node process on a free port."""

    def __init__(self, *args):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mv-py-")
        self.args = list(args)
        self.proc = None

    def start(self):
        binary = os.environ.get("MINIVAULT_BIN", os.path.join(HERE, "..", "..", "build", "minivault"))
        self.log = open(self.dir + ".log", "wb")
        self.proc = subprocess.Popen(
            [binary, "-port", str(self.port), "-data", self.dir + "/data"] + self.args,
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("node exited: " + open(self.dir + ".log").read())
                time.sleep(0.02)
        raise RuntimeError("node did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self):
        self.kill()
        self.log.close()
        return self.start()

    def stop(self):
        self.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        try:
            os.remove(self.dir + ".log")
        except OSError:
            pass


class PlainNode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node().start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()

    def client(self, **kw):
        c = minivault.Client("127.0.0.1", self.node.port, **kw)
        self.addCleanup(c.close)
        return c

    def test_set_get_delete(self):
        c = self.client()
        c.set("py:k", "välue")
        self.assertEqual(c.get("py:k"), "välue".encode())
        c.delete("py:k")
        self.assertIsNone(c.get("py:k"))
        c.delete("py:never-existed")  # deleting a missing key succeeds

    def test_binary_safe_keys_and_values(self):
        c = self.client()
        key, value = b"\x00k\xff", bytes(range(256)) * 100
        c.set(key, value)
        self.assertEqual(c.get(key), value)
        c.set("empty", b"")
        self.assertEqual(c.get("empty"), b"")

    def test_large_value(self):
        c = self.client(timeout=30)
        value = os.urandom(8 << 20)
        c.set("py:big", value)
        self.assertEqual(c.get("py:big"), value)

    def test_health(self):
        h = self.client().health()
        self.assertEqual(h["status"], "healthy")
        self.assertIn("node_id", h)

    def test_pipeline_results_in_order(self):
        c = self.client()
        ops = [("set", "p%d" % i, str(i)) for i in range(500)]
        ops += [("get", "p%d" % i) for i in range(500)]
        ops += [("get", "p-missing"), ("delete", "p0"), ("get", "p0"), ("health",)]
        results = c.pipeline(ops)
        self.assertEqual(results[:500], [None] * 500)
        self.assertEqual(results[500:1000], [str(i).encode() for i in range(500)])
        self.assertIsInstance(results[1000], minivault.NotFound)
        self.assertIsNone(results[1001])
        self.assertIsInstance(results[1002], minivault.NotFound)
        self.assertEqual(results[1003]["status"], "healthy")

    def test_invalid_keys_are_refused_before_sending(self):
        c = self.client()
        with self.assertRaises(ValueError):
            c.get("")
        with self.assertRaises(ValueError):
            c.set(b"k" * 65536, "v")
        with self.assertRaises(TypeError):
            c.set("k", 42)
        c.set(b"k" * 65535, "v")  # the longest key is fine
        self.assertEqual(c.get(b"k" * 65535), b"v")

    def test_unreachable_node_is_a_connection_failure(self):
        c = minivault.Client("127.0.0.1", free_port(), timeout=1)
        with self.assertRaises(minivault.ConnectionFailed):
            c.get("k")


class Restarts(unittest.TestCase):
    def test_reconnects_after_the_node_restarts(self):
        node = Node().start()
        self.addCleanup(node.stop)
        c = minivault.Client("127.0.0.1", node.port)
        self.addCleanup(c.close)
        c.set("r", "1")
        node.restart()  # SIGKILL: the acknowledged write survives
        self.assertEqual(c.get("r"), b"1")  # stale connection replaced, GET retried
        c.set("r", "2")
        self.assertEqual(c.get("r"), b"2")

    def test_a_write_on_a_broken_connection_is_not_retried(self):
        node = Node().start()
        self.addCleanup(node.stop)
        c = minivault.Client("127.0.0.1", node.port, timeout=1)
        self.addCleanup(c.close)
        c.set("w", "1")
        node.kill()
        with self.assertRaises(minivault.ConnectionFailed):
            c.set("w", "2")


class Consistency(unittest.TestCase):
    def test_a_level_is_sent_on_connect_and_a_bad_one_refused_before_sending(self):
        node = Node().start()
        self.addCleanup(node.stop)
        c = minivault.Client("127.0.0.1", node.port, consistency="all")
        self.addCleanup(c.close)
        c.set("lv", "1")  # a single node meets every level
        self.assertEqual(c.get("lv", quorum=True), b"1")
        c.consistency("one")  # reconnects with the new level
        c.set("lv", "2")
        self.assertEqual(c.get("lv"), b"2")
        with self.assertRaises(ValueError):
            c.consistency("QUORUM")


class Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node("-auth", "s3cret", "-authmode", "all").start()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()

    def test_authenticates_by_itself_on_every_connection(self):
        c = minivault.Client("127.0.0.1", self.node.port, auth="s3cret")
        self.addCleanup(c.close)
        c.set("a", "1")
        self.assertEqual(c.get("a"), b"1")
        c.close()  # a new connection authenticates again
        self.assertEqual(c.get("a"), b"1")

    def test_no_or_wrong_key_is_refused(self):
        anonymous = minivault.Client("127.0.0.1", self.node.port)
        self.addCleanup(anonymous.close)
        with self.assertRaisesRegex(minivault.ReplyError, "unauthorized"):
            anonymous.get("a")
        self.assertEqual(anonymous.health()["status"], "healthy")  # HEALTH needs no key
        wrong = minivault.Client("127.0.0.1", self.node.port, auth="nope")
        self.addCleanup(wrong.close)
        with self.assertRaisesRegex(minivault.ReplyError, "auth failed"):
            wrong.get("a")
        wrong.auth("s3cret")  # switching keys reconnects with the new one
        wrong.set("b", "2")
        self.assertEqual(wrong.get("b"), b"2")


if __name__ == "__main__":
    unittest.main(verbosity=2)
