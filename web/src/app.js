// The Sprawl console: one page per hash route (#/cluster, #/topics, ...),
// each drawn from the node's own HTTP API (docs/http-api.md). No framework:
// h() builds DOM nodes, and text always goes in as text, never as HTML, so
// topic names, keys and payloads cannot inject markup.
'use strict';

(function () {
  const main = document.getElementById('main');
  const REFRESH_MS = 5000;
  let refreshTimer = null;
  let pageCleanup = null;

  // ---- helpers -----------------------------------------------------------

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  async function api(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) {
      const err = data && data.error;
      throw new Error(err ? `${err.code}: ${err.message}` : `HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    return data !== null ? data : text;
  }
  const get = (path) => api('GET', path);
  const enc = encodeURIComponent;

  function table(headers, rows, opts) {
    const numeric = (opts && opts.numeric) || [];
    return h('table', opts && opts.id ? { id: opts.id } : {},
      h('thead', {}, h('tr', {}, headers.map((t, i) => h('th', { class: numeric.includes(i) ? 'num' : null }, t)))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', r.attrs || {}, (r.cells || r).map((c, i) =>
        h('td', { class: numeric.includes(i) ? 'num' : null }, c)))) :
        h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'none'))));
  }

  function bytes(n) {
    n = Number(n || 0);
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${i ? n.toFixed(1) : n} ${units[i]}`;
  }
  const num = (n) => Number(n || 0).toLocaleString('en-US');
  const time = (ms) => (ms ? new Date(Number(ms)).toISOString().replace('T', ' ').replace('Z', '') : '');
  function duration(ms) {
    ms = Number(ms || 0);
    if (!ms) return 'unlimited';
    for (const [u, d] of [['d', 86400000], ['h', 3600000], ['min', 60000], ['s', 1000]]) {
      if (ms >= d && ms % d === 0) return `${ms / d} ${u}`;
    }
    return `${ms} ms`;
  }
  const errorBox = (e) => h('div', { class: 'error', role: 'alert' }, String(e && e.message ? e.message : e));
  const link = (href, text) => h('a', { href }, text);

  // Draws `render()`'s node into main, again every REFRESH_MS when `live`;
  // a failed refresh shows the error and keeps trying.
  function show(render, live) {
    let generation = 0;
    const draw = async () => {
      const mine = ++generation;
      let node;
      try { node = await render(); } catch (e) { node = errorBox(e); }
      if (mine !== generation || currentRender !== draw) return;
      main.replaceChildren(node);
    };
    currentRender = draw;
    draw();
    // A refresh would drop what the user is typing: skip it while a field has focus.
    const typing = () => main.contains(document.activeElement) && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName);
    if (live) refreshTimer = setInterval(() => { if (!document.hidden && !typing()) draw(); }, REFRESH_MS);
  }
  let currentRender = null;
  // A message from the last action on this page (cleared when the page changes).
  let flash = null;

  // ---- decoding of browsed messages ----------------------------------------

  function fromBase64(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hexDump(u8) {
    const lines = [];
    for (let i = 0; i < u8.length; i += 16) {
      const row = Array.from(u8.slice(i, i + 16));
      const hex = row.map((b) => b.toString(16).padStart(2, '0')).join(' ');
      const ascii = row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
      lines.push(`${i.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}  ${ascii}`);
    }
    return lines.join('\n');
  }
  // Decodes bytes as `mode`: text, json, hex, or auto (JSON when it parses,
  // text when it is UTF-8, hex otherwise). Returns [shown text, how].
  function decode(b64, mode) {
    if (b64 === null || b64 === undefined) return ['', 'none'];
    const u8 = fromBase64(b64);
    let text = null;
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(u8); } catch (e) { text = null; }
    if (mode === 'hex') return [hexDump(u8), 'hex'];
    if (mode === 'text') return [text !== null ? text : new TextDecoder().decode(u8), 'text'];
    if (text !== null && (mode === 'json' || mode === 'auto')) {
      try { return [JSON.stringify(JSON.parse(text), null, 2), 'json']; } catch (e) {
        if (mode === 'json') return [`(not JSON) ${text}`, 'text'];
      }
    }
    if (text !== null) return [text, 'text'];
    return [hexDump(u8), 'hex'];
  }

  // ---- pages ---------------------------------------------------------------

  async function clusterPage() {
    const [cluster, placement, meta] = await Promise.all([
      get('/v1/cluster'), get('/v1/placement'), get('/v1/meta').catch(() => null)]);
    const perNode = placement.replicas_per_node || {};
    const members = cluster.members || [];
    const alive = members.filter((m) => m.state === 'alive').length;
    return h('div', { id: 'page-cluster' },
      h('h1', {}, 'Cluster'),
      h('div', { class: 'stats' },
        h('div', { class: 'stat' }, h('b', {}, `${alive} / ${members.length}`), 'members alive'),
        h('div', { class: 'stat' }, h('b', {}, cluster.local_health ?? ''), 'local health (0 = healthy)'),
        h('div', { class: 'stat' }, h('b', {}, num((placement.partitions || []).length)), 'partitions placed'),
        h('div', { class: 'stat' }, h('b', {}, placement.imbalance ?? ''), 'placement imbalance'),
        meta && meta.formed ? h('div', { class: 'stat' }, h('b', {}, meta.leader || '—'), `metadata leader (term ${meta.term ?? ''})`) : null),
      h('div', { class: 'card' }, table(
        ['node', 'state', 'rack', 'replicas placed', 'incarnation', 'client', 'HTTP', 'started'],
        members.map((m) => ({
          attrs: { 'data-member': m.id },
          cells: [
            m.id === cluster.node_id ? h('span', {}, m.id, h('span', { class: 'muted' }, ' (this node)')) : m.id,
            h('span', { class: `state-${m.state}` }, m.state),
            m.rack || h('span', { class: 'muted' }, '—'),
            num(perNode[m.id] || 0), m.incarnation, m.client_address, m.http_address,
            time(m.start_time_ms)],
        })), { id: 'members', numeric: [3, 4] })));
  }

  function topicTotals(t) {
    let mem = 0, disk = 0, msgs = 0;
    for (const p of t.partitions || []) {
      mem += Number(p.memory_bytes || 0);
      disk += Number(p.disk_bytes || 0);
      msgs += Number(p.next_offset || 0) - Number(p.first_offset || 0);
    }
    return { mem, disk, msgs };
  }

  async function topicsPage() {
    const { topics } = await get('/v1/topics');
    const nameInput = h('input', { name: 'name', required: true, placeholder: 'orders', pattern: '[A-Za-z0-9._-]+' });
    const partsInput = h('input', { name: 'partitions', type: 'number', min: 1, value: 1, style: 'width:6em' });
    const result = h('div');
    const form = h('form', {
      class: 'inline', id: 'create-topic',
      onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await api('POST', '/v1/topics', { name: nameInput.value, config: { partitions: Number(partsInput.value) } });
          location.hash = `#/topics/${enc(nameInput.value)}`;
        } catch (e) { result.replaceChildren(errorBox(e)); }
      },
    }, h('label', {}, 'name', nameInput), h('label', {}, 'partitions', partsInput), h('button', { type: 'submit' }, 'Create topic'));
    return h('div', { id: 'page-topics' },
      h('h1', {}, 'Topics'),
      h('div', { class: 'card' }, table(
        ['topic', 'partitions', 'messages retained', 'memory', 'disk', 'retention', 'dead letters to'],
        topics.filter((t) => !t.name.startsWith('__')).map((t) => {
          const s = topicTotals(t);
          return {
            attrs: { 'data-topic': t.name },
            cells: [link(`#/topics/${enc(t.name)}`, t.name), t.config.partitions, num(s.msgs), bytes(s.mem),
              bytes(s.disk), duration(t.config.retention_ms), t.config.dead_letter_topic || ''],
          };
        }), { id: 'topics', numeric: [1, 2, 3, 4] })),
      h('div', { class: 'card' }, form, result));
  }

  async function topicPage(name) {
    const [topic, parts] = await Promise.all([get(`/v1/topics/${enc(name)}`), get(`/v1/topics/${enc(name)}/partitions`)]);
    const s = topicTotals(topic);
    const config = Object.entries(topic.config || {}).map(([k, v]) => [k, String(v)]);
    return h('div', { id: 'page-topic' },
      h('h1', {}, `Topic ${name}`),
      h('p', {}, link(`#/messages/${enc(name)}`, 'Browse and publish messages'), ' · ',
        link(`#/groups?topic=${enc(name)}`, 'Consumer groups')),
      h('div', { class: 'stats' },
        h('div', { class: 'stat' }, h('b', {}, num(s.msgs)), 'messages retained'),
        h('div', { class: 'stat' }, h('b', {}, bytes(s.mem)), 'memory tier'),
        h('div', { class: 'stat' }, h('b', {}, bytes(s.disk)), 'disk tier')),
      h('h2', {}, 'Partitions'),
      h('div', { class: 'card' }, table(
        ['partition', 'first offset', 'next offset', 'high watermark', 'memory', 'disk'],
        (topic.partitions || []).map((p) => [p.partition, num(p.first_offset), num(p.next_offset),
          num(p.high_watermark), bytes(p.memory_bytes), bytes(p.disk_bytes)]),
        { id: 'partitions', numeric: [0, 1, 2, 3, 4, 5] })),
      h('h2', {}, 'Lag of its groups'),
      h('div', { class: 'card' }, table(['group', 'lag per partition', 'total lag'],
        (parts.group_lag || []).map((g) => [
          link(`#/groups/${enc(name)}/${enc(g.group)}`, g.group),
          g.partitions.map((p) => `${p.partition}: ${p.lag}`).join('  '),
          num(g.partitions.reduce((a, p) => a + Number(p.lag), 0))]), { numeric: [2] })),
      h('h2', {}, 'Config'),
      h('div', { class: 'card' }, table(['setting', 'value'], config)));
  }

  async function messagesPage(name, query) {
    const topic = await get(`/v1/topics/${enc(name)}`);
    const partition = Number(query.get('partition') || 0);
    const offset = query.get('offset');
    const mode = query.get('decode') || 'auto';
    const max = Number(query.get('max') || 20);
    const go = (changes) => {
      const q = new URLSearchParams({ partition, decode: mode, max });
      if (offset !== null && offset !== '') q.set('offset', offset);
      for (const [k, v] of Object.entries(changes)) {
        if (v === null) q.delete(k); else q.set(k, v);
      }
      location.hash = `#/messages/${enc(name)}?${q}`;
    };
    const path = `/v1/topics/${enc(name)}/partitions/${partition}/messages?max=${max}` +
      (offset !== null && offset !== '' ? `&offset=${enc(offset)}` : '');
    let browse = null;
    let browseError = null;
    try { browse = await get(path); } catch (e) { browseError = e; }

    const partSelect = h('select', { name: 'partition', onchange: (ev) => go({ partition: ev.target.value, offset: null }) },
      (topic.partitions || []).map((p) => h('option', { value: p.partition, selected: p.partition === partition }, `partition ${p.partition}`)));
    const offsetInput = h('input', { name: 'offset', type: 'number', min: 0, value: offset ?? '', placeholder: 'earliest', style: 'width:9em' });
    const decodeSelect = h('select', { name: 'decode', onchange: (ev) => go({ decode: ev.target.value }) },
      ['auto', 'text', 'json', 'hex'].map((m) => h('option', { value: m, selected: m === mode }, m)));
    const browseForm = h('form', { class: 'inline', id: 'browse', onsubmit: (ev) => { ev.preventDefault(); go({ offset: offsetInput.value || null }); } },
      h('label', {}, 'partition', partSelect), h('label', {}, 'from offset', offsetInput),
      h('label', {}, 'decode as', decodeSelect), h('button', { type: 'submit' }, 'Read'),
      browse ? h('button', { type: 'button', class: 'secondary', onclick: () => go({ offset: Math.max(Number(browse.offset) - max, Number(browse.first_offset)) }) }, '← older') : null,
      browse ? h('button', { type: 'button', class: 'secondary', onclick: () => go({ offset: browse.next_offset }) }, 'newer →') : null,
      browse ? h('button', { type: 'button', class: 'secondary', onclick: () => go({ offset: Math.max(Number(browse.high_watermark) - max, Number(browse.first_offset)) }) }, 'latest') : null);

    const rows = browse ? browse.messages.map((m) => {
      const [value, how] = decode(m.value_base64, mode);
      const [key] = m.key_base64 === null ? ['', 'none'] : decode(m.key_base64, mode === 'hex' ? 'hex' : 'text');
      const headers = m.headers.map((hd) => `${hd.name}: ${decode(hd.value_base64, 'text')[0]}`).join('\n');
      return { attrs: { 'data-offset': m.offset }, cells: [m.offset, time(m.timestamp_ms), h('pre', {}, key), h('pre', { 'data-decoded': how }, value), h('pre', {}, headers)] };
    }) : [];

    // Publish a test message through POST /v1/topics/{topic}/messages.
    const pubKey = h('input', { name: 'key', placeholder: '(none)' });
    const pubValue = h('textarea', { name: 'value', placeholder: '{"hello": "world"}' });
    const pubHeaders = h('textarea', { name: 'headers', placeholder: '{"trace": "abc"}' });
    const pubPartition = h('select', { name: 'partition' }, h('option', { value: '' }, 'by key / round robin'),
      (topic.partitions || []).map((p) => h('option', { value: p.partition }, `partition ${p.partition}`)));
    const pubResult = h('div', { id: 'publish-result' });
    const publishForm = h('form', {
      class: 'inline', id: 'publish',
      onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const message = { value: pubValue.value };
          if (pubKey.value) message.key = pubKey.value;
          if (pubHeaders.value.trim()) {
            try { message.headers = JSON.parse(pubHeaders.value); } catch (e) { throw new Error('headers must be a JSON object of strings'); }
          }
          if (pubPartition.value !== '') message.partition = Number(pubPartition.value);
          const r = await api('POST', `/v1/topics/${enc(name)}/messages`, { messages: [message] });
          const res = r.results[0];
          if (res.error) throw new Error(`${res.error.code}: ${res.error.message}`);
          pubResult.replaceChildren(h('span', { class: 'ok' }, `published to partition ${res.partition} at offset ${res.offset} `),
            h('button', { type: 'button', class: 'secondary', onclick: () => go({ partition: res.partition, offset: res.offset }) }, 'show it'));
        } catch (e) { pubResult.replaceChildren(errorBox(e)); }
      },
    }, h('label', {}, 'key', pubKey), h('label', {}, 'value', pubValue), h('label', {}, 'headers (JSON)', pubHeaders),
    h('label', {}, 'partition', pubPartition), h('button', { type: 'submit' }, 'Publish'));

    return h('div', { id: 'page-messages' },
      h('h1', {}, 'Messages of ', link(`#/topics/${enc(name)}`, name)),
      h('div', { class: 'card' }, browseForm,
        browse ? h('p', { class: 'muted' }, `partition ${partition}: offsets ${browse.first_offset} to ${Number(browse.high_watermark) - 1} retained; showing from ${browse.offset}`) : null,
        browseError ? errorBox(browseError) : null,
        browse ? table(['offset', 'time (UTC)', 'key', 'value', 'headers'], rows, { id: 'messages', numeric: [0] }) : null),
      h('h2', {}, 'Publish a test message'),
      h('div', { class: 'card' }, publishForm, pubResult));
  }

  async function groupsPage(query) {
    const topic = query.get('topic');
    const { groups } = await get(`/v1/groups${topic ? `?topic=${enc(topic)}` : ''}`);
    return h('div', { id: 'page-groups' },
      h('h1', {}, topic ? `Consumer groups of ${topic}` : 'Consumer groups'),
      h('div', { class: 'card' }, table(['topic', 'group', 'generation', 'members', 'in flight', 'dead lettered', 'total lag'],
        groups.map((g) => {
          const sum = (f) => (g.partitions || []).reduce((a, p) => a + Number(p[f] || 0), 0);
          return {
            attrs: { 'data-group': `${g.topic}/${g.group}` },
            cells: [link(`#/topics/${enc(g.topic)}`, g.topic), link(`#/groups/${enc(g.topic)}/${enc(g.group)}`, g.group),
              g.generation, (g.members || []).length, num(sum('in_flight')), num(sum('dead_lettered')),
              h('span', { class: sum('lag') ? 'lag' : '' }, num(sum('lag')))],
          };
        }), { id: 'groups', numeric: [2, 3, 4, 5, 6] })));
  }

  // Lag samples of the groups viewed since the console opened, for the
  // trend column: {topic\0group: [{t, lags: {partition: lag}}]}, 5 minutes.
  const lagHistory = new Map();
  const TREND_WINDOW_MS = 60000;
  function recordLag(topic, group, partitions) {
    const key = `${topic}\u0000${group}`;
    const now = Date.now();
    const samples = (lagHistory.get(key) || []).filter((s) => now - s.t <= 300000);
    samples.push({ t: now, lags: Object.fromEntries(partitions.map((p) => [p.partition, Number(p.lag)])) });
    lagHistory.set(key, samples);
    return samples;
  }
  // The lag's rate of change (messages/s) of one partition over the last
  // minute of samples: null until two samples a second apart exist.
  function lagTrend(samples, partition) {
    const last = samples[samples.length - 1];
    const first = samples.find((s) => last.t - s.t <= TREND_WINDOW_MS && partition in s.lags);
    if (!first || last.t - first.t < 1000 || !(partition in last.lags)) return null;
    return (last.lags[partition] - first.lags[partition]) / ((last.t - first.t) / 1000);
  }
  function trendCell(rate, lag) {
    if (rate === null) return h('span', { class: 'muted', 'data-trend': '' }, 'measuring…');
    const fixed = Math.abs(rate) < 10 ? 1 : 0;
    if (rate > 0) return h('span', { class: 'lag', 'data-trend': rate }, `+${rate.toFixed(fixed)}/s, growing`);
    if (rate < 0 && lag > 0) {
      return h('span', { 'data-trend': rate }, `${rate.toFixed(fixed)}/s, clear in ~${duration(Math.ceil(lag / -rate) * 1000)}`);
    }
    return h('span', { class: 'muted', 'data-trend': rate }, 'steady');
  }

  async function groupPage(topic, group) {
    const g = await get(`/v1/topics/${enc(topic)}/groups/${enc(group)}`);
    const samples = recordLag(topic, group, g.partitions || []);
    const to = h('select', { name: 'to' }, ['earliest', 'latest', 'offset', 'timestamp_ms'].map((t) => h('option', { value: t }, t)));
    const value = h('input', { name: 'value', type: 'number', min: 0, placeholder: 'offset or ms', style: 'width:12em' });
    // The outcome of the last reset stays shown across refreshes of this page.
    const result = h('div', { id: 'reset-result' }, flash ? flash.cloneNode(true) : null);
    const form = h('form', {
      class: 'inline', id: 'reset',
      onsubmit: async (ev) => {
        ev.preventDefault();
        let body;
        if (to.value === 'earliest' || to.value === 'latest') body = { to: to.value };
        else if (value.value === '') return result.replaceChildren(errorBox(`give the ${to.value} to reset to`));
        else body = { [to.value]: Number(value.value) };
        const what = body.to || `${to.value} ${value.value}`;
        if (!window.confirm(`Move every cursor of group ${group} on ${topic} to ${what}? Messages may be redelivered or skipped.`)) return;
        try {
          await api('POST', `/v1/topics/${enc(topic)}/groups/${enc(group)}/reset`, body);
          flash = h('span', { class: 'ok' }, `cursors moved to ${what} at ${new Date().toLocaleTimeString()}`);
          if (currentRender) await currentRender();
        } catch (e) { result.replaceChildren(errorBox(e)); }
      },
    }, h('label', {}, 'reset cursors to', to), h('label', {}, 'value', value), h('button', { type: 'submit', class: 'danger' }, 'Reset cursors'));
    return h('div', { id: 'page-group' },
      h('h1', {}, `Group ${group} on `, link(`#/topics/${enc(topic)}`, topic)),
      h('h2', {}, 'Partitions'),
      h('div', { class: 'card' }, table(['partition', 'ack floor', 'next offset', 'lag', 'lag trend (last minute)', 'in flight', 'dead lettered', 'expired'],
        (g.partitions || []).map((p) => ({
          attrs: { 'data-partition': p.partition },
          cells: [p.partition, num(p.ack_floor), num(p.next_offset), h('span', { class: Number(p.lag) ? 'lag' : '', 'data-lag': p.lag }, num(p.lag)),
            trendCell(lagTrend(samples, p.partition), Number(p.lag)), num(p.in_flight), num(p.dead_lettered), num(p.expired)],
        })), { id: 'group-partitions', numeric: [0, 1, 2, 3, 5, 6, 7] })),
      h('h2', {}, `Members (generation ${g.generation})`),
      h('div', { class: 'card' }, table(['member', 'client', 'partitions', 'in flight', 'in-flight bytes'],
        (g.members || []).map((m) => [m.member_id, m.client_name, (m.partitions || []).join(', '),
          `${num(m.in_flight)} / ${num(m.max_in_flight)}`, `${bytes(m.in_flight_bytes)} / ${bytes(m.max_in_flight_bytes)}`]), { id: 'members' })),
      h('h2', {}, 'Reset cursors'),
      h('div', { class: 'card' }, form, result));
  }

  // ---- dead letters -------------------------------------------------------------

  // Every topic some topic sends its dead letters to, with those sources.
  async function deadLettersPage() {
    const topics = (await get('/v1/topics')).topics || [];
    const sources = new Map();
    for (const t of topics) {
      const dlq = t.config && t.config.dead_letter_topic;
      if (dlq) sources.set(dlq, [...(sources.get(dlq) || []), t.name]);
    }
    const byName = new Map(topics.map((t) => [t.name, t]));
    return h('div', { id: 'page-dead-letters' },
      h('h1', {}, 'Dead letters'),
      h('p', { class: 'muted' }, 'Messages a group gave up on after max_deliveries, kept in the topic their topic names as dead_letter_topic, with why.'),
      h('div', { class: 'card' }, table(['dead letter topic', 'from topics', 'messages retained'],
        [...sources.entries()].map(([dlq, from]) => {
          const t = byName.get(dlq);
          return {
            attrs: { 'data-dlq': dlq },
            cells: [link(`#/dead-letters/${enc(dlq)}`, dlq), from.join(', '),
              t ? num(topicTotals(t).msgs) : h('span', { class: 'lag' }, 'missing: dead letters are dropped')],
          };
        }), { id: 'dead-letter-topics', numeric: [2] })));
  }

  // The headers the broker adds to a dead letter (core/broker/group_manager.cc).
  const DEAD_LETTER_HEADERS = {
    reason: 'sprawl-dead-letter-reason', deliveries: 'sprawl-deliveries', at: 'sprawl-dead-lettered-at-ms',
    topic: 'sprawl-source-topic', partition: 'sprawl-source-partition', offset: 'sprawl-source-offset', group: 'sprawl-group',
  };
  function utf8(b64) {
    try { return new TextDecoder('utf-8', { fatal: true }).decode(fromBase64(b64)); } catch (e) { return null; }
  }

  // The newest dead letters of one topic, each with why it died and a
  // re-publish action (after a confirmation) to its source topic and partition.
  async function deadLetterTopicPage(name) {
    const topic = await get(`/v1/topics/${enc(name)}`);
    const max = 50;
    const letters = [];
    for (const p of topic.partitions || []) {
      const from = Math.max(Number(p.next_offset) - max, Number(p.first_offset));
      const read = await get(`/v1/topics/${enc(name)}/partitions/${p.partition}/messages?offset=${from}&max=${max}`);
      for (const m of read.messages) letters.push({ partition: p.partition, ...m });
    }
    letters.sort((a, b) => Number(b.timestamp_ms) - Number(a.timestamp_ms));
    const rows = letters.slice(0, max).map((m) => {
      const headers = {};
      const original = {};
      for (const hd of m.headers) {
        const text = utf8(hd.value_base64);
        if (hd.name.startsWith('sprawl-')) headers[hd.name] = text;
        else if (text !== null) original[hd.name] = text;
      }
      const source = headers[DEAD_LETTER_HEADERS.topic];
      const sourcePartition = Number(headers[DEAD_LETTER_HEADERS.partition]);
      const value = utf8(m.value_base64);
      const key = m.key_base64 === null ? null : utf8(m.key_base64);
      const result = h('div', { class: 'republish-result' });
      // The HTTP API publishes text: a binary value or key goes back through a client.
      const binary = value === null || (m.key_base64 !== null && key === null) ||
        m.headers.some((hd) => !hd.name.startsWith('sprawl-') && utf8(hd.value_base64) === null);
      const republish = h('button', {
        type: 'button', class: 'secondary', disabled: !source || binary,
        title: binary ? 'binary value, key or header: re-publish it with a client library' : null,
        onclick: async () => {
          if (!window.confirm(`Publish this message again to ${source}, partition ${sourcePartition}? The group will receive it as a new message.`)) return;
          try {
            const message = { value, partition: sourcePartition };
            if (key !== null) message.key = key;
            if (Object.keys(original).length) message.headers = original;
            const r = await api('POST', `/v1/topics/${enc(source)}/messages`, { messages: [message] });
            const res = r.results[0];
            if (res.error) throw new Error(`${res.error.code}: ${res.error.message}`);
            result.replaceChildren(h('span', { class: 'ok' }, `re-published to ${source} partition ${res.partition} at offset ${res.offset}`));
          } catch (e) { result.replaceChildren(errorBox(e)); }
        },
      }, 'Re-publish');
      return {
        attrs: { 'data-letter': `${m.partition}/${m.offset}` },
        cells: [`${m.partition}/${m.offset}`, time(Number(headers[DEAD_LETTER_HEADERS.at]) || m.timestamp_ms),
          source ? link(`#/messages/${enc(source)}?partition=${sourcePartition}&offset=${enc(headers[DEAD_LETTER_HEADERS.offset] || '')}`,
            `${source} ${sourcePartition}/${headers[DEAD_LETTER_HEADERS.offset]}`) : '(not a dead letter)',
          headers[DEAD_LETTER_HEADERS.group] || '', headers[DEAD_LETTER_HEADERS.deliveries] || '',
          h('span', { 'data-reason': '' }, headers[DEAD_LETTER_HEADERS.reason] || ''),
          h('pre', {}, key === null ? '' : key), h('pre', {}, decode(m.value_base64, 'auto')[0]),
          h('div', {}, republish, result)],
      };
    });
    return h('div', { id: 'page-dead-letter-topic' },
      h('h1', {}, 'Dead letters in ', link(`#/topics/${enc(name)}`, name)),
      h('p', { class: 'muted' }, `The newest ${max} over all partitions, newest first. Re-publishing appends a copy to the source partition (with the original key and headers); the dead letter stays here.`),
      h('div', { class: 'card' }, table(['partition/offset', 'dead lettered at (UTC)', 'from', 'group', 'deliveries', 'why', 'key', 'value', ''],
        rows, { id: 'dead-letters', numeric: [4] })));
  }

  // ---- live charts from /metrics ---------------------------------------------

  // Sums every sample of each family in a Prometheus text exposition (labels
  // summed away): {name: value}.
  function parseMetrics(text) {
    const out = {};
    for (const line of text.split('\n')) {
      if (!line || line[0] === '#') continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      const v = Number(m[3]);
      if (Number.isFinite(v)) out[m[1]] = (out[m[1]] || 0) + v;
    }
    return out;
  }

  const CHARTS = [
    { title: 'Publish rate', unit: 'records/s', series: [['published', 'sprawl_broker_published_records_total', 'rate']] },
    { title: 'Consume rate', unit: 'messages/s', series: [['delivered', 'sprawl_broker_group_deliveries_total', 'rate'], ['acked', 'sprawl_broker_group_acks_total', 'rate'], ['redelivered', 'sprawl_broker_group_redeliveries_total', 'rate']] },
    { title: 'Publish bytes', unit: 'bytes/s', series: [['published', 'sprawl_broker_published_bytes_total', 'rate']] },
    { title: 'Publish latency (mean)', unit: 'ms', series: [['mean', 'sprawl_broker_publish_seconds', 'mean']] },
    { title: 'Consumer lag (all groups)', unit: 'messages', series: [['lag', 'sprawl_group_lag', 'gauge'], ['in flight', 'sprawl_group_in_flight', 'gauge']] },
    { title: 'Dead letters and rejections', unit: '/s', series: [['dead lettered', 'sprawl_broker_dead_lettered_total', 'rate'], ['rejected', 'sprawl_broker_publish_rejected_total', 'rate']] },
  ];
  const COLORS = ['#2456c7', '#067647', '#b54708', '#b42318'];
  const WINDOW_S = 300;
  const POLL_MS = 2000;

  function chartsPage() {
    const root = h('div', { id: 'page-charts' }, h('h1', {}, 'Live rates'),
      h('p', { class: 'muted' }, `This node's /metrics every ${POLL_MS / 1000} s, the last ${WINDOW_S / 60} minutes (kept while this page is open).`));
    const grid = h('div', { class: 'charts' });
    root.append(grid);
    main.replaceChildren(root);
    const plots = CHARTS.map((c) => {
      const box = h('div', { class: 'card', 'data-chart': c.title });
      grid.append(box);
      const width = Math.max(280, Math.min(box.clientWidth - 24, 1200));
      const opts = {
        title: `${c.title} (${c.unit})`, width, height: 220,
        series: [{}].concat(c.series.map(([label], i) => ({ label, stroke: COLORS[i], width: 2 }))),
        axes: [{}, { size: 60 }],
        // Always the last WINDOW_S seconds, also while there are few points.
        scales: { x: { time: true, range: (u, min, max) => [max - WINDOW_S, max] } },
      };
      return { chart: c, box, plot: new uPlot(opts, [[], ...c.series.map(() => [])], box), data: [[], ...c.series.map(() => [])] };
    });
    let last = null;
    const poll = async () => {
      let now;
      let m;
      try {
        m = parseMetrics(await get('/metrics'));
        now = Date.now() / 1000;
      } catch (e) { return; }
      if (last) {
        const dt = now - last.t;
        for (const p of plots) {
          p.data[0].push(now);
          p.chart.series.forEach(([, name, kind], i) => {
            let v;
            if (kind === 'rate') v = Math.max(0, ((m[name] || 0) - (last.m[name] || 0)) / dt);
            else if (kind === 'gauge') v = m[name] || 0;
            else {
              const dn = (m[`${name}_count`] || 0) - (last.m[`${name}_count`] || 0);
              v = dn > 0 ? (((m[`${name}_sum`] || 0) - (last.m[`${name}_sum`] || 0)) / dn) * 1000 : null;
            }
            p.data[i + 1].push(v);
          });
          while (p.data[0].length && p.data[0][0] < now - WINDOW_S) p.data.forEach((s) => s.shift());
          p.plot.setData(p.data);
          // What the chart shows, readable without the canvas (tests, scripts).
          p.box.dataset.points = p.data[0].length;
          p.box.dataset.last = p.data[1][p.data[1].length - 1] ?? '';
        }
      }
      last = { t: now, m };
    };
    poll();
    const timer = setInterval(poll, POLL_MS);
    const onResize = () => plots.forEach((p) => p.plot.setSize({ width: Math.max(280, Math.min(p.plot.root.parentNode.clientWidth - 24, 1200)), height: 220 }));
    window.addEventListener('resize', onResize);
    currentRender = null;
    return () => { clearInterval(timer); window.removeEventListener('resize', onResize); plots.forEach((p) => p.plot.destroy()); };
  }

  // ---- routing ---------------------------------------------------------------

  function route() {
    if (refreshTimer) clearInterval(refreshTimer);
    refreshTimer = null;
    if (pageCleanup) pageCleanup();
    flash = null;
    pageCleanup = null;
    const hash = location.hash.replace(/^#\/?/, '') || 'cluster';
    const [pathPart, queryPart] = hash.split('?');
    const parts = pathPart.split('/').map(decodeURIComponent);
    const query = new URLSearchParams(queryPart || '');
    for (const a of document.querySelectorAll('nav a')) {
      a.classList.toggle('active', a.dataset.page === (parts[0] === 'messages' ? 'topics' : parts[0]));
    }
    switch (parts[0]) {
      case 'topics':
        return parts[1] ? show(() => topicPage(parts[1]), true) : show(topicsPage, true);
      case 'messages':
        return show(() => messagesPage(parts[1], query), false);
      case 'groups':
        return parts[2] ? show(() => groupPage(parts[1], parts[2]), true) : show(() => groupsPage(query), true);
      case 'dead-letters':
        return parts[1] ? show(() => deadLetterTopicPage(parts[1]), false) : show(deadLettersPage, true);
      case 'charts':
        pageCleanup = chartsPage();
        return undefined;
      default:
        return show(clusterPage, true);
    }
  }

  window.addEventListener('hashchange', route);
  get('/v1/cluster').then((c) => {
    document.getElementById('node').textContent = `node ${c.node_id}`;
  }).catch(() => {});
  route();
}());
