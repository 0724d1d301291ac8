// run.mjs - browser tests of the web viewer: Playwright (playwright-core)
// driving Debian's chromium, headless, against a real traild that
// tests/integration/web_viewer.sh started and filled with the generator.
// Counts the page shows are checked against the test's own brute force,
// tests/integration/oracle.py, over the generated NDJSON that was imported
// and the records the store holds past it (traild's own, the setup's, the
// events the tests post), read raw with web_viewer.sh's store reader: never
// against trail's query engine, which traild uses too. Screenshots of each
// view go to $WEB_ARTIFACTS.
//
// Environment: TRAIL_URL (traild's HTTP base), TRAIL_TOKEN (an admin token
// when traild asks for one: the pages start signed in with it, except the
// login test), TRAIL_STORE (the store traild writes), TRAIL_ORACLE
// (oracle.py), TRAIL_EVENTS (the generated NDJSON imported into the store),
// TRAIL_CATALOGS (`trail events --format json` files, colon-separated),
// TRAIL_DUMP (a program printing a store's records as NDJSON), TRAIL_CLI (the trail
// command), TRAIL_PUBKEY (traild's checkpoint public key, PEM), WEB_ARTIFACTS (where screenshots go), CHROMIUM
// (default /usr/bin/chromium), WEB_TEST_FILTER (a substring: run only the
// tests whose name has it), WEB_TEST_TAG (run only the tests with that tag:
// `clock`, the ones whose outcome depends on the clock; web_viewer.sh sets it
// under a moved clock), TRAIL_TEST_NOW (the instant the data was made
// against, RFC 3339), TRAIL_CLOCK_SHIFT_MS (how far TRAIL_TEST_NOW moved that
// instant from the clock; 0 by default), TRAIL_DATA_START and TRAIL_DATA_END
// (the whole hours the generated events cover).
//
// The pages' clock is pinned (Playwright's clock API) to this process's clock
// plus TRAIL_CLOCK_SHIFT_MS, so that it agrees with the clock the data was
// made against, also when tests/at_time.sh moves traild's clock with
// libfaketime. This process and chromium run on the real clock: Playwright
// keeps the page clock running by comparing this process's clock with the
// browser's, so with only one of them moved the pages would be off by the
// move. web_viewer.sh starts node without libfaketime; so must any caller.
//
// Prints one line per test and ends with "N passed, N failed"; exits 1 on
// any failure. Not for: unit tests of the JavaScript (the browser is the
// unit here).

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';

const BASE = process.env.TRAIL_URL || 'http://127.0.0.1:8080';
const STORE = process.env.TRAIL_STORE;
const ORACLE = process.env.TRAIL_ORACLE || '../integration/oracle.py';
const EVENTS = process.env.TRAIL_EVENTS;
const CATALOGS = (process.env.TRAIL_CATALOGS || '').split(':').filter(Boolean);
const DUMP = process.env.TRAIL_DUMP;
const ART = process.env.WEB_ARTIFACTS || 'web-artifacts';
const FILTER = process.env.WEB_TEST_FILTER || '';
const TAG = process.env.WEB_TEST_TAG || '';
const TOKEN = process.env.TRAIL_TOKEN || '';
const AUTH = TOKEN ? { Authorization: 'Bearer ' + TOKEN } : {};
const TEST_NOW = process.env.TRAIL_TEST_NOW ? Date.parse(process.env.TRAIL_TEST_NOW) : Date.now();
const CLOCK_SHIFT_MS = Number(process.env.TRAIL_CLOCK_SHIFT_MS || 0);
const DATA_START = process.env.TRAIL_DATA_START || '';
const DATA_END = process.env.TRAIL_DATA_END || '';

/** api - fetch from traild with the token. */
function api(path, opts = {}) {
  return fetch(BASE + path, {
    ...opts,
    headers: { ...AUTH, ...(opts.headers || {}) },
  });
}
const TEST_TIMEOUT_MS = 45000;
mkdirSync(ART, { recursive: true });

// ---- helpers ----

/** oracleCount - what oracle.py counts with ARGS (trail count's options) over the
 * generated events and the store's records past them, as {total, rows}. */
