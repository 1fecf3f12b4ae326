'use strict';
// Shared by the tests: an embedded node per test file, and real sprawl-server
// processes for the multi-process tests.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const sprawl = require('../index.js');

let counter = 0;
function unique(prefix) {
  counter += 1;
  return `${prefix}${counter}-${process.pid}`;
}

async function withNode(fn) {
  const node = await sprawl.Node.start();
  try {
    return await fn(node);
  } finally {
    await node.stop();
  }
}

// Polls `condition` (sync or async) until it returns a truthy value; fails
// after `timeoutMs`.
async function waitFor(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// The sprawl-server program the multi-process tests start (ctest sets
// SPRAWL_SERVER_BIN), or null when there is none.
function serverProgram() {
  const program = process.env.SPRAWL_SERVER_BIN;
  try {
    fs.accessSync(program, fs.constants.X_OK);
    return program;
  } catch {
    return null;
  }
}

const LISTENING = /node listening .* client=(\S+) peer=tcp:\/\/(\S+) http=(\S+)/;

// One sprawl-server on ports the OS picks (port 0), read back from the line
// its log prints once it listens; so tests running at once never race for a
// port. `kill()` SIGKILLs it.
async function startServer(directory, nodeId, join) {
  const logPath = path.join(directory, `${nodeId}.log`);
  const log = fs.openSync(logPath, 'w');
  const args = ['--node-id', nodeId, '--data-dir', path.join(directory, nodeId),
    '--client-port', '0', '--http-port', '0', '--peer-port', '0'];
  if (join) args.push('--join', join);
  const child = spawn(serverProgram(), args, { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const server = {
    nodeId,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    get: async (route) => {
      try {
        const response = await fetch(server.http + route, { signal: AbortSignal.timeout(2000) });
        return response.ok ? await response.json() : null;
      } catch {
        return null;
      }
    },
  };
  try {
    [server.address, server.peer, server.http] = await waitFor(() => {
      const text = fs.readFileSync(logPath, 'utf8');
      if (child.exitCode !== null) throw new Error(`${nodeId} exited with ${child.exitCode}: ${text.slice(-2000)}`);
      const found = LISTENING.exec(text);
      return found && found.slice(1);
    }, 15000, `${nodeId} to listen`);
  } catch (e) {
    await server.kill();
    throw e;
  }
  return server;
}

// Three sprawl-server processes: the first forms the metadata group alone,
// the others join it and are promoted to voters. Resolves once every node
// sees three voters and three live members; on a failure kills what started.
async function startThreeNodeCluster(directory) {
  const nodes = [];
  try {
    nodes.push(await startServer(directory, 'n0'));
    for (const nodeId of ['n1', 'n2']) nodes.push(await startServer(directory, nodeId, nodes[0].peer));
    await waitFor(async () => {
      for (const node of nodes) {
        const [meta, members] = await Promise.all([node.get('/v1/meta'), node.get('/v1/cluster')]);
        if (!meta || !meta.formed || meta.voters.length !== 3 || !members) return false;
        if (members.members.filter((m) => m.state === 'alive').length !== 3) return false;
      }
      return true;
    }, 20000, 'every node to see 3 voters and 3 live members');
    return nodes;
  } catch (e) {
    await Promise.all(nodes.map((node) => node.kill()));
    throw e;
  }
}

module.exports = { sprawl, unique, withNode, waitFor, serverProgram, startThreeNodeCluster };
