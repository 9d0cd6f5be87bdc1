"""minivault client for Python 3.8+, standard library only (binary protocol,
protocol/README.md §1 in the minivault repository).

    from minivault import Client, NotFound
    with Client("127.0.0.1", 3000, auth="secret") as db:
        db.set("user:1", "alice")            # str is sent as UTF-8; bytes as they are
        db.get("user:1")                     # b"alice"; None when the key is missing
        db.delete("user:1")                  # deleting a missing key also succeeds
        db.health()                          # dict
        db.pipeline([("set", "a", "1"), ("get", "a"), ("delete", "b")])  # N results, in order
    Client("127.0.0.1", 3000, consistency="each_quorum")  # level of SET, DELETE, quorum GET

Contract:
- One TCP connection, opened lazily (bounded by `timeout`). With `auth`, AUTH is sent
  first on every (re)connect, so callers never handle it; with `consistency` (a level of
  protocol/README.md §4: one, local_quorum, region_safe, each_quorum, quorum, all), so is
  CONSISTENCY, and every SET, DELETE and quorum GET is acknowledged at that level.
- Errors raise `MinivaultError`: `ReplyError` when the node refused the request (its
  reason is the message), `ConnectionFailed` when the connection broke or timed out. After
  a ConnectionFailed on SET/DELETE the outcome is unknown; GET and HEALTH, which change
  nothing, are retried once on a fresh connection.
- Keys are 1..65535 bytes; longer keys raise ValueError before anything is sent.
- Values are never compressed on the wire (zstd is not in the standard library); the node
  still compresses large values at rest.
- Not thread-safe: one Client per thread.
"""

import json
import socket
import struct
import time

__all__ = ["Client", "MinivaultError", "ReplyError", "ConnectionFailed", "NotFound"]

OP_GET, OP_SET, OP_DELETE, OP_HEALTH, OP_AUTH, OP_QGET = 0x01, 0x02, 0x03, 0x05, 0x06, 0x07
OP_CONSISTENCY = 0x08
LEVELS = ("one", "local_quorum", "region_safe", "each_quorum", "quorum", "all")
STATUS_OK, STATUS_ERROR = 0x00, 0xFF
KEY_BYTES_MAX = 65535
REPLY_BYTES_MAX = 1 << 30  # refuse a reply claiming more than any value can be


class MinivaultError(Exception):
    """Base class of every error this client raises."""


class ReplyError(MinivaultError):
    """The node answered the request with an error (its reason is the message)."""


class NotFound(ReplyError):
    """Only raised by pipeline() results: GET of a missing key (get() returns None)."""


class ConnectionFailed(MinivaultError):
    """Could not connect, or the connection broke or timed out mid-request."""


def _bytes(x, what):
    if isinstance(x, bytes):
        return x
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    if isinstance(x, str):
        return x.encode("utf-8")
    raise TypeError("%s must be bytes or str, not %s" % (what, type(x).__name__))


def _key(key):
    k = _bytes(key, "key")
    if not 1 <= len(k) <= KEY_BYTES_MAX:
        raise ValueError("key must be 1..65535 bytes, got %d" % len(k))
    return k


def _frame(op, key, value=None):
    out = struct.pack("<BH", op, len(key)) + key
    if op == OP_SET:
        out += struct.pack("<IB", len(value), 0) + value
    return out


# Errors after which the node closes the connection (protocol/README.md §1.3).
_CLOSING_REASONS = {b"unauthorized", b"bad frame", b"too large"}