function oracleCount(args) {
  const tmp = mkdtempSync(tmpdir() + '/trail-oracle-');
  try {
    // the records the store holds now, read raw; the oracle keeps those past the generated ones
    writeFileSync(tmp + '/dump.ndjson', execFileSync(DUMP, [STORE], { maxBuffer: 1 << 30 }));
    const cats = CATALOGS.flatMap((c) => ['--catalog', c]);
    const out = execFileSync(
      'python3',
      [ORACLE, ...cats, '--after', tmp + '/dump.ndjson', 'count', ...args, EVENTS],
      { encoding: 'utf8', maxBuffer: 1 << 28 },
    );
    return JSON.parse(out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** oracleTotal - the number of events matching `trail count` options ARGS, by the oracle. */
function oracleTotal(args) {
  return oracleCount(args).total;
}

/** oracleCountBy - oracle's rows of a count by KEY as [{key, count}], largest first. */
function oracleCountBy(key, extra = []) {
  return oracleCount(['--by', key, ...extra]).rows.map((r) => ({ key: r.keys[0], count: r.count }));
}

async function post(events) {
  const res = await api('/v1/events', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n') + '\n',
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.results.map((r) => r.seq);
}

async function shownTotal(page) {
  await page.waitForFunction(
    () =>
      document.getElementById('total').dataset.count !== '' &&
      document.getElementById('total').dataset.count !== undefined,
    null,
    { timeout: 20000 },
  );
  return Number(await page.locator('#total').getAttribute('data-count'));
}

async function waitRows(page) {
  await page.waitForFunction(
    () => document.querySelectorAll('#rows tr').length > 0 || !document.getElementById('list-end').hidden,
    null,
    { timeout: 20000 },
  );
}

async function shot(page, name) {
  await page.screenshot({ path: `${ART}/${name}.png` });
}

/** settle - wait for the search the last action started (its first page and counts). */
async function settle(page) {
  await page.waitForFunction(() => !document.body.dataset.searching, null, {
    timeout: 20000,
  });
  await waitRows(page);
}

// ---- the tests ----

// needs: 'query' (the search routes), 'login' (starts signed out), 'clock'
// (a tag: what the test asserts depends on the clock: the browser's, through
// relative times, the histogram's range and units and "ago", or traild's,
// through the events it stamps during the run; under a moved clock
// web_viewer.sh runs only these, WEB_TEST_TAG=clock)
const tests = [];
const test = (name, fn, needs = ['query'], ctx = {}) => tests.push({ name, fn, needs, ctx });

let topUser = '';

test('search by user: the count equals the oracle\'s', async (page) => {
  const users = oracleCountBy('duser');
  assert.ok(users.length > 0, 'the generator made events with users');
  topUser = users.find((u) => u.key).key;
  await page.goto(BASE + '/?where=' + encodeURIComponent('duser=' + topUser));
  await settle(page);
  const shown = await shownTotal(page);
  assert.equal(shown, oracleTotal(['--where', 'duser=' + topUser]));
  // the chip shows the condition and every row is that user's
  assert.equal(await page.locator('.chip').first().getAttribute('title'), 'duser=' + topUser);
  const cells = await page.locator('#rows td.c-user').allTextContents();
  assert.ok(cells.length > 0);
  for (const c of cells) assert.equal(c, topUser);
  await shot(page, 'search-user');
});

test('search by event glob with completion: the count equals the oracle\'s', async (page) => {
  await page.goto(BASE + '/');
  await settle(page);
  const input = page.locator('#q-event');
  await input.click();
  await input.pressSequentially('auth_entr');
  const family = page.locator('#event-suggest li', {
    hasText: 'auth_entrypoints_*',
  });
  await family.waitFor();
  await shot(page, 'event-completion');
  await family.click();
  await page.waitForURL(/event=auth_entrypoints_/);
  await settle(page);
  const url = new URL(page.url());
  assert.deepEqual(url.searchParams.getAll('event'), ['auth_entrypoints_*']);
  const shown = await shownTotal(page);
  assert.equal(shown, oracleTotal(['--event', 'auth_entrypoints_*']));
  const ids = await page.locator('#rows td.c-event .evid').allTextContents();
  for (const id of ids) assert.match(id, /^auth_entrypoints_/);
});

test('search by severity: the count equals the oracle\'s', async (page) => {
  await page.goto(BASE + '/');
  await settle(page);
  await page.selectOption('#q-sev-min', { label: 'WARNING' });
  await page.waitForURL(/severity=/);
  await settle(page);
  assert.equal(new URL(page.url()).searchParams.get('severity'), '>=WARNING');
  const shown = await shownTotal(page);
  assert.equal(shown, oracleTotal(['--severity', '>=WARNING']));
  assert.equal(Number(await page.locator('#hist').getAttribute('data-sum')), shown);
  const sevs = await page.locator('#rows td.c-sev').allTextContents();
  assert.ok(sevs.length > 0);
  for (const s of sevs) assert.ok(['WARNING', 'ERROR', 'CRITICAL', 'ALERT', 'EMERGENCY'].includes(s), s);
  await shot(page, 'search-severity');
}, ['query', 'clock']);

test('text and combined filters are bookmarkable', async (page) => {
  const qs = new URLSearchParams([
    ['event', 'auth_*'],
    ['severity', 'NOTICE..ERROR'],
    ['text', topUser.split('.').join(' ')],
  ]);
  await page.goto(BASE + '/?' + qs);
  await settle(page);
  assert.equal(await page.inputValue('#q-event'), 'auth_*');
  assert.equal(await page.inputValue('#q-text'), qs.get('text'));
  assert.equal(await page.inputValue('#q-sev-min'), '4');
  assert.equal(await page.inputValue('#q-sev-max'), '7');
  const shown = await shownTotal(page);
  assert.equal(shown, oracleTotal(['--event', 'auth_*', '--severity', 'NOTICE..ERROR', '--text', qs.get('text')]));
});

test('paging to the end through cursors', async (page) => {
  // a filter with a few pages: the least busy event that has more than 250
  const rows = oracleCountBy('event').filter((r) => r.count > 250 && r.count < 900);
  assert.ok(rows.length, 'an event with 250..900 occurrences');
  const { key, count } = rows[rows.length - 1];
  const pages = [];
  // the search's own pages, not the alerts it reads to mark cited rows (cited.js)
  page.on('request', (r) => {
    const u = r.url();
    if (u.includes('/v1/events?') && !u.includes('event=trail_alert')) pages.push(u);
  });
  await page.goto(BASE + '/?event=' + key);
  await settle(page);
  assert.equal(await shownTotal(page), count);
  for (let i = 0; i < 40; i++) {
    if (await page.locator('#list-end').isVisible()) break;
    await page.locator('#results').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForTimeout(150);
  }
  await page.locator('#list-end').waitFor();
  const seqs = await page.locator('#rows tr').evaluateAll((trs) => trs.map((t) => Number(t.dataset.seq)));
  assert.equal(seqs.length, count, 'every event once');
  assert.equal(new Set(seqs).size, count, 'no event twice');
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] < seqs[i - 1], 'newest first');
  assert.ok(pages.length >= Math.ceil(count / 100), `${pages.length} page requests`);
  assert.ok(
    pages.slice(1).every((u) => u.includes('cursor=')),
    'later pages use a cursor',
  );
  assert.match(await page.locator('#list-end').textContent(), new RegExp(`${count.toLocaleString('en-US')} events`));
  await shot(page, 'paged-to-end');
});

test('order: received (seq) and event time are both offered; the TIME column follows event time', async (page) => {
  // "imported" events: dated inside the generated span, out of time order,
  // and stored after it (higher seqs than every generated event)
  assert.ok(DATA_START, 'TRAIL_DATA_START is set');
  const t0 = Date.parse(DATA_START);
  const hours = [2, 0, 3, 1];
  const seqs = await post(
    hours.map((h, i) => ({
      id: 'acme_badge_swiped',
      time: new Date(t0 + h * 3600e3 + 1000).toISOString(),
      attrs: { duser: 'order.user', door: 'O' + i },
    })),
  );
  const times = async () =>
    page.locator('#rows td.c-time').evaluateAll((tds) => tds.map((t) => t.title.split(' ')[0]));
  const byTime = (a, b) => (Date.parse(a) < Date.parse(b) ? -1 : Date.parse(a) > Date.parse(b) ? 1 : 0);
  await page.goto(BASE + '/?where=' + encodeURIComponent('duser=order.user'));
  await settle(page);
  const labels = await page.locator('#q-order option').allTextContents();
  assert.deepEqual(labels, [
    'Newest received first',
    'Oldest received first',
    'Newest event time first',
    'Oldest event time first',
  ]);
  // received first: by seq, so the times jump
  const bySeq = await page.locator('#rows tr').evaluateAll((trs) => trs.map((t) => Number(t.dataset.seq)));
  assert.deepEqual(bySeq, [...seqs].reverse());
  const received = await times();
  assert.notDeepEqual(received, [...received].sort(byTime).reverse(), 'the posted times are out of order');
  await page.selectOption('#q-order', { label: 'Newest event time first' });
  await page.waitForURL(/order=-time/);
  await settle(page);
  const newest = await times();
  assert.equal(newest.length, hours.length);
  assert.deepEqual(newest, [...received].sort(byTime).reverse());
  await page.selectOption('#q-order', { label: 'Oldest event time first' });
  await page.waitForURL(/order=time/);
  await settle(page);
  assert.deepEqual(await times(), [...received].sort(byTime));
  // the whole store, newest event time first, over a page boundary: the
  // generated events and the posted ones merged by time
  await page.goto(BASE + '/?order=-time');
  await settle(page);
  assert.equal(await page.inputValue('#q-order'), '-time');
  await page.locator('#results').evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await page.waitForFunction(() => document.querySelectorAll('#rows tr').length > 100, null, { timeout: 20000 });
  const all = await times();
  for (let i = 1; i < all.length; i++)
    assert.ok(byTime(all[i - 1], all[i]) >= 0, `row ${i}: ${all[i]} after ${all[i - 1]}`);
  await shot(page, 'order-event-time');
});

test(
  'the browser runs at the time the data was made against',
  async (page) => {
    await page.goto(BASE + '/?view=catalog');
    const now = await page.evaluate(() => Date.now());
    const late = (now - TEST_NOW) / 1000;
    assert.ok(
      late >= 0 && late < 900,
      `the browser's clock ${new Date(now).toISOString()}, the test's ${new Date(TEST_NOW).toISOString()}`,
    );
  },
  ['clock'],
);

test('histogram: dragging selects a time range', async (page) => {
  // the span the generated events cover (about three days: hourly buckets),
  // as absolute times so that the bars do not depend on the clock
  assert.ok(DATA_START && DATA_END, 'TRAIL_DATA_START and TRAIL_DATA_END are set');
  await page.goto(BASE + '/?' + new URLSearchParams({ since: DATA_START, until: DATA_END }));
  await settle(page);
  const box = await page.locator('#hist canvas').boundingBox();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.4, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.7, y, { steps: 5 });
  await page.mouse.up();
  await page.waitForURL(/until=/);
  await settle(page);
  const url = new URL(page.url());
  const since = url.searchParams.get('since');
  const until = url.searchParams.get('until');
  assert.match(since, /^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/);
  assert.match(until, /^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/);
  assert.equal(await page.inputValue('#q-preset'), 'custom');
  const shown = await shownTotal(page);
  assert.ok(shown > 0, 'the range holds events');
  assert.equal(shown, oracleTotal(['--since', since, '--until', until]));
  // the bars add up to the total
  assert.equal(Number(await page.locator('#hist').getAttribute('data-sum')), shown);
  await shot(page, 'histogram-range');
}, ['query', 'clock']);

test('detail panel: attributes, CEF, JSON and a verified proof', async (page) => {
  await page.goto(BASE + '/?event=auth_*');
  await settle(page);
  const row = page.locator('#rows tr').nth(2);
  const seq = Number(await row.getAttribute('data-seq'));
  await row.click();
  await page.waitForURL(new RegExp('seq=' + seq));
  await page.locator('#proof-status').waitFor();
  await page.waitForFunction(() => /verified|covered/.test(document.getElementById('proof-status').textContent));
  await page.waitForFunction(() => document.getElementById('proof-status').textContent !== 'not yet covered', null, {
    timeout: 20000,
  });
  assert.equal(await page.locator('#proof-status').textContent(), 'verified');
  assert.equal(await page.locator('#proof-root').textContent(), await page.locator('#checkpoint-root').textContent());
  const cp = await (await api('/v1/checkpoint')).json();
  assert.match(await page.locator('#checkpoint-root').textContent(), /^[0-9a-f]{64}$/);
  assert.ok(cp.tree_size >= seq);
  const json = JSON.parse(await page.locator('#detail-json').textContent());
  assert.equal(json.seq, seq);
  assert.match(
    await page.locator('#detail-cef').textContent(),
    new RegExp('^CEF:0\\|[^|]*\\|[^|]*\\|[^|]*\\|' + json.id + '\\|'),
  );
  const attrKeys = await page.locator('#detail-attrs th').allTextContents();
  for (const k of Object.keys(json.attrs)) assert.ok(attrKeys.includes(k), 'attribute ' + k + ' shown');
  await shot(page, 'detail-verified');
});

test(
  'detail panel: a relayed event shows its hops; one found in ClickHouse its origin, and its proof from the origin or "proof unavailable"',
  async (page) => {
    // traild's answers as a centre with a ClickHouse tier gives them (query_tiered.sh and
    // relay.sh test traild's side): two events of the first page given a via list and a source
    const ORIGIN = 'tiered.example/trail';
    let seqs = [];
    await page.route('**/v1/events?*', async (route) => {
      const res = await route.fetch();
      const a = await res.json();
      if (a.events && a.events.length > 3 && !seqs.length) {
        const [r, c] = [a.events[2], a.events[3]];
        r.via = [
          { origin: 'edge-a.example/trail', seq: 41, received: '2026-11-01T00:00:00.000000Z', input: 'http', peer: '192.0.2.7:51514', principal: 'token idp-a' },
        ];
        c.source = { tier: 'clickhouse', origin: ORIGIN, store_id: '0'.repeat(32), seq: c.seq, proof: `/v1/proof?seq=${c.seq}&origin=${encodeURIComponent(ORIGIN)}` };
        seqs = [r.seq, c.seq];
      }
      await route.fulfill({ response: res, body: JSON.stringify(a) });
    });
    let originUp = true;
    let originKey = null; // what traild's [origins] gives for the origin (null: no key there)
    const asked = [];
    await page.route('**/v1/proof?*', async (route) => {
      const url = new URL(route.request().url());
      if (!url.searchParams.get('origin')) return route.continue();
      asked.push(url.searchParams.get('origin'));
      if (!originUp)
        return route.fulfill({
          status: 502,
          contentType: 'application/json',
          body: JSON.stringify({
            error: `proof unavailable: the traild of origin ${ORIGIN} (http://127.0.0.1:9) cannot be reached: connection refused`,
            proof_unavailable: true,
          }),
        });
      // the origin's traild holds the same records here: its answer is this traild's own,
      // with the origin's key as traild adds it from [origins]
      url.searchParams.delete('origin');
      const res = await route.fetch({ url: url.toString() });
      const a = await res.json();
      if (originKey) a.origin_verifier_key = originKey;
      await route.fulfill({ response: res, body: JSON.stringify(a) });
    });
    const served = (await (await fetch(BASE + '/v1/checkpoint', { headers: AUTH })).json()).verifier_key;
    assert.ok(served, 'traild serves its verifier key');
    await page.goto(BASE + '/?event=auth_*');
    await settle(page);
    assert.equal(seqs.length, 2, 'the page listed events to mark');
    const cell = (k) => page.locator('#detail-attrs tr', { has: page.locator('th', { hasText: new RegExp('^' + k + '$') }) }).locator('td');
    await page.locator(`#rows tr[data-seq="${seqs[0]}"]`).click();
    await page.waitForURL(new RegExp('seq=' + seqs[0]));
    assert.equal(await cell('via').textContent(), 'edge-a.example/trail #41 http@192.0.2.7:51514 token idp-a');
    await shot(page, 'detail-via');
    await page.keyboard.press('Escape');
    await page.locator('#detail').waitFor({ state: 'hidden' });
    await page.locator(`#rows tr[data-seq="${seqs[1]}"]`).click();
    await page.waitForURL(new RegExp('seq=' + seqs[1]));
    assert.match(await cell('stored at').textContent(), new RegExp(`^${ORIGIN} #${seqs[1]} \\(found in ClickHouse`));
    const status = async () => {
      await page.waitForFunction(() => /verified|unavailable|no proof/.test((document.getElementById('proof-status') || {}).textContent || ''), null, { timeout: 20000 });
      return page.locator('#proof-status').textContent();
    };
    // no key for the origin: the inclusion holds, the signature is not checked with this server's key
    assert.equal(await status(), 'not verified');
    assert.match(await page.locator('#proof').textContent(), /no verifier key for the origin tiered\.example\/trail/);
    assert.deepEqual(asked, [ORIGIN]);
    const reopen = async () => {
      await page.keyboard.press('Escape');
      await page.locator('#detail').waitFor({ state: 'hidden' });
      await page.locator(`#rows tr[data-seq="${seqs[1]}"]`).click();
    };
    // the key [origins] names, which signed the checkpoint: verified, and said with which key
    originKey = served;
    await reopen();
    assert.equal(await status(), 'verified');
    assert.match(await page.locator('#proof').textContent(), /the origin's key named in this server's \[origins\]/);
    // another key under that name: not verified
    const [name, id] = served.split('+');
    originKey = `${name}+${id}+${Buffer.alloc(33, 1).toString('base64')}`;
    await reopen();
    assert.equal(await status(), 'not verified');
    await page.keyboard.press('Escape');
    await page.locator('#detail').waitFor({ state: 'hidden' });
    originUp = false;
    await page.locator(`#rows tr[data-seq="${seqs[1]}"]`).click();
    await page.waitForFunction(() => /unavailable/.test((document.getElementById('proof-status') || {}).textContent || ''), null, { timeout: 20000 });
    assert.equal(await page.locator('#proof-status').textContent(), 'proof unavailable');
    assert.match(await page.locator('#proof').textContent(), /cannot be reached/);
    await shot(page, 'detail-proof-unavailable');
  },
);

test('detail panel: the evidence bundle downloads and trail proof check accepts it', async (page) => {
  const seq = 7;
  await page.goto(BASE + '/?seq=' + seq);
  await page.waitForFunction(() => /verified/.test((document.getElementById('proof-status') || {}).textContent || ''), null, {
    timeout: 20000,
  });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#bundle-download')]);
  assert.equal(download.suggestedFilename(), `trail-bundle-${seq}.txt`);
  const file = await download.path();
  // checked offline by the CLI, with the log's key and nothing else
  const out = execFileSync(process.env.TRAIL_CLI, ['proof', 'check', file, '--pubkey', process.env.TRAIL_PUBKEY], {
    encoding: 'utf8',
  });
  assert.match(out, /^signature ok: /m);
  assert.match(out, /^inclusion ok: 1 events are records of /m);
  const printed = JSON.parse(out.trim().split('\n').pop());
  const p = await (await api('/v1/proof?seq=' + seq)).json();
  assert.deepEqual(printed, p.event, 'the event printed is the one traild holds');
});

for (const [what, tamper] of [
  ['a path hash', (p) => (p.proof.path[0] = flipHex(p.proof.path[0]))],
  ['the record', (p) => (p.record = flipBase64(p.record))],
  ['the checkpoint root', (p) => (p.checkpoint.root = flipHex(p.checkpoint.root))],
]) {
  test(
    `detail panel: a proof with ${what} changed is not verified`,
    async (page) => {
      await page.route('**/v1/proof?*', async (route) => {
        const res = await route.fetch();
        const p = await res.json();
        tamper(p);
        await route.fulfill({ response: res, body: JSON.stringify(p) });
      });
      // a bookmarked event: the detail opens from the URL
      await page.goto(BASE + '/?seq=1234');
      await page.waitForFunction(
        () => /verified/.test((document.getElementById('proof-status') || {}).textContent || ''),
        null,
        { timeout: 20000 },
      );
      assert.equal(await page.locator('#proof-status').textContent(), 'not verified');
      assert.ok((await page.locator('#proof-reason').textContent()).length > 0);
      if (what === 'a path hash') await shot(page, 'detail-tampered');
    },
    [],
  );
}

test(
  'a bookmarked event (?seq=N) opens with its proof verified',
  async (page) => {
    await page.goto(BASE + '/?seq=1234');
    await page.waitForFunction(
      () => /verified/.test((document.getElementById('proof-status') || {}).textContent || ''),
      null,
      { timeout: 20000 },
    );
    assert.equal(await page.locator('#proof-status').textContent(), 'verified');
    assert.equal(await page.locator('#proof-root').textContent(), await page.locator('#checkpoint-root').textContent());
    assert.equal(JSON.parse(await page.locator('#detail-json').textContent()).seq, 1234);
  },
  [],
);

// ---- the checkpoint's signature, checked in the page (web/note.js) ----

/** waitProof - open ?seq=N (with more query) and wait until its proof is judged. */
async function waitProof(page, query) {
  await page.goto(BASE + '/?' + query);
  await page.waitForFunction(
    () => /verified/.test((document.getElementById('proof-status') || {}).textContent || ''),
    null,
    { timeout: 20000 },
  );
}

/**
 * A C2SP verifier key NAME+KEYID+BASE64(0x01 || pub) of a new Ed25519 key: not the store's.
 * One whose base64 holds a '+', the separator of the key's fields (the page once split on
 * every '+' and took such a key, one store's key in four, for no key at all).
 */
function otherVerifierKey(name) {
  for (;;) {
    const vkey = newVerifierKey(name);
    if (vkey.split('+').length > 3) return vkey;
  }
}

function newVerifierKey(name) {
  const { publicKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  const id = createHash('sha256')
    .update(Buffer.concat([Buffer.from(name + '\n'), Buffer.from([1]), pub]))
    .digest()
    .subarray(0, 4)
    .toString('hex');
  return `${name}+${id}+${Buffer.concat([Buffer.from([1]), pub]).toString('base64')}`;
}

test(
  'detail panel: the checkpoint signature is verified with the served key, then a pinned one',
  async (page) => {
    await waitProof(page, 'seq=1234');
    assert.equal(
      await page.locator('#proof-status').textContent(),
      'verified',
      (await page.locator('.proof-steps li').allTextContents()).join(' | '),
    );
    const steps = await page.locator('.proof-steps li').allTextContents();
    const sig = steps.find((s) => s.startsWith('signature'));
    assert.ok(sig, steps.join(' | '));
    assert.match(sig, /Ed25519 signature of .* verified with the key this server serves/);
    // the key pinned by URL (kept in localStorage): the same key verifies, "pinned"
    const cp = await (await api('/v1/checkpoint')).json();
    await waitProof(page, 'seq=1234&vkey=' + encodeURIComponent(cp.verifier_key));
    assert.equal(
      await page.locator('#proof-status').textContent(),
      'verified',
      (await page.locator('.proof-steps li').allTextContents()).join(' | '),
    );
    assert.match(
      (await page.locator('.proof-steps li').allTextContents()).find((s) => s.startsWith('signature')),
      /verified with the pinned key/,
    );
    assert.equal(await page.evaluate(() => localStorage.getItem('trail.vkey')), cp.verifier_key);
    // a key of the same name that did not sign: not verified, although the server's key did
    await waitProof(page, 'seq=1234&vkey=' + encodeURIComponent(otherVerifierKey(cp.origin)));
    assert.equal(await page.locator('#proof-status').textContent(), 'not verified');
    assert.match(await page.locator('#proof-reason').textContent(), /^signature: signed by .*not by the verifier key/);
  },
  [],
);

for (const [what, tamper, reason] of [
  // one base64 digit of the signature (the line's last field)
  [
    'signature',
    (p) => {
      const f = p.checkpoint.text.split(' ');
      f[7] = flipBase64(f[7]);
      p.checkpoint.text = f.join(' ');
    },
    /^signature: the Ed25519 signature does not verify/,
  ],
  // the time in the signed line (the seal's time is signed)
  [
    'time',
    (p) => {
      const f = p.checkpoint.text.split(' ');
      f[5] = String(BigInt(f[5]) - 3600000000n);
      p.checkpoint.text = f.join(' ');
    },
    /^signature: the Ed25519 signature does not verify/,
  ],
]) {
  test(
    `detail panel: a checkpoint with its ${what} changed is not verified`,
    async (page) => {
      await page.route('**/v1/proof?*', async (route) => {
        const res = await route.fetch();
        const p = await res.json();
        tamper(p);
        await route.fulfill({ response: res, body: JSON.stringify(p) });
      });
      await waitProof(page, 'seq=1234');
      assert.equal(await page.locator('#proof-status').textContent(), 'not verified');
      assert.match(await page.locator('#proof-reason').textContent(), reason);
      if (what === 'signature') await shot(page, 'detail-bad-signature');
    },
    [],
  );
}

test(
  'integrity: the checkpoint signature verified, pinned, and a tampered one not',
  async (page) => {
    await page.goto(BASE + '/?view=integrity');
    await page.locator('#signature-badge').waitFor();
    assert.equal(await page.locator('#signature-badge').textContent(), 'verified');
    const cp = await (await api('/v1/checkpoint')).json();
    assert.equal(await page.locator('#verifier-key').textContent(), cp.verifier_key);
    await page.locator('#pin-key').click();
    await page.waitForFunction(() => /forget/.test(document.getElementById('pin-key').textContent));
    assert.equal(await page.evaluate(() => localStorage.getItem('trail.vkey')), cp.verifier_key);
    assert.match(await page.locator('#signature-detail').textContent(), /with the pinned key/);
    await page.route('**/v1/checkpoint', async (route) => {
      const res = await route.fetch();
      const c = await res.json();
      const f = c.text.split(' ');
      f[7] = flipBase64(f[7]);
      c.text = f.join(' ');
      await route.fulfill({ response: res, body: JSON.stringify(c) });
    });
    await page.reload();
    await page.locator('#signature-badge').waitFor();
    assert.equal(await page.locator('#signature-badge').textContent(), 'not verified');
  },
  [],
);

function flipHex(h) {
  const c = h[5] === '0' ? '1' : '0';
  return h.slice(0, 5) + c + h.slice(6);
}

function flipBase64(b) {
  const bytes = Buffer.from(b, 'base64');
  bytes[bytes.length - 3] ^= 0x01;
  return bytes.toString('base64');
}

test(
  'proofs of the first, the last and edge leaves all verify',
  async (page) => {
    const cp = await (await api('/v1/checkpoint')).json();
    const n = cp.tree_size;
    // leaf 0, the ends of a 256-leaf group, a power of two, the checkpoint's last leaf
    for (const seq of [1, 256, 257, 8192, 8193, n - 1, n]) {
      await page.goto(BASE + '/?seq=' + seq);
      await page.waitForFunction(
        () => /verified|covered/.test((document.getElementById('proof-status') || {}).textContent || ''),
        null,
        { timeout: 20000 },
      );
      assert.equal(await page.locator('#proof-status').textContent(), 'verified', 'seq ' + seq);
    }
  },
  [],
);

test('live mode shows events sent during the test and keeps the scroll position', async (page) => {
  await page.goto(BASE + '/?event=acme_*&live=1');
  await settle(page);
  // the stream continues after the newest event listed (Last-Event-ID), so
  // events sent before it is connected still arrive
  await page.waitForFunction(() => /live/.test(document.getElementById('live-state').textContent));
  // some events to scroll through first
  const first = await post(
    Array.from({ length: 60 }, (_, i) => ({
      id: 'acme_badge_swiped',
      attrs: { duser: 'live.user', door: 'D' + i },
    })),
  );
  await page.waitForFunction((n) => document.querySelectorAll('#rows tr').length >= n, first.length, {
    timeout: 15000,
  });
  // the reader scrolls down and looks at one row
  await page.locator('#results').evaluate((el) => el.scrollTo(0, 300));
  await page.waitForTimeout(200);
  const anchor = page.locator('#rows tr').nth(20);
  const anchorSeq = await anchor.getAttribute('data-seq');
  const before = (await anchor.boundingBox()).y;
  const more = await post(
    [1, 2, 3].map((i) => ({
      id: 'acme_badge_swiped',
      attrs: { duser: 'late.user', door: 'L' + i },
    })),
  );
  for (const s of more) await page.locator(`#rows tr[data-seq="${s}"]`).waitFor({ state: 'attached', timeout: 15000 });
  await page.waitForTimeout(100);
  const after = (await page.locator(`#rows tr[data-seq="${anchorSeq}"]`).boundingBox()).y;
  assert.ok(Math.abs(after - before) <= 2, `the row the reader looked at moved from ${before} to ${after}`);
  assert.match(await page.locator('#new-events').textContent(), /3 new events/);
  const top = await page.locator('#rows tr').first().getAttribute('data-seq');
  assert.equal(Number(top), Math.max(...more), 'the newest is on top');
  await shot(page, 'live');
  await page.locator('#new-events').click();
  await page.waitForFunction(() => document.getElementById('results').scrollTop < 4);
}, ['query', 'clock']);

test('catalog: the 214 built-in events and the custom ones, linked from each event', async (page) => {
  // the custom events: the config's acme_badge_swiped, and traild's own
  // trail_auth_failed while authentication is on
  const all = await (await api('/v1/catalog')).json();
  const n = all.events.length;
  const custom = all.events.filter((e) => e.custom).length;
  assert.equal(n - custom, 214);
  assert.ok(all.events.some((e) => e.id === 'acme_badge_swiped' && e.custom));
  await page.goto(BASE + '/?view=catalog');
  await page.locator('#cat-list li').first().waitFor();
  assert.match(
    await page.locator('#cat-count').textContent(),
    new RegExp(`^${n} of ${n} events \\(214 built in, ${custom} custom\\)`),
  );
  assert.equal(await page.locator('#cat-list li').count(), n);
  assert.equal(await page.locator('#cat-list .tag', { hasText: 'custom' }).count(), custom);
  await page.fill('#cat-q', 'saml fail');
  await page.waitForFunction((n) => document.querySelectorAll('#cat-list li').length < n, n);
  const ids = await page.locator('#cat-list code').allTextContents();
  assert.ok(ids.includes('auth_entrypoints_saml_auth_failed'), ids.join(' '));
  // from an event in the results to its entry
  await page.goto(BASE + '/?event=auth_entrypoints_*');
  await settle(page);
  const id = await page.locator('#rows td.c-event .evid').first().textContent();
  await page.locator('#rows td.c-event a').first().click();
  await page.waitForURL(/view=catalog/);
  await page.locator('#cat-title').waitFor();
  assert.equal(await page.locator('#cat-title').textContent(), id);
  const cat = await (await api('/v1/catalog')).json();
  const def = cat.events.find((e) => e.id === id);
  assert.equal(await page.locator('#cat-desc').textContent(), def.description);
  assert.equal(await page.locator('#cat-attrs th').count(), def.attrs.length);
  await shot(page, 'catalog');
  await page.goto(BASE + '/?view=catalog&id=acme_badge_swiped');
  await page.locator('#cat-title').waitFor();
  assert.match(await page.locator('#cat-detail').textContent(), /custom/);
});

test(
  'integrity: checkpoint, verification result and sink lags',
  async (page) => {
    await page.goto(BASE + '/?view=integrity');
    await page.locator('#verify-badge').waitFor();
    await page.waitForFunction(
      () =>
        ['intact'].includes(document.getElementById('verify-badge').textContent) ||
        /damaged/.test(document.getElementById('verify-badge').textContent),
      null,
      { timeout: 30000 },
    );
    assert.equal(await page.locator('#verify-badge').textContent(), 'intact');
    const cp = await (await api('/v1/checkpoint')).json();
    assert.match(await page.locator('#card-checkpoint').textContent(), new RegExp(cp.root.slice(0, 16)));
    await page.locator('#sinks-table').waitFor();
    const sinkRows = await page.locator('#sinks-table tbody tr').allTextContents();
    assert.equal(sinkRows.length, 2);
    assert.ok(sinkRows.some((r) => r.startsWith('archive')));
    assert.ok(
      sinkRows.some((r) => r.startsWith('soc') && /refused|connect|error|fail/i.test(r)),
      sinkRows.join(' | '),
    );
    await shot(page, 'integrity');
  },
  ['clock'],
);

test(
  'alerts and rules: the expired certificate\'s alert, its cited event, the rule\'s source',
  async (page) => {
    await page.goto(BASE + '/?view=alerts');
    await page.locator('#alerts-rows tr').first().waitFor();
    assert.equal(await page.locator('#alerts-rows tr').count(), 1);
    const row = await page.locator('#alerts-rows tr').first().textContent();
    assert.match(row, /high.*Certificate or licence expiry/);
    // the cited seq opens that event: the setup's expired certificate
    await page.locator('#alerts-rows a.seq').first().click();
    await page.waitForFunction(() =>
      /messagingapns_certificate_expired/.test(document.getElementById('detail-title').textContent),
    );
    await page.goto(BASE + '/?view=rules&id=6f0b5a8e-1d2c-4c3e-9b1a-7e5d0c9a1f0c');
    await page.locator('#rule-source').waitFor();
    assert.equal(await page.locator('#rules-list li').count(), 1);
    assert.match(await page.locator('#rule-source').textContent(), /^# Certificates and the licence/);
    assert.match(await page.locator('#rule-detail').textContent(), /alerts since traild started: 1/);
    await page.waitForFunction(() => /: 1/.test(document.getElementById('rule-firings').textContent));
    await shot(page, 'rules');
  },
  [],
);

test(
  'search marks the events that an alert cites, linking to the alert',
  async (page) => {
    // what the alerts cite, from the store's records read raw: first_seqs and last_seqs
    const cited = new Map(); // seq -> the alert's seq
    const dump = execFileSync(DUMP, [STORE], { encoding: 'utf8', maxBuffer: 1 << 30 });
    for (const line of dump.split('\n')) {
      if (!line.includes('"trail_alert"')) continue;
      const ev = JSON.parse(line);
      if (ev.id !== 'trail_alert' || ev.origin !== 'trail') continue;
      const a = ev.attrs || {};
      for (const s of `${a.first_seqs || ''},${a.last_seqs || ''}`.split(',').filter(Boolean))
        cited.set(Number(s), ev.seq);
    }
    assert.ok(cited.size >= 1, 'the setup\'s alert cites an event');
    // the expiry events: the warnings stored with the generated events (no alert: the
    // detector started after them) and the setup's expired certificate, which the alert cites
    await page.goto(BASE + '/?event=messagingapns_certificate_*');
    await settle(page);
    const rows = await page.$$eval('#rows tr', (trs) =>
      trs.map((tr) => ({
        seq: Number(tr.dataset.seq),
        marked: tr.classList.contains('cited'),
        link: (tr.querySelector('a.cited-mark') || {}).href || '',
        title: (tr.querySelector('a.cited-mark') || {}).title || '',
      })),
    );
    const want = rows.filter((r) => cited.has(r.seq)).map((r) => r.seq);
    assert.ok(want.length >= 1, 'a cited event is among the results: ' + JSON.stringify(rows));
    assert.ok(rows.length > want.length, 'and events that no alert cites');
    assert.deepEqual(rows.filter((r) => r.marked).map((r) => r.seq), want);
    for (const r of rows.filter((x) => x.marked)) {
      assert.match(r.title, /cited by Certificate or licence expiry \(alert seq \d+\)/);
      assert.ok(r.link.endsWith('?seq=' + cited.get(r.seq)), r.link);
    }
    assert.equal(await page.locator('#rows tr:not(.cited) a.cited-mark').count(), 0);
    await shot(page, 'search-cited');
    // the mark opens the alert
    await page.locator('#rows tr.cited a.cited-mark').first().click();
    await page.waitForFunction(() =>
      /trail_alert/.test((document.getElementById('detail-title') || {}).textContent || ''),
    );
  },
  [],
);

test('keyboard: / j k Enter Esc', async (page) => {
  await page.goto(BASE + '/?event=auth_*');
  await settle(page);
  await page.locator('body').press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'q-text');
  await page.keyboard.press('Escape');
  assert.notEqual(await page.evaluate(() => document.activeElement.id), 'q-text');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  const sel = page.locator('#rows tr.selected');
  assert.equal(await sel.count(), 1);
  assert.equal(await sel.getAttribute('data-seq'), await page.locator('#rows tr').nth(1).getAttribute('data-seq'));
  await page.keyboard.press('Enter');
  await page.locator('#detail').waitFor();
  assert.match(page.url(), /seq=/);
  await page.keyboard.press('Escape');
  await page.locator('#detail').waitFor({ state: 'hidden' });
  assert.doesNotMatch(page.url(), /seq=/);
});

test(
  'token login: a 401 shows the form, the token is kept in the tab and sent as a bearer',
  async (page) => {
    if (!TOKEN) {
      // traild without tokens: play its 401 for the events route
      await page.route('**/v1/events?*', (route) =>
        route.request().headers().authorization === 'Bearer s3cret-token-for-the-test'
          ? route.continue()
          : route.fulfill({
              status: 401,
              contentType: 'application/json',
              body: '{"error":"a token is needed"}',
            }),
      );
    }
    const token = TOKEN || 's3cret-token-for-the-test';
    const sent = [];
    page.on('request', (r) => r.url().includes('/v1/') && sent.push([r.url(), r.headers().authorization || '']));
    await page.goto(BASE + '/?event=auth_*');
    await page.locator('#login').waitFor();
    await shot(page, 'login');
    // a wrong token is refused and the form says so
    await page.fill('#login-token', 'not-the-token-0123456789012345678901234567');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.getElementById('login').open && !document.getElementById('login-error').hidden,
    );
    assert.match(await page.locator('#login-error').textContent(), /refused/);
    await page.fill('#login-token', token);
    await page.keyboard.press('Enter');
    await settle(page);
    assert.ok((await page.locator('#rows tr').count()) > 0, 'events listed once signed in');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('trail.token')), token);
    const last = sent.filter(([u]) => u.includes('/v1/events?')).pop();
    assert.equal(last[1], 'Bearer ' + token);
    assert.ok(await page.locator('#logout').isVisible());
    // signing out forgets the token
    await page.locator('#logout').click();
    await page.locator('#login').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('trail.token')), null);
  },
  ['query', 'login'],
);

