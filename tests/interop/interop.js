'use strict';
// The Node.js side of the interoperability test (see interop.c for the format).
const sprawl = require('../../bindings/node/index.js');

const COUNT = 20;

async function main() {
  const [mode, address, topic, lang] = process.argv.slice(2);
  const client = new sprawl.Client(address);
  if (mode === 'produce') {
    for (let i = 0; i < COUNT; i++) {
      const value = Buffer.concat([Buffer.from([i, 0, 255, (i * 7) % 256]), Buffer.from(`v${i}`)]);
      await client.publish(topic, value, {
        key: i % 5 === 0 ? null : `key-${i}`, headers: { lang, idx: String(i) }, partition: 0,
      });
    }
  } else {
    const sub = client.subscribe(topic, { start: 'earliest' });
    for (let i = 0; i < COUNT; i++) {
      const m = await sub.receive(10000);
      const key = m.key === null ? '-' : m.key.toString('hex');
      const headers = Object.keys(m.headers).sort().map((k) => `${k}=${m.headers[k].toString('hex')}`).join(' ');
      console.log(`${m.offset} ${key} ${m.value.toString('hex')} ${headers}`);
    }
    await sub.close();
  }
  await client.close();
}

main().catch((e) => { console.error(e); process.exit(1); });
