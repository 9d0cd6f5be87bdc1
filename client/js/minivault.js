'use strict';
// minivault client for Node.js 18+, standard library only (binary protocol,
// protocol/README.md §1 in the minivault repository).
//
//   const { Client } = require('./minivault');
//   const db = new Client({ host: '127.0.0.1', port: 3000, auth: 'secret' });
//   await db.set('user:1', 'alice');      // string (UTF-8) or Buffer
//   await db.get('user:1');               // Buffer, or null when the key is missing
//   await db.delete('user:1');            // deleting a missing key also succeeds
//   await db.health();                    // object
//   db.close();
//   new Client({ consistency: 'each_quorum' }) // level of set, delete, quorum get
//
// Contract:
// - One TCP connection, opened lazily. Calls made without awaiting are pipelined on it and
//   settle in order. With `auth`, AUTH goes first on every (re)connect; with `consistency`
//   (a level of protocol/README.md §4), so does CONSISTENCY.
// - Errors reject with MinivaultError: ReplyError when the node refused the request (its
//   reason is the message), ConnectionFailed when the connection broke or a reply took
//   longer than `timeout` ms (then every pending call fails and the next call
//   reconnects). After a ConnectionFailed on set/delete the outcome is unknown; get and
//   health, which change nothing, are retried once on a fresh connection.
// - Keys are 1..65535 bytes; other keys reject with RangeError before anything is sent.
// - Values are never compressed on the wire; the node still compresses at rest.

const net = require('net');

const OP = {
  get: 0x01, set: 0x02, delete: 0x03, health: 0x05, auth: 0x06, qget: 0x07, consistency: 0x08,
};
const LEVELS = ['one', 'local_quorum', 'region_safe', 'each_quorum', 'quorum', 'all'];
const STATUS_OK = 0x00;
const STATUS_ERROR = 0xff;
const KEY_BYTES_MAX = 65535;
const REPLY_BYTES_MAX = 1 << 30;
// Errors after which the node closes the connection (protocol/README.md §1.3).
const CLOSING_REASONS = new Set(['unauthorized', 'bad frame', 'too large']);

class MinivaultError extends Error {}
class ReplyError extends MinivaultError {}
class ConnectionFailed extends MinivaultError {}

function toBuffer(x, what) {
  if (Buffer.isBuffer(x)) return x;
  if (typeof x === 'string') return Buffer.from(x, 'utf8');
  if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new TypeError(`${what} must be a string or a Buffer`);
}

function frame(op, key, value) {
  const head = Buffer.alloc(3);
  head.writeUInt8(op, 0);
  head.writeUInt16LE(key.length, 1);
  if (op !== OP.set) return Buffer.concat([head, key]);
  const vhead = Buffer.alloc(5);
  vhead.writeUInt32LE(value.length, 0);
  vhead.writeUInt8(0, 4);
  return Buffer.concat([head, key, vhead, value]);
}

function checkedKey(key) {
  const k = toBuffer(key, 'key');
  if (k.length < 1 || k.length > KEY_BYTES_MAX) {
    throw new RangeError(`key must be 1..65535 bytes, got ${k.length}`);
  }
  return k;
}

class Client {
  constructor({
    host = '127.0.0.1', port = 3000, auth = null, timeout = 5000, consistency = null,
  } = {}) {
    this.host = host;
    this.port = port;
    this.timeout = timeout;
    this._auth = auth === null ? null : toBuffer(auth, 'auth');
    this._level = null;
    if (consistency !== null) this.consistency(consistency);
    this._socket = null;
    this._pending = []; // in request order: { resolve, reject, timer }
    this._chunks = [];
    this._buffered = 0;
    this._need = 0; // bytes of the reply being received, once its header is known
  }

  // { quorum: true }: read from a quorum of the key's replicas (in a cluster).
  async get(key, { quorum = false } = {}) {
    const op = quorum ? OP.qget : OP.get;
    const [status, payload] = await this._call(frame(op, checkedKey(key)), true);
    if (status === STATUS_OK) return payload;
    if (payload.toString() === 'not found') return null;
    throw new ReplyError(payload.toString());
  }

  async set(key, value) {
    this._expectOk(await this._call(frame(OP.set, checkedKey(key), toBuffer(value, 'value'))));
  }

  async delete(key) {
    this._expectOk(await this._call(frame(OP.delete, checkedKey(key))));
  }

  async health() {
    const [status, payload] = await this._call(frame(OP.health, Buffer.alloc(0)), true);
    if (status !== STATUS_OK) throw new ReplyError(payload.toString());
    return JSON.parse(payload.toString('utf8'));
  }

