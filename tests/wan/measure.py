#!/usr/bin/env python3
"""Measures the emulator itself: TCP round trip against the configured one-way delay
(0, 20, 40 ms), and its capacity (bulk TCP MB/s, small UDP packets/s).

usage: measure.py NETEM_BINARY    (root; prints a table for tests/wan/README.md)
"""

import os
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from netem import Netem, Skip, SKIP, skip_unless_possible  # noqa: E402

PORT = 5000
SERVER = r'''
import socket, sys, threading
def echo(c):
    while True:
        d = c.recv(65536)
        if not d: return
        if sys.argv[1] == "echo": c.sendall(d)
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 5000)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5001))
def udp():
    n = 0
    while True:
        d, a = u.recvfrom(2048)
        if d == b"count?": u.sendto(str(n).encode(), a); n = 0
        else: n += 1
threading.Thread(target=udp, daemon=True).start()
while True:
    c, _ = t.accept(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=echo, args=(c,), daemon=True).start()
'''


def rtts(addr, n=200):
    s = socket.create_connection((addr, PORT), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        s.sendall(b"x" * 64)
        got = 0
        while got < 64:
            got += len(s.recv(64 - got))
        out.append((time.perf_counter() - t) * 1000)
    s.close()
    return out


def bulk_mb_s(addr, seconds=3.0):
    s = socket.create_connection((addr, PORT), timeout=5)
    chunk = b"y" * 65536
    sent, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        s.sendall(chunk)
        sent += len(chunk)
    s.close()
    return sent / (time.perf_counter() - t0) / 1e6


def udp_pps(addr, seconds=3.0):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    payload = b"z" * 64
    sent, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(100):
            try:
                u.sendto(payload, (addr, PORT + 1))
                sent += 1
            except BlockingIOError:
                pass
    took = time.perf_counter() - t0
    time.sleep(0.5)
    u.sendto(b"count?", (addr, PORT + 1))
    got = int(u.recvfrom(64)[0])
    return sent / took, got / took


def main():
    skip_unless_possible(sys.argv[1])
    try:
        net = Netem(sys.argv[1], 2)
    except Skip as e:
        print("SKIPPED:", e)
        return SKIP
    with net:
        results = {}
        for mode in ("echo", "sink"):
            server = net.popen(1, [sys.executable, "-c", SERVER, mode])
            time.sleep(0.5)
            with net.inside(0):
                if mode == "echo":
                    for ms in (0, 20, 40):
                        net.delay(0, 1, ms)
                        r = sorted(rtts(net.address(1), 100 if ms else 1000))
                        results[ms] = r
                        print("one-way %2d ms: TCP round trip median %.3f ms, p99 %.3f ms, "
                              "max %.3f ms (ideal %d ms)" % (
                                  ms, statistics.median(r), r[int(len(r) * 0.99) - 1], r[-1],
                                  2 * ms), flush=True)
                    net.delay(0, 1, 0)
                else:
                    print("bulk TCP, no delay: %.0f MB/s" % bulk_mb_s(net.address(1)), flush=True)
                    sent, got = udp_pps(net.address(1))
                    print("64-byte UDP: offered %.0f packets/s, forwarded %.0f packets/s" %
                          (sent, got), flush=True)
            server.kill()
            server.wait()
        print("emulator counters:", net.stats())
    return 0


if __name__ == "__main__":
    sys.exit(main())
