'use strict';
// The library's log records through a logger option: each level with its
// component, nothing below the level crossing into JavaScript, nothing on
// stderr, and loggers that throw or an event loop that stalls not breaking
// the core.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { sprawl, unique } = require('./helpers.js');

const native = require(process.env.SPRAWL_NODE_ADDON ||
  path.join(__dirname, '..', '..', '..', 'build', 'node-addon', 'node', 'sprawl.node'));

const TRACE = 0;
const DEBUG = 1;
const INFO = 2;
const WARN = 3;
const ERROR = 4;

// A logger that keeps what it gets, console-style: (message, fields).
function recorder() {
  const records = [];
  const waiters = [];
  const logger = {};
  for (const method of ['trace', 'debug', 'info', 'warn', 'error']) {
    logger[method] = (message, fields) => {
      records.push({ method, message, fields });
      for (const w of [...waiters]) w();
    };
  }
  logger.records = records;
  logger.waitFor = (message, timeoutMs = 10000) => new Promise((resolve, reject) => {
    const check = () => {
      const found = records.find((r) => r.message === message);
      if (found) {
        waiters.splice(waiters.indexOf(check), 1);
        clearTimeout(timer);
        resolve(found);
      }
    };
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(check), 1);
      reject(new Error(`no record '${message}'; got ${records.map((r) => r.message).join(', ')}`));
    }, timeoutMs);
    waiters.push(check);
    check();
  });
  return logger;
}

test.afterEach(() => sprawl.setLogger(null));

test('every level reaches the logger with its component', async () => {
  const logger = recorder();
  sprawl.setLogger(logger, { level: 'trace' });
  assert.equal(sprawl.logLevel(), 'trace');
  const methods = ['trace', 'debug', 'info', 'warn', 'error'];
  for (const level of [TRACE, DEBUG, INFO, WARN, ERROR]) native.logWrite(level, 'app', `at ${level}`);
  for (const level of [TRACE, DEBUG, INFO, WARN, ERROR]) {
    const r = await logger.waitFor(`at ${level}`);
    assert.equal(r.method, methods[level]);
    assert.equal(r.fields.component, 'app');
  }
});

test('the core records carry their component and fields', async () => {
  const logger = recorder();
  const node = await sprawl.Node.start({ nodeId: 'js-log-node', logger, logLevel: 'info' });
  const client = new sprawl.Client(node.address);
  const topic = unique('logged');
  try {
    await client.createTopic(topic, { partitions: 2 });
    const created = await logger.waitFor('topic created');
    assert.equal(created.method, 'info');
    assert.equal(created.fields.component, 'broker');
    assert.equal(created.fields.topic, topic);
    assert.equal(created.fields.partitions, '2');
    assert.equal(created.fields.node, 'js-log-node');
    assert.equal((await logger.waitFor('node listening')).fields.component, 'node');
  } finally {
    await client.close();
    await node.stop();
  }
});

test('pino-style loggers get (fields, message)', async () => {
  const got = [];
  const pinoish = {
    level: 'warn',
    levels: { values: { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } },
    child() { return this; },
  };
  for (const m of ['trace', 'debug', 'info', 'warn', 'error']) pinoish[m] = (obj, msg) => got.push({ m, obj, msg });
  sprawl.setLogger(pinoish);
  assert.equal(sprawl.logLevel(), 'warn');  // from the logger's own level
  native.logWrite(WARN, 'app', 'pino record');
  const deadline = Date.now() + 10000;
  while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got[0], { m: 'warn', obj: { component: 'app' }, msg: 'pino record' });
});

test('records below the level never cross into JavaScript', async () => {
  const logger = recorder();
  sprawl.setLogger(logger, { level: 'warn' });
  const before = native.logStats().crossed;
  native.logWrite(INFO, 'app', 'below the level');
  native.logWrite(DEBUG, 'app', 'far below');
  const node = await sprawl.Node.start();  // logs at info
  await node.stop();
  native.logWrite(WARN, 'app', 'the marker');
  await logger.waitFor('the marker');
  const after = native.logStats().crossed;
  for (const level of [TRACE, DEBUG, INFO]) assert.equal(after[level], before[level]);
  assert.ok(!logger.records.some((r) => r.message === 'below the level'));
});

test('a logger that throws does not stop delivery or the core', async () => {
  let calls = 0;
  const throwing = {};
  for (const m of ['debug', 'info', 'warn', 'error']) throwing[m] = () => { calls += 1; throw new Error('broken logger'); };
  sprawl.setLogger(throwing, { level: 'info' });
  const node = await sprawl.Node.start();
  const client = new sprawl.Client(node.address);
  try {
    const topic = unique('throwing');
    await client.createTopic(topic);
    await client.publish(topic, 'v');
    const deadline = Date.now() + 10000;
    while (calls < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(calls >= 2);
  } finally {
    await client.close();
    await node.stop();
  }
  const logger = recorder();
  sprawl.setLogger(logger, { level: 'info' });
  native.logWrite(WARN, 'app', 'after the broken logger');
  await logger.waitFor('after the broken logger');
});

test('a stalled event loop drops records, counted, and never blocks the core', async () => {
  const logger = recorder();
  sprawl.setLogger(logger, { level: 'info', queueCapacity: 8 });
  const dropped = sprawl.logDropped();
  // The event loop stays busy (nothing is delivered meanwhile) until the
  // records beyond the bound are counted as dropped.
  const started = Date.now();
  for (let i = 0; i < 500; i += 1) native.logWrite(WARN, 'app', 'flood');
  const expected = 500 - 8;
  const spinUntil = Date.now() + 10000;
  while (sprawl.logDropped() - dropped < expected && Date.now() < spinUntil) { /* a blocked event loop */ }
  assert.ok(sprawl.logDropped() - dropped >= expected, `dropped ${sprawl.logDropped() - dropped}`);
  assert.ok(Date.now() - started < 20000);
  // Delivery resumes once the loop is free: the records kept, then new ones.
  await logger.waitFor('flood');
  native.logWrite(ERROR, 'app', 'after the flood');
  await logger.waitFor('after the flood');
  assert.ok(logger.records.filter((r) => r.message === 'flood').length <= 8);
  const node = await sprawl.Node.start();
  await node.stop();
});

test('nothing reaches stderr, by default or with a logger', () => {
  const script = `
    const sprawl = require(${JSON.stringify(path.join(__dirname, '..', 'index.js'))});
    (async () => {
      if (process.argv.includes('logger')) sprawl.setLogger({ debug() {}, info() {}, warn() {}, error() {} }, { level: 'trace' });
      const node = await sprawl.Node.start();
      const client = new sprawl.Client(node.address);
      await client.createTopic('quiet');
      await client.publish('quiet', 'v');
      await client.close();
      await node.stop();
      console.log('done');
    })();`;
  for (const mode of ['default', 'logger']) {
    const out = spawnSync(process.execPath, ['-e', script, mode], { encoding: 'utf8', timeout: 120000 });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(out.stdout, 'done\n');
    assert.equal(out.stderr, '');
  }
});
