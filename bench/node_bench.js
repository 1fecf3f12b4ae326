'use strict';
// Node.js publish benchmark: the sprawl package against a running node.
// Publishes COUNT messages of SIZE bytes with the batching producer
// (acks=leader, 256 KiB batches, 5 ms linger: the settings of `sprawlctl
// bench produce`) in two ways and prints msg/s for each:
//   - bulk: Client.publishMany in chunks of 10,000, then flush;
//   - promise: Client.publish per message (a Promise each), COUNT/4 messages.
// Usage: node node_bench.js ADDRESS TOPIC COUNT SIZE
//
// Consume benchmark: reads COUNT messages of TOPIC through a new consumer
// group (1000 credits), acking every message, in one of three ways:
//   - iterate: `for await (const m of sub)` with `await m.ack()`;
//   - events: `sub.on('message', (m) => m.ack()).start()`;
//   - batch: `sub.receiveMany()` with `sub.ackMany()`.
// Each reads every value's length. Prints msg/s, how late a timer due every
// 10 ms fired (p99 and max: is the event loop responsive while consuming?)
// and the process's RSS after the first 10% of the messages and at the end
// (is memory flat?).
// Usage: node node_bench.js consume ADDRESS TOPIC COUNT iterate|events|batch
const sprawl = require('../bindings/node/index.js');

const CONSUME_LABELS = {
  iterate: 'for await + ack', events: "'message' + ack", batch: 'receiveMany + ackMany',
};

// Measures how late a timer due every 10 ms fires until stop() is called.
function lateness() {
  const late = [];
  let due = performance.now() + 10;
  const timer = setInterval(() => {
    const now = performance.now();
    late.push(Math.max(0, now - due));
    due = now + 10;
  }, 10);
  return () => {
    clearInterval(timer);
    late.sort((a, b) => a - b);
    const p99 = late.length ? late[Math.min(late.length - 1, Math.floor(late.length * 0.99))] : 0;
    return { p99, max: late.length ? late[late.length - 1] : 0, samples: late.length };
  };
}

async function consume(address, topic, count, mode) {
  if (!(mode in CONSUME_LABELS)) throw new Error(`unknown consume mode '${mode}'`);
  const group = `nodebench-${mode}-${process.pid}-${Date.now()}`;
  const client = new sprawl.Client(address, { acks: 'leader' });
  // 10 s without a message ends the run early, as in sprawlctl.
  const sub = client.subscribe(topic, { group, maxInFlight: 1000, timeoutMs: 10000 });
  const mb = (bytes) => (bytes / (1 << 20)).toFixed(0);
  let received = 0;
  let size = 0;
  let rssEarly = 0;
  const tenth = Math.max(1, Math.floor(count / 10));
  const seen = (m) => {
    size = m.value.length;
    received += 1;
    if (received === tenth) rssEarly = process.memoryUsage().rss;
  };
  const start = process.hrtime.bigint();
  const stop = lateness();
  if (mode === 'iterate') {
    for await (const m of sub) {
      seen(m);
      await m.ack();
      if (received === count) break;
    }
  } else if (mode === 'events') {
    await new Promise((resolve, reject) => {
      sub.on('message', (m) => {
        if (received === count) return;
        seen(m);
        m.ack();
        if (received === count) resolve();
      });
      sub.on('error', reject);
      sub.on('end', resolve);
      sub.start();
    });
  } else {
    while (received < count) {
      const messages = await sub.receiveMany(Math.min(1000, count - received), 10000);
      if (messages.length === 0) break;
      for (const m of messages) seen(m);
      await sub.ackMany(messages);
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const late = stop();
  const rssEnd = process.memoryUsage().rss;
  await sub.close();
  await client.close();
  console.log(`node consume (${CONSUME_LABELS[mode]}, group, acked): ${received} messages of ${size} B ` +
    `in ${seconds.toFixed(2)} s: ${Math.floor(received / seconds)} msg/s | 10 ms timer late ` +
    `p99 ${late.p99.toFixed(1)} ms, max ${late.max.toFixed(1)} ms | RSS ${mb(rssEarly)} MiB after ` +
    `${tenth} messages, ${mb(rssEnd)} MiB after ${received}`);
  if (received < count) {
    console.error(`node_bench: only ${received} of ${count} messages came`);
    process.exit(1);
  }
}

async function main() {
  if (process.argv[2] === 'consume') {
    const [address, topic, countText, mode] = process.argv.slice(3);
    await consume(address, topic, Number(countText), mode);
    return;
  }
  const [address, topic, countText, sizeText] = process.argv.slice(2);
  const count = Number(countText);
  const payload = Buffer.alloc(Number(sizeText), 120);
  const client = new sprawl.Client(address, { acks: 'leader', lingerMs: 5, batchBytes: 256 << 10 });
  const chunk = new Array(10000).fill(payload);
  let start = process.hrtime.bigint();
  for (let sent = 0; sent < count; sent += chunk.length) {
    await client.publishMany(topic, count - sent < chunk.length ? chunk.slice(0, count - sent) : chunk);
  }
  await client.flush();
  let seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`node bulk (publishMany): ${count} messages of ${payload.length} B ` +
    `in ${seconds.toFixed(2)} s: ${Math.floor(count / seconds)} msg/s`);

  const window = 50000;
  const promised = Math.floor(count / 4);
  start = process.hrtime.bigint();
  let inFlight = [];
  for (let i = 0; i < promised; i++) {
    inFlight.push(client.publish(topic, payload));
    if (inFlight.length === window) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`node promise (publish, a Promise each, ${window} outstanding): ${promised} messages ` +
    `of ${payload.length} B in ${seconds.toFixed(2)} s: ${Math.floor(promised / seconds)} msg/s`);
  await client.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
