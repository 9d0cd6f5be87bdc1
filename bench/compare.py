#!/usr/bin/env python3
"""minivault vs Redis, side by side, with the same load generator (minivault-bench).

Starts a fresh minivault node and a fresh redis-server (Debian's; --appendonly yes
--appendfsync everysec --save "") on free 127.0.0.1 ports, prefills both, then runs every
workload in interleaved rounds (A B, then B A, ...) and reports, per workload, the median
ops/s of each and the median of the per-round ratios. Both servers are stopped by PID at
the end, whatever happens. Writes a Markdown table, JSON and a gnuplot PNG to the output
directory.

minivault runs with -fsync interval -fsync-interval-ms 1000, the same power-loss window
as Redis's everysec; both acknowledge a write only after write(2) to their log, so every
acknowledged write survives SIGKILL on both sides.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = [  # (name, reads fraction, in flight per connection)
    ("SET, 1 in flight", 0.0, 1),
    ("GET, 1 in flight", 1.0, 1),
    ("SET, 16 in flight", 0.0, 16),
    ("GET, 16 in flight", 1.0, 16),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited early with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not open port {port} within {timeout} s")


def run_bench(bench, port, redis, reads, pipeline, a):
    cmd = [bench, "--port", str(port), "--json", "-c", str(a.connections), "-P", str(pipeline),
           "--reads", str(reads), "--keys", str(a.keys), "--value-size", str(a.value_size),
           "--duration", str(a.duration), "--warmup", str(a.warmup), "--threads", str(a.threads)]
    if redis:
        cmd.append("--redis")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + a.warmup + 120)
    if out.returncode != 0:
        sys.exit(f"minivault-bench failed ({' '.join(cmd)}):\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout)


def prefill(bench, port, redis, a):
    cmd = [bench, "--port", str(port), "--prefill", "--keys", str(a.keys), "--value-size",
           str(a.value_size), "--duration", "0.1", "--warmup", "0", "-c", "1"]
    if redis:
        cmd.append("--redis")
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)


def plot(out_dir, rows, png):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("gnuplot not found: no plot written", file=sys.stderr)
        return False
    data = os.path.join(out_dir, "throughput.dat")
    with open(data, "w") as f:
        for r in rows:
            f.write(f"\"{r['workload']}\" {r['minivault'] / 1000:.1f} {r['redis'] / 1000:.1f}\n")
    script = f"""
set terminal pngcairo size 900,520 font ",11"
set output "{png}"
set title "Throughput, 50 connections, 100-byte values, 10k keys (median of rounds)"
set ylabel "thousand ops/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set yrange [0:*]
plot "{data}" using 2:xtic(1) title "minivault" lc rgb "#1f77b4", \\
     "" using 3 title "Redis (appendfsync everysec)" lc rgb "#d62728"
"""
    subprocess.run([gnuplot], input=script, text=True, check=True)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default="build-opt")
    p.add_argument("--out", default="bench/results")
    p.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 3)))
    p.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_SECONDS", 4)))
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--keys", type=int, default=10000)
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_CLIENT_THREADS", 1)))
    p.add_argument("--node-args", default=os.environ.get("BENCH_NODE_ARGS", ""))
    p.add_argument("--plot", default="bench/throughput.png")
    a = p.parse_args()

    bench = os.path.join(a.build, "minivault-bench")
    node_bin = os.path.join(a.build, "minivault")
    redis_bin = shutil.which("redis-server")
    if not redis_bin:
        sys.exit("redis-server not found (make bench installs it)")
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="minivault-bench-")
    procs = []
    try:
        mv_port, redis_port = free_port(), free_port()
        node_cmd = [node_bin, "-port", str(mv_port), "-data", os.path.join(work, "node"),
                    "-fsync", "interval", "-fsync-interval-ms", "1000"] + a.node_args.split()
        node = subprocess.Popen(node_cmd, stdout=open(os.path.join(work, "node.log"), "w"),
                                stderr=subprocess.STDOUT)
        procs.append(node)
        os.makedirs(os.path.join(work, "redis"))
        redis = subprocess.Popen(
            [redis_bin, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", "--dir",
             os.path.join(work, "redis"), "--daemonize", "no", "--logfile",
             os.path.join(work, "redis.log")])
        procs.append(redis)
        wait_port(mv_port, node, "minivault")
        wait_port(redis_port, redis, "redis-server")
        prefill(bench, mv_port, False, a)
        prefill(bench, redis_port, True, a)
        version = subprocess.run([redis_bin, "--version"], capture_output=True,
                                 text=True).stdout.split()
        print(f"minivault vs {' '.join(version[:3])}: {a.rounds} rounds x {a.duration:g} s, "
              f"{a.connections} connections, {a.threads} client thread(s), "
              f"{a.value_size}-byte values, {a.keys} keys prefilled", flush=True)

        results = {name: {"mv": [], "redis": [], "ratio": [], "mv_p99": [], "redis_p99": []}
                   for name, _, _ in WORKLOADS}
        for rnd in range(a.rounds):
            for name, reads, pipeline in WORKLOADS:
                order = [False, True] if rnd % 2 == 0 else [True, False]
                got = {}
                for is_redis in order:
                    port = redis_port if is_redis else mv_port
                    got[is_redis] = run_bench(bench, port, is_redis, reads, pipeline, a)
                r = results[name]
                r["mv"].append(got[False]["ops_per_sec"])
                r["redis"].append(got[True]["ops_per_sec"])
                r["mv_p99"].append(got[False]["p99_us"])
                r["redis_p99"].append(got[True]["p99_us"])
                r["ratio"].append(got[False]["ops_per_sec"] / got[True]["ops_per_sec"])
                print(f"  round {rnd + 1} {name:<18} minivault {got[False]['ops_per_sec']:>11,.0f}"
                      f"  redis {got[True]['ops_per_sec']:>11,.0f}  ratio "
                      f"{r['ratio'][-1]:.2f}", flush=True)
        if node.poll() is not None:
            sys.exit("minivault died during the benchmark")

        rows = []
        for name, _, _ in WORKLOADS:
            r = results[name]
            rows.append({"workload": name, "minivault": statistics.median(r["mv"]),
                         "redis": statistics.median(r["redis"]),
                         "ratio": statistics.median(r["ratio"]),
                         "minivault_p99_us": statistics.median(r["mv_p99"]),
                         "redis_p99_us": statistics.median(r["redis_p99"]),
                         "ratios": r["ratio"]})
        table = ["| workload | minivault ops/s | Redis ops/s | ratio (median of rounds) "
                 "| p99 minivault / Redis |", "|---|---|---|---|---|"]
        for r in rows:
            table.append(f"| {r['workload']} | {r['minivault']:,.0f} | {r['redis']:,.0f} | "
                         f"**{r['ratio']:.2f}x** | {r['minivault_p99_us']:,.0f} / "
                         f"{r['redis_p99_us']:,.0f} us |")
        print("\n" + "\n".join(table))
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        with open(os.path.join(a.out, f"compare-{stamp}.json"), "w") as f:
            json.dump({"settings": vars(a), "rows": rows}, f, indent=2)
        with open(os.path.join(a.out, f"compare-{stamp}.md"), "w") as f:
            f.write("\n".join(table) + "\n")
        if a.plot and plot(a.out, rows, a.plot):
            print(f"plot: {a.plot}")
        print(f"results: {a.out}/compare-{stamp}.json")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
