'use strict';
// The JavaScript client (client/js/minivault.js) against real minivault nodes, with
// node:test. Run by ctest with MINIVAULT_BIN set; every node runs on free 127.0.0.1
// ports in its own temporary directory and is stopped by its own PID.
const test = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const { Client, ReplyError, ConnectionFailed } = require('../../client/js/minivault');

const binary = process.env.MINIVAULT_BIN || path.join(__dirname, '..', '..', 'build', 'minivault');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

class Node {
  constructor(args = []) {
    this.args = args;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mv-js-'));
  }

  async start() {
    if (!this.port) this.port = await freePort();
    this.proc = spawn(binary, ['-port', String(this.port), '-data', path.join(this.dir, 'data'),
      ...this.args], { stdio: ['ignore', 'ignore', 'ignore'] });
    this.exited = new Promise((resolve) => this.proc.on('exit', resolve));
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline) {
      if (await canConnect(this.port)) return this;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('node did not start');
  }

  async kill() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  async stop() {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

test('set, get, delete, health, binary safety', async () => {
  const node = await new Node().start();
  const db = new Client({ port: node.port });
  try {
    await db.set('js:k', 'välue');
    assert.deepStrictEqual(await db.get('js:k'), Buffer.from('välue'));
    await db.delete('js:k');
    assert.strictEqual(await db.get('js:k'), null);
    await db.delete('js:never');
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await db.set(Buffer.from([0, 107, 255]), bytes);
    assert.deepStrictEqual(await db.get(Buffer.from([0, 107, 255])), bytes);
    await db.set('empty', '');
    assert.deepStrictEqual(await db.get('empty'), Buffer.alloc(0));
    const big = Buffer.alloc(8 << 20, 7);
    await db.set('big', big);
    assert.ok((await db.get('big')).equals(big));
    assert.strictEqual((await db.health()).status, 'healthy');
  } finally {
    db.close();
    await node.stop();
  }
});

test('calls made without awaiting are pipelined and settle in order', async () => {
  const node = await new Node().start();
  const db = new Client({ port: node.port });
  try {
    const writes = [];
    for (let i = 0; i < 1000; i++) writes.push(db.set(`p${i}`, String(i)));
    const reads = [];
    for (let i = 0; i < 1000; i++) reads.push(db.get(`p${i}`));
    await Promise.all(writes);
    const values = await Promise.all(reads);
    values.forEach((v, i) => assert.strictEqual(v.toString(), String(i)));
  } finally {
    db.close();
    await node.stop();
  }
});

test('bad keys are refused before sending; an unreachable node fails the call', async () => {
  const node = await new Node().start();
  const db = new Client({ port: node.port });
  try {
    await assert.rejects(db.get(''), RangeError);
    await assert.rejects(db.set('k'.repeat(65536), 'v'), RangeError);
    await assert.rejects(db.set('k', 42), TypeError);
    await db.set('k'.repeat(65535), 'v');
    assert.strictEqual((await db.get('k'.repeat(65535))).toString(), 'v');
  } finally {
    db.close();
    await node.stop();
  }
  const nowhere = new Client({ port: await freePort(), timeout: 1000 });
  await assert.rejects(nowhere.get('k'), ConnectionFailed);
});

test('reconnects after a restart; writes on a broken connection are not retried', async () => {
  const node = await new Node().start();
  const db = new Client({ port: node.port, timeout: 2000 });
  try {
    await db.set('r', '1');
    await node.kill();
    await assert.rejects(db.set('r', '2'), ConnectionFailed);
    await node.start(); // same port and data: the acknowledged write survived SIGKILL
    assert.strictEqual((await db.get('r')).toString(), '1');
    await db.set('r', '3');
    assert.strictEqual((await db.get('r')).toString(), '3');
  } finally {
    db.close();
    await node.stop();
  }
});

test('sends its consistency level on connect; an unknown level is refused at once', async () => {
  const node = await new Node([]).start();
  const db = new Client({ port: node.port, consistency: 'all' });
  try {
    await db.set('lv', '1'); // a single node meets every level
    assert.strictEqual((await db.get('lv', { quorum: true })).toString(), '1');
    db.consistency('one'); // the next call reconnects with it
    await db.set('lv', '2');
    assert.strictEqual((await db.get('lv')).toString(), '2');
    assert.throws(() => db.consistency('QUORUM'), RangeError);
  } finally {
    db.close();
    await node.stop();
  }
});

test('authenticates by itself; a missing or wrong key is refused', async () => {
  const node = await new Node(['-auth', 's3cret', '-authmode', 'all']).start();
  const good = new Client({ port: node.port, auth: 's3cret' });
  const anonymous = new Client({ port: node.port });
  const wrong = new Client({ port: node.port, auth: 'nope' });
  try {
    await good.set('a', '1');
    good.close(); // the next call reconnects and authenticates again
    assert.strictEqual((await good.get('a')).toString(), '1');
    await assert.rejects(anonymous.get('a'), (e) => e instanceof ReplyError && /unauthorized/.test(e.message));
    assert.strictEqual((await anonymous.health()).status, 'healthy');
    await assert.rejects(wrong.get('a'), (e) => e instanceof ReplyError && /auth failed/.test(e.message));
    wrong.auth('s3cret');
    await wrong.set('b', '2');
    assert.strictEqual((await wrong.get('b')).toString(), '2');
  } finally {
    good.close();
    anonymous.close();
    wrong.close();
    await node.stop();
  }
});