test('phone screen: one column, no sideways scrolling, the event over the list', async (page) => {
  // web_viewer.sh posts ERROR and CRITICAL events at setup: the generator
  // makes none in some hours
  const errors = oracleTotal(['--severity', '>=ERROR']);
  assert.ok(errors > 0, 'the store holds events of ERROR or worse');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(BASE + '/?severity=' + encodeURIComponent('>=ERROR'));
  await settle(page);
  assert.equal(await shownTotal(page), errors);
  const sevs = await page.locator('#rows td.c-sev').allTextContents();
  assert.ok(sevs.length > 0 && sevs.length <= errors, `${sevs.length} rows`);
  for (const s of sevs) assert.ok(['ERROR', 'CRITICAL', 'ALERT', 'EMERGENCY'].includes(s), s);
  assert.ok(
    await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
    'no horizontal overflow',
  );
  await shot(page, 'phone-search');
  await page.locator('#rows tr').first().click();
  await page.locator('#proof-status').waitFor();
  const box = await page.locator('#detail').boundingBox();
  assert.ok(box.width >= 380 && box.x <= 1, 'the detail covers the screen');
  await shot(page, 'phone-detail');
}, ['query', 'clock']);

test('export: the downloaded CSV has a row for each event trail counts', async (page) => {
  // an event with a few hundred occurrences: more than a page of the list
  const rows = oracleCountBy('event').filter((r) => r.count > 150 && r.count < 2000);
  assert.ok(rows.length, 'an event with 150..2000 occurrences');
  const { key, count } = rows[0];
  await page.goto(BASE + '/?event=' + key);
  await settle(page);
  assert.equal(await shownTotal(page), count);
  const pageRequests = [];
  page.on('request', (r) => r.url().includes('/v1/events') && pageRequests.push(r.url()));
  await page.selectOption('#export-format', 'csv');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.equal(download.suggestedFilename(), 'trail-events.csv');
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(await download.path(), 'utf8').split('\n').filter(Boolean);
  assert.match(lines[0], /^seq,time,severity,severity_name,id,/);
  assert.equal(lines.length - 1, count, 'rows = the count (trail count and the oracle)');
  for (const l of lines.slice(1)) assert.equal(l.split(',')[4], key);
  // the events went to the file, not through the page: a ticket, then a plain link
  assert.ok(pageRequests.some((u) => u.includes('/v1/events/export?') && u.includes('format=csv')), pageRequests.join(' '));
  assert.match(download.url(), /\/v1\/events\/export\?ticket=[0-9a-f]{32}&/);
  const res = await api('/v1/count?event=' + key);
  assert.equal((await res.json()).total, count, "traild's count agrees");
  await shot(page, 'export');
});

