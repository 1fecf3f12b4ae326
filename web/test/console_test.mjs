// The console in a real browser: Debian's Chromium, driven by playwright-core
// (which downloads no browser), against a real sprawl-server. The test makes
// its own data through the HTTP API (a topic, messages, a group with lag),
// then checks that every page shows it, that the publish and reset actions
// work, and that no page logs an error; at 1280x800 and at a phone's width.
// Screenshots of each page go to $SPRAWL_CONSOLE_SCREENSHOTS.
//
//   SPRAWL_SERVER_BIN=build/dev/server/sprawl-server node web/test/console_test.mjs
//
// A missing Chromium or playwright-core fails the test (exit 1) with what
// to install: nothing here is skipped.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const started = Date.now();

function fail(message) {
  console.error(`console_test: ${message}`);
  process.exit(1);
}

const serverBin = process.env.SPRAWL_SERVER_BIN;
if (!serverBin || !existsSync(serverBin)) fail('set SPRAWL_SERVER_BIN to a built sprawl-server');
const chromium = process.env.SPRAWL_CHROMIUM ||
  ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
if (!chromium) fail('no Chromium: scripts/bootstrap installs Debian\'s chromium package (or set SPRAWL_CHROMIUM)');
let playwright;
try {
  playwright = createRequire(join(here, '..', 'package.json'))('playwright-core');
} catch (e) {
  fail('playwright-core is not installed in web/node_modules: building sprawl-server installs it ' +
       '(web/build_assets.sh), or run npm ci in web/');
}
const shots = process.env.SPRAWL_CONSOLE_SCREENSHOTS || join(here, '..', '..', 'build', 'console-screenshots');
mkdirSync(shots, { recursive: true });

