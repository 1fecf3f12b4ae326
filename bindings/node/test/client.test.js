'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
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

test('messages that are never acked go to the dead-letter topic', async () => {
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

test('publishMany queues a bulk load that flush completes', async () => {
  const topic = unique('bulk');
  await client.createTopic(topic);
  const values = [...Array(5000).keys()].map((i) => Buffer.from(String(i)));
  assert.equal(await client.publishMany(topic, values), 5000);
  await client.flush(30000);
  assert.equal((await client.describeTopic(topic)).partitions[0].high_watermark, 5000);
  await assert.rejects(client.publishMany(topic, [42]), TypeError);
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
  await assert.rejects(client.createTopic(unique('t'), { retention: 5 }), TypeError);
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
