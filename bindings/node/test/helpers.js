'use strict';
// Shared by the tests: an embedded node per test file.
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

module.exports = { sprawl, unique, withNode };
