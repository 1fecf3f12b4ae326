'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { sprawl, unique } = require('./helpers.js');

let node;
let client;

test.before(async () => {
  node = await sprawl.Node.start();
  client = new sprawl.Client(node.address, { lingerMs: 1 });
});

test.after(async () => {
  await client.close();
  await node.stop();
});

test('publish resolves with partition and offset; a round trip keeps key, value and headers', async () => {
  const topic = unique('rt');
  await client.createTopic(topic, { partitions: 1 });
  const first = await client.publish(topic, Buffer.from([0, 1, 2, 255]), { key: 'user-1', headers: { trace: 'abc' } });
  const second = await client.publish(topic, 'text');
  assert.deepEqual([first.partition, first.offset, second.offset], [0, 0, 1]);
  const sub = client.subscribe(topic, { start: 'earliest', timeoutMs: 2000 });
  const got = [];
  for await (const m of sub) got.push(m);
  assert.equal(got.length, 2);
  assert.ok(Buffer.isBuffer(got[0].value));
  assert.deepEqual([...got[0].value], [0, 1, 2, 255]);
  assert.equal(got[0].key.toString(), 'user-1');
  assert.equal(got[0].headers.trace.toString(), 'abc');
  assert.equal(got[1].key, null);
  assert.equal(got[0].deliveryCount, 0);
  assert.ok(got[0].timestampMs > 0);
});

test('the same key always lands on the same partition (the documented partitioner)', async () => {
  const topic = unique('keys');
  await client.createTopic(topic, { partitions: 16 });
  const acks = await Promise.all([1, 2, 3].map(() => client.publish(topic, 'x', { key: 'user-1' })));
  assert.deepEqual(acks.map((a) => a.partition), [9, 9, 9]);
});

test('a group delivers everything once, acks settle, a nack redelivers with a higher count', async () => {
  const topic = unique('group');
  await client.createTopic(topic, { partitions: 3 });
  await Promise.all([...Array(300).keys()].map((i) => client.publish(topic, String(i), { key: String(i) })));
  const seen = [];
  let nacked = null;
  for await (const m of client.subscribe(topic, { group: 'g', timeoutMs: 1500 })) {
    if (nacked === null && m.deliveryCount === 1) {
      nacked = m.value.toString();
      await m.nack(10);
      continue;
    }
    if (m.value.toString() === nacked) assert.equal(m.deliveryCount, 2);
    seen.push(m.value.toString());
    await m.ack();
  }
  assert.equal(new Set(seen).size, 300);
  // All acked: a new member of the group gets nothing.
  const again = [];
  for await (const m of client.subscribe(topic, { group: 'g', timeoutMs: 500 })) again.push(m);
  assert.equal(again.length, 0);
});

test('maxInFlightBytes: 1 MiB messages larger than the byte budget arrive one at a time, by group and by offset', async () => {
  const topic = unique('big');
  await client.createTopic(topic, { partitions: 2, maxMessageBytes: 2 << 20 });
  const big = (i) => Buffer.concat([Buffer.from(String(i).padStart(8, '0')), Buffer.alloc((1 << 20) - 8, 7)]);
  await Promise.all([...Array(6).keys()].map((i) => client.publish(topic, big(i), { partition: i % 2 })));
  const seen = new Set();
  const sub = client.subscribe(topic, { group: 'g', maxInFlight: 1000, maxInFlightBytes: 512 << 10 });
  while (seen.size < 6) {
    const m = await sub.receive(5000);
    assert.ok(m, `message ${seen.size} arrived`);
    assert.equal(m.value.length, 1 << 20);
    seen.add(m.value.subarray(0, 8).toString());
    await m.ack();
  }
  const [member] = (await client.describeGroup(topic, 'g')).members;
  assert.equal(member.max_in_flight_bytes, 512 << 10);
  await sub.close();
  const read = new Set();
  for await (const m of client.subscribe(topic, { start: 'earliest', maxInFlightBytes: 512 << 10, timeoutMs: 2000 })) {
    read.add(m.value.subarray(0, 8).toString());
    if (read.size === 6) break;
  }
  assert.equal(read.size, 6);
});

