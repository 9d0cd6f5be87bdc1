#!/usr/bin/env python3
"""Memory and restart with many keys: minivault next to Redis, loaded by the same client.

Starts a fresh minivault node (-fsync interval -fsync-interval-ms 1000, as bench/compare.py)
and a fresh redis-server (AOF everysec, no RDB snapshots) on free 127.0.0.1 ports, loads
--keys keys of --value-size bytes into each with minivault-bench --prefill, waits until both
are quiet, then measures:

- Memory: each server's resident set (VmRSS from /proc) with every key loaded; ratio
  minivault / Redis (target <= 0.8x).
- Restart: the server is stopped with SIGTERM, started again on the same data, and timed
  from its exec to the first GET of the last key loaded that returns its value (the client
  retries every millisecond; Redis answers LOADING until its AOF is read). Target for
  minivault <= 1 s; Redis is the reference.

Both servers are stopped by PID at the end, whatever happens. Writes Markdown and JSON to
the output directory (footprint-*.{md,json}).
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing compare.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import binary_request, cpu_seconds, free_port, stop_procs, tools, wait_port  # noqa: E402

MEMORY_RATIO_TARGET = 0.8
RESTART_TARGET_S = 1.0
NODE_FLAGS = ["-fsync", "interval", "-fsync-interval-ms", "1000"]


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no VmRSS for {pid}")


def key_name(i):
    """minivault-bench's key names (bench/load/driver.cpp)."""
    return f"key:{i:012d}"


def get_minivault(port, key):
    """GET over the binary protocol (op 0x01); the value, or None when not found."""
    status, payload = binary_request(port, 0x01, key.encode())
    return payload if status == 0 else None


def get_redis(port, key):
    """GET over RESP; the value, or None (nil, or an error such as LOADING)."""
    k = key.encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k))
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
        if not buf.startswith(b"$") or buf.startswith(b"$-1"):
            return None
        n = int(buf[1:buf.index(b"\r\n")])
        head = buf.index(b"\r\n") + 2
        while len(buf) < head + n:
            buf += s.recv(65536)
        return buf[head:head + n]


def wait_quiet(pid, window=0.5, threshold=0.05, max_seconds=30.0):
    start = time.time()
    while time.time() - start < max_seconds:
        before = cpu_seconds(pid)
        time.sleep(window)
        if (cpu_seconds(pid) - before) / window < threshold:
            return


