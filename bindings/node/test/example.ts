// Compiled with `tsc --noEmit` by the tests: the declarations must accept
// the documented usage.
import { Client, Message, Node, SprawlError, logDropped, logLevel, setLogLevel, setLogger } from '../index';

async function main(): Promise<void> {
  setLogger(console, { level: 'info' });
  setLogLevel('warn');
  const level: string = logLevel();
  const dropped: number = logDropped();
  void level;
  void dropped;
  const node = await Node.start({ storage: 'memory', logger: console, logLevel: 'info' });
  const peer = await Node.start({ join: node.peerAddress, rack: 'rack-2' });
  await peer.stop();
  const client = new Client(node.address, { acks: 'all', lingerMs: 2, bufferBytes: 8 << 20 });
  await client.createTopic('orders', { partitions: 4, maxDeliveries: 5 });
  const ack = await client.publish('orders', Buffer.from('hello'), { key: 'user-1', headers: { trace: 'abc' } });
  const offset: number | null = ack.offset;  // null only with acks 'none'
  const queued: number = await client.publishMany('orders', ['a', Buffer.from('b')]);
  await client.flush(5000);
  void queued;
  for await (const msg of client.subscribe('orders', { group: 'billing', timeoutMs: 1000 })) {
    const value: Buffer = msg.value;
    await msg.ack();
    void value;
  }
  const batchSub = client.subscribe('orders', { group: 'audit' });
  const batch: Message[] = await batchSub.receiveMany(500, 1000);
  await batchSub.ackMany(batch.filter((m) => m.deliveryCount < 3));
  await batchSub.nackMany(batch.filter((m) => m.deliveryCount >= 3), 1000);
  await batchSub.close();
  const sub = client.subscribe('orders', { start: 'earliest' });
  sub.on('message', (m: Message) => void m.offset).start();
  await sub.close();
  try {
    await client.describeTopic('missing');
  } catch (e) {
    if (e instanceof SprawlError && !e.retriable) console.log(e.code);
  }
  await client.close();
  await node.stop();
  void offset;
}

void main();
