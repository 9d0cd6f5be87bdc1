"""Python side of minivault-netem (tests/wan/README.md): start the emulator, change the
network at run time, run processes and sockets inside its namespaces, and prove at the end
that nothing was left behind.

    with Netem(binary, count=4) as net:        # namespaces <prefix>-0 .. -3
        proc = net.popen(0, ["./minivault", ...])
        net.delay(0, 1, 40)                     # both ways unless one_way=True
        net.cut([0, 1], [2, 3])                 # a partition between two groups
        net.heal()
        with net.inside(3):                     # sockets made here live in namespace 3
            sock = socket.create_connection((net.address(0), 3000))

Contract: every namespace is created and removed by the emulator process itself, which
also SIGKILLs (by PID) any process still inside them when it exits, and exits when its
parent dies; `close()` waits for that and then checks that no namespace of this run is
left (raises LeftBehind otherwise).
"""

import contextlib
import ctypes
import os
import subprocess
import sys
import threading

SKIP = 77  # ctest's SKIP_RETURN_CODE
CLONE_NEWNET = 0x40000000


class Skip(Exception):
    """The emulator cannot run here (not root, no /dev/net/tun)."""


class LeftBehind(Exception):
    """A namespace or process of this run survived close()."""


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
    return libc


def _setns(fd):
    if _libc().setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


def namespaces():
    """Names of every network namespace `ip netns` knows."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


class Netem:
    def __init__(self, binary, count, prefix=None):
        if os.geteuid() != 0:
            raise Skip("network namespaces need root")
        self.count = count
        self.prefix = prefix or "mvt%d" % os.getpid()
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [binary, "--prefix", self.prefix, "--count", str(count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        first = self._proc.stdout.readline().strip()
        if not first.startswith("ready"):
            rc = self._proc.wait()
            if rc == SKIP:
                raise Skip("minivault-netem: " + first)
            raise RuntimeError("minivault-netem did not start: %r (exit %d)" % (first, rc))
        self._addresses = [kv.split("=", 1)[1] for kv in first.split()[1:]]
        self._children = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def ns(self, i):
        return "%s-%d" % (self.prefix, i)

    def address(self, i):
        return self._addresses[i]

    # --- the network -----------------------------------------------------------------
    def command(self, line):
        with self._lock:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
            reply = self._proc.stdout.readline().strip()
        if not reply.startswith("ok"):
            raise RuntimeError("netem %r: %r" % (line, reply))
        return reply

    def _pairs(self, a, b, one_way):
        a = a if isinstance(a, (list, tuple)) else [a]
        b = b if isinstance(b, (list, tuple)) else [b]
        for i in a:
            for j in b:
                yield i, j
                if not one_way:
                    yield j, i

    def delay(self, a, b, ms, jitter_ms=0, one_way=False):
        for i, j in self._pairs(a, b, one_way):
            self.command("delay %s %s %g %g" % (i, j, ms, jitter_ms))

    def loss(self, a, b, percent, one_way=False):
        for i, j in self._pairs(a, b, one_way):
            self.command("loss %s %s %g" % (i, j, percent))

    def cut(self, a, b, one_way=False):
        for i, j in self._pairs(a, b, one_way):
            self.command("cut %s %s" % (i, j))

    def heal(self):
        """Heals every cut (delays and loss stay)."""
        self.command("heal")

    def clear(self):
        """Heals every cut and removes every delay and loss."""
        self.command("heal")
        self.command("delay * * 0 0")
        self.command("loss * * 0")

    def stats(self, a=None, b=None):
        """Totals; with `a`, `b` (indexes or lists): packets and bytes forwarded a -> b."""
        if a is not None:
            total = {"packets": 0, "bytes": 0}
            for i in (a if isinstance(a, list) else [a]):
                for j in (b if isinstance(b, list) else [b]):
                    if i == j:
                        continue
                    reply = self.command("stats %s %s" % (i, j))
                    for k, v in (kv.split("=") for kv in reply.split()[1:]):
                        total[k] += int(v)
            return total
        reply = self.command("stats")
        return {k: int(v) for k, v in (kv.split("=") for kv in reply.split()[1:])}

    # --- processes and sockets inside ------------------------------------------------
    def popen(self, i, argv, **kwargs):
        """Starts argv inside namespace i (`ip netns exec` keeps the PID)."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns(i)] + list(argv), **kwargs)
        self._children.append(proc)
        return proc

    @contextlib.contextmanager
    def inside(self, i):
        """Sockets created by this thread inside the block live in namespace i."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open("/var/run/netns/" + self.ns(i), os.O_RDONLY)
        try:
            _setns(target)
            yield
        finally:
            _setns(home)
            os.close(home)
            os.close(target)

    def enter(self, i):
        """Moves the calling thread into namespace i for good (for worker threads)."""
        fd = os.open("/var/run/netns/" + self.ns(i), os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)

    # --- the end ---------------------------------------------------------------------
    def close(self):
        if self._proc is None:
            return
        for child in self._children:
            if child.poll() is None:
                child.kill()
        try:
            self._proc.stdin.write("quit\n")
            self._proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self._proc.stdout.close()
        for child in self._children:
            child.wait()
        self._proc = None
        self.check_clean()

    def check_clean(self):
        left = [n for n in namespaces() if n.startswith(self.prefix + "-")]
        alive = [c.pid for c in self._children if c.poll() is None]
        # The TUN devices live only inside the namespaces: none may show up here.
        tun = subprocess.run(["ip", "-o", "link", "show", "dev", "mv0"],
                             capture_output=True).returncode == 0
        if left or alive or tun:
            raise LeftBehind("left behind: namespaces %s, processes %s, mv0 here: %s"
                             % (left, alive, tun))


def skip_unless_possible(binary):
    """Exits with SKIP (and says why) when namespaces cannot be made here."""
    if os.geteuid() != 0:
        print("SKIPPED: network namespaces need root", flush=True)
        sys.exit(SKIP)
    if not os.path.exists("/dev/net/tun"):
        print("SKIPPED: no /dev/net/tun", flush=True)
        sys.exit(SKIP)
    if not os.path.exists(binary):
        raise SystemExit("no emulator binary at %s" % binary)