test('messages nacked max_deliveries times go to the dead-letter topic', async () => {
  const topic = unique('work');
  const dlq = unique('dlq');
  await client.createTopic(dlq);
  await client.createTopic(topic, { maxDeliveries: 2, deadLetterTopic: dlq, ackTimeoutMs: 100 });
  await client.publish(topic, 'poison', { headers: { origin: 'node-test' } });
  const sub = client.subscribe(topic, { group: 'w' });
  for (let i = 0; i < 2; i++) {
    const m = await sub.receive(10000);
    assert.ok(m);
    await m.nack();
  }
  await sub.close();
  const dead = await client.subscribe(dlq, { timeoutMs: 10000 }).receive(10000);
  assert.ok(dead);
  assert.equal(dead.value.toString(), 'poison');
  assert.equal(dead.headers.origin.toString(), 'node-test');
});

test('messages received and never acked come back after the ack timeout, then go to the dead-letter topic', async () => {
  const topic = unique('unacked');
  const dlq = unique('dlq');
  await client.createTopic(dlq);
  await client.createTopic(topic, { maxDeliveries: 2, deadLetterTopic: dlq, ackTimeoutMs: 200 });
  const published = Date.now();
  const ack = await client.publish(topic, 'forgotten', { headers: { origin: 'node-test' } });
  const sub = client.subscribe(topic, { group: 'w' });
  const dead = client.subscribe(dlq, { start: 'earliest' });
  try {
    const first = await sub.receive(10000);
    assert.ok(first);
    assert.deepEqual([first.value.toString(), first.deliveryCount], ['forgotten', 1]);
    // Neither acked nor nacked: the ack timeout hands it out again.
    const second = await sub.receive(10000);
    assert.ok(second, 'redelivered after the ack timeout');
    assert.ok(Date.now() - published >= 200, 'not redelivered before the ack timeout');
    assert.deepEqual([second.offset, second.value.toString(), second.deliveryCount], [ack.offset, 'forgotten', 2]);
    // Not acked again: the second ack timeout dead-letters it.
    const letter = await dead.receive(10000);
    assert.ok(letter, 'dead-lettered after max_deliveries');
    assert.equal(letter.value.toString(), 'forgotten');
    assert.equal(letter.headers.origin.toString(), 'node-test');
    assert.match(letter.headers['sprawl-dead-letter-reason'].toString(), /not acknowledged within 200 ms on delivery 2 of 2/);
    assert.equal(letter.headers['sprawl-deliveries'].toString(), '2');
    assert.equal(letter.headers['sprawl-group'].toString(), 'w');
    assert.equal(letter.headers['sprawl-source-topic'].toString(), topic);
    assert.equal(letter.headers['sprawl-source-offset'].toString(), String(ack.offset));
    // No third delivery.
    assert.equal(await sub.receive(600), null);
  } finally {
    await dead.close();
    await sub.close();
  }
});

test('publishMany queues a bulk load that flush completes', async () => {
  const topic = unique('bulk');
  await client.createTopic(topic);
  const values = [...Array(5000).keys()].map((i) => Buffer.from(String(i)));
  assert.equal(await client.publishMany(topic, values), 5000);
  await client.flush(30000);
  assert.equal((await client.describeTopic(topic)).partitions[0].high_watermark, 5000);
  await assert.rejects(client.publishMany(topic, [42]), TypeError);
});

// Reads a one-partition topic from the start until `count` messages arrived.
async function readAll(topic, count) {
  const values = [];
  const sub = client.subscribe(topic, { start: 'earliest', timeoutMs: 10000 });
  for await (const m of sub) {
    values.push(m.value.toString());
    if (values.length === count) break;
  }
  return values;
}

