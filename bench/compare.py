#!/usr/bin/env python3
"""minivault vs Redis, side by side, with the same load generator (minivault-bench).

Starts a fresh minivault node and a fresh redis-server (Debian's; --appendonly yes
--appendfsync everysec --save "") on free 127.0.0.1 ports, prefills both, then runs every
workload in interleaved rounds (A B, then B A, ...) and reports, per workload, the median
ops/s of each and the median of the per-round ratios. Both servers are stopped by PID at
the end, whatever happens. Writes a Markdown table, JSON and a gnuplot PNG to the output
directory.

The node also serves HTTP/JSON (-http PORT). Two more rows, HTTP PUT and HTTP GET at 1 request
in flight per keep-alive connection, are measured with wrk (bench/http/put.lua, get.lua) on
the same connection count, key count and ~value size, after every key k0..k<keys-1> is PUT
once over HTTP. Each HTTP run is made in the same round, next to the Redis run it is compared
with (HTTP PUT vs Redis SET at 1 in flight, HTTP GET vs Redis GET at 1 in flight; order
minivault, Redis, HTTP then HTTP, Redis, minivault), so its ratios are per round as well.
Only 2xx responses count; the run fails (non-zero exit) on non-2xx responses or socket errors
beyond --http-max-error-fraction of the requests.

minivault runs with -fsync interval -fsync-interval-ms 1000, the same power-loss window
as Redis's everysec; both acknowledge a write only after write(2) to their log, so every
acknowledged write survives SIGKILL on both sides.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

WORKLOADS = [  # (name, reads fraction, in flight per connection, target ratio vs Redis)
    ("SET, 1 in flight", 0.0, 1, 1.3),
    ("GET, 1 in flight", 1.0, 1, 1.3),
    ("SET, 16 in flight", 0.0, 16, 1.8),
    ("GET, 16 in flight", 1.0, 16, 2.5),
]

# HTTP rows: (name, wrk script in bench/http/, the 1-in-flight workload whose Redis run of the
# same round it is compared with, target ratio vs Redis).
HTTP_WORKLOADS = [
    ("HTTP PUT, 1 in flight", "put.lua", "SET, 1 in flight", 1.0),
    ("HTTP GET, 1 in flight", "get.lua", "GET, 1 in flight", 1.0),
]
HTTP_FOR = {base: (name, script) for name, script, base, _ in HTTP_WORKLOADS}
TARGETS = {name: target for name, _, _, target in HTTP_WORKLOADS}
TARGETS.update({name: target for name, _, _, target in WORKLOADS})
HTTP_DIR = os.path.dirname(os.path.abspath(__file__)) + "/http"


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


def add_run_args(p, rounds_env, duration):
    """The options every benchmark here takes: where the binaries are, where results go, how
    many rounds of how long, and the load generator's shape (minivault-bench)."""
    p.add_argument("--build", default="build-opt")
    p.add_argument("--out", default="bench/results")
    p.add_argument("--rounds", type=int, default=int(os.environ.get(rounds_env, 3)))
    p.add_argument("--duration", type=float,
                   default=float(os.environ.get("BENCH_SECONDS", duration)))
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--keys", type=int, default=10000)
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_CLIENT_THREADS", 1)))
    p.add_argument("--node-args", default=os.environ.get("BENCH_NODE_ARGS", ""))


