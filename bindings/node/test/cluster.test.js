'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { sprawl } = require('./helpers.js');

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
