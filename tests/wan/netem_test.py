#!/usr/bin/env python3
"""Tests of the emulator itself with real sockets in its namespaces: delay, one-way cuts,
loss, bad commands, and cleanup when the test that started it is SIGKILLed.

usage: netem_test.py NETEM_BINARY    (exit 77 = skipped: needs root)
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from netem import Netem, Skip, SKIP, namespaces  # noqa: E402

BINARY = None
ECHO = r'''
import socket, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 5000)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5001))
def udp():
    while True:
        d, a = u.recvfrom(2048); u.sendto(d, a)
threading.Thread(target=udp, daemon=True).start()
def echo(c):
    while True:
        d = c.recv(4096)
        if not d: return
        c.sendall(d)
while True:
    c, _ = t.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()
'''


def udp_received(net, sender, receiver_addr, count, wait_s=0.5):
    """Sends `count` UDP datagrams from namespace `sender` to the echo server; returns
    how many echoes came back."""
    with net.inside(sender):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(wait_s)
    for i in range(count):
        u.sendto(b"%d" % i, (receiver_addr, 5001))
        time.sleep(0.0005)
    got = 0
    try:
        while True:
            u.recvfrom(64)
            got += 1
    except socket.timeout:
        pass
    u.close()
    return got


class NetemTest(unittest.TestCase):
    def setUp(self):
        self.net = Netem(BINARY, 3)
        self.server = self.net.popen(1, [sys.executable, "-c", ECHO])
        time.sleep(0.5)

    def tearDown(self):
        self.net.close()  # raises LeftBehind when anything survived

    def connect(self, frm, to, timeout=3.0):
        with self.net.inside(frm):
            s = socket.socket()
        s.settimeout(timeout)
        s.connect((self.net.address(to), 5000))
        return s

    def test_the_round_trip_follows_the_configured_delay(self):
        self.net.delay(0, 1, 30)
        s = self.connect(0, 1)
        rtts = []
        for _ in range(20):
            t = time.perf_counter()
            s.sendall(b"ping")
            s.recv(16)
            rtts.append((time.perf_counter() - t) * 1000)
        s.close()
        self.assertGreaterEqual(min(rtts), 60.0)
        self.assertLess(statistics.median(rtts), 80.0)
        # Another pair is not delayed.
        self.net.popen(2, [sys.executable, "-c", ECHO])
        time.sleep(0.5)
        s = self.connect(0, 2)
        t = time.perf_counter()
        s.sendall(b"ping")
        s.recv(16)
        self.assertLess((time.perf_counter() - t) * 1000, 20.0)
        s.close()

    def test_a_one_way_cut_drops_one_direction_only(self):
        self.assertEqual(udp_received(self.net, 0, self.net.address(1), 20), 20)
        self.net.cut(1, 0, one_way=True)  # replies from 1 to 0 are lost
        self.assertEqual(udp_received(self.net, 0, self.net.address(1), 20), 0)
        before = self.net.stats()["dropped_cut"]
        self.assertEqual(udp_received(self.net, 0, self.net.address(1), 20), 0)
        self.assertEqual(self.net.stats()["dropped_cut"] - before, 20)  # they did arrive at 1
        with self.assertRaises(OSError):
            self.connect(0, 1, timeout=1.0)
        self.net.heal()
        self.assertEqual(udp_received(self.net, 0, self.net.address(1), 20), 20)

    def test_bytes_are_counted_per_pair_and_direction(self):
        before = {(a, b): self.net.stats(a, b) for a in (0, 1, 2) for b in (0, 1, 2) if a != b}
        self.assertEqual(udp_received(self.net, 0, self.net.address(1), 20), 20)
        after = {k: self.net.stats(*k) for k in before}
        sent = {k: after[k]["packets"] - before[k]["packets"] for k in before}
        self.assertEqual(sent[(0, 1)], 20)
        self.assertEqual(sent[(1, 0)], 20)  # the echoes
        self.assertEqual(sum(v for k, v in sent.items() if 2 in k), 0)
        # 20 IPv4 + UDP headers (28 bytes) and the 1-2 digit payloads.
        self.assertEqual(after[(0, 1)]["bytes"] - before[(0, 1)]["bytes"], 20 * 28 + 10 + 20)
        self.assertEqual(self.net.stats([0, 2], 1)["packets"], after[(0, 1)]["packets"] +
                         after[(2, 1)]["packets"])

    def test_loss_drops_about_the_configured_share(self):
        self.net.loss(0, 1, 50, one_way=True)
        got = udp_received(self.net, 0, self.net.address(1), 400)
        self.assertGreater(got, 400 * 0.35)
        self.assertLess(got, 400 * 0.65)

    def test_bad_commands_are_refused_and_the_emulator_keeps_going(self):
        for bad in ("delay 0 9 10", "delay 0 1 -5", "loss 0 1 101", "frobnicate", "cut x 1"):
            with self.assertRaises(RuntimeError, msg=bad):
                self.net.command(bad)
        self.assertEqual(udp_received(self.net, 0, self.net.address(1), 5), 5)


class CleanupTest(unittest.TestCase):
    def test_everything_goes_when_the_test_is_sigkilled(self):
        # A child test process starts the emulator and a process in a namespace, then is
        # SIGKILLed: the emulator sees its parent die and removes both.
        code = ("import sys, time; sys.path.insert(0, %r); from netem import Netem\n"
                "n = Netem(%r, 2, prefix='mvtkill%d')\n"
                "p = n.popen(1, ['sleep', '300'])\n"
                "print(p.pid, flush=True); time.sleep(300)\n" % (HERE, BINARY, os.getpid()))
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        sleeper = int(child.stdout.readline())
        prefix = "mvtkill%d-" % os.getpid()
        self.assertTrue(any(n.startswith(prefix) for n in namespaces()))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        deadline = time.time() + 10
        while time.time() < deadline and (any(n.startswith(prefix) for n in namespaces())
                                          or os.path.exists("/proc/%d" % sleeper)):
            time.sleep(0.1)
        self.assertFalse([n for n in namespaces() if n.startswith(prefix)])
        alive = os.path.exists("/proc/%d" % sleeper)
        if alive:  # reap it if it is our zombie-less orphan; it must be gone anyway
            with open("/proc/%d/stat" % sleeper) as f:
                alive = f.read().split()[2] != "Z"
        self.assertFalse(alive, "the process inside the namespace survived")


if __name__ == "__main__":
    BINARY = sys.argv.pop(1)
    try:
        Netem(BINARY, 2).close()
    except Skip as e:
        print("SKIPPED:", e)
        sys.exit(SKIP)
    unittest.main()