test('reports: the pack listed by category, as traild serves it, with the schedules and their last runs', async (page) => {
  const { reports } = await (await api('/v1/reports')).json();
  const want = {};
  for (const r of reports) (want[r.category] ||= []).push(r.name);
  for (const c of Object.keys(want)) want[c].sort();
  // the pack's reports are all there, in its categories
  for (const n of ['authentications', 'failed-sign-ins', 'lockouts', 'tokens', 'federation'])
    assert.ok(want.Authentication.includes(n), n);
  for (const n of ['configuration-changes', 'server-availability']) assert.ok(want.System.includes(n), n);
  await page.goto(BASE + '/?view=reports');
  await page.locator('#rep-list li.rep-cat').first().waitFor();
  const shown = await page.locator('#rep-list li.rep-cat').evaluateAll((cats) =>
    Object.fromEntries(
      cats.map((c) => [c.dataset.category, [...c.querySelectorAll('a.replink')].map((a) => a.dataset.name).sort()]),
    ),
  );
  assert.deepEqual(shown, want);
  // the schedules: the configured report, its last run made up at traild's start
  const sched = reports.find((r) => r.name === 'daily-failures');
  assert.equal(sched.last_run.made_up, true);
  const row = page.locator('#rep-schedules tr[data-name="daily-failures"]');
  await row.waitFor();
  assert.match(await row.textContent(), /daily 00:00 UTC/);
  assert.match(await row.locator('td.c-last').textContent(), /delivered \(made up\)/);
  await row.locator('a.replink').click();
  await page.waitForURL(/report=daily-failures/);
  await page.locator('#rep-last-run').waitFor();
  const files = await page.locator('#rep-last-run .rep-files td.hash').allTextContents();
  assert.deepEqual(files, sched.last_run.files.map((f) => f.sha256));
  await shot(page, 'reports-list');
});