def stop_procs(procs):
    """SIGTERM to every process of `procs` still running, SIGKILL if it has not exited 10 s
    later."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def tools(build, binaries, programs=()):
    """Paths of `binaries` in the build directory and of `programs` on PATH; exits with
    how to get the first one missing."""
    found = [os.path.join(build, b) for b in binaries]
    for path in found:
        if not os.access(path, os.X_OK):
            sys.exit(f"{path} not found (make build-optimized builds it)")
    for prog in programs:
        found.append(shutil.which(prog))
        if not found[-1]:
            sys.exit(f"{prog} not found (make bench-deps installs it)")
    return found


def binary_request(port, op, key=b"", timeout=5.0):
    """One request of the binary protocol (protocol/README.md §1.1) without a value on a
    fresh connection: (status, payload) of its reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(bytes([op]) + struct.pack("<H", len(key)) + key)
        buf = b""
        while len(buf) < 5 or len(buf) < 5 + struct.unpack_from("<I", buf, 1)[0]:
            chunk = s.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
        return buf[0], buf[5:5 + struct.unpack_from("<I", buf, 1)[0]]


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_bench(bench, port, redis, reads, pipeline, a, cpu_pids=()):
    """One minivault-bench run. With `cpu_pids`, also the CPU time those processes used
    during the measured part of the run (after the warm-up), per operation."""
    cmd = [bench, "--port", str(port), "--json", "-c", str(a.connections), "-P", str(pipeline),
           "--reads", str(reads), "--keys", str(a.keys), "--value-size", str(a.value_size),
           "--duration", str(a.duration), "--warmup", str(a.warmup), "--threads", str(a.threads)]
    if redis:
        cmd.append("--redis")

    def sample_cpu():
        if not cpu_pids:
            return None
        time.sleep(a.warmup)  # the client connects in well under a millisecond
        before = [cpu_seconds(p) for p in cpu_pids]
        time.sleep(a.duration)
        return [cpu_seconds(p) - b for p, b in zip(cpu_pids, before)]

    cpu, res = while_running(cmd, sample_cpu, a.duration + a.warmup + 120)
    if cpu is not None:
        res["cpu_seconds"] = cpu
        res["cpu_us_per_op"] = [c * 1e6 / max(1, res["ops"]) for c in cpu]
    return res


def while_running(cmd, during, timeout):
    """Starts `cmd` (minivault-bench --json), calls `during()` while it runs, then waits for
    it; it is killed if anything fails. Returns (what during() returned, cmd's JSON).
    Exits when cmd fails."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        got = during()
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        sys.exit(f"minivault-bench failed ({' '.join(cmd)}):\n{out}{err}")
    return got, json.loads(out)


def wrk_time_us(text):
    """wrk's latency cells: 482.00us, 1.68ms, 1.20s, 2.00m."""
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}[m.group(2)]


def parse_wrk(out):
    """Parses wrk --latency text plus the WRK_JSON line that bench/http/common.lua's done()
    prints. Returns a dict; raises ValueError when something expected is missing."""
    m = re.search(r"^WRK_JSON (\{.*\})$", out, re.M)
    if not m:
        raise ValueError("no WRK_JSON line (did the Lua script's done() run?)")
    res = json.loads(m.group(1))
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M)
    if not rps:
        raise ValueError("no Requests/sec line")
    res["wrk_requests_per_sec"] = float(rps.group(1))  # all responses, any status
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["wrk_non_2xx_or_3xx"] = int(non2xx.group(1)) if non2xx else 0  # wrk: status >= 400
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(map(int, sock.groups())) if sock else 0
    for pct in ("50", "99"):
        lm = re.search(rf"^\s+{pct}%\s+(\S+)$", out, re.M)
        if not lm:
            raise ValueError(f"no {pct}% latency line (wrk run without --latency?)")
        res[f"p{pct}_us"] = wrk_time_us(lm.group(1))
    res["seconds"] = res["duration_us"] / 1e6
    res["ops_per_sec"] = res["status_2xx"] / res["seconds"]  # only 2xx count
    return res


