// firefox.mjs - a by-hand check of the viewer in Firefox (Debian's
// firefox-esr), driven over WebDriver BiDi by puppeteer-core, since
// Playwright drives only its own Firefox build. Not part of the ctest run:
// it needs `apt-get install firefox-esr` and, in tests/web,
// `npm install --no-save puppeteer-core`. Against a running traild:
//
//   TRAIL_URL=http://127.0.0.1:8080 [TRAIL_TOKEN=...] node firefox.mjs
//
// Walks every view once (search, paging, an event's proof, the keyboard,
// live mode, catalog, integrity), fails on a page error, and prints
// "N passed, N failed".
import puppeteer from 'puppeteer-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE = process.env.TRAIL_URL || 'http://127.0.0.1:8080';
const TOKEN = process.env.TRAIL_TOKEN || '';
const AUTH = TOKEN ? { Authorization: 'Bearer ' + TOKEN } : {};
const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  protocol: 'webDriverBiDi',
  userDataDir: mkdtempSync(join(tmpdir(), 'trail-firefox-')),
});
const page = await browser.newPage();
await page.setViewport({ width: 1300, height: 860 });
if (TOKEN) await page.evaluateOnNewDocument((t) => sessionStorage.setItem('trail.token', t), TOKEN);
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
const wait = (fn, arg) => page.waitForFunction(fn, { timeout: 20000 }, arg);
let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    const detail = await fn();
    passed++;
    console.log(`ok   ${name}${detail ? ': ' + detail : ''}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

await check('search: rows, total and histogram', async () => {
  // all of the store: a time range relative to now would find nothing in
  // a store whose events are older (the generator's default start is fixed)
  await page.goto(BASE + '/');
  await wait(() => !document.body.dataset.searching && document.querySelectorAll('#rows tr').length > 0);
  const total = await page.$eval('#total', (e) => e.dataset.count);
  const sum = await page.$eval('#hist', (e) => e.dataset.sum);
  if (total !== sum) throw new Error(`total ${total}, histogram ${sum}`);
  return `${total} events`;
});
await check('paging', async () => {
  await page.$eval('#results', (el) => el.scrollTo(0, el.scrollHeight));
  await wait(() => document.querySelectorAll('#rows tr').length > 100 || !document.getElementById('list-end').hidden);
  return (await page.$$eval('#rows tr', (r) => r.length)) + ' rows';
});
await check('an event and its proof', async () => {
  await page.click('#rows tr:nth-child(3)');
  await wait(() => /verified|covered/.test((document.getElementById('proof-status') || {}).textContent || ''));
  const status = await page.$eval('#proof-status', (e) => e.textContent);
  if (status !== 'verified') throw new Error(status);
  return status;
});
await check('keyboard', async () => {
  // the third row is selected (opened above); Esc closes it, j j moves two down
  await page.keyboard.press('Escape');
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  const seq = await page.$eval('#rows tr.selected', (e) => e.dataset.seq);
  const fifth = await page.$eval('#rows tr:nth-child(5)', (e) => e.dataset.seq);
  if (seq !== fifth) throw new Error(`selected ${seq}, want ${fifth}`);
});
await check('live mode', async () => {
  await page.goto(BASE + '/?live=1');
  await wait(() => !document.body.dataset.searching);
  const r = await fetch(BASE + '/v1/events', {
    method: 'POST',
    headers: AUTH,
    body: '{"id":"schedule_scheduledjob_performed","attrs":{"job":"firefox","duration_ms":1,"phxTraceId":"#firefox"}}',
  });
  const seq = (await r.json()).results[0].seq;
  await wait((s) => !!document.querySelector(`#rows tr[data-seq="${s}"]`), seq);
  return 'event ' + seq;
});
await check('catalog', async () => {
  await page.goto(BASE + '/?view=catalog&id=auth_entrypoints_saml_auth_failed');
  await wait(() => document.getElementById('cat-title'));
  return await page.$eval('#cat-count', (e) => e.textContent);
});
await check('integrity', async () => {
  await page.goto(BASE + '/?view=integrity');
  await wait(() => /intact|damaged/.test((document.getElementById('verify-badge') || {}).textContent || ''));
  return await page.$eval('#verify-badge', (e) => e.textContent);
});
await check('no page errors', async () => {
  if (errors.length) throw new Error(errors.join('; '));
});
await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