  /** Switches to another auth key: the next call reconnects with it. */
  auth(key) {
    this._auth = toBuffer(key, 'auth');
    this.close();
  }

  /** Sets the level of later set, delete and quorum get (null: the node's default). */
  consistency(level) {
    if (level !== null && !LEVELS.includes(level)) {
      throw new RangeError(`consistency must be one of ${LEVELS.join(', ')}`);
    }
    this._level = level;
    this.close();
  }

  close() {
    this._fail(new ConnectionFailed('client closed'));
  }

  // -- internals ---------------------------------------------------------------------

  _expectOk([status, payload]) {
    if (status !== STATUS_OK) throw new ReplyError(payload.toString());
  }

  async _call(bytes, retry = false) {
    try {
      return await this._send(bytes);
    } catch (e) {
      if (!retry || !(e instanceof ConnectionFailed)) throw e;
      return this._send(bytes);
    }
  }

  _send(bytes) {
    if (!this._socket) this._connect();
    return new Promise((resolve, reject) => {
      this._enqueue(resolve, reject);
      this._socket.write(bytes);
    });
  }

  _enqueue(resolve, reject) {
    const entry = { resolve, reject, timer: null };
    entry.timer = setTimeout(
      () => this._fail(new ConnectionFailed(`no reply within ${this.timeout} ms`)),
      this.timeout);
    this._pending.push(entry);
  }

  _connect() {
    const socket = net.connect({ host: this.host, port: this.port });
    socket.setNoDelay(true);
    this._socket = socket;
    this._chunks = [];
    this._buffered = 0;
    this._need = 0;
    socket.on('data', (chunk) => this._onData(socket, chunk));
    socket.on('error', (e) => this._fail(new ConnectionFailed(e.message), socket));
    socket.on('close', () => this._fail(new ConnectionFailed('the node closed the connection'), socket));
    if (this._auth) this._handshake(socket, OP.auth, this._auth, 'auth failed');
    if (this._level) {
      this._handshake(socket, OP.consistency, Buffer.from(this._level), 'consistency refused');
    }
  }

  // A session request sent first on a new connection (AUTH, CONSISTENCY): its reply is
  // consumed here, and its failure fails everything queued behind it.
  _handshake(socket, op, arg, what) {
    this._enqueue(([status, payload]) => {
      if (status !== STATUS_OK) this._fail(new ReplyError(`${what}: ${payload.toString()}`), socket);
    }, () => {});
    socket.write(frame(op, arg));
  }

  _onData(socket, chunk) {
    if (socket !== this._socket) return;
    this._chunks.push(chunk);
    this._buffered += chunk.length;
    // Joining chunks only once a whole reply is there keeps large values linear.
    while (this._buffered >= 5 && this._buffered >= this._need) {
      const buf = this._chunks.length === 1 ? this._chunks[0] : Buffer.concat(this._chunks);
      this._chunks = [buf];
      const status = buf.readUInt8(0);
      const length = buf.readUInt32LE(1);
      if ((status !== STATUS_OK && status !== STATUS_ERROR) || length > REPLY_BYTES_MAX) {
        this._fail(new ConnectionFailed('unparseable reply from the node'), socket);
        return;
      }
      if (buf.length < 5 + length) {
        this._need = 5 + length;
        return;
      }
      this._need = 0;
      const payload = Buffer.from(buf.subarray(5, 5 + length));
      const rest = buf.subarray(5 + length);
      this._chunks = rest.length ? [rest] : [];
      this._buffered = rest.length;
      const entry = this._pending.shift();
      if (!entry) {
        this._fail(new ConnectionFailed('a reply nobody asked for'), socket);
        return;
      }
      clearTimeout(entry.timer);
      if (status === STATUS_ERROR && CLOSING_REASONS.has(payload.toString())) {
        // The node closes after these: settle this one, fail what follows, reconnect later.
        entry.resolve([status, payload]);
        this._fail(new ConnectionFailed('the node closed the connection'), socket);
        return;
      }
      entry.resolve([status, payload]);
    }
  }

  /** Fails every pending call with `error` and drops the connection (if it is `socket`). */
  _fail(error, socket = this._socket) {
    if (socket !== this._socket || !socket) return;
    this._socket = null;
    socket.destroy();
    const pending = this._pending;
    this._pending = [];
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }
}

module.exports = { Client, MinivaultError, ReplyError, ConnectionFailed };