def run_wrk(wrk, port, script, seed, a, cpu_pids=()):
    """One wrk run at 1 request in flight per connection (wrk is closed-loop: one request
    outstanding per connection). A discarded warm-up run first, like minivault-bench's
    --warmup. Fails the whole benchmark on non-2xx responses or socket errors. With
    `cpu_pids`, also the CPU time those processes used during the measured run, per
    request."""
    # wrk takes whole seconds only.
    def cmd(secs):
        return [wrk, f"-t{a.threads}", f"-c{a.connections}", f"-d{secs}s", "--latency",
                "-s", os.path.join(HTTP_DIR, script), f"http://127.0.0.1:{port}", "--",
                str(a.keys), str(a.http_value_chars), str(seed)]
    runs = [cmd(round(a.warmup))] if round(a.warmup) >= 1 else []
    runs.append(cmd(max(1, round(a.duration))))  # the last run is the measured one
    for c in runs:  # wrk's own setup is negligible next to whole seconds
        before = [cpu_seconds(p) for p in cpu_pids]
        proc = subprocess.run(c, capture_output=True, text=True,
                              timeout=a.duration + a.warmup + 120)
        cpu = [cpu_seconds(p) - b for p, b in zip(cpu_pids, before)]
        out = proc.stdout + proc.stderr
        if proc.returncode != 0:
            sys.exit(f"FAIL: wrk exited with {proc.returncode} ({' '.join(c)}):\n{out}")
        try:
            res = parse_wrk(out)
        except ValueError as e:
            sys.exit(f"FAIL: cannot parse wrk output ({e}) ({' '.join(c)}):\n{out}")
        allowed = int(res["requests"] * a.http_max_error_fraction)
        problems = []
        if res["non_2xx"] > allowed or res["wrk_non_2xx_or_3xx"] > allowed:
            problems.append(f"{res['non_2xx']} non-2xx responses")
        if res["socket_errors"] > allowed:
            problems.append(f"socket errors {res['errors']}")
        if res["status_2xx"] + res["non_2xx"] != res["requests"]:
            problems.append(f"2xx ({res['status_2xx']}) + non-2xx ({res['non_2xx']}) != "
                            f"requests ({res['requests']})")
        if res["status_2xx"] == 0:
            problems.append("no 2xx responses")
        if problems:
            sys.exit(f"FAIL: HTTP {script}: {'; '.join(problems)} out of {res['requests']} "
                     f"requests (allowed {allowed}) ({' '.join(c)}):\n{out}")
        if res["non_2xx"] or res["socket_errors"]:
            print(f"  warning: HTTP {script}: {res['non_2xx']} non-2xx, socket errors "
                  f"{res['errors']} (within the allowed {allowed})", file=sys.stderr, flush=True)
        if cpu_pids:
            res["cpu_seconds"] = cpu
            res["cpu_us_per_op"] = [x * 1e6 / max(1, res["requests"]) for x in cpu]
    return res


def http_prefill(port, a):
    """PUTs every HTTP key k0..k<keys-1> once on one keep-alive connection, checking each
    answer, so HTTP GET rows never see a 404."""
    body = json.dumps({"value": "x" * a.http_value_chars}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for i in range(a.keys):
            conn.request("PUT", f"/k{i}", body, {"Content-Type": "application/json"})
            resp = conn.getresponse()
            text = resp.read()
            if resp.status != 200 or not json.loads(text).get("success"):
                sys.exit(f"FAIL: HTTP prefill PUT /k{i}: {resp.status} {text[:200]!r}")
        conn.request("GET", f"/k{a.keys - 1}")
        resp = conn.getresponse()
        got = json.loads(resp.read())
        if resp.status != 200 or got.get("data") != "x" * a.http_value_chars:
            sys.exit(f"FAIL: HTTP prefill read-back GET /k{a.keys - 1}: {resp.status} {got!r}")
    finally:
        conn.close()


def prefill(bench, port, redis, a):
    cmd = [bench, "--port", str(port), "--prefill", "--keys", str(a.keys), "--value-size",
           str(a.value_size), "--duration", "0.1", "--warmup", "0", "-c", "1"]
    if redis:
        cmd.append("--redis")
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)


