"""Real minivault nodes, one per emulator namespace, for WAN and fault tests.

Node i runs in namespace i at <address(i)>:3000 (binary) and :8080 (HTTP), cluster port
4000, data in <workdir>/node<i>, log in <workdir>/node<i>.log. Every namespace has its own
ports, so the same port numbers serve every node. Each process is stopped by its own PID.
"""

import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "client", "python"))
import minivault  # noqa: E402

PORT = 3000
HTTP_PORT = 8080


class WanCluster:
    def __init__(self, net, binary, nodes, workdir, extra_args=(), regions=None):
        """nodes: how many nodes (namespaces 0..nodes-1); regions: a label per node."""
        self.net = net
        self.binary = binary
        self.n = nodes
        self.workdir = workdir
        self.extra = list(extra_args)
        self.regions = regions or ["local"] * nodes
        self.procs = [None] * nodes
        self.frozen = [False] * nodes
        self.starts = [0] * nodes

    def url(self, i):
        return "%s:%d" % (self.net.address(i), PORT)

    def log_path(self, i):
        return os.path.join(self.workdir, "node%d.log" % i)

    def start(self, i):
        assert self.procs[i] is None or self.procs[i].poll() is not None
        peers = ",".join("%s@%s" % (self.url(j), self.regions[j])
                         for j in range(self.n) if j != i)
        args = [self.binary, "-port", str(PORT), "-http", str(HTTP_PORT),
                "-data", os.path.join(self.workdir, "node%d" % i),
                "-public-url", self.url(i), "-cluster-nodes", peers,
                "-region", self.regions[i], "-io-threads", "1", "-cache", "64",
                # Clients and peers come from other namespaces: not protected mode.
                "-bind", "0.0.0.0"] + self.extra
        log = open(self.log_path(i), "a")
        log.write("==== start %d\n" % self.starts[i])
        log.flush()
        self.starts[i] += 1
        self.procs[i] = self.net.popen(i, args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.frozen[i] = False

    def start_all(self):
        for i in range(self.n):
            self.start(i)

    def alive(self, i):
        return self.procs[i] is not None and self.procs[i].poll() is None

    def kill(self, i):
        """SIGKILL by PID (a frozen node is killed as it is)."""
        p = self.procs[i]
        if p is not None and p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
        self.frozen[i] = False

    def freeze(self, i):
        if self.alive(i) and not self.frozen[i]:
            os.kill(self.procs[i].pid, signal.SIGSTOP)
            self.frozen[i] = True

    def thaw(self, i):
        if self.alive(i) and self.frozen[i]:
            os.kill(self.procs[i].pid, signal.SIGCONT)
        self.frozen[i] = False

    def stop_all(self):
        """SIGTERM every node, SIGKILL what has not exited after 10 s."""
        for i in range(self.n):
            self.thaw(i)
            if self.alive(i):
                os.kill(self.procs[i].pid, signal.SIGTERM)
        deadline = time.time() + 10
        for i in range(self.n):
            p = self.procs[i]
            if p is None:
                continue
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()

    def client(self, i, timeout=3.0):
        """A binary-protocol client of node i; call from a thread inside a namespace."""
        return minivault.Client(self.net.address(i), PORT, timeout=timeout)

    def health(self, i, timeout=2.0):
        with self.client(i, timeout) as c:
            return c.health()

    def log_text(self, i):
        with open(self.log_path(i), errors="replace") as f:
            return f.read()


def wait_until(predicate, timeout_s, step_s=0.1):
    """True once predicate() holds (tried at least once); False after timeout_s."""
    deadline = time.time() + timeout_s
    while True:
        try:
            if predicate():
                return True
        except (minivault.MinivaultError, OSError):
            pass
        if time.time() >= deadline:
            return False
        time.sleep(step_s)


def all_peers_up(cluster, i):
    h = cluster.health(i)
    return all(p.get("state") == "up" for p in h.get("peers", [])) and \
        len(h.get("peers", [])) == cluster.n - 1


def log_events(cluster, i, word):
    """Lines of node i's log with 'is up' / 'is down' (membership transitions)."""
    return [l for l in cluster.log_text(i).splitlines() if word in l and "peer " in l]
