'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { sprawl, unique, waitFor, serverProgram, startThreeNodeCluster } = require('./helpers.js');

async function clusterOf(node) {
  const response = await fetch(`${node.httpAddress}/v1/cluster`);
  assert.equal(response.status, 200);
  return response.json();
}

// Polls every node's GET /v1/cluster until each lists every id as alive.
async function waitForAlive(nodes, ids, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  let views = [];
  for (;;) {
    views = await Promise.all(nodes.map(clusterOf));
    const allAlive = views.every((view) => ids.every((id) =>
      view.members.some((m) => m.id === id && m.state === 'alive')));
    if (allAlive) return views;
    if (Date.now() > deadline) {
      assert.fail(`not every node sees ${ids.join(', ')} alive: ${JSON.stringify(views)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('two embedded nodes, the second started with join, form one cluster', async () => {
  const a = await sprawl.Node.start({ nodeId: 'node-a', rack: 'rack-1' });
  let b = null;
  try {
    assert.match(a.peerAddress, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    b = await sprawl.Node.start({ nodeId: 'node-b', rack: 'rack-2', join: a.peerAddress });
    const views = await waitForAlive([a, b], ['node-a', 'node-b'], 30000);
    assert.deepEqual(views.map((v) => v.node_id), ['node-a', 'node-b']);
    for (const view of views) {
      const byId = Object.fromEntries(view.members.map((m) => [m.id, m]));
      assert.equal(byId['node-a'].peer_address, a.peerAddress);
      assert.equal(byId['node-b'].peer_address, b.peerAddress);
      assert.equal(byId['node-a'].client_address, a.address);
      assert.equal(byId['node-b'].http_address, b.httpAddress);
      assert.deepEqual([byId['node-a'].rack, byId['node-b'].rack], ['rack-1', 'rack-2']);
    }
  } finally {
    if (b) await b.stop();
    await a.stop();
  }
});

test('a join value that is not host:port rejects with a SprawlError', async () => {
  for (const join of ['no-port', '127.0.0.1:0', 'tcp://127.0.0.1:70000']) {
    await assert.rejects(sprawl.Node.start({ join }), (e) =>
      e instanceof sprawl.SprawlError && e.code === 'INVALID_ARGUMENT' && e.retriable === false &&
      e.message.includes(join));
  }
  await assert.rejects(sprawl.Node.start({ rack: 'r'.repeat(65) }), (e) =>
    e instanceof sprawl.SprawlError && e.code === 'INVALID_ARGUMENT');
});

// The client address of partition 0's leader if every node names the same one.
async function agreedLeader(nodes, topic) {
  const views = await Promise.all(nodes.map((node) => node.get(`/v1/topics/${topic}/partitions`)));
  const leaders = new Set(views.map((v) => (v ? v.partitions[0].leader : undefined)));
  return leaders.size === 1 && !leaders.has(undefined) ? [...leaders][0] : null;
}

const WINDOW = 100; // publishes in flight at once
const WINDOWS = 10; // 1,000 publishes in all
const KILL_IN_WINDOW = 4; // the leader dies while this window is in flight

test('three sprawl-server processes: publishes survive a SIGKILLed leader, nothing lost or repeated', {
  skip: serverProgram() ? false : 'SPRAWL_SERVER_BIN does not name a sprawl-server program (ctest sets it)',
}, async () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'sprawl-three-'));
  let nodes = [];
  try {
    nodes = await startThreeNodeCluster(directory);
    const topic = unique('replicated');
    const admin = new sprawl.Client(nodes[0].address);
    try {
      const created = await admin.createTopic(topic, { partitions: 1, replicationFactor: 3 });
      assert.equal(created.config.replication_factor, 3);
    } finally {
      await admin.close();
    }
    const leader = await waitFor(() => agreedLeader(nodes, topic), 20000,
      'every node to name the same leader of partition 0');
    const victim = nodes.find((node) => node.address === leader);
    const survivors = nodes.filter((node) => node !== victim);

    // The client's bootstrap node must outlive the test: it starts on a
    // survivor and reaches the leader by following NOT_LEADER hints.
    const acks = [];
    const client = new sprawl.Client(survivors[0].address, { acks: 'all', lingerMs: 1, deliveryTimeoutMs: 30000 });
    try {
      for (let window = 0; window < WINDOWS; window += 1) {
        const first = window * WINDOW;
        const published = [];
        for (let i = first; i < first + WINDOW; i += 1) published.push(client.publish(topic, String(i), { partition: 0 }));
        if (window === KILL_IN_WINDOW) await victim.kill();
        // A failed publish rejects here: the failover must not surface.
        for (const ack of await Promise.all(published)) acks.push([ack.partition, ack.offset]);
      }
    } finally {
      await client.close();
    }

    const total = WINDOWS * WINDOW;
    // One producer, idempotent: each value acknowledged at its own offset, in order.
    assert.deepEqual(acks, [...Array(total).keys()].map((i) => [0, i]));
    await waitFor(async () => {
      const newLeader = await agreedLeader(survivors, topic);
      return survivors.some((node) => node.address === newLeader);
    }, 20000, 'the survivors to agree on a new leader among themselves');

    const reader = new sprawl.Client(survivors[1].address);
    try {
      // Nothing stored past the acknowledged publishes (no duplicate at the end).
      const highWatermark = async () => (await reader.describeTopic(topic)).partitions[0].high_watermark;
      await waitFor(async () => (await highWatermark()) >= total, 20000, `the high watermark to reach ${total}`);
      assert.equal(await highWatermark(), total);
      const seen = [];
      for await (const m of reader.subscribe(topic, { start: 'earliest', partition: 0, timeoutMs: 10000 })) {
        seen.push([m.offset, m.value.toString()]);
        if (seen.length === total) break;
      }
      assert.deepEqual(seen, [...Array(total).keys()].map((i) => [i, String(i)]));
    } finally {
      await reader.close();
    }
  } finally {
    await Promise.all(nodes.map((node) => node.kill()));
    fs.rmSync(directory, { recursive: true, force: true });
  }
});
