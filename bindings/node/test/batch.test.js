'use strict';
// Batched delivery: messages cross from the native consumer many at a time,
// and acks and nacks go back many at a time, behind the per-message API.
const test = require('node:test');
const assert = require('node:assert/strict');
const { sprawl, unique, waitFor } = require('./helpers.js');

let node;
let client;

test.before(async () => {
  node = await sprawl.Node.start();
  client = new sprawl.Client(node.address, { lingerMs: 1, acks: 'leader' });
});

test.after(async () => {
  await client.close();
  await node.stop();
});

// Publishes `perKey` values "<key>:<i>" for each key, in order per key.
async function publishSequences(topic, keys, perKey) {
  for (const key of keys) {
    await client.publishMany(topic, [...Array(perKey).keys()].map((i) => `${key}:${i}`), { key });
  }
  await client.flush(30000);
}

// Counts the native consumer's receiveMany calls of `sub` once it is open.
async function countFetches(sub) {
  await sub._open();
  const consumer = sub._consumer;
  const original = consumer.receiveMany.bind(consumer);
  const counter = { calls: 0 };
  // The native method is read-only on the prototype: shadow it.
  Object.defineProperty(consumer, 'receiveMany', {
    value: (...args) => {
      counter.calls += 1;
      return original(...args);
    },
  });
  return counter;
}

// Checks that each key's values came in publish order and each partition's
// offsets rise; returns how many messages there were.
function assertOrdered(messages) {
  const lastOffset = new Map();
  const lastIndex = new Map();
  for (const m of messages) {
    assert.ok(!(lastOffset.get(m.partition) >= m.offset), `partition ${m.partition} went back to ${m.offset}`);
    lastOffset.set(m.partition, m.offset);
    const [key, index] = m.value.toString().split(':');
    assert.equal(m.key.toString(), key);
    assert.equal(Number(index), (lastIndex.get(key) ?? -1) + 1, `${key} out of order`);
    lastIndex.set(key, Number(index));
  }
  return messages.length;
}

test('for await receives in batches, in order within each partition, and every ack settles', async () => {
  const topic = unique('order');
  await client.createTopic(topic, { partitions: 4 });
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  await publishSequences(topic, keys, 2000);
  const sub = client.subscribe(topic, { group: 'g', maxInFlight: 1000, timeoutMs: 1000 });
  const fetches = await countFetches(sub);
  const got = [];
  for await (const m of sub) {
    got.push(m);
    await m.ack();
    if (got.length === keys.length * 2000) break;
  }
  assert.equal(assertOrdered(got), 12000);
  // Leaving the loop closed the subscription.
  await assert.rejects(sub.receive(10), { code: 'CLOSED' });
  // One native call carried many messages (per message it would be 12,000).
  assert.ok(fetches.calls < 12000 / 10, `${fetches.calls} native receives for 12,000 messages`);
  // All acked: the group's next member gets nothing.
  const again = await client.subscribe(topic, { group: 'g' }).receiveMany(1000, 500);
  assert.equal(again.length, 0);
});

test("'message' events come in order within each partition and their acks settle", async () => {
  const topic = unique('events');
  await client.createTopic(topic, { partitions: 3 });
  const keys = ['x', 'y', 'z'];
  await publishSequences(topic, keys, 1500);
  const sub = client.subscribe(topic, { group: 'g', timeoutMs: 1000 });
  const got = await new Promise((resolve, reject) => {
    const messages = [];
    sub.on('message', (m) => {
      messages.push(m);
      m.ack();
    });
    sub.on('error', reject);
    sub.on('end', () => resolve(messages));
    sub.start();
  });
  assert.equal(assertOrdered(got), 4500);
  const again = await client.subscribe(topic, { group: 'g' }).receiveMany(1000, 500);
  assert.equal(again.length, 0);
});

test('receiveMany, ackMany and nackMany: nacked messages come back once with a higher count, acked ones never', async () => {
  const topic = unique('many');
  await client.createTopic(topic, { partitions: 2 });
  await publishSequences(topic, ['p', 'q'], 1000);
  const sub = client.subscribe(topic, { group: 'g', maxInFlight: 500 });
  const firstTime = new Map();
  const redelivered = new Map();
  while (firstTime.size < 2000 || redelivered.size < 1000) {
    const batch = await sub.receiveMany(300, 5000);
    assert.ok(batch.length > 0 && batch.length <= 300, `a batch of ${batch.length}`);
    const toNack = [];
    const toAck = [];
    for (const m of batch) {
      const value = m.value.toString();
      if (m.deliveryCount === 1) {
        assert.ok(!firstTime.has(value), `${value} came twice on its first delivery`);
        firstTime.set(value, m);
        // Every other message is handed back once.
        (Number(value.split(':')[1]) % 2 === 1 ? toNack : toAck).push(m);
      } else {
        assert.equal(m.deliveryCount, 2);
        assert.equal(Number(value.split(':')[1]) % 2, 1, `${value} was acked, yet came again`);
        assert.ok(!redelivered.has(value), `${value} came back twice`);
        redelivered.set(value, m);
        toAck.push(m);
      }
    }
    await sub.nackMany(toNack);
    await sub.ackMany(toAck);
  }
  assert.equal(firstTime.size, 2000);
  assert.equal(redelivered.size, 1000);
  // Settling again changes nothing (the first settle counts).
  await sub.ackMany([...redelivered.values()]);
  assert.deepEqual(await sub.receiveMany(1000, 500), []);
  await sub.close();
  const again = await client.subscribe(topic, { group: 'g' }).receiveMany(1000, 500);
  assert.equal(again.length, 0);
});