class Client:
    def __init__(self, host="127.0.0.1", port=3000, auth=None, timeout=5.0, consistency=None):
        self.host, self.port, self.timeout = host, port, timeout
        self._auth = None if auth is None else _bytes(auth, "auth")
        self._sock = None
        self._buf = bytearray()
        self._level = None
        if consistency is not None:
            self.consistency(consistency)

    # -- public API -------------------------------------------------------------------

    def get(self, key, quorum=False):
        """The value of `key` as bytes, or None if it does not exist. `quorum=True` reads
        from a quorum of the key's replicas (in a cluster; a single node reads locally)."""
        status, payload = self._call(_frame(OP_QGET if quorum else OP_GET, _key(key)), retry=True)
        if status == STATUS_OK:
            return payload
        if payload == b"not found":
            return None
        raise ReplyError(payload.decode("utf-8", "replace"))

    def set(self, key, value):
        """Stores `value`; returns once the node says it is durable."""
        self._expect_ok(self._call(_frame(OP_SET, _key(key), _bytes(value, "value"))))

    def delete(self, key):
        self._expect_ok(self._call(_frame(OP_DELETE, _key(key))))

    def health(self):
        status, payload = self._call(_frame(OP_HEALTH, b""), retry=True)
        if status != STATUS_OK:
            raise ReplyError(payload.decode("utf-8", "replace"))
        return json.loads(payload.decode("utf-8"))

    def auth(self, key):
        """Switches to another auth key: the next request reconnects with it."""
        self._auth = _bytes(key, "auth")
        self.close()

    def consistency(self, level):
        """Sets the level of later SET, DELETE and quorum GET (None: the node's default);
        sent on the next request's connection."""
        if level is not None and level not in LEVELS:
            raise ValueError("consistency must be one of " + ", ".join(LEVELS))
        self._level = level
        self.close()

    def pipeline(self, ops):
        """Sends every op at once and returns their results in order. An op is
        ("get", key), ("set", key, value), ("delete", key) or ("health",). A result is the
        value (bytes, for get), None (set/delete), a dict (health), or an exception
        instance (NotFound, ReplyError) for an op the node refused. Never retried."""
        frames, kinds = [], []
        for op in ops:
            name = op[0]
            if name == "get":
                frames.append(_frame(OP_GET, _key(op[1])))
            elif name == "set":
                frames.append(_frame(OP_SET, _key(op[1]), _bytes(op[2], "value")))
            elif name == "delete":
                frames.append(_frame(OP_DELETE, _key(op[1])))
            elif name == "health":
                frames.append(_frame(OP_HEALTH, b""))
            else:
                raise ValueError("unknown op %r" % (name,))
            kinds.append(name)
        replies = self._exchange(b"".join(frames), len(frames))
        results = []
        for name, (status, payload) in zip(kinds, replies):
            if status != STATUS_OK:
                cls = NotFound if payload == b"not found" else ReplyError
                results.append(cls(payload.decode("utf-8", "replace")))
            elif name == "get":
                results.append(payload)
            elif name == "health":
                results.append(json.loads(payload.decode("utf-8")))
            else:
                results.append(None)
        return results

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock, self._buf = None, bytearray()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- internals --------------------------------------------------------------------

    def _expect_ok(self, reply):
        status, payload = reply
        if status != STATUS_OK:
            raise ReplyError(payload.decode("utf-8", "replace"))

    def _call(self, frame, retry=False):
        try:
            return self._exchange(frame, 1)[0]
        except ConnectionFailed:
            if not retry:
                raise
            return self._exchange(frame, 1)[0]

    def _exchange(self, frames, n):
        deadline = time.monotonic() + self.timeout
        self._connect(deadline)
        try:
            self._send(frames, deadline)
            replies = [self._read_reply(deadline) for _ in range(n)]
        except (OSError, ConnectionFailed) as e:
            self.close()
            if isinstance(e, ConnectionFailed):
                raise
            raise ConnectionFailed(str(e)) from e
        if any(s == STATUS_ERROR and p in _CLOSING_REASONS for s, p in replies):
            self.close()  # the node closes after these; do not reuse the socket
        return replies

    def _connect(self, deadline):
        if self._sock is not None:
            return
        left = max(deadline - time.monotonic(), 0.001)
        try:
            sock = socket.create_connection((self.host, self.port), timeout=left)
        except OSError as e:
            raise ConnectionFailed("cannot connect to %s:%d: %s" % (self.host, self.port, e)) from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._buf = sock, bytearray()
        if self._auth is not None:
            self._handshake(_frame(OP_AUTH, self._auth), "auth failed", deadline)
        if self._level is not None:
            self._handshake(_frame(OP_CONSISTENCY, self._level.encode()), "consistency refused",
                            deadline)

    def _handshake(self, frame, what, deadline):
        """A session request sent first on a new connection (AUTH, CONSISTENCY)."""
        try:
            self._send(frame, deadline)
            status, payload = self._read_reply(deadline)
        except OSError as e:
            self.close()
            raise ConnectionFailed(str(e)) from e
        if status != STATUS_OK:
            self.close()
            raise ReplyError(what + ": " + payload.decode("utf-8", "replace"))

    def _send(self, data, deadline):
        self._sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            self._sock.sendall(data)
        except socket.timeout as e:
            raise ConnectionFailed("timed out sending") from e

    def _read_exact(self, n, deadline):
        while len(self._buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectionFailed("timed out waiting for a reply")
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(max(n - len(self._buf), 65536))
            except socket.timeout as e:
                raise ConnectionFailed("timed out waiting for a reply") from e
            if not chunk:
                raise ConnectionFailed("the node closed the connection")
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _read_reply(self, deadline):
        status, length = struct.unpack("<BI", self._read_exact(5, deadline))
        if status not in (STATUS_OK, STATUS_ERROR) or length > REPLY_BYTES_MAX:
            raise ConnectionFailed("unparseable reply from the node")
        return status, self._read_exact(length, deadline)