test("reports: a run shows the figures traild's run gives; the CSV and HTML downloads are the run's", async (page) => {
  // a pinned instant: the run and the downloads read the same period
  const now = new Date(TEST_NOW).toISOString().replace(/\.\d+Z$/, 'Z');
  const name = 'failed-sign-ins';
  const run = await (await api(`/v1/reports/${name}/run?format=json&now=${now}`)).json();
  assert.ok(run.sections.length >= 3);
  await page.goto(BASE + `/?view=reports&report=${name}&now=${now}`);
  await page.locator('.rep-section').nth(run.sections.length - 1).waitFor();
  await page.waitForFunction(() => !document.body.dataset.reportRunning);
  const sections = await page.locator('.rep-section').evaluateAll((els) =>
    els.map((el) => ({
      kind: el.dataset.kind,
      total: Number(el.dataset.total),
      title: el.querySelector('h3').textContent,
      rows: [...el.querySelectorAll('tr.rep-row')].map((tr) =>
        el.dataset.kind === 'count'
          ? {
              keys: [...tr.querySelectorAll('td.c-key')].map((td) => td.textContent),
              count: Number(tr.querySelector('td.num').textContent),
            }
          : Number(tr.dataset.seq),
      ),
    })),
  );
  assert.equal(sections.length, run.sections.length);
  run.sections.forEach((s, i) => {
    const got = sections[i];
    assert.equal(got.title, s.title);
    assert.equal(got.kind, s.kind);
    if (s.kind === 'count') {
      assert.equal(got.total, s.total, s.title);
      assert.deepEqual(
        got.rows,
        s.rows.map((r) => ({ keys: r.keys.map((k) => (k === null ? '(none)' : String(k))), count: r.count })),
      );
    } else assert.deepEqual(got.rows, s.events.map((e) => e.seq), s.title);
  });
  assert.ok(run.sections[0].total > 0, 'the generator made failed sign-ins');
  // the downloads: plain links with a ticket, the bytes of traild's run
  const { readFileSync } = await import('node:fs');
  for (const format of ['csv', 'html']) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#rep-' + format)]);
    assert.equal(download.suggestedFilename(), `${name}.${format}`);
    assert.match(download.url(), new RegExp(`/v1/reports/${name}/run\\?ticket=[0-9a-f]{32}&`));
    const got = readFileSync(await download.path(), 'utf8');
    const want = await (await api(`/v1/reports/${name}/run?format=${format}&now=${now}`)).text();
    assert.equal(got, want, format);
    if (format === 'csv') {
      // the first section's block: its title line, the header, a row per group, the total
      const lines = got.split('\n\n')[1].split('\n').filter(Boolean);
      assert.equal(lines.length - 3, run.sections[0].rows.length, 'rows of the first section');
      assert.equal(lines[lines.length - 1].split(',').pop(), String(run.sections[0].total));
    }
  }
  // a ticket opens its download once, and only its own path
  const { url } = await (await api(`/v1/reports/${name}/run?format=csv`, { method: 'POST' })).json();
  const ticket = new URL(BASE + url).searchParams.get('ticket');
  assert.equal((await fetch(BASE + '/v1/events/export?format=csv&ticket=' + ticket)).status, 401, 'not an export ticket');
  assert.equal((await fetch(BASE + url)).status, 200);
  assert.equal((await fetch(BASE + url)).status, 401, 'a ticket is used once');
  await shot(page, 'reports-run');
  // printing shows the report, not the viewer around it
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('header.top').isVisible(), false);
  assert.equal(await page.locator('.rep-section').first().isVisible(), true);
});

