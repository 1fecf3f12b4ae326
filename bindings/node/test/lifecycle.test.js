'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { sprawl, unique } = require('./helpers.js');

test('a disk node keeps messages across a restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sprawl-node-'));
  try {
    let node = await sprawl.Node.start({ dataDir: dir });
    let client = new sprawl.Client(node.address);
    await client.createTopic('kept', { partitions: 2 });
    const acks = await Promise.all([...Array(20).keys()].map((i) => client.publish('kept', `v${i}`, { key: `${i}` })));
    await client.close();
    await node.stop();
    node = await sprawl.Node.start({ dataDir: dir });
    client = new sprawl.Client(node.address);
    const got = new Map();
    for await (const m of client.subscribe('kept', { timeoutMs: 1500 })) got.set(`${m.partition}@${m.offset}`, m.value.toString());
    assert.equal(got.size, 20);
    acks.forEach((a, i) => assert.equal(got.get(`${a.partition}@${a.offset}`), `v${i}`));
    await client.close();
    await node.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a process exits by itself once its client and node are closed', () => {
  const script = `
    const sprawl = require(${JSON.stringify(path.join(__dirname, '..', 'index.js'))});
    (async () => {
      const node = await sprawl.Node.start();
      const client = new sprawl.Client(node.address);
      await client.createTopic('t');
      await Promise.all([1, 2, 3].map((i) => client.publish('t', 'x' + i)));
      const sub = client.subscribe('t', { group: 'g' });
      await sub.receive(5000);
      await client.close();
      await node.stop();
      console.log('closed');
    })();`;
  const started = Date.now();
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60000, env: process.env });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /closed/);
  assert.ok(Date.now() - started < 30000, 'nothing kept the event loop alive');
});

// The node runs in a child process, so that only the client's memory is measured.
function spawnNode() {
  const script = `
    const sprawl = require(${JSON.stringify(path.join(__dirname, '..', 'index.js'))});
    sprawl.Node.start().then((node) => {
      console.log(node.address);
      process.stdin.on('end', () => node.stop());
      process.stdin.resume();
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'], env: process.env });
  return new Promise((resolve) => {
    child.stdout.once('data', (data) => resolve({ child, address: data.toString().trim() }));
  });
}

// Collects garbage (with --expose-gc, which `npm test` and ctest pass) and
// lets finalizers of native handles run, so that what remains is what is held.
async function settledMemory() {
  assert.equal(typeof global.gc, 'function', 'the memory tests need node --expose-gc');
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage();
}

// Runs `step` (100,000 messages) `warmups` times to warm up allocators,
// arenas, V8's heap and the JIT, then measures further runs. A leak grows
// what the process holds on every run, by the payload if each message
// leaks; malloc's arenas and V8's heap settle at high-water marks, though
// one run may still step up by a few MiB. So of up to three measured runs,
// one must grow the JavaScript heap and RSS by well under the payload.
async function assertFlat(what, payloadBytes, warmups, step) {
  for (let i = 0; i < warmups; i++) await step();
  const mib = (bytes) => (bytes / (1 << 20)).toFixed(2);
  const payload = 100000 * payloadBytes;
  const runs = [];
  for (let run = 0; run < 3; run++) {
    const before = await settledMemory();
    await step();
    const after = await settledMemory();
    const heap = after.heapUsed - before.heapUsed;
    const rss = after.rss - before.rss;
    if (heap < payload / 8 && rss < payload / 4) return;
    runs.push(`heap +${mib(heap)} MiB, RSS +${mib(rss)} MiB`);
  }
  assert.fail(`${what}: every run of 100,000 messages (${mib(payload)} MiB of payload) grew ` +
    `the process: ${runs.join('; ')}`);
}

test('memory stays flat across 100,000 published messages', async () => {
  const { child, address } = await spawnNode();
  try {
    const client = new sprawl.Client(address, { lingerMs: 2 });
    const topic = unique('mem');
    await client.createTopic(topic, { partitions: 2 });
    const payload = Buffer.alloc(100, 7);
    // Two warm-up runs: V8's old space and malloc's arenas still grow in the second.
    await assertFlat('publish', payload.length, 2, async () => {
      for (let r = 0; r < 10; r++) {
        const batch = [];
        for (let i = 0; i < 10000; i++) batch.push(client.publish(topic, payload));
        await Promise.all(batch);
      }
    });
    await client.close();
  } finally {
    child.stdin.end();
    await new Promise((resolve) => child.on('exit', resolve));
  }
});

test('memory stays flat across 100,000 received and acked messages', async () => {
  const { child, address } = await spawnNode();
  try {
    const client = new sprawl.Client(address, { acks: 'leader' });
    const topic = unique('memsub');
    await client.createTopic(topic, { partitions: 2 });
    const payload = Buffer.alloc(100, 9);
    // Enough for the warm-up and every measured run.
    const chunk = new Array(10000).fill(payload);
    for (let sent = 0; sent < 400000; sent += chunk.length) await client.publishMany(topic, chunk);
    await client.flush(60000);
    const sub = client.subscribe(topic, { group: 'mem', maxInFlight: 1000 });
    let received = 0;
    await assertFlat('receive and ack', payload.length, 1, async () => {
      for (let i = 0; i < 100000; i++) {
        const m = await sub.receive(10000);
        assert.ok(m, `message ${received} arrived`);
        assert.equal(m.value.length, payload.length);
        await m.ack();
        received += 1;
      }
    });
    assert.ok(received >= 200000);
    await sub.close();
    await client.close();
  } finally {
    child.stdin.end();
    await new Promise((resolve) => child.on('exit', resolve));
  }
});

test('the TypeScript declarations accept the documented usage (tsc --noEmit)', () => {
  const tsc = path.join(__dirname, '..', '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2020', '--module', 'commonjs',
    '--moduleResolution', 'node', '--types', 'node', path.join(__dirname, 'example.ts')], { stdio: 'pipe' });
});

test('ES module import works', () => {
  const mjs = path.join(__dirname, '..', 'index.mjs');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e',
    `import { Client, Node, SprawlError, version } from ${JSON.stringify(mjs)}; console.log(typeof Client, typeof Node, typeof SprawlError, version);`],
  { encoding: 'utf8', env: process.env });
  assert.match(out, /function function function \d+\.\d+\.\d+/);
});
