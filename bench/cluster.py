#!/usr/bin/env python3
"""A 3-node cluster on this machine next to a single node, with the same load generator.

Starts one single node and a three-node cluster (every node on free 127.0.0.1 ports, its
own temp data directory, -fsync interval -fsync-interval-ms 1000 like bench/compare.py),
prefills both, then measures:

- Throughput: minivault-bench SET at 1 and 16 in flight per connection against the single
  node and against node A of the cluster, same settings, in interleaved rounds (single,
  cluster, then cluster, single, ...). Reported per workload: median ops/s of each, and
  the median of the per-round ratios cluster / single (target >= 0.5x). A cluster write is
  acknowledged once 2 of its 3 replicas have it, so each one costs a round trip to a peer
  and work on all three nodes, which here share the machine's cores with the client.
- CPU per acknowledged write, from the same runs: each node's utime + stime (/proc) over
  the measured window (after the client's warm-up) divided by the writes acknowledged in
  it; the three replicas together against the single node (target <= 3.3x: the storage
  work three times plus at most 10%).
- CPU per request over HTTP at node A (wrk, 1 in flight): PUT and GET ?consistency=quorum,
  summed over A, B and C; a quorum read should cost no more than a write (target <= 1.0x).
- Convergence: bench/cluster/convergence.cpp (minivault-convergence) SETs a fresh key on
  node A and polls GET on node C in a tight loop until the value shows, per sample, bounded
  by a timeout; latency from the SET's send and from its acknowledgement. Idle, then under
  load (minivault-bench driving SETs at node B meanwhile). Percentiles are over the
  samples of every round pooled; targets p99 <= 1 ms idle, <= 3 ms under load.

Before every measured run the script waits until the nodes are quiet (their CPU use,
read from /proc, falls under 10% of a core), so the lagging third replica of the
previous run does not eat into the next one. Every process is stopped by its PID at the
end, whatever happens. Writes a Markdown table and JSON to the output directory
(cluster-*.{md,json}).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from importing compare.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import (add_run_args, binary_request, cpu_seconds, free_port, http_prefill, prefill,  # noqa: E402
                     run_bench, run_wrk, stop_procs, tools, wait_port, while_running)

THROUGHPUT = [("SET, 1 in flight", 1), ("SET, 16 in flight", 16)]  # (name, pipeline)
RATIO_TARGET = 0.5
# CPU per acknowledged write, the three replicas together / a single node: the storage
# work done three times, plus at most 10% for replicating it.
CPU_RATIO_TARGET = 3.3
# CPU per quorum read (all replicas) / per write over HTTP: a read is no dearer than a write.
QGET_CPU_RATIO_TARGET = 1.0
CONVERGENCE_TARGET_P99_MS = {"idle": 1.0, "load": 3.0}
NODE_FLAGS = ["-fsync", "interval", "-fsync-interval-ms", "1000"]


def health(port, timeout=2.0):
    """HEALTH over the binary protocol (op 0x05, empty key); the parsed JSON."""
    status, payload = binary_request(port, 0x05, timeout=timeout)
    if status != 0:
        raise OSError(f"health error: {payload!r}")
    return json.loads(payload)


def wait_cluster_up(nodes, timeout=30.0):
    """Until every node's health lists both peers as up."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        for n in nodes:
            if n["proc"].poll() is not None:
                sys.exit(f"node {n['name']} exited early with status {n['proc'].returncode}")
        try:
            states = [[p["state"] for p in health(n["port"])["peers"]] for n in nodes]
            last = states
            if all(len(s) == len(nodes) - 1 and all(x == "up" for x in s) for s in states):
                return
        except (OSError, ValueError) as e:
            last = str(e)
        time.sleep(0.1)
    sys.exit(f"the cluster did not come up within {timeout} s (peer states: {last})")


