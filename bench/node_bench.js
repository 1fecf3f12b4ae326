'use strict';
// Node.js publish benchmark: the sprawl package against a running node.
// Publishes COUNT messages of SIZE bytes with the batching producer
// (acks=leader, 256 KiB batches, 5 ms linger: the settings of `sprawlctl
// bench produce`) in two ways and prints msg/s for each:
//   - bulk: Client.publishMany in chunks of 10,000, then flush;
//   - promise: Client.publish per message (a Promise each), COUNT/4 messages.
// Usage: node node_bench.js ADDRESS TOPIC COUNT SIZE
const sprawl = require('../bindings/node/index.js');

async function main() {
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
