'use strict';
// Node.js publish benchmark: the sprawl package against a running node.
// Publishes COUNT messages of SIZE bytes with the batching producer
// (acks=leader, 256 KiB batches, 5 ms linger: the settings of `sprawlctl
// bench produce`), keeping up to WINDOW publishes outstanding, and prints
// msg/s. Usage: node node_bench.js ADDRESS TOPIC COUNT SIZE
const sprawl = require('../bindings/node/index.js');

async function main() {
  const [address, topic, countText, sizeText] = process.argv.slice(2);
  const count = Number(countText);
  const payload = Buffer.alloc(Number(sizeText), 120);
  const client = new sprawl.Client(address, { acks: 'leader', lingerMs: 5, batchBytes: 256 << 10 });
  const window = 50000;
  const start = process.hrtime.bigint();
  let inFlight = [];
  for (let i = 0; i < count; i++) {
    inFlight.push(client.publish(topic, payload));
    if (inFlight.length === window) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  await client.flush();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`node batched (publish, ${window} outstanding): ${count} messages of ${payload.length} B ` +
    `in ${seconds.toFixed(2)} s: ${Math.floor(count / seconds)} msg/s`);
  await client.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