test('a full buffer slows publishes down in order and never blocks the event loop', async () => {
  const topic = unique('full');
  await client.createTopic(topic, { partitions: 1 });
  // 4 KiB of buffer for ~580 KiB of messages published in one go.
  const small = new sprawl.Client(node.address, { bufferBytes: 4096, lingerMs: 1 });
  let ticks = 0;
  const ticker = setInterval(() => { ticks += 1; }, 1);
  try {
    const count = 5000;
    const reused = Buffer.alloc(100);
    const promises = [];
    for (let i = 0; i < count; i++) {
      // One buffer for every message: what waits for space is a copy.
      reused.fill(0).write(String(i));
      promises.push(small.publish(topic, reused));
    }
    assert.ok(small._backlog.length > 0, 'the buffer filled up and publishes waited for space');
    const ticksAtStart = ticks;
    const acks = await Promise.all(promises);
    assert.ok(ticks - ticksAtStart >= 3, `the event loop ran ${ticks - ticksAtStart} timer ticks while publishes waited`);
    assert.deepEqual(acks.map((a) => a.offset), [...Array(count).keys()]);
    const values = await readAll(topic, count);
    assert.equal(values.length, count);
    values.forEach((v, i) => assert.equal(v.replace(/\0+$/, ''), String(i)));
  } finally {
    clearInterval(ticker);
    await small.close();
  }
});

test('publish and publishMany behind a full buffer keep their order', async () => {
  const topic = unique('fullmix');
  await client.createTopic(topic, { partitions: 1 });
  const small = new sprawl.Client(node.address, { bufferBytes: 2048, lingerMs: 1 });
  let ticks = 0;
  const ticker = setInterval(() => { ticks += 1; }, 1);
  try {
    const singles = [];
    for (let i = 0; i < 1000; i++) singles.push(small.publish(topic, String(i)));
    const bulk = small.publishMany(topic, [...Array(2000).keys()].map((i) => String(1000 + i)));
    for (let i = 3000; i < 4000; i++) singles.push(small.publish(topic, String(i)));
    const bulkTicks = ticks;
    assert.equal(await bulk, 2000);
    const acks = await Promise.all(singles);
    assert.ok(ticks - bulkTicks >= 3, 'the event loop kept running');
    await small.flush(30000);
    assert.deepEqual(acks.map((a) => a.offset), [...Array(1000).keys(), ...[...Array(1000).keys()].map((i) => 3000 + i)]);
    assert.deepEqual(await readAll(topic, 4000), [...Array(4000).keys()].map(String));
    // A bulk load alone, far larger than the buffer: one awaited call, then flush.
    const more = [...Array(5000).keys()].map((i) => String(4000 + i));
    assert.equal(await small.publishMany(topic, more), 5000);
    await small.flush(30000);
    assert.equal((await client.describeTopic(topic)).partitions[0].high_watermark, 9000);
  } finally {
    clearInterval(ticker);
    await small.close();
  }
});

test('publishes waiting for buffer space settle with TIMEOUT after the delivery timeout when the node is unreachable', async () => {
  const c = new sprawl.Client('tcp://127.0.0.1:1', { bufferBytes: 1024, requestTimeoutMs: 200, deliveryTimeoutMs: 600 });
  const started = Date.now();
  const settled = [];
  await Promise.all([...Array(1000).keys()].map((i) => c.publish('t', `m${i}`).then(
    () => assert.fail('nothing can be acknowledged'),
    (e) => settled.push({ e, ms: Date.now() - started }))));
  assert.equal(settled.length, 1000);
  let waited = 0;
  for (const { e, ms } of settled) {
    assert.ok(e instanceof sprawl.SprawlError, String(e));
    assert.equal(e.code, 'TIMEOUT', e.message);
    assert.equal(e.retriable, true);
    if (/stayed full for the delivery timeout/.test(e.message)) {
      waited += 1;
      assert.ok(ms >= 600, `a waiting publish failed after ${ms} ms, before the delivery timeout`);
    }
  }
  assert.ok(waited > 0, 'some publishes waited for buffer space until the delivery timeout');
  assert.equal(c._backlog.length, 0);
  await c.close(100);
});