def plot(out_dir, rows, png):
    """Two panels, each on its own scale: 1 in flight (binary SET/GET and the HTTP rows),
    then 16 in flight; otherwise the 1-in-flight bars are slivers next to GET at 16."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("gnuplot not found: no plot written", file=sys.stderr)
        return False
    data = os.path.join(out_dir, "throughput.dat")
    with open(data, "w") as f:
        for r in rows:
            f.write(f"\"{r['workload']}\" {r['minivault'] / 1000:.1f} {r['redis'] / 1000:.1f}\n")
    groups = {}  # "1 in flight" -> that panel's data lines, in table order
    for r in rows:
        op, _, depth = r["workload"].rpartition(", ")
        groups.setdefault(depth, []).append(
            f"\"{op}\\n{r['ratio']:.2f}x\" {r['minivault'] / 1000:.1f} {r['redis'] / 1000:.1f}\n")
    panels = {}
    for depth, lines in groups.items():
        panels[depth] = os.path.join(out_dir, f"throughput-{depth.split()[0]}.dat")
        with open(panels[depth], "w") as f:
            f.writelines(lines)
    # Panels side by side, as wide as their number of bar clusters; the shared key sits
    # above them, clear of the bars.
    total = sum(len(g) for g in groups.values())
    plots, left = [], 0.0
    for i, (depth, panel) in enumerate(panels.items()):
        width = len(groups[depth]) / total
        key = ('set key at screen 0.5, 0.875 center horizontal' if i == 0 else "unset key")
        plots.append(f"""
set lmargin at screen {left + 0.08:.3f}
set rmargin at screen {left + width - 0.02:.3f}
set title "{depth}"
{key}
plot "{panel}" using 2:xtic(1) title "minivault (HTTP rows: HTTP/JSON via wrk)" lc rgb "#1f77b4", \\
     "" using 3 title "Redis (HTTP rows: its SET / GET of the same round)" lc rgb "#d62728"
""")
        left += width
    script = f"""