def machine_cpu_seconds():
    """CPU time the whole machine spent in user and system mode (all processes)."""
    with open("/proc/stat") as f:
        user, nice, system = (int(x) for x in f.readline().split()[1:4])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    """This script's CPU time plus that of its children that have been waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def wait_quiet(procs, max_seconds=8.0, window=0.3, threshold=0.1):
    """Waits until every process used under `threshold` of a core over `window` seconds
    (bounded by max_seconds). Returns the seconds waited."""
    start = time.time()
    while time.time() - start < max_seconds:
        before = [cpu_seconds(p.pid) for p in procs]
        time.sleep(window)
        after = [cpu_seconds(p.pid) for p in procs]
        if all((b - a) / window < threshold for a, b in zip(before, after)):
            break
    return time.time() - start


def start_node(node_bin, work, name, port, cluster_port=None, peers=(), extra=()):
    cmd = [node_bin, "-port", str(port), "-data", os.path.join(work, name)] + NODE_FLAGS
    env = dict(os.environ)
    env.pop("CLUSTER_NODES", None)
    if cluster_port is not None:
        cmd += ["-public-url", f"127.0.0.1:{port}", "-cluster-port", str(cluster_port)]
        env["CLUSTER_NODES"] = ",".join(f"127.0.0.1:{p}" for p in peers)
    cmd += list(extra)
    log = open(os.path.join(work, f"{name}.log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    return {"name": name, "port": port, "proc": proc, "log": log.name}


def run_convergence(tool, write_port, read_port, a, samples=None, seconds=None):
    cmd = [tool, "--write-port", str(write_port), "--read-port", str(read_port), "--json", "--raw",
           "--timeout-ms", str(a.conv_timeout_ms), "--value-size", str(a.value_size),
           "--samples", str(samples if samples else 10_000_000)]
    if seconds:
        cmd += ["--duration", str(seconds)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=(seconds or 60) + 60)
    if out.returncode not in (0, 1):  # 1: some samples timed out or failed, reported
        sys.exit(f"minivault-convergence failed ({' '.join(cmd)}):\n{out.stdout}{out.stderr}")
    return json.loads(out.stdout)


def pct(values, q):
    """Nearest-rank percentile of a non-empty list."""
    v = sorted(values)
    rank = min(len(v), max(1, int(q * len(v) + 0.999999)))
    return v[rank - 1]


def ms(us):
    return f"{us / 1000:.2f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_args(p, "BENCH_CLUSTER_ROUNDS", 3)
    p.add_argument("--conv-samples", type=int, default=1000,
                   help="convergence samples per idle round")
    p.add_argument("--conv-seconds", type=float, default=4.0,
                   help="convergence sampling time per round under load")
    p.add_argument("--conv-timeout-ms", type=int, default=1000,
                   help="a sample not visible on node C by then counts as a timeout")
    p.add_argument("--http-value-chars", type=int, default=None,
                   help="x characters in HTTP PUT bodies (default: value-size - 10)")
    p.add_argument("--http-max-error-fraction", type=float, default=1e-4,
                   help="non-2xx responses or socket errors tolerated per wrk run")
    p.add_argument("--load-connections", type=int, default=50)
    p.add_argument("--load-pipeline", type=int, default=4,
                   help="in flight per connection of the SET load on node B")
    a = p.parse_args()
    if a.http_value_chars is None:
        a.http_value_chars = max(1, a.value_size - 10)

    bench, node_bin, conv, wrk = tools(
        a.build, ["minivault-bench", "minivault", "minivault-convergence"], ["wrk"])
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="minivault-cluster-bench-")
    nodes = []
    load_before = os.getloadavg()
    started = time.time()
    machine0, own0 = machine_cpu_seconds(), own_cpu_seconds()
    try:
        extra = a.node_args.split()
        single = start_node(node_bin, work, "single", free_port(), extra=extra)
        nodes.append(single)
        ports = [free_port() for _ in range(3)]
        cports = [free_port() for _ in range(3)]
        http_a = free_port()
        cluster = []
        for i, name in enumerate("ABC"):
            cluster.append(start_node(node_bin, work, name, ports[i], cports[i],
                                      [q for q in ports if q != ports[i]],
                                      extra + (["-http", str(http_a)] if i == 0 else [])))
        nodes += cluster
        for n in nodes:
            wait_port(n["port"], n["proc"], f"node {n['name']}")
        wait_cluster_up(cluster)
        node_a, node_b, node_c = cluster
        prefill(bench, single["port"], False, a)
        prefill(bench, node_a["port"], False, a)
        wait_port(http_a, node_a["proc"], "node A HTTP")
        http_prefill(http_a, a)
        procs = [n["proc"] for n in nodes]
        cluster_pids = [n["proc"].pid for n in cluster]

        def alive(what):
            for n in nodes:
                if n["proc"].poll() is not None:
                    sys.exit(f"FAIL: node {n['name']} died during {what} "
                             f"(status {n['proc'].returncode}; log {n['log']})")

        print(f"3-node cluster vs single node on this machine ({os.cpu_count()} cores, load "
              f"average {load_before[0]:.2f} at start): {a.rounds} rounds x {a.duration:g} s, "
              f"{a.connections} connections, {a.threads} client thread(s), {a.value_size}-byte "
              f"values, {a.keys} keys prefilled; SETs to node A of the cluster", flush=True)

        # -- throughput ------------------------------------------------------------------
        tp = {name: {k: [] for k in ("single", "cluster", "ratio", "single_p50", "cluster_p50",
                                     "single_p99", "cluster_p99", "single_cpu_us",
                                     "cluster_cpu_us", "cpu_ratio", "replica_cpu_us")}
              for name, _ in THROUGHPUT}
        for rnd in range(a.rounds):
            for name, pipeline in THROUGHPUT:
                order = ["single", "cluster"] if rnd % 2 == 0 else ["cluster", "single"]
                got = {}
                for who in order:
                    wait_quiet(procs)
                    port = single["port"] if who == "single" else node_a["port"]
                    pids = [single["proc"].pid] if who == "single" else cluster_pids
                    got[who] = run_bench(bench, port, False, 0.0, pipeline, a, cpu_pids=pids)
                    alive(f"{name} ({who})")
                r = tp[name]
                for who in ("single", "cluster"):
                    r[who].append(got[who]["ops_per_sec"])
                    r[f"{who}_p50"].append(got[who]["p50_us"])
                    r[f"{who}_p99"].append(got[who]["p99_us"])
                r["ratio"].append(got["cluster"]["ops_per_sec"] / got["single"]["ops_per_sec"])
                # CPU per acknowledged write: the single node's, and the three replicas'
                # together (each does the storage work once, so 3x is the floor).
                r["single_cpu_us"].append(got["single"]["cpu_us_per_op"][0])
                r["cluster_cpu_us"].append(sum(got["cluster"]["cpu_us_per_op"]))
                r["replica_cpu_us"].append(got["cluster"]["cpu_us_per_op"])
                r["cpu_ratio"].append(r["cluster_cpu_us"][-1] / r["single_cpu_us"][-1])
                print(f"  round {rnd + 1} {name:<18} single {got['single']['ops_per_sec']:>10,.0f}"
                      f"  cluster {got['cluster']['ops_per_sec']:>10,.0f}  ratio "
                      f"{r['ratio'][-1]:.2f}  p99 {got['single']['p99_us']:,.0f} / "
                      f"{got['cluster']['p99_us']:,.0f} us  CPU/write single "
                      f"{r['single_cpu_us'][-1]:.1f} us, A/B/C "
                      + "/".join(f"{x:.1f}" for x in r["replica_cpu_us"][-1])
                      + f" us ({r['cpu_ratio'][-1]:.2f}x)", flush=True)

        # -- CPU of a quorum read against a write, over HTTP at node A ---------------------
        http_rows = {"PUT": [], "quorum GET": []}
        for rnd in range(a.rounds):
            kinds = [("PUT", "put.lua"), ("quorum GET", "qget.lua")]
            for kind, script in (kinds if rnd % 2 == 0 else kinds[::-1]):
                wait_quiet(procs)
                res = run_wrk(wrk, http_a, script, rnd + 1, a, cpu_pids=cluster_pids)
                alive(f"HTTP {kind}")
                http_rows[kind].append({"ops_per_sec": res["ops_per_sec"],
                                        "cpu_us": sum(res["cpu_us_per_op"]),
                                        "replica_cpu_us": res["cpu_us_per_op"]})
                print(f"  round {rnd + 1} HTTP {kind:<11} at A {res['ops_per_sec']:>10,.0f}/s  "
                      f"CPU per request A/B/C "
                      + "/".join(f"{x:.1f}" for x in res["cpu_us_per_op"])
                      + f" us (sum {sum(res['cpu_us_per_op']):.1f})", flush=True)

        # -- convergence -----------------------------------------------------------------
        conv_runs = {"idle": [], "load": []}
        load_ops = []
        for rnd in range(a.rounds):
            for mode in (("idle", "load") if rnd % 2 == 0 else ("load", "idle")):
                wait_quiet(procs)
                if mode == "idle":
                    res = run_convergence(conv, node_a["port"], node_c["port"], a,
                                          samples=a.conv_samples)
                else:
                    # The load runs past both ends of the sampling window.
                    load_secs = a.conv_seconds + 1.0
                    load_cmd = [bench, "--port", str(node_b["port"]), "--json",
                                "-c", str(a.load_connections), "-P", str(a.load_pipeline),
                                "--reads", "0", "--keys", str(a.keys), "--value-size",
                                str(a.value_size), "--duration", str(load_secs),
                                "--warmup", "0.5", "--threads", str(a.threads)]

                    def sample():
                        time.sleep(1.0)
                        return run_convergence(conv, node_a["port"], node_c["port"], a,
                                               seconds=a.conv_seconds)

                    res, load = while_running(load_cmd, sample, load_secs + 60)
                    res["load_ops_per_sec"] = load["ops_per_sec"]
                    load_ops.append(res["load_ops_per_sec"])
                alive(f"convergence ({mode})")
                conv_runs[mode].append(res)
                fs = res["from_send"]
                print(f"  round {rnd + 1} convergence {mode:<4} {res['converged']:>5} samples, "
                      f"{res['timeouts']} timeouts: from send p50/p99/max "
                      f"{ms(fs['p50_us'])}/{ms(fs['p99_us'])}/{ms(fs['max_us'])} ms"
                      + (f"  (load {res['load_ops_per_sec']:,.0f} SET/s at node B)"
                         if mode == "load" else ""), flush=True)

        # Every replica should end with the same keys (all writes of the run, converged).
        keys = []
        deadline = time.time() + 15
        while time.time() < deadline:
            keys = [health(n["port"])["keys"] for n in cluster]
            if len(set(keys)) == 1:
                break
            time.sleep(0.2)
        replicas_equal = len(set(keys)) == 1
        if not replicas_equal:
            print(f"  warning: key counts still differ 15 s after the last write: A/B/C {keys}",
                  file=sys.stderr, flush=True)
        alive("the final check")
        load_after = os.getloadavg()
        # CPU the rest of the machine used meanwhile (other people's builds and tests):
        # everything minus the nodes, this script and its load generators. Approximate
        # (kernel threads count as others), but it tells a quiet run from a disturbed one.
        wall = time.time() - started
        ours = sum(cpu_seconds(n["proc"].pid) for n in nodes) + own_cpu_seconds() - own0
        others_cores = max(0.0, machine_cpu_seconds() - machine0 - ours) / wall

        # -- report ----------------------------------------------------------------------
        rows = []
        for name, pipeline in THROUGHPUT:
            r = tp[name]
            rows.append({"workload": name, "pipeline": pipeline,
                         "single": statistics.median(r["single"]),
                         "cluster": statistics.median(r["cluster"]),
                         "ratio": statistics.median(r["ratio"]), "ratios": r["ratio"],
                         "target_ratio": RATIO_TARGET,
                         "single_cpu_us": statistics.median(r["single_cpu_us"]),
                         "cluster_cpu_us": statistics.median(r["cluster_cpu_us"]),
                         "cpu_ratio": statistics.median(r["cpu_ratio"]),
                         "cpu_ratios": r["cpu_ratio"], "replica_cpu_us": r["replica_cpu_us"],
                         "target_cpu_ratio": CPU_RATIO_TARGET,
                         **{f"{k}_us": statistics.median(r[k]) for k in
                            ("single_p50", "cluster_p50", "single_p99", "cluster_p99")}})
        conv_rows = []
        for mode, runs in conv_runs.items():
            pooled = {k: [x for run in runs for x in run[f"{k}_us"]]
                      for k in ("from_send", "from_ack", "ack")}
            row = {"mode": mode, "samples": sum(run["samples"] for run in runs),
                   "converged": len(pooled["from_send"]),
                   "timeouts": sum(run["timeouts"] for run in runs),
                   "write_errors": sum(run["write_errors"] for run in runs),
                   "seen_before_ack": sum(run["seen_before_ack"] for run in runs),
                   "target_p99_ms": CONVERGENCE_TARGET_P99_MS[mode],
                   "round_p99_from_send_us": [run["from_send"]["p99_us"] for run in runs]}
            for k, v in pooled.items():
                if v:
                    row[k] = {"p50_us": pct(v, 0.5), "p99_us": pct(v, 0.99), "max_us": max(v)}
            if mode == "load":
                row["load_ops_per_sec"] = statistics.median(load_ops)
            conv_rows.append(row)

        table = ["| workload | single node ops/s | 3-node cluster ops/s | ratio (median of "
                 "rounds) | target | p50 single / cluster | p99 single / cluster |",
                 "|---|---|---|---|---|---|---|"]
        for r in rows:
            met = "met" if r["ratio"] >= r["target_ratio"] else "missed"
            per_round = ", ".join(f"{x:.2f}" for x in r["ratios"])
            table.append(f"| {r['workload']} | {r['single']:,.0f} | {r['cluster']:,.0f} | "
                         f"**{r['ratio']:.2f}x** ({per_round}) | >= {r['target_ratio']:.1f}x "
                         f"({met}) | {r['single_p50_us']:,.0f} / {r['cluster_p50_us']:,.0f} us | "
                         f"{r['single_p99_us']:,.0f} / {r['cluster_p99_us']:,.0f} us |")
        table += ["", "| CPU per acknowledged write (measured window, /proc) | single node | "
                  "3-node cluster, A + B + C | ratio (median; range) | target |",
                  "|---|---|---|---|---|"]
        for r in rows:
            met = "met" if r["cpu_ratio"] <= r["target_cpu_ratio"] else "missed"
            last = r["replica_cpu_us"][-1]
            table.append(f"| {r['workload']} | {r['single_cpu_us']:.1f} us | "
                         f"{r['cluster_cpu_us']:.1f} us (last round A/B/C "
                         + "/".join(f"{x:.1f}" for x in last) + ") | "
                         f"**{r['cpu_ratio']:.2f}x** ({min(r['cpu_ratios']):.2f}-"
                         f"{max(r['cpu_ratios']):.2f}) | <= {r['target_cpu_ratio']:.1f}x ({met}) |")
        put_cpu = statistics.median(x["cpu_us"] for x in http_rows["PUT"])
        qget_cpu = statistics.median(x["cpu_us"] for x in http_rows["quorum GET"])
        qratios = [q["cpu_us"] / w["cpu_us"] for q, w in zip(http_rows["quorum GET"],
                                                             http_rows["PUT"])]
        qratio = statistics.median(qratios)
        http_summary = {"put_cpu_us": put_cpu, "qget_cpu_us": qget_cpu, "ratio": qratio,
                        "ratios": qratios, "target_ratio": QGET_CPU_RATIO_TARGET,
                        "runs": http_rows}
        table += ["", "| HTTP at node A, 1 in flight (wrk) | ops/s | CPU per request, A + B + C "
                  "| quorum GET / PUT (median; range) | target |", "|---|---|---|---|---|"]
        for kind in ("PUT", "quorum GET"):
            ops = statistics.median(x["ops_per_sec"] for x in http_rows[kind])
            cpu = put_cpu if kind == "PUT" else qget_cpu
            cell = "-" if kind == "PUT" else (
                f"**{qratio:.2f}x** ({min(qratios):.2f}-{max(qratios):.2f})")
            target = "-" if kind == "PUT" else (
                f"<= {QGET_CPU_RATIO_TARGET:.1f}x "
                f"({'met' if qratio <= QGET_CPU_RATIO_TARGET else 'missed'})")
            table.append(f"| {kind} | {ops:,.0f} | {cpu:.1f} us | {cell} | {target} |")
        table += ["", "| convergence (SET on A, GET polled on C) | samples (timeouts) | visible "
                  "after send p50 / p99 / max | target p99 | visible after ack p50 / p99 / max "
                  "| SET ack p50 / p99 |", "|---|---|---|---|---|---|"]
        for r in conv_rows:
            mode = ("idle" if r["mode"] == "idle" else
                    f"under load ({a.load_connections} x {a.load_pipeline} SETs in flight at "
                    f"node B, {r['load_ops_per_sec']:,.0f}/s)")
            if "from_send" not in r:
                table.append(f"| {mode} | {r['samples']} ({r['timeouts']}) | - | - | - | - |")
                continue
            fs, fa, ak = r["from_send"], r["from_ack"], r["ack"]
            met = "met" if fs["p99_us"] <= r["target_p99_ms"] * 1000 else "missed"
            table.append(f"| {mode} | {r['converged']} ({r['timeouts']}) | "
                         f"{ms(fs['p50_us'])} / **{ms(fs['p99_us'])}** / {ms(fs['max_us'])} ms | "
                         f"<= {r['target_p99_ms']:g} ms ({met}) | {ms(fa['p50_us'])} / "
                         f"{ms(fa['p99_us'])} / {ms(fa['max_us'])} ms | {ms(ak['p50_us'])} / "
                         f"{ms(ak['p99_us'])} ms |")
        table += ["", f"Convergence percentiles pool every round's samples (per-round p99 after "
                  f"send, ms: idle " + ", ".join(ms(x) for x in conv_rows[0]['round_p99_from_send_us'])
                  + "; under load " + ", ".join(ms(x) for x in conv_rows[1]['round_p99_from_send_us'])
                  + f"). A sample is bounded by {a.conv_timeout_ms} ms. 'After ack' is 0 when the "
                  f"value was on C before A acknowledged the SET ({conv_rows[0]['seen_before_ack']} "
                  f"of {conv_rows[0]['converged']} idle, {conv_rows[1]['seen_before_ack']} of "
                  f"{conv_rows[1]['converged']} under load). Other processes on the machine "
                  f"used {others_cores:.2f} of its {os.cpu_count()} cores on average during the "
                  f"run (load average {load_before[0]:.2f} before); replicas' key counts at the "
                  f"end: {'/'.join(map(str, keys))}; {wall:.0f} s in all."]
        print("\n" + "\n".join(table))
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        with open(os.path.join(a.out, f"cluster-{stamp}.json"), "w") as f:
            json.dump({"settings": vars(a), "loadavg_before": load_before,
                       "loadavg_after": load_after, "other_processes_cores": others_cores,
                       "seconds": wall, "throughput": rows, "http_cpu": http_summary,
                       "convergence": conv_rows, "convergence_runs": conv_runs,
                       "replica_keys": keys}, f, indent=2)
        with open(os.path.join(a.out, f"cluster-{stamp}.md"), "w") as f:
            f.write("\n".join(table) + "\n")
        print(f"results: {a.out}/cluster-{stamp}.json")
        if not replicas_equal:
            sys.exit("FAIL: the replicas did not converge to the same key count")
    finally:
        stop_procs([n["proc"] for n in nodes])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