/** storeState - what the store's own files say now: each sink's cursor (DIR/sinks/NAME.cursor
 * and NAME.error), the checkpoints of DIR/checkpoints, and the last seq of its records. */
function storeState() {
  const id = readFileSync(STORE + '/store.meta').subarray(16, 32).toString('hex');
  const sinks = [];
  for (const f of existsSync(STORE + '/sinks') ? readdirSync(STORE + '/sinks').sort() : []) {
    if (!f.endsWith('.cursor') || f.length <= 7) continue;
    const lines = readFileSync(`${STORE}/sinks/${f}`, 'utf8').split('\n');
    const kv = Object.fromEntries(lines.filter((l) => l.includes(' ')).map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
    if (!lines.includes('trail-sink-cursor/1') || !('seq' in kv)) continue;
    const name = f.slice(0, -7);
    const errFile = `${STORE}/sinks/${name}.error`;
    const err = existsSync(errFile)
      ? (readFileSync(errFile, 'utf8').split('\n').find((l) => l.startsWith('error ')) || '').slice(6)
      : null;
    sinks.push({ sink: name, type: kv.type, cursor: Number(kv.seq), store: kv.store === id, error: err || null });
  }
  const text = existsSync(STORE + '/checkpoints') ? readFileSync(STORE + '/checkpoints', 'utf8') : '';
  const checkpoints = text
    .split('\n')
    .slice(0, -1) // a last line without its newline is not a checkpoint
    .map((l) => l.split(' '))
    .filter((f) => f.length === 8 && /^trail-checkpoint\/[12]$/.test(f[0]))
    .map((f) => ({ time: Number(f[5]), tree_size: Number(f[2]), key_id: f[6] }));
  const dump = execFileSync(DUMP, [STORE], { encoding: 'utf8', maxBuffer: 1 << 30 }).trim().split('\n');
  const lastSeq = JSON.parse(dump[dump.length - 1]).seq;
  return { sinks, checkpoints, lastSeq, key: JSON.stringify({ sinks, checkpoints, lastSeq }) };
}

test("reports: trail-health's sinks and checkpoints sections show what the store's files say", async (page) => {
  // a pinned instant; the period of the checkpoints section is the report's, last 7d before it
  const now = new Date(Date.now() + CLOCK_SHIFT_MS).toISOString().replace(/\.\d+Z$/, 'Z');
  const nowUs = Date.parse(now) * 1000;
  const sinceUs = nowUs - 7 * 86400 * 1000000;
  // the files may move while the page runs the report (a sink delivers, a checkpoint is
  // signed): the page's figures are checked against files that did not change around its run
  let before, shown;
  for (let attempt = 0; attempt < 5; attempt++) {
    before = storeState();
    await page.goto(BASE + `/?view=reports&report=trail-health&now=${now}`);
    await page.locator('.rep-section[data-kind="checkpoints"]').waitFor();
    await page.waitForFunction(() => !document.body.dataset.reportRunning);
    shown = await page.locator('.rep-section').evaluateAll((els) =>
      Object.fromEntries(
        els
          .filter((el) => el.dataset.kind === 'sinks' || el.dataset.kind === 'checkpoints')
          .map((el) => {
            const summary = Object.fromEntries(
              [...el.querySelectorAll('table.rep-summary tr')].map((tr) => [
                tr.querySelector('th').textContent,
                tr.querySelector('td').textContent,
              ]),
            );
            const cols = [...el.querySelectorAll('table.rep-state thead th')].map((th) => th.textContent);
            const rows = [...el.querySelectorAll('table.rep-state tbody tr')].map((tr) =>
              Object.fromEntries([...tr.querySelectorAll('td')].map((td, i) => [cols[i], td.textContent])),
            );
            return [el.dataset.kind, { summary, rows, total: el.dataset.total }];
          }),
      ),
    );
    if (storeState().key === before.key) break;
    before = null;
  }
  assert.ok(before, 'the store did not stand still for one run of the report in five');
  const { sinks, checkpoints, lastSeq } = before;

  // sinks: every cursor file, its cursor, and its lag behind the store's last record
  assert.ok(sinks.some((s) => s.sink === 'archive'), 'the archive sink wrote its cursor');
  const want = sinks.map((s) => ({
    sink: s.sink,
    type: s.type,
    cursor: String(s.cursor),
    lag: s.store && s.cursor <= lastSeq ? String(lastSeq - s.cursor) : '-',
  }));
  assert.deepEqual(
    shown.sinks.rows.map((r) => ({ sink: r.sink, type: r.type, cursor: r.cursor, lag: r.lag })),
    want,
  );
  for (const s of sinks.filter((s) => s.error))
    assert.equal(shown.sinks.rows.find((r) => r.sink === s.sink).last_error, s.error, s.sink);
  const lags = want.filter((w) => w.lag !== '-').map((w) => Number(w.lag));
  assert.equal(shown.sinks.summary.sinks, String(sinks.length));
  assert.equal(shown.sinks.summary.max_lag, String(Math.max(0, ...lags)));
  assert.equal(shown.sinks.summary.last_seq, String(lastSeq));

  // checkpoints: those signed in the period, newest first (the section's limit: 10)
  const inPeriod = checkpoints.filter((c) => c.time >= sinceUs && c.time < nowUs);
  assert.ok(inPeriod.length > 0, 'traild signed checkpoints (checkpoint_interval_s = 1)');
  assert.equal(shown.checkpoints.summary.checkpoints, String(inPeriod.length));
  assert.equal(shown.checkpoints.total, String(Math.min(10, inPeriod.length)));
  assert.equal(shown.checkpoints.summary.last_size, String(inPeriod[inPeriod.length - 1].tree_size));
  assert.equal(shown.checkpoints.summary.first_size, String(inPeriod[0].tree_size));
  const latest = checkpoints.reduce((a, c) => (c.time > a.time ? c : a));
  assert.equal(shown.checkpoints.summary.not_covered, String(Math.max(0, lastSeq - latest.tree_size)));
  assert.deepEqual(
    shown.checkpoints.rows.map((r) => ({ tree_size: r.tree_size, key_id: r.key_id })),
    inPeriod
      .slice()
      .reverse()
      .slice(0, 10)
      .map((c) => ({ tree_size: String(c.tree_size), key_id: c.key_id })),
  );
  await page.locator('.rep-section[data-kind="sinks"]').scrollIntoViewIfNeeded();
  await shot(page, 'reports-health');
});

/** cosignLine - a cosignature/v1 line of witness w ({name, id, privateKey}) over note body at time t. */
async function cosignLine(w, body, t) {
  const { sign } = await import('node:crypto');
  const msg = Buffer.from(`cosignature/v1\ntime ${t}\n${body}`);
  const blob = Buffer.alloc(4 + 8 + 64);
  w.id.copy(blob, 0);
  blob.writeBigUInt64BE(BigInt(t), 4);
  sign(null, msg, w.privateKey).copy(blob, 12);
  return `\u2014 ${w.name} ${blob.toString('base64')}\n`;
}

test('integrity: a pinned witness cosignature verifies, a tampered one does not', async (page) => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  const name = 'witness.example/w1';
  const id = createHash('sha256')
    .update(Buffer.concat([Buffer.from(name + '\n'), Buffer.from([4]), pub]))
    .digest()
    .subarray(0, 4);
  const wkey = `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([4]), pub]).toString('base64')}`;
  const w = { name, id, privateKey };
  // the checkpoint the page shows, held still; its note text made here from its line
  const cp = await (await api('/v1/checkpoint')).json();
  const [, origin, size, root, chain, time] = cp.text.trim().split(' ');
  const body = `${origin}\n${size}\n${Buffer.from(root, 'hex').toString('base64')}\ntrail-time ${time}\ntrail-chain ${chain}\n`;
  const good = await cosignLine(w, body, 1764000000);
  let note = body + '\n' + good;
  await page.route(
    (u) => u.pathname === '/v1/checkpoint',
    (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(cp) }),
  );
  await page.route(
    (u) => u.pathname === '/checkpoint',
    (route) => route.fulfill({ status: 200, contentType: 'text/plain; charset=utf-8', body: note }),
  );
  await page.goto(BASE + '/?view=integrity&wkey=' + encodeURIComponent(wkey));
  const item = page.locator(`#witness-list li[data-name="${name}"]`);
  await item.waitFor();
  assert.equal(await item.locator('.badge').textContent(), 'verified');
  assert.match(await item.locator('.witness-detail').textContent(), /cosigned at 2025-11-24T16:00:00\.000Z/);
  await shot(page, 'integrity-witness');
  const reload = async (n) => {
    note = n;
    await page.reload();
    await item.waitFor();
    return item.locator('.badge').textContent();
  };
  // one bit of the signature changed
  const blob = Buffer.from(good.trim().split(' ')[2], 'base64');
  blob[40] ^= 1;
  assert.equal(await reload(body + '\n' + `\u2014 ${name} ${blob.toString('base64')}\n`), 'not verified');
  // the time changed: the signature does not cover it
  const moved = Buffer.from(good.trim().split(' ')[2], 'base64');
  moved.writeBigUInt64BE(1764000001n, 4);
  assert.equal(await reload(body + '\n' + `\u2014 ${name} ${moved.toString('base64')}\n`), 'not verified');
  // a cosignature of another checkpoint (another size)
  const other = body.replace(`\n${size}\n`, `\n${Number(size) + 1}\n`);
  assert.equal(await reload(body + '\n' + (await cosignLine(w, other, 1764000000))), 'not verified');
  // no line of this witness: not cosigned
  assert.equal(await reload(body + '\n'), 'not cosigned');
});

