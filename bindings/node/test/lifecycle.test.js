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

test('memory stays flat across 100,000 messages', async () => {
  const { child, address } = await spawnNode();
  try {
    const client = new sprawl.Client(address, { lingerMs: 2 });
    const topic = unique('mem');
    await client.createTopic(topic, { partitions: 2 });
    const payload = Buffer.alloc(100, 7);
    const round = async () => {
      const batch = [];
      for (let i = 0; i < 10000; i++) batch.push(client.publish(topic, payload));
      await Promise.all(batch);
    };
    // Run with --expose-gc (make test does): garbage is collected before each
    // reading, so what remains is what is held.
    const settle = () => { global.gc?.(); return process.memoryUsage(); };
    for (let r = 0; r < 10; r++) await round(); // warm up allocators, arenas and the JIT
    const before = settle();
    for (let r = 0; r < 10; r++) await round();
    const after = settle();
    const heapMiB = (after.heapUsed - before.heapUsed) / (1 << 20);
    const rssMiB = (after.rss - before.rss) / (1 << 20);
    assert.ok(heapMiB < 4, `the JavaScript heap grew by ${heapMiB.toFixed(1)} MiB over 100,000 messages`);
    assert.ok(rssMiB < 48, `RSS grew by ${rssMiB.toFixed(1)} MiB over 100,000 messages`);
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