def time_to_first_get(start, port, get, key, expect, timeout=120.0):
    """Starts the server (start() returns its Popen) and polls GET `key` every millisecond
    until it returns `expect`. Returns (Popen, seconds from exec to that answer)."""
    t0 = time.monotonic()
    proc = start()
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited during its restart (status {proc.returncode})")
        try:
            if get(port, key) == expect:
                return proc, time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.001)
    sys.exit(f"no answer for {key} within {timeout} s of the restart")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default="build-opt")
    p.add_argument("--out", default="bench/results")
    p.add_argument("--keys", type=int, default=int(os.environ.get("BENCH_FOOTPRINT_KEYS",
                                                                  2_000_000)))
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--node-args", default="", help="extra minivault flags")
    a = p.parse_args()

    bench, node_bin, redis_bin = tools(a.build, ["minivault-bench", "minivault"],
                                       ["redis-server"])
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="minivault-footprint-")
    procs = []
    try:
        mv_port, redis_port = free_port(), free_port()
        mv_data, redis_dir = os.path.join(work, "node"), os.path.join(work, "redis")
        os.makedirs(redis_dir)

        def start_mv():
            return subprocess.Popen([node_bin, "-port", str(mv_port), "-data", mv_data]
                                    + NODE_FLAGS + a.node_args.split(),
                                    stdout=open(os.path.join(work, "node.log"), "a"),
                                    stderr=subprocess.STDOUT)

        def start_redis():
            return subprocess.Popen(
                [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "yes", "--appendfsync", "everysec", "--dir", redis_dir,
                 "--daemonize", "no", "--logfile", os.path.join(work, "redis.log")])

        servers = {"minivault": {"start": start_mv, "port": mv_port, "get": get_minivault,
                                 "redis": False},
                   "Redis": {"start": start_redis, "port": redis_port, "get": get_redis,
                             "redis": True}}
        for name, s in servers.items():
            s["proc"] = s["start"]()
            procs.append(s["proc"])
            wait_port(s["port"], s["proc"], name)
        print(f"footprint: {a.keys:,} keys x {a.value_size}-byte values, loaded by "
              f"minivault-bench --prefill into each server", flush=True)
        last = key_name(a.keys - 1)
        expect = b"p" * a.value_size  # what --prefill writes
        rows = {}
        for name, s in servers.items():
            t0 = time.monotonic()
            cmd = [bench, "--port", str(s["port"]), "--prefill", "--keys", str(a.keys),
                   "--value-size", str(a.value_size), "--duration", "0.1", "--warmup", "0",
                   "-c", "1"] + (["--redis"] if s["redis"] else [])
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
            if out.returncode != 0:
                sys.exit(f"prefill of {name} failed:\n{out.stdout}{out.stderr}")
            load_s = time.monotonic() - t0
            wait_quiet(s["proc"].pid)
            rss = rss_bytes(s["proc"].pid)
            # Restart on the same data; time to the first GET that returns the value.
            stop_procs([s["proc"]])
            procs.remove(s["proc"])
            s["proc"], restart_s = time_to_first_get(s["start"], s["port"], s["get"], last,
                                                     expect)
            procs.append(s["proc"])
            wait_quiet(s["proc"].pid)
            rss_after = rss_bytes(s["proc"].pid)
            rows[name] = {"rss_bytes": rss, "rss_after_restart_bytes": rss_after,
                          "load_seconds": load_s, "restart_seconds": restart_s}
            print(f"  {name:<10} loaded in {load_s:.1f} s, RSS {rss / 2**20:,.0f} MiB "
                  f"({rss / a.keys:.0f} B/key); restart to first GET {restart_s:.2f} s, "
                  f"RSS then {rss_after / 2**20:,.0f} MiB", flush=True)

        mv, rd = rows["minivault"], rows["Redis"]
        mem_ratio = mv["rss_bytes"] / rd["rss_bytes"]
        table = ["| footprint, {:,} keys x {} B | minivault | Redis | ratio | target |".format(
                     a.keys, a.value_size), "|---|---|---|---|---|",
                 f"| memory (RSS, loaded) | {mv['rss_bytes'] / 2**20:,.0f} MiB | "
                 f"{rd['rss_bytes'] / 2**20:,.0f} MiB | **{mem_ratio:.2f}x** | "
                 f"<= {MEMORY_RATIO_TARGET:.1f}x "
                 f"({'met' if mem_ratio <= MEMORY_RATIO_TARGET else 'missed'}) |",
                 f"| restart to first GET | **{mv['restart_seconds']:.2f} s** | "
                 f"{rd['restart_seconds']:.2f} s | {mv['restart_seconds'] / rd['restart_seconds']:.2f}x"
                 f" | <= {RESTART_TARGET_S:.0f} s "
                 f"({'met' if mv['restart_seconds'] <= RESTART_TARGET_S else 'missed'}) |",
                 f"| memory after the restart | {mv['rss_after_restart_bytes'] / 2**20:,.0f} MiB | "
                 f"{rd['rss_after_restart_bytes'] / 2**20:,.0f} MiB | "
                 f"{mv['rss_after_restart_bytes'] / rd['rss_after_restart_bytes']:.2f}x | - |"]
        print("\n" + "\n".join(table))
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        with open(os.path.join(a.out, f"footprint-{stamp}.json"), "w") as f:
            json.dump({"settings": vars(a), "servers": rows, "memory_ratio": mem_ratio,
                       "memory_ratio_target": MEMORY_RATIO_TARGET,
                       "restart_target_seconds": RESTART_TARGET_S}, f, indent=2)
        with open(os.path.join(a.out, f"footprint-{stamp}.md"), "w") as f:
            f.write("\n".join(table) + "\n")
        print(f"results: {a.out}/footprint-{stamp}.json")
    finally:
        stop_procs(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