// `count` distinct free ports: every socket stays bound until all are
// chosen, or the system could hand out one port twice.
async function freePorts(count) {
  const servers = [];
  for (let i = 0; i < count; i++) {
    servers.push(await new Promise((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    }));
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function waitFor(what, condition, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (e) { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- the server and the data the pages must show ---------------------------

const dataDir = mkdtempSync(join(tmpdir(), 'sprawl-console-'));
const [httpPort, clientPort, peerPort] = await freePorts(3);
const server = spawn(serverBin, ['--storage', 'memory', '--data-dir', dataDir, '--node-id', 'console-node',
  '--rack', 'rack-a', '--http-port', String(httpPort), '--client-port', String(clientPort),
  '--peer-port', String(peerPort)], { stdio: ['ignore', 'inherit', 'inherit'] });
let serverExit = null;
server.on('exit', (code, signal) => { serverExit = code ?? signal; });
const base = `http://127.0.0.1:${httpPort}`;

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

let browser;
try {
  await waitFor('the server to be ready', async () => {
    if (serverExit !== null) throw new Error(`sprawl-server exited with ${serverExit}`);
    return (await fetch(`${base}/ready`)).ok;
  }, 20000);

  const topic = 'console-orders';
  const group = 'console-billing';
  await api('POST', '/v1/topics', { name: topic, config: { partitions: 2, retention_ms: 3600000 } });
  await api('POST', `/v1/topics/${topic}/messages`, {
    messages: [
      { value: JSON.stringify({ order: 17, city: 'Lyon' }), key: 'user-17', headers: { trace: 'abc123' }, partition: 0 },
      { value: 'plain text \u00e9t\u00e9', partition: 0 },
      { value: 'second partition', partition: 1 },
    ],
  });
  // A group with lag: one member takes one message and acks nothing.
  const polled = await api('GET', `/v1/topics/${topic}/groups/${group}/messages?max=1&wait_ms=2000`);
  assert.equal(polled.messages.length, 1);

  // A dead letter: a group takes the message once and never acks it.
  const work = 'console-work';
  const dlq = 'console-work.dlq';
  await api('POST', '/v1/topics', { name: dlq, config: { partitions: 1 } });
  await api('POST', '/v1/topics', {
    name: work, config: { partitions: 1, ack_timeout_ms: 200, max_deliveries: 1, dead_letter_topic: dlq },
  });
  await api('POST', `/v1/topics/${work}/messages`, {
    messages: [{ value: 'poison pill', key: 'order-9', headers: { trace: 'dead-1' } }],
  });
  const taken = await api('GET', `/v1/topics/${work}/groups/workers/messages?max=1&wait_ms=2000`);
  assert.equal(taken.messages.length, 1);
  await waitFor('the message to be dead-lettered', async () =>
    (await api('GET', `/v1/topics/${dlq}`)).partitions[0].next_offset === 1);

  browser = await playwright.chromium.launch({ executablePath: chromium, headless: true });

  for (const viewport of [{ name: 'desktop', width: 1280, height: 800 }, { name: 'phone', width: 390, height: 844 }]) {
    const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height } });
    const page = await context.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    page.on('dialog', (d) => d.accept());
    const visit = async (hash, ready, shot) => {
      await page.goto(`${base}/ui${hash}`);
      await page.waitForSelector(ready, { timeout: 10000 });
      await page.screenshot({ path: join(shots, `${viewport.name}-${shot}.png`), fullPage: true });
    };
    const text = (selector) => page.locator(selector).first().innerText();

    // Cluster: this node, alive, with its rack.
    await visit('#/cluster', '#members tr[data-member="console-node"]', 'cluster');
    const member = await text('#members tr[data-member="console-node"]');
    assert.match(member, /alive/);
    assert.match(member, /rack-a/);

    // Topics: the topic made above, with its partitions and retained messages.
    await visit('#/topics', `#topics tr[data-topic="${topic}"]`, 'topics');
    const described = await api('GET', `/v1/topics/${topic}`);
    const retained = described.partitions.reduce((a, p) => a + p.next_offset - p.first_offset, 0);
    assert.ok(retained >= 3);
    assert.match(await text(`#topics tr[data-topic="${topic}"]`), new RegExp(`console-orders\\s+2\\s+${retained}\\b`));

    // A topic: its partitions, config and the group's lag.
    await visit(`#/topics/${topic}`, '#partitions tbody tr', 'topic');
    assert.equal(await page.locator('#partitions tbody tr').count(), 2);
    assert.match(await text('#page-topic'), /retention_ms\s+3600000/);
    assert.match(await text('#page-topic'), new RegExp(`${group}[\\s\\S]*0: [1-9]`));

    // Messages: decoded as JSON, the key and the header; then as hex.
    await visit(`#/messages/${topic}?partition=0`, '#messages tr[data-offset="0"]', 'messages');
    const first = page.locator('#messages tr[data-offset="0"]');
    assert.equal(await first.locator('pre[data-decoded]').getAttribute('data-decoded'), 'json');
    assert.match(await first.innerText(), /"city": "Lyon"/);
    assert.match(await first.innerText(), /user-17/);
    assert.match(await first.innerText(), /trace: abc123/);
    assert.match(await text('#messages tr[data-offset="1"]'), /plain text été/);
    await page.selectOption('select[name=decode]', 'hex');
    await page.waitForSelector('#messages tr[data-offset="1"] pre[data-decoded="hex"]');
    assert.match(await text('#messages tr[data-offset="1"]'), /70 6c 61 69 6e/);  // "plain"
    await page.selectOption('select[name=decode]', 'auto');
    await page.waitForSelector('#messages tr[data-offset="0"] pre[data-decoded="json"]');

    // Publish a test message through the page, then read it back there.
    const value = `from the console at ${viewport.name}`;
    await page.fill('#publish textarea[name=value]', value);
    await page.fill('#publish input[name=key]', 'k-console');
    await page.fill('#publish textarea[name=headers]', '{"source": "ui"}');
    await page.selectOption('#publish select[name=partition]', '1');
    await page.click('#publish button[type=submit]');
    await page.waitForSelector('#publish-result .ok');
    assert.match(await text('#publish-result'), /published to partition 1 at offset \d+/);
    await page.click('#publish-result button');
    await page.waitForSelector(`#messages pre:text("${value}")`);
    assert.match(await text('#messages tbody tr'), /source: ui/);
    await page.screenshot({ path: join(shots, `${viewport.name}-published.png`), fullPage: true });

    // Groups: the group, with its lag.
    await visit('#/groups', `#groups tr[data-group="${topic}/${group}"]`, 'groups');
    assert.match(await text(`#groups tr[data-group="${topic}/${group}"]`), /console-billing/);

    // A group: lag per partition, its member; reset to latest (confirmed) clears the lag.
    await visit(`#/groups/${topic}/${group}`, '#group-partitions tr[data-partition="0"]', 'group');
    await waitFor('lag to show', async () => Number(await page.locator('#group-partitions tr[data-partition="0"] [data-lag]').getAttribute('data-lag')) > 0);
    assert.match(await text('#page-group #members'), /http/);
    if (viewport.name === 'desktop') {
      // The lag trend: messages arrive and nobody acks, so it grows.
      await api('POST', `/v1/topics/${topic}/messages`, {
        messages: Array.from({ length: 20 }, (_, i) => ({ value: `more ${i}`, partition: 0 })),
      });
      await waitFor('the lag trend to show growth', async () =>
        Number(await page.locator('#group-partitions tr[data-partition="0"] [data-trend]').getAttribute('data-trend')) > 0, 15000);
      assert.match(await text('#group-partitions tr[data-partition="0"]'), /\+[\d.]+\/s, growing/);
      await page.screenshot({ path: join(shots, `${viewport.name}-group-trend.png`), fullPage: true });
    }
    await page.selectOption('#reset select[name=to]', 'latest');
    await page.click('#reset button[type=submit]');
    await page.waitForSelector('#reset-result .ok');
    await waitFor('the lag to clear after the reset', async () => {
      const lags = await page.locator('#group-partitions [data-lag]').evaluateAll((els) => els.map((e) => Number(e.dataset.lag)));
      return lags.length === 2 && lags.every((l) => l === 0);
    });
    const afterReset = await api('GET', `/v1/topics/${topic}/groups/${group}`);
    assert.ok(afterReset.partitions.every((p) => p.lag === 0), 'the reset went through the API');

    // Dead letters: the dead letter topic, then the letter with why it died;
    // re-publishing it (confirmed) appends a copy to its source partition.
    await visit('#/dead-letters', `#dead-letter-topics tr[data-dlq="${dlq}"]`, 'dead-letters');
    // (The copy re-published at the first width goes to the same group,
    // which never acks: it is a dead letter again by the second.)
    const letters = (await api('GET', `/v1/topics/${dlq}`)).partitions[0].next_offset;
    assert.match(await text(`#dead-letter-topics tr[data-dlq="${dlq}"]`), new RegExp(`${work}\\s+${letters}\\b`));
    await page.click(`#dead-letter-topics tr[data-dlq="${dlq}"] a`);
    await page.waitForSelector('#dead-letters tr[data-letter="0/0"]');
    await page.screenshot({ path: join(shots, `${viewport.name}-dead-letter-topic.png`), fullPage: true });
    const letter = page.locator('#dead-letters tr[data-letter="0/0"]');
    const letterText = await letter.innerText();
    assert.match(letterText, /poison pill/);
    assert.match(letterText, /order-9/);
    assert.match(letterText, /console-work 0\/0/);
    assert.match(letterText, /workers/);
    assert.notEqual((await letter.locator('[data-reason]').innerText()).trim(), '', 'why it died');
    const before = (await api('GET', `/v1/topics/${work}`)).partitions[0].next_offset;
    await letter.locator('button').click();
    await letter.locator('.republish-result .ok').waitFor({ timeout: 10000 });
    assert.match(await letter.locator('.republish-result').innerText(), new RegExp(`re-published to ${work} partition 0 at offset ${before}`));
    const copy = await api('GET', `/v1/topics/${work}/partitions/0/messages?offset=${before}&max=1`);
    assert.equal(Buffer.from(copy.messages[0].value_base64, 'base64').toString(), 'poison pill');
    assert.equal(Buffer.from(copy.messages[0].key_base64, 'base64').toString(), 'order-9');
    assert.deepEqual(copy.messages[0].headers.map((hd) => [hd.name, Buffer.from(hd.value_base64, 'base64').toString()]),
      [['trace', 'dead-1']]);

    // Charts: live rates from /metrics while messages are published.
    await visit('#/charts', '.uplot', 'charts-empty');
    assert.equal(await page.locator('[data-chart] .uplot').count(), 6);
    await waitFor('the publish chart to show a rate', async () => {
      await api('POST', `/v1/topics/${topic}/messages`, { messages: [{ value: 'tick' }, { value: 'tock' }] });
      return Number(await page.locator('[data-chart="Publish rate"]').getAttribute('data-last')) > 0;
    }, 20000);
    await page.screenshot({ path: join(shots, `${viewport.name}-charts.png`), fullPage: true });

    assert.deepEqual(errors, [], `the ${viewport.name} pages logged errors`);
    await context.close();
    // The next viewport starts with lag again.
    await api('POST', `/v1/topics/${topic}/groups/${group}/reset`, { to: 'earliest' });
  }
  console.log(`console_test: passed in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${shots}`);
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => (serverExit !== null ? r() : server.once('exit', r)));
  rmSync(dataDir, { recursive: true, force: true });
}