set terminal pngcairo size 1100,560 font ",11"
set output "{png}"
set multiplot title "Throughput: 50 connections, 100-byte values, 10k keys; median of rounds, ratio minivault/Redis under each label"
set tmargin at screen 0.78
set bmargin at screen 0.12
set ylabel "thousand ops/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
{"".join(plots)}
unset multiplot
"""
    subprocess.run([gnuplot], input=script, text=True, check=True)
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_args(p, "BENCH_ROUNDS", 4)
    p.add_argument("--plot", default="bench/throughput.png")
    p.add_argument("--http-value-chars", type=int, default=None,
                   help="x characters in HTTP PUT bodies {\"value\":\"xxx\"} "
                        "(default: value-size - 10, so the body is ~value-size bytes)")
    p.add_argument("--http-max-error-fraction", type=float, default=1e-4,
                   help="non-2xx responses or socket errors tolerated per wrk run, as a "
                        "fraction of its requests; more fails the run")
    a = p.parse_args()
    if a.http_value_chars is None:
        a.http_value_chars = max(1, a.value_size - 10)

    bench, node_bin, redis_bin, wrk = tools(a.build, ["minivault-bench", "minivault"],
                                            ["redis-server", "wrk"])
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="minivault-bench-")
    procs = []
    try:
        mv_port, redis_port, http_port = free_port(), free_port(), free_port()
        node_cmd = [node_bin, "-port", str(mv_port), "-http", str(http_port),
                    "-data", os.path.join(work, "node"),
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
        wait_port(http_port, node, "minivault HTTP")
        wait_port(redis_port, redis, "redis-server")
        prefill(bench, mv_port, False, a)
        prefill(bench, redis_port, True, a)
        http_prefill(http_port, a)
        version = subprocess.run([redis_bin, "--version"], capture_output=True,
                                 text=True).stdout.split()
        print(f"minivault vs {' '.join(version[:3])}: {a.rounds} rounds x {a.duration:g} s, "
              f"{a.connections} connections, {a.threads} client thread(s), "
              f"{a.value_size}-byte values, {a.keys} keys prefilled; HTTP rows with wrk, "
              f"{{\"value\":\"<{a.http_value_chars} x>\"}} bodies, keys k0..k{a.keys - 1} "
              f"prefilled", flush=True)

        names = [w[0] for w in WORKLOADS] + [w[0] for w in HTTP_WORKLOADS]
        results = {name: {k: [] for k in ("mv", "redis", "ratio", "mv_p50", "redis_p50",
                                          "mv_p99", "redis_p99", "runs")} for name in names}

        def record(name, rnd, mine, theirs, what):
            r = results[name]
            r["mv"].append(mine["ops_per_sec"])
            r["redis"].append(theirs["ops_per_sec"])
            r["mv_p50"].append(mine["p50_us"])
            r["redis_p50"].append(theirs["p50_us"])
            r["mv_p99"].append(mine["p99_us"])
            r["redis_p99"].append(theirs["p99_us"])
            r["ratio"].append(mine["ops_per_sec"] / theirs["ops_per_sec"])
            if what == "http":  # wrk's counts and max latency, kept per round in the JSON
                r["runs"].append({k: mine[k] for k in (
                    "requests", "status_2xx", "non_2xx", "errors", "seconds", "ops_per_sec",
                    "p50_us", "p99_us", "max_us")})
            print(f"  round {rnd + 1} {name:<22} {what:<9} {mine['ops_per_sec']:>11,.0f}"
                  f"  redis {theirs['ops_per_sec']:>11,.0f}  ratio {r['ratio'][-1]:.2f}"
                  f"  p50/p99/max {mine['p50_us']:,.0f}/{mine['p99_us']:,.0f}/"
                  f"{mine['max_us']:,.0f} us", flush=True)

        for rnd in range(a.rounds):
            for name, reads, pipeline, _ in WORKLOADS:
                # The matching HTTP run (if any) sits next to this round's Redis run; the
                # order flips every round: minivault, Redis, HTTP / HTTP, Redis, minivault.
                order = ["mv", "redis"] + (["http"] if name in HTTP_FOR else [])
                if rnd % 2:
                    order.reverse()
                got = {}
                for who in order:
                    if who == "http":
                        got[who] = run_wrk(wrk, http_port, HTTP_FOR[name][1], rnd + 1, a)
                    else:
                        is_redis = who == "redis"
                        got[who] = run_bench(bench, redis_port if is_redis else mv_port,
                                             is_redis, reads, pipeline, a)
                    if node.poll() is not None:
                        sys.exit(f"FAIL: minivault died during {name} ({who})")
                record(name, rnd, got["mv"], got["redis"], "minivault")
                if "http" in got:
                    record(HTTP_FOR[name][0], rnd, got["http"], got["redis"], "http")
        if node.poll() is not None:
            sys.exit("minivault died during the benchmark")

        rows = []
        for name in names:
            r = results[name]
            rows.append({"workload": name, "minivault": statistics.median(r["mv"]),
                         "redis": statistics.median(r["redis"]),
                         "ratio": statistics.median(r["ratio"]),
                         "target_ratio": TARGETS.get(name),
                         "minivault_p50_us": statistics.median(r["mv_p50"]),
                         "redis_p50_us": statistics.median(r["redis_p50"]),
                         "minivault_p99_us": statistics.median(r["mv_p99"]),
                         "redis_p99_us": statistics.median(r["redis_p99"]),
                         "ratios": r["ratio"]})
            if r["runs"]:
                rows[-1]["http_runs"] = r["runs"]
        table = ["| workload | minivault ops/s | Redis ops/s | ratio (median of rounds; "
                 "range) | target | p50 minivault / Redis | p99 minivault / Redis |",
                 "|---|---|---|---|---|---|---|"]
        for r in rows:
            t = r["target_ratio"]
            target = "-" if t is None else f">= {t:.1f}x ({'met' if r['ratio'] >= t else 'missed'})"
            table.append(f"| {r['workload']} | {r['minivault']:,.0f} | {r['redis']:,.0f} | "
                         f"**{r['ratio']:.2f}x** ({min(r['ratios']):.2f}-{max(r['ratios']):.2f}) | "
                         f"{target} | {r['minivault_p50_us']:,.0f} / "
                         f"{r['redis_p50_us']:,.0f} us | {r['minivault_p99_us']:,.0f} / "
                         f"{r['redis_p99_us']:,.0f} us |")
        table += ["", "HTTP rows: wrk, 1 request in flight per keep-alive connection, only 2xx "
                  "responses counted (req/s); compared with Redis SET (for PUT) / GET at 1 in "
                  "flight measured in the same round."]
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
        stop_procs(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