test('per-message nack with a delay redelivers after it; a bad delay is refused', async () => {
  const topic = unique('nackdelay');
  await client.createTopic(topic, { partitions: 1 });
  await client.publish(topic, 'later');
  const sub = client.subscribe(topic, { group: 'g' });
  const m = await sub.receive(5000);
  await assert.rejects(m.nack(-1), { code: 'INVALID_ARGUMENT' });
  const nackedAt = Date.now();
  await m.nack(300);
  const again = await sub.receive(5000);
  assert.ok(again, 'redelivered');
  assert.ok(Date.now() - nackedAt >= 250, 'not redelivered before the delay');
  assert.deepEqual([again.value.toString(), again.deliveryCount], ['later', 2]);
  await again.ack();
  await sub.close();
});

test('close during a batch: acked messages stay settled, the rest of the batch goes to the next member', async () => {
  const topic = unique('closemid');
  await client.createTopic(topic, { partitions: 1 });
  await publishSequences(topic, ['k'], 1000);
  const first = client.subscribe(topic, { group: 'g', maxInFlight: 1000 });
  const handled = [];
  for (let i = 0; i < 10; i++) {
    const m = await first.receive(5000);
    handled.push(m);
    await m.ack();
  }
  await waitFor(() => first._buffered > 0, 5000, 'more of the batch received, not handed out');
  await first.close();
  await assert.rejects(handled[0].ack(), { code: 'CLOSED' });
  await assert.rejects(first.receive(100), { code: 'CLOSED' });
  // The next member gets exactly the 990 messages not acked, in order.
  const second = client.subscribe(topic, { group: 'g', timeoutMs: 2000 });
  const rest = [];
  for await (const m of second) {
    rest.push(m);
    await m.ack();
    if (rest.length === 990) break;
  }
  assert.deepEqual(rest.map((m) => m.value.toString()), [...Array(990).keys()].map((i) => `k:${i + 10}`));
  assert.deepEqual((await client.subscribe(topic, { group: 'g' }).receiveMany(10, 500)), []);
});

test('close() from inside a for await loop ends it mid-batch', async () => {
  const topic = unique('closeloop');
  await client.createTopic(topic, { partitions: 1 });
  await publishSequences(topic, ['k'], 500);
  const sub = client.subscribe(topic, { group: 'g' });
  let seen = 0;
  for await (const m of sub) {
    seen += 1;
    await m.ack();
    if (seen === 5) await sub.close();
  }
  assert.equal(seen, 5);
});

test('lazy key, value and headers: null and empty keys, several headers, binary values', async () => {
  const topic = unique('lazy');
  await client.createTopic(topic, { partitions: 1 });
  await client.publish(topic, Buffer.from([0, 255, 1]), { headers: { a: '1', b: Buffer.from([2, 3]) } });
  await client.publish(topic, 'empty key', { key: '' });
  await client.publish(topic, '', { key: 'k' });
  const sub = client.subscribe(topic, { start: 'earliest', timeoutMs: 1000 });
  const got = [];
  for await (const m of sub) got.push(m);
  assert.equal(got.length, 3);
  assert.equal(got[0].key, null);
  assert.deepEqual([...got[0].value], [0, 255, 1]);
  assert.deepEqual(Object.keys(got[0].headers), ['a', 'b']);
  assert.equal(got[0].headers.a.toString(), '1');
  assert.deepEqual([...got[0].headers.b], [2, 3]);
  assert.ok(Buffer.isBuffer(got[1].key) && got[1].key.length === 0);
  assert.deepEqual(got[1].headers, {});
  assert.deepEqual([got[2].key.toString(), got[2].value.length], ['k', 0]);
  assert.deepEqual(got.map((m) => [m.topic, m.partition, m.offset]), [[topic, 0, 0], [topic, 0, 1], [topic, 0, 2]]);
  assert.equal(JSON.parse(JSON.stringify(got[2])).offset, 2);
  // Messages read by offset are not acked.
  await assert.rejects(got[0].ack(), TypeError);
});

test('ackMany refuses a message of another subscription', async () => {
  const topic = unique('foreign');
  await client.createTopic(topic, { partitions: 1 });
  await client.publish(topic, 'one');
  const a = client.subscribe(topic, { group: 'a' });
  const b = client.subscribe(topic, { group: 'b' });
  const m = await a.receive(5000);
  await assert.rejects(b.ackMany([m]), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(b.ackMany([{}]), TypeError);
  await a.ackMany([m]);
  await a.close();
  await b.close();
});

test('the event loop turns between batches while for await reads at full speed', async () => {
  const topic = unique('turns');
  await client.createTopic(topic, { partitions: 2 });
  await publishSequences(topic, ['u', 'v'], 10000);
  // A chain of setImmediate callbacks counts the event loop's turns.
  let turns = 0;
  let counting = true;
  const tick = () => {
    turns += 1;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  const sub = client.subscribe(topic, { group: 'g' });
  const fetches = await countFetches(sub);
  let seen = 0;
  for await (const m of sub) {
    await m.ack();
    if (++seen === 20000) break;
  }
  counting = false;
  // Every native fetch ends in a turn of its own: the loop is never held
  // for more than a batch.
  assert.ok(fetches.calls >= 2, `${fetches.calls} fetches`);
  assert.ok(turns >= fetches.calls / 2, `${turns} turns of the event loop for ${fetches.calls} fetches`);
});