test('the EventEmitter form', async () => {
  const topic = unique('events');
  await client.createTopic(topic);
  await client.publish(topic, 'one');
  const sub = client.subscribe(topic, { group: 'e', timeoutMs: 1000 });
  const got = await new Promise((resolve, reject) => {
    const values = [];
    sub.on('message', (m) => { values.push(m.value.toString()); m.ack(); });
    sub.on('error', reject);
    sub.on('end', () => resolve(values));
    sub.start();
  });
  assert.deepEqual(got, ['one']);
});

test('errors are SprawlErrors with code and retriable, and change nothing', async () => {
  await assert.rejects(client.describeTopic('missing-topic'), (e) =>
    e instanceof sprawl.SprawlError && e.code === 'NOT_FOUND' && e.codeNumber === 2 && e.retriable === false);
  const topic = unique('dup');
  await client.createTopic(topic, { partitions: 2 });
  await assert.rejects(client.createTopic(topic, { partitions: 5 }), { code: 'ALREADY_EXISTS' });
  assert.equal((await client.describeTopic(topic)).partitions.length, 2);
  await assert.rejects(client.createTopic('bad name'), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(client.publish('missing-topic', 'x'), { code: 'NOT_FOUND' });
  await assert.rejects(client.publish(topic, 42), TypeError);
  assert.throws(() => client.subscribe(topic, { autoAck: true }), TypeError);
});

test('a bad partition count or an unknown topic option is INVALID_ARGUMENT naming it and creates nothing', async () => {
  const cases = [
    [{ partitions: -1 }, 'partitions'],
    [{ partitions: 0 }, 'partitions'],
    [{ partitions: 2 ** 32 + 1 }, 'partitions'],
    [{ partitions: 2, retention: 5 }, 'retention'],
  ];
  for (const [options, field] of cases) {
    const name = unique('refused');
    await assert.rejects(client.createTopic(name, options), (e) =>
      e instanceof sprawl.SprawlError && e.code === 'INVALID_ARGUMENT' && e.message.includes(field));
    const names = (await client.listTopics()).map((t) => t.name);
    assert.ok(!names.includes(name), `${JSON.stringify(options)} created ${name}`);
  }
});

test('use after close is refused', async () => {
  const c = new sprawl.Client(node.address);
  await c.close();
  await c.close();
  await assert.rejects(c.listTopics(), { code: 'CLOSED' });
  await assert.rejects(c.publish('t', 'x'), { code: 'CLOSED' });
});

test('an unreachable node times out with a retriable error', async () => {
  const c = new sprawl.Client('tcp://127.0.0.1:1', { requestTimeoutMs: 300 });
  await assert.rejects(c.listTopics(), (e) => e.code === 'TIMEOUT' && e.retriable === true);
  await c.close(100);
});

async function fsyncs(n) {
  const text = await (await fetch(`${n.httpAddress}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('sprawl_storage_fsyncs_total'));
  assert.ok(line, '/metrics has no sprawl_storage_fsyncs_total');
  return Number(line.split(' ').pop());
}

test('acks none resolves with a null offset: the node sends none', async () => {
  const topic = unique('none');
  await client.createTopic(topic);
  const c = new sprawl.Client(node.address, { acks: 'none', lingerMs: 1 });
  try {
    const ack = await c.publish(topic, 'x');
    assert.deepEqual([ack.partition, ack.offset], [0, null]);
  } finally {
    await c.close();
  }
  assert.equal(typeof (await client.publish(topic, 'y')).offset, 'number');
});

test('the default ack level is all: a publish waits for a disk sync', async () => {
  // Under a lazy fsync policy only `all` syncs before it acknowledges; the
  // interval is long enough that no timed sync falls inside the publish.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sprawl-acks-'));
  const n = await sprawl.Node.start({ dataDir: dir, storage: 'disk', fsync: 'interval:60000' });
  const c = new sprawl.Client(n.address, { lingerMs: 1 });
  try {
    await c.createTopic('durable');
    const before = await fsyncs(n);
    await c.publish('durable', 'x');
    assert.ok((await fsyncs(n)) > before);
  } finally {
    await c.close();
    await n.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
