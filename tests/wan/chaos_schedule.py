"""The seeded fault schedule of chaos.py: a list of faults, one at a time, each with its
start (seconds from the first write), its duration and its parameters. The schedule
depends on the seed alone, so a run is replayed by giving the same seed, length, node
count and regions."""

# kind: weight. A SIGKILL of the whole cluster is rare on purpose.
WEIGHTS = {"kill": 20, "freeze": 12, "isolate": 15, "split": 10, "one_way": 12,
           "delay": 12, "loss": 10, "kill_all": 3}
# With several regions, also: one region cut off from the others, or a region SIGKILLed.
REGION_WEIGHTS = {"region_cut": 15, "kill_region": 4}
QUIET_S = (0.5, 2.0)  # between two faults


def _fault(rng, kind, n, regions):
    nodes = list(range(n))
    f = {"kind": kind}
    if kind in ("region_cut", "kill_region"):
        r = rng.randrange(len(regions))
        f["region"] = r
        f["a"] = list(regions[r])
        f["b"] = [j for j in nodes if j not in regions[r]]
        f["duration"] = rng.uniform(2.0, 10.0) if kind == "region_cut" else rng.uniform(1.0, 4.0)
    elif kind in ("kill", "freeze"):
        f["node"] = rng.randrange(n)
        f["duration"] = rng.uniform(1.0, 5.0)
    elif kind == "kill_all":
        f["duration"] = rng.uniform(0.5, 2.0)
    elif kind in ("isolate", "one_way", "delay", "loss"):
        i = rng.randrange(n)
        others = [j for j in nodes if j != i]
        f["a"], f["b"] = ([i], others) if rng.random() < 0.5 else (others, [i])
        f["duration"] = rng.uniform(1.0, 6.0)
        if kind == "delay":
            f["ms"] = rng.choice([20, 40, 80, 150])
            f["jitter_ms"] = rng.choice([0, 5, 20])
        if kind == "loss":
            f["percent"] = rng.choice([5, 15, 30, 50])
    elif kind == "split":
        minority = rng.sample(nodes, max(1, (n - 1) // 2))
        f["a"], f["b"] = sorted(minority), [j for j in nodes if j not in minority]
        f["duration"] = rng.uniform(1.0, 6.0)
    else:
        raise ValueError(kind)
    return f


def make_schedule(rng, n, seconds, regions=None):
    """`regions`: the nodes of each region (None or one region: no region faults)."""
    regions = regions or [list(range(n))]
    table = dict(WEIGHTS, **(REGION_WEIGHTS if len(regions) > 1 else {}))
    kinds = sorted(table)
    weights = [table[k] for k in kinds]
    out, at = [], rng.uniform(*QUIET_S)
    while True:
        f = _fault(rng, rng.choices(kinds, weights)[0], n, regions)
        if at + f["duration"] > seconds - 1.0:
            return out
        f["at"] = at
        out.append(f)
        at += f["duration"] + rng.uniform(*QUIET_S)


def describe(f):
    k = f["kind"]
    if k in ("kill", "freeze"):
        what = "node %d" % f["node"]
    elif k == "kill_all":
        what = "every node"
    elif k in ("region_cut", "kill_region"):
        what = "region %d %s" % (f["region"], f["a"])
    else:
        arrow = "->" if k == "one_way" else "<->"
        what = "%s %s %s" % (f["a"], arrow, f["b"])
        if k == "delay":
            what += " +%d ms (jitter %d)" % (f["ms"], f["jitter_ms"])
        if k == "loss":
            what += " %d%% loss" % f["percent"]
    return "%-8s %s for %.1f s" % (k, what, f["duration"])