/** zoneText - the viewer's text of iso at offsetMin east of UTC, made here: "2026-11-25 13:03:07.123 UTC". */
function zoneText(iso, offsetMin, zone) {
  const d = new Date(Date.parse(iso) + offsetMin * 60000).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 23)} ${zone}`;
}

test(
  'time zones: the switch changes the table, the histogram and the detail; 24 hours; remembered',
  async (page) => {
    // Asia/Kolkata: +05:30 all year (no daylight saving), so the check holds on any date
    const rows = oracleCountBy('event').filter((r) => r.count > 20);
    const key = rows[rows.length - 1].key;
    await page.goto(BASE + '/?event=' + key);
    await settle(page);
    const cell = page.locator('#rows td.c-time').first();
    const iso = await cell.getAttribute('data-t');
    const seq = await page.locator('#rows tr').first().getAttribute('data-seq');
    assert.equal(await page.inputValue('#tz-mode'), 'local', 'local time unless asked');
    assert.equal(await cell.textContent(), zoneText(iso, 330, '+05:30'));
    // ICU may name the zone by its older name
    assert.match(await page.locator('#tz-label').textContent(), /^\(Asia\/(Kolkata|Calcutta)\)$/);
    const axis = async () => JSON.parse((await page.locator('#hist').getAttribute('data-axis')) || '[]');
    assert.equal(await page.locator('#hist').getAttribute('data-zone'), '+05:30');
    const labels = await axis();
    assert.ok(labels.length > 0, 'the axis has labels');
    for (const l of labels) assert.match(l, /^(\d\d:\d\d|[A-Z][a-z]{2} \d{1,2})$/, 'no AM/PM: ' + l);
    await shot(page, 'tz-local');

    await page.selectOption('#tz-mode', 'utc');
    assert.equal(await cell.textContent(), zoneText(iso, 0, 'UTC'));
    assert.equal(await page.locator('#tz-label').textContent(), '(UTC)');
    assert.equal(await page.locator('#hist').getAttribute('data-zone'), 'UTC');
    for (const l of await axis()) assert.match(l, /^(\d\d:\d\d|[A-Z][a-z]{2} \d{1,2})$/);
    // the tooltip of a bar: 24 hours and the zone
    const box = await page.locator('#hist canvas').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('.hist-tip').waitFor();
    assert.match(await page.locator('.hist-tip b').textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d UTC/);

    // the detail panel, opened in UTC, follows the switch too
    await page.goto(BASE + '/?event=' + key + '&seq=' + seq);
    await settle(page);
    assert.equal(await page.inputValue('#tz-mode'), 'utc', 'remembered across a reload');
    const dt = page.locator('#detail-attrs time').first();
    await dt.waitFor();
    assert.equal(await dt.textContent(), zoneText(iso, 0, 'UTC'));
    assert.equal(await page.locator('#rows td.c-time').first().textContent(), zoneText(iso, 0, 'UTC'));
    await page.selectOption('#tz-mode', 'local');
    assert.equal(await dt.textContent(), zoneText(iso, 330, '+05:30'));
    assert.equal(await page.locator('#rows td.c-time').first().textContent(), zoneText(iso, 330, '+05:30'));
    assert.equal(await page.evaluate(() => localStorage.getItem('trail.tz')), 'local');
    await shot(page, 'tz-detail');
  },
  ['query'],
  { timezoneId: 'Asia/Kolkata' },
);

test(
  'every asset from traild: CSP, types, caching; nothing from elsewhere',
  async (page) => {
    const others = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(BASE) && !r.url().startsWith('data:')) others.push(r.url());
    });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const res = await page.goto(BASE + '/?view=catalog');
    await page.locator('#cat-list li').first().waitFor();
    const hdr = res.headers();
    assert.match(hdr['content-security-policy'], /default-src 'none'/);
    assert.match(hdr['content-security-policy'], /script-src 'self'/);
    assert.equal(hdr['content-type'], 'text/html; charset=utf-8');
    assert.equal(hdr['x-content-type-options'], 'nosniff');
    assert.match(hdr.etag, /^"[0-9a-f]{16}"$/);
    for (const [path, type] of [
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/favicon.svg', 'image/svg+xml'],
    ]) {
      const r = await fetch(BASE + path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), type, path);
      assert.equal(r.headers.get('cache-control'), 'no-cache', path);
      const again = await fetch(BASE + path, {
        headers: { 'If-None-Match': r.headers.get('etag') },
      });
      assert.equal(again.status, 304, path + ' revalidates');
    }
    assert.deepEqual(others, []);
    assert.deepEqual(errors, []);
  },
  [],
);

// ---- the runner ----

// Debian's chromium, never a downloaded one; launch() gives it a fresh
// profile (--user-data-dir in a new temporary directory) every run
if (/faketime/.test(process.env.LD_PRELOAD || '')) {
  console.log('FAIL run.mjs runs under libfaketime: start it without (TRAIL_CLOCK_SHIFT_MS moves the pages)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
let passed = 0;
let failed = 0;
for (const t of tests) {
  if (FILTER && !t.name.includes(FILTER)) continue;
  if (TAG && !t.needs.includes(TAG)) continue;
  const ctx = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    ...t.ctx,
  });
  // the clock the data was made against; it runs on from there
  await ctx.clock.install({ time: Date.now() + CLOCK_SHIFT_MS });
  if (TOKEN && !t.needs.includes('login'))
    await ctx.addInitScript((tok) => sessionStorage.setItem('trail.token', tok), TOKEN);
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  const t0 = Date.now();
  try {
    await Promise.race([
      t.fn(page),
      new Promise((_, rej) =>
        setTimeout(() => rej(new Error(`timed out after ${TEST_TIMEOUT_MS / 1000} s`)), TEST_TIMEOUT_MS),
      ),
    ]);
    passed++;
    console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}: ${(e && e.message) || e}`);
    const safe = t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
    await page.screenshot({ path: `${ART}/FAILED-${safe}.png` }).catch(() => {});
  }
  await ctx.close();
}
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
