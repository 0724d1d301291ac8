// app.js - the trail viewer: the search bar (every filter of `trail query`,
// kept in the page's URL), the histogram, the result list with infinite
// scroll through cursors, the event detail with its inclusion proof checked
// here, live mode over the SSE stream, the catalog browser, the integrity
// panel, the token login and the keyboard.
//
// The page never holds more than it shows: one page of events per request,
// counts from /v1/count, requests cancelled when the filters change and
// typing debounced.
//
// Not here: HTTP and the stream (api.js), the proof check (merkle.js), the
// chart (histogram.js).

import { getJSON, postJSON, openStream, getToken, setToken, setUnauthorizedHandler } from './api.js';
import { checkProof } from './merkle.js';
import { h, put } from './dom.js';
import { showAlerts, showRules, stopDetect } from './detect.js';
import { Histogram, SEVERITIES } from './histogram.js';

const PAGE = 100;
const DEBOUNCE_MS = 350;
const LEVELS = [
  [1, 'TRACE'],
  [2, 'DEBUG'],
  [3, 'INFO'],
  [4, 'NOTICE'],
  [6, 'WARNING'],
  [7, 'ERROR'],
  [8, 'CRITICAL'],
  [9, 'ALERT'],
  [10, 'EMERGENCY'],
];
const SEV_NUM = Object.fromEntries(LEVELS.map(([n, s]) => [s, n]));
const SEV_NAME = Object.fromEntries(LEVELS);
const PRESETS = {
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '6h': 'Last 6 hours',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
};
const UNIT_MS = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

const $ = (id) => document.getElementById(id);

function sevBadge(sev, name) {
  return h('span', { class: 'sev sev-' + sev }, name || SEV_NAME[sev] || String(sev));
}

function debounce(fn, ms) {
  let t = 0;
  const d = (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
  d.now = (...a) => {
    clearTimeout(t);
    fn(...a);
  };
  return d;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** localTime - "2026-11-25 14:03:07.123" in the browser's time zone. */
function localTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso || '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** timeParts - localTime split so that a phone can drop the year and the milliseconds. */
function timeParts(iso) {
  const t = localTime(iso);
  if (t.length < 23) return [t];
  return [h('span', { class: 'y' }, t.slice(0, 5)), t.slice(5, 19), h('span', { class: 'ms' }, t.slice(19))];
}

function toLocalInput(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return isNaN(d) ? '' : d.toISOString().replace('.000Z', 'Z');
}

// ---- state, kept in the URL ----

const state = {
  view: 'search',
  since: '',
  until: '',
  events: [],
  severity: '',
  where: [],
  text: '',
  order: 'newest',
  live: false,
  seq: null,
  catId: '',
  catQ: '',
};

function readUrl() {
  const p = new URLSearchParams(location.search);
  state.view = ['catalog', 'integrity', 'alerts', 'rules'].includes(p.get('view')) ? p.get('view') : 'search';
  state.since = p.get('since') || '';
  state.until = p.get('until') || '';
  state.events = p.getAll('event').filter(Boolean);
  state.severity = p.get('severity') || '';
  state.where = p.getAll('where').filter(Boolean);
  state.text = p.getAll('text').filter(Boolean).join(' ');
  state.order = p.get('order') === 'oldest' ? 'oldest' : 'newest';
  state.live = p.get('live') === '1';
  state.seq = /^\d+$/.test(p.get('seq') || '') ? Number(p.get('seq')) : null;
  state.catId = p.get('id') || '';
  state.catQ = p.get('q') || '';
}

/** filterParams - the filters as the API's query parameters (those of `trail query`). */
function filterParams() {
  const p = new URLSearchParams();
  if (state.since) p.set('since', state.since);
  if (state.until) p.set('until', state.until);
  for (const e of state.events) p.append('event', e);
  if (state.severity) p.set('severity', state.severity);
  for (const w of state.where) p.append('where', w);
  if (state.text) p.set('text', state.text);
  return p;
}

function pageUrl() {
  let p;
  if (state.view === 'search') {
    p = filterParams();
    if (state.order === 'oldest') p.set('order', 'oldest');
    if (state.live) p.set('live', '1');
    if (state.seq) p.set('seq', String(state.seq));
  } else {
    p = new URLSearchParams({ view: state.view });
    if (state.view === 'rules' && state.catId) p.set('id', state.catId);
    if (state.view === 'catalog') {
      if (state.catId) p.set('id', state.catId);
      if (state.catQ) p.set('q', state.catQ);
    }
  }
  const qs = p.toString();
  return location.pathname + (qs ? '?' + qs : '');
}

function saveUrl(push) {
  const url = pageUrl();
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

// ---- the catalog (completion, attribute types, the browser) ----

let catalog = null;
let catalogById = new Map();
let catalogLoading = null;

function loadCatalog() {
  if (!catalogLoading) {
    catalogLoading = getJSON('/v1/catalog')
      .then((c) => {
        catalog = c;
        catalogById = new Map(c.events.map((e) => [e.id, e]));
        const keys = new Set();
        for (const e of c.events) for (const a of e.attrs || []) keys.add(a.key);
        const dl = $('attr-keys');
        put(dl, ...[...keys].sort().map((k) => h('option', { value: k + '=' })));
        return c;
      })
      .catch((e) => {
        catalogLoading = null;
        throw e;
      });
  }
  return catalogLoading;
}

function attrDef(eventId, key) {
  const d = catalogById.get(eventId);
  return d && (d.attrs || []).find((a) => a.key === key);
}

// ---- the search form ----

function fillSeveritySelects() {
  for (const [id, any] of [
    ['q-sev-min', 'any'],
    ['q-sev-max', 'any'],
  ]) {
    const s = $(id);
    put(s, h('option', { value: '' }, any), ...LEVELS.map(([n, name]) => h('option', { value: String(n) }, name)));
  }
  const cs = $('cat-sev');
  for (const [n, name] of LEVELS) cs.append(h('option', { value: String(n) }, name));
}

function levelOf(text) {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) return Number(t);
  return SEV_NUM[t] || 0;
}

/** parseSeverity - the severity filter as [min, max] levels (0: open). */
function parseSeverity(s) {
  s = (s || '').trim();
  let m;
  if ((m = s.match(/^(.+)\.\.(.+)$/))) return [levelOf(m[1]), levelOf(m[2])];
  if ((m = s.match(/^>=(.+)$/))) return [levelOf(m[1]), 0];
  if ((m = s.match(/^<=(.+)$/))) return [0, levelOf(m[1])];
  if ((m = s.match(/^>(.+)$/))) {
    const l = levelOf(m[1]);
    const next = LEVELS.find(([n]) => n > l);
    return [next ? next[0] : 11, 0];
  }
  if ((m = s.match(/^<(.+)$/))) {
    const l = levelOf(m[1]);
    const prev = [...LEVELS].reverse().find(([n]) => n < l);
    return [0, prev ? prev[0] : 0];
  }
  if ((m = s.match(/^=?(.+)$/))) {
    const l = levelOf(m[1]);
    return [l, l];
  }
  return [0, 0];
}

function severityText(min, max) {
  if (min && max) return min === max ? SEV_NAME[min] : `${SEV_NAME[min]}..${SEV_NAME[max]}`;
  if (min) return '>=' + SEV_NAME[min];
  if (max) return '<=' + SEV_NAME[max];
  return '';
}

function presetOf() {
  if (!state.since && !state.until) return 'all';
  if (!state.until && /^\d+[smhdw]$/.test(state.since)) return state.since;
  return 'custom';
}

function writeForm() {
  $('q-text').value = state.text;
  $('q-event').value = state.events.join(' ');
  const preset = presetOf();
  const sel = $('q-preset');
  if (preset !== 'all' && preset !== 'custom' && !sel.querySelector(`option[value="${preset}"]`))
    sel.insertBefore(h('option', { value: preset }, 'Last ' + preset), sel.querySelector('option[value="all"]'));
  sel.value = preset;
  $('custom-range').hidden = preset !== 'custom';
  if (preset === 'custom') {
    $('q-since').value = state.since ? toLocalInput(resolveTime(state.since, Date.now())) : '';
    $('q-until').value = state.until ? toLocalInput(resolveTime(state.until, Date.now())) : '';
  }
  const [min, max] = parseSeverity(state.severity);
  $('q-sev-min').value = min ? String(min) : '';
  $('q-sev-max').value = max ? String(max) : '';
  $('q-order').value = state.order;
  renderChips();
  setLiveButton();
}

function readForm() {
  state.text = $('q-text').value.trim();
  state.events = $('q-event')
    .value.split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const preset = $('q-preset').value;
  $('custom-range').hidden = preset !== 'custom';
  if (preset === 'all') {
    state.since = '';
    state.until = '';
  } else if (preset === 'custom') {
    state.since = fromLocalInput($('q-since').value);
    state.until = fromLocalInput($('q-until').value);
  } else {
    state.since = preset;
    state.until = '';
  }
  state.severity = severityText(Number($('q-sev-min').value) || 0, Number($('q-sev-max').value) || 0);
  state.order = $('q-order').value === 'oldest' ? 'oldest' : 'newest';
}

function renderChips() {
  const box = $('where-chips');
  box.querySelectorAll('.chip').forEach((c) => c.remove());
  const wrap = box.querySelector('.suggest-wrap');
  state.where.forEach((w, i) => {
    box.insertBefore(
      h(
        'span',
        { class: 'chip', title: w },
        w,
        h('button', { type: 'button', 'aria-label': 'remove ' + w, onclick: () => removeWhere(i) }, '×'),
      ),
      wrap,
    );
  });
}

function removeWhere(i) {
  state.where.splice(i, 1);
  renderChips();
  search();
}

function addWhere(text) {
  const t = text.trim();
  if (!t) return false;
  if (!/^[A-Za-z0-9_.-]+(=|!=|\^=)/.test(t)) {
    showError(`"${t}" is not a condition: key=value, key!=value, key^=prefix or ip=CIDR`);
    return false;
  }
  if (!state.where.includes(t)) state.where.push(t);
  renderChips();
  return true;
}

// event glob completion: ids and families (auth_*, auth_entrypoints_*) from the catalog
let suggestItems = [];
let suggestIndex = -1;

function globMatch(glob, s) {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const j = glob.indexOf(']', i + 1);
      if (j < 0) re += '\\[';
      else {
        let set = glob.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (set[0] === '!') set = '^' + set.slice(1);
        re += '[' + set + ']';
        i = j;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  try {
    return new RegExp(re + '$').test(s);
  } catch {
    return false;
  }
}

function families() {
  if (families.cache) return families.cache;
  const count = new Map();
  for (const e of catalog.events) {
    const parts = e.id.split('_');
    for (let n = 1; n < Math.min(parts.length, 4); n++) {
      const f = parts.slice(0, n).join('_') + '_*';
      count.set(f, (count.get(f) || 0) + 1);
    }
  }
  families.cache = [...count.entries()].filter(([, n]) => n > 1);
  return families.cache;
}

function updateSuggest() {
  const input = $('q-event');
  const list = $('event-suggest');
  if (!catalog || document.activeElement !== input) return closeSuggest();
  const before = input.value.slice(0, input.selectionStart);
  const token = (before.match(/[^\s,]*$/) || [''])[0].toLowerCase();
  const items = [];
  if (/[*?[]/.test(token)) {
    const hits = catalog.events.filter((e) => globMatch(token, e.id));
    items.push({ value: token, label: token, desc: `${hits.length} events`, glob: true });
    for (const e of hits.slice(0, 12)) items.push({ value: e.id, label: e.id, sev: e.severity, desc: e.description });
  } else {
    for (const [f, n] of families())
      if (f.startsWith(token) && (token.length > 0 || f.split('_').length === 2))
        items.push({ value: f, label: f, desc: `${n} events`, glob: true });
    items.sort((a, b) => a.value.length - b.value.length);
    items.splice(6);
    const starts = catalog.events.filter((e) => e.id.startsWith(token));
    const within = token ? catalog.events.filter((e) => !e.id.startsWith(token) && e.id.includes(token)) : [];
    for (const e of [...starts, ...within].slice(0, 14 - items.length))
      items.push({ value: e.id, label: e.id, sev: e.severity, desc: e.description });
  }
  suggestItems = items;
  suggestIndex = -1;
  if (!items.length) return closeSuggest();
  put(
    list,
    ...items.map((it, i) =>
      h(
        'li',
        {
          role: 'option',
          id: 'sugg-' + i,
          'aria-selected': 'false',
          onmousedown: (e) => (e.preventDefault(), acceptSuggest(i)),
        },
        it.sev ? sevBadge(it.sev) : h('span', { class: 'tag' }, 'glob'),
        h('code', {}, it.label),
        h('span', { class: 'desc' }, it.desc || ''),
      ),
    ),
  );
  list.hidden = false;
  input.setAttribute('aria-expanded', 'true');
}

function closeSuggest() {
  $('event-suggest').hidden = true;
  $('q-event').setAttribute('aria-expanded', 'false');
  suggestIndex = -1;
}

function moveSuggest(d) {
  const lis = $('event-suggest').children;
  if (!lis.length) return;
  suggestIndex = (suggestIndex + d + lis.length) % lis.length;
  [...lis].forEach((li, i) => li.setAttribute('aria-selected', i === suggestIndex ? 'true' : 'false'));
  lis[suggestIndex].scrollIntoView({ block: 'nearest' });
  $('q-event').setAttribute('aria-activedescendant', 'sugg-' + suggestIndex);
}

function acceptSuggest(i) {
  const input = $('q-event');
  const it = suggestItems[i];
  if (!it) return;
  const pos = input.selectionStart;
  const before = input.value.slice(0, pos).replace(/[^\s,]*$/, '');
  const after = input.value.slice(pos).replace(/^[^\s,]*/, '');
  input.value = before + it.value + (after.startsWith(' ') ? after : ' ' + after.trimStart());
  const caret = before.length + it.value.length + 1;
  input.setSelectionRange(caret, caret);
  closeSuggest();
  readForm();
  search();
}

// ---- searching ----

const results = {
  ctl: null,
  gen: 0,
  next: null,
  loading: false,
  bySeq: new Map(),
  total: null,
  loaded: 0,
  selected: -1,
  newCount: 0,
  buckets: [],
  unit: 'hour',
  stream: null,
};

let hist = null;

function showError(msg) {
  const e = $('error');
  e.textContent = msg || '';
  e.hidden = !msg;
}

// Runs of the store that could not be read (damage): the answer says so in "skipped".
const skippedRuns = new Map();
function showSkipped(resp, reset) {
  if (reset) skippedRuns.clear();
  for (const r of (resp && resp.skipped) || []) {
    skippedRuns.set(`${r.from_seq}-${r.to_seq}`, r);
  }
  const e = $('skipped');
  const runs = [...skippedRuns.values()];
  e.textContent = runs.length
    ? 'Not shown: events ' +
      runs
        .map((r) => `${r.from_seq}\u2013${r.to_seq} (${r.quarantined ? 'quarantined' : 'damaged'}: ${r.file})`)
        .join(', ') +
      ' cannot be read from the store.'
    : '';
  e.hidden = !runs.length;
}

function resolveTime(t, now) {
  if (!t) return null;
  if (t === 'now') return now;
  const m = t.match(/^(\d+)([smhdw])$/);
  if (m) return now - Number(m[1]) * UNIT_MS[m[2]];
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) return Date.parse(t + 'T00:00:00Z');
  const ms = Date.parse(t);
  return isNaN(ms) ? null : ms;
}

function chooseUnit(now) {
  const since = resolveTime(state.since, now);
  const until = resolveTime(state.until, now) ?? now;
  if (since === null) return 'day';
  return until - since <= 8 * 864e5 ? 'hour' : 'day';
}

/** bucketMs - a count row's time key ("2026-11-25T10", "...T10:00:00Z", "2026-11-25", seconds) in ms. */
function bucketMs(k) {
  if (typeof k === 'number') return k > 1e11 ? k : k * 1000;
  let s = String(k).trim();
  if (/^\d+$/.test(s)) return bucketMs(Number(s));
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) s += 'T00:00:00Z';
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}$/.test(s)) s += ':00:00Z';
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$/.test(s)) s += ':00Z';
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(s)) s += 'Z';
  return Date.parse(s.replace(' ', 'T'));
}

/** countRows - the rows of a /v1/count answer as [{keys: [...], count}]. */
function countRows(c) {
  const by = c.by || [];
  const rows = c.rows || c.groups || [];
  return rows.map((r) => {
    if (Array.isArray(r)) return { keys: r.slice(0, -1), count: Number(r[r.length - 1]) };
    if (Array.isArray(r.keys)) return { keys: r.keys, count: Number(r.count) };
    return { keys: by.map((b) => r[b]), count: Number(r.count) };
  });
}

function sevKey(v) {
  if (typeof v === 'number') return v;
  if (/^\d+$/.test(String(v))) return Number(v);
  return SEV_NUM[String(v).toUpperCase()] || 0;
}

async function loadHistogram(fp, signal, gen) {
  const now = Date.now();
  let unit = chooseUnit(now);
  const p = new URLSearchParams(fp);
  p.set('by', unit + ',severity');
  let c;
  try {
    c = await getJSON('/v1/count?' + p, { signal });
  } catch (e) {
    if (e.name === 'AbortError' || gen !== results.gen) return;
    $('total').textContent = '';
    showError('count: ' + e.message);
    return;
  }
  if (gen !== results.gen) return;
  const rows = countRows(c);
  if (unit === 'day' && !state.since && rows.length) {
    // all time over a few days: hours show more
    const ts = rows.map((r) => bucketMs(r.keys[0])).filter((t) => !isNaN(t));
    if (Math.max(...ts) - Math.min(...ts) < 8 * 864e5) {
      p.set('by', 'hour,severity');
      try {
        c = await getJSON('/v1/count?' + p, { signal });
        unit = 'hour';
      } catch (e) {
        if (e.name === 'AbortError' || gen !== results.gen) return;
      }
      if (gen !== results.gen) return;
    }
  }
  results.total = Number(c.total);
  results.unit = unit;
  const step = unit === 'hour' ? 36e5 : 864e5;
  const byT = new Map();
  for (const r of countRows(c)) {
    const t = bucketMs(r.keys[0]);
    if (isNaN(t)) continue;
    if (!byT.has(t)) byT.set(t, {});
    const counts = byT.get(t);
    const s = sevKey(r.keys[1]);
    counts[s] = (counts[s] || 0) + r.count;
  }
  const times = [...byT.keys()].sort((a, b) => a - b);
  let start = resolveTime(state.since, now);
  let end = resolveTime(state.until, now) ?? (state.since ? now : null);
  if (start === null) start = times.length ? times[0] : now - step;
  if (end === null) end = times.length ? times[times.length - 1] + step : now;
  start = Math.floor(start / step) * step;
  if (times.length && times[0] < start) start = times[0];
  const buckets = [];
  for (let t = start; t < end && buckets.length < 5000; t += step)
    buckets.push({ t0: t, t1: t + step, counts: byT.get(t) || {} });
  results.buckets = buckets;
  hist.set(buckets, unit);
  renderTotal();
}

function renderTotal() {
  const t = results.total;
  const counting = t === null && document.body.dataset.searching;
  $('total').textContent =
    t === null ? (counting ? 'counting…' : '') : `${t.toLocaleString('en-US')} event${t === 1 ? '' : 's'}`;
  $('total').dataset.count = t === null ? '' : String(t);
  const parts = [];
  if (state.since || state.until) {
    const s = state.since
      ? /^\d+[smhdw]$/.test(state.since)
        ? 'last ' + state.since
        : localTime(state.since)
      : 'the start';
    parts.push(state.until ? `${s} to ${localTime(state.until)}` : s === 'the start' ? '' : s);
  } else parts.push('all time');
  if (results.loaded) parts.push(`${results.loaded.toLocaleString('en-US')} shown`);
  $('range-text').textContent = parts.filter(Boolean).join(' · ');
}

function eventsOf(resp) {
  if (Array.isArray(resp)) return resp;
  return (resp && (resp.events || resp.results)) || [];
}

function nextOf(resp, params) {
  if (!resp || Array.isArray(resp)) return null;
  if (resp.next) {
    if (resp.next.startsWith('/')) return resp.next;
    if (resp.next.startsWith('http')) {
      const u = new URL(resp.next);
      return u.pathname + u.search;
    }
    return '/v1/events?' + resp.next.replace(/^\?/, '');
  }
  if (resp.cursor && resp.more) {
    const p = new URLSearchParams(params);
    p.set('cursor', resp.cursor);
    return '/v1/events?' + p;
  }
  return null;
}

function summaryAttrs(ev) {
  const a = ev.attrs || {};
  return Object.keys(a)
    .filter((k) => k !== 'duser' && k !== 'src')
    .map((k) => `${k}=${a[k]}`)
    .join(' ');
}

function rowFor(ev) {
  const a = ev.attrs || {};
  const user = a.duser ?? a.suser ?? '';
  const tr = h(
    'tr',
    { 'data-seq': String(ev.seq), class: 'sevrow-' + ev.severity },
    h('td', { class: 'c-time', title: ev.time + ' · seq ' + ev.seq }, ...timeParts(ev.time)),
    h('td', { class: 'c-sev' }, sevBadge(ev.severity, ev.severity_name)),
    h(
      'td',
      { class: 'c-event', title: (catalogById.get(ev.id) || {}).description || ev.id },
      h(
        'div',
        { class: 'evcell' },
        h('span', { class: 'evid' }, ev.id),
        // trail's own records, at a glance: no input can give this mark
        ev.origin === 'trail' ? h('span', { class: 'own', title: "written by trail itself" }, 'trail') : null,
        h(
          'a',
          {
            href: '?view=catalog&id=' + encodeURIComponent(ev.id),
            class: 'evlink',
            'data-id': ev.id,
            title: 'the catalog entry of ' + ev.id,
            'aria-label': 'catalog entry',
          },
          '?',
        ),
      ),
    ),
    h('td', { class: 'c-user', title: String(user) }, String(user)),
    h('td', { class: 'c-src' }, a.src === undefined ? '' : String(a.src)),
    h('td', { class: 'c-attrs' }, summaryAttrs(ev)),
  );
  return tr;
}

function rowsEl() {
  return $('rows');
}

function addRows(events, prepend) {
  const frag = document.createDocumentFragment();
  let n = 0;
  for (const ev of events) {
    if (ev.seq === undefined || results.bySeq.has(ev.seq)) continue;
    results.bySeq.set(ev.seq, ev);
    const tr = rowFor(ev);
    if (prepend) tr.classList.add('fresh');
    frag.append(tr);
    n++;
  }
  if (prepend) rowsEl().prepend(frag);
  else rowsEl().append(frag);
  results.loaded += n;
  return n;
}

function setListEnd() {
  const end = $('list-end');
  if (results.next || results.loading) {
    end.hidden = true;
    return;
  }
  end.hidden = false;
  end.textContent = results.loaded
    ? `end of results: ${results.loaded.toLocaleString('en-US')} events`
    : 'no events match';
}

async function search() {
  if (results.ctl) results.ctl.abort();
  stopLive();
  const ctl = new AbortController();
  results.ctl = ctl;
  const gen = ++results.gen;
  results.next = null;
  results.bySeq.clear();
  results.loaded = 0;
  results.selected = -1;
  results.total = null;
  results.newCount = 0;
  $('new-events').hidden = true;
  put(rowsEl());
  $('results').scrollTop = 0;
  showError('');
  saveUrl(false);
  const fp = filterParams();
  document.body.dataset.searching = '1'; // until the first page and the counts are in
  renderTotal();
  const hp = loadHistogram(fp, ctl.signal, gen);
  const pp = new URLSearchParams(fp);
  pp.set('limit', String(PAGE));
  if (state.order === 'oldest') pp.set('order', 'oldest');
  results.loading = true;
  $('list-end').hidden = true;
  try {
    const resp = await getJSON('/v1/events?' + pp, { signal: ctl.signal });
    if (gen !== results.gen) return;
    addRows(eventsOf(resp), false);
    showSkipped(resp, true);
    results.next = nextOf(resp, pp);
    results.params = pp;
  } catch (e) {
    if (e.name === 'AbortError' || gen !== results.gen) return;
    showError(e.message);
  } finally {
    if (gen === results.gen) results.loading = false;
  }
  setListEnd();
  renderTotal();
  if (state.live) startLive();
  if (state.seq && state.view === 'search') openDetail(state.seq, false);
  await hp;
  if (gen === results.gen) delete document.body.dataset.searching;
  maybeMore();
}

const debouncedSearch = debounce(() => {
  readForm();
  search();
}, DEBOUNCE_MS);

async function loadMore() {
  if (results.loading || !results.next) return;
  const gen = results.gen;
  results.loading = true;
  try {
    const resp = await getJSON(results.next, { signal: results.ctl && results.ctl.signal });
    if (gen !== results.gen) return;
    addRows(eventsOf(resp), false);
    showSkipped(resp, false);
    results.next = nextOf(resp, results.params);
  } catch (e) {
    if (e.name === 'AbortError' || gen !== results.gen) return;
    showError(e.message);
    results.next = null;
  } finally {
    if (gen === results.gen) results.loading = false;
  }
  setListEnd();
  renderTotal();
  maybeMore();
}

/** maybeMore - load the next page when the end of the list is in view (or near it). */
function maybeMore() {
  const r = $('results');
  if (results.next && !results.loading && r.scrollTop + r.clientHeight > r.scrollHeight - 600) loadMore();
}

// ---- live mode ----

function setLiveButton() {
  const b = $('live');
  b.setAttribute('aria-pressed', state.live ? 'true' : 'false');
  b.textContent = state.live ? '● Live' : '○ Live';
}

let pendingLive = [];
let liveFrame = 0;

function startLive() {
  stopLive();
  const fp = filterParams();
  fp.delete('since');
  fp.delete('until');
  // start after the newest event shown, so that nothing between the search and the stream is lost
  let last = 0;
  for (const s of results.bySeq.keys()) if (s > last) last = s;
  $('live-state').textContent = 'live: connecting…';
  results.stream = openStream('/v1/events/stream' + (fp.toString() ? '?' + fp : ''), {
    lastId: last ? String(last) : '',
    onEvent: (ev) => {
      pendingLive.push(ev);
      if (!liveFrame) liveFrame = requestAnimationFrame(flushLive);
    },
    onState: (s, detail) => {
      $('live-state').textContent =
        s === 'open' ? 'live: following new events' : s === 'retry' ? `live: reconnecting (${detail})` : '';
    },
  });
}

function stopLive() {
  if (results.stream) results.stream.close();
  results.stream = null;
  pendingLive = [];
  $('live-state').textContent = '';
}

function flushLive() {
  liveFrame = 0;
  const evs = pendingLive.sort((a, b) => b.seq - a.seq);
  pendingLive = [];
  if (!evs.length) return;
  const box = $('results');
  const atTop = box.scrollTop < 4;
  const before = box.scrollHeight;
  const top = box.scrollTop;
  const n = addRows(state.order === 'oldest' ? [] : evs, true);
  if (state.order === 'oldest' && !results.next) addRows(evs.reverse(), false);
  if (!n) return;
  if (results.selected >= 0) results.selected += n;
  if (!atTop) {
    // keep what the reader looks at where it was
    box.scrollTop = top + (box.scrollHeight - before);
    results.newCount += n;
    const pill = $('new-events');
    pill.textContent = `↑ ${results.newCount} new event${results.newCount === 1 ? '' : 's'}`;
    pill.hidden = false;
  }
  if (results.total !== null) results.total += n;
  // the histogram's last bucket grows with them
  for (const ev of evs) {
    const t = Date.parse(ev.time);
    const b = results.buckets.find((x) => t >= x.t0 && t < x.t1);
    if (b) b.counts[ev.severity] = (b.counts[ev.severity] || 0) + 1;
  }
  if (results.buckets.length) hist.set(results.buckets, results.unit);
  renderTotal();
}

function toggleLive() {
  state.live = !state.live;
  if (state.live && state.order === 'oldest') {
    state.order = 'newest';
    $('q-order').value = 'newest';
    setLiveButton();
    search();
    return;
  }
  setLiveButton();
  saveUrl(false);
  if (state.live) startLive();
  else stopLive();
}

// ---- selection and the keyboard ----

function rowAt(i) {
  return rowsEl().children[i] || null;
}

function select(i, scroll = true) {
  const rows = rowsEl().children;
  if (!rows.length) return;
  i = Math.max(0, Math.min(rows.length - 1, i));
  if (results.selected >= 0 && rows[results.selected]) rows[results.selected].classList.remove('selected');
  results.selected = i;
  rows[i].classList.add('selected');
  if (scroll) rows[i].scrollIntoView({ block: 'nearest' });
  if (i > rows.length - 10) loadMore();
}

function selectedSeq() {
  const tr = rowAt(results.selected);
  return tr ? Number(tr.dataset.seq) : null;
}

// ---- the event detail ----

let detailGen = 0;
let detailRetry = 0;

function section(title, ...content) {
  return [h('h3', {}, title), ...content];
}

function attrsTable(ev) {
  const a = ev.attrs || {};
  const keys = Object.keys(a).sort();
  const rows = [
    ['time', localTime(ev.time) + '  (' + ev.time + ')'],
    ['seq', String(ev.seq)],
    ['uuid', ev.uuid || ''],
    ['host', ev.host || ''],
    ['severity', `${ev.severity} ${ev.severity_name || SEV_NAME[ev.severity] || ''}`],
    ['from', ev.origin === 'trail' ? 'trail itself' : [ev.input, ev.peer].filter(Boolean).join(' from ')],
    ['principal', ev.principal || ''],
    ['received', ev.received ? localTime(ev.received) + '  (' + ev.received + ')' : ''],
    ['problems', ev.problems || ''],
  ]
    .filter(([k, v]) => v || !['principal', 'problems', 'received'].includes(k))
    .map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)));
  for (const k of keys) {
    const def = attrDef(ev.id, k);
    const v = a[k] === null ? 'null' : String(a[k]);
    rows.push(
      h(
        'tr',
        {},
        h('th', { title: def && def.doc ? def.doc : '' }, k),
        h(
          'td',
          {},
          v,
          def ? h('span', { class: 'type' }, def.type + (def.required ? ', required' : '')) : null,
          h(
            'button',
            {
              type: 'button',
              class: 'filter',
              title: `search ${k}=${v}`,
              onclick: () => {
                addWhere(`${k}=${v}`);
                closeDetail();
                search();
              },
            },
            'filter',
          ),
        ),
      ),
    );
  }
  return h('table', { class: 'kv', id: 'detail-attrs' }, h('tbody', {}, rows));
}

async function openDetail(seq, push = true) {
  const gen = ++detailGen;
  clearTimeout(detailRetry);
  state.seq = seq;
  saveUrl(push);
  const idx = [...rowsEl().children].findIndex((tr) => Number(tr.dataset.seq) === seq);
  if (idx >= 0) select(idx);
  const shown = results.bySeq.get(seq);
  $('detail').hidden = false;
  document.querySelector('.split').classList.add('with-detail');
  $('detail-title').textContent = shown ? shown.id : 'event ' + seq;
  const body = $('detail-body');
  const proofBox = h('div', { id: 'proof' }, h('p', { class: 'muted' }, 'fetching the record and its proof…'));
  const rawBox = h('div', { id: 'raw' });
  put(body);
  if (shown) body.append(...detailHead(shown), ...section('Attributes', attrsTable(shown)));
  body.append(...section('Inclusion proof', proofBox), rawBox);
  let p;
  try {
    p = await getJSON('/v1/proof?seq=' + seq);
  } catch (e) {
    if (gen !== detailGen) return;
    if (e.status === 409) {
      put(
        proofBox,
        h('p', { class: 'proof-status', id: 'proof-status' }, 'not yet covered'),
        h('p', { class: 'muted' }, e.message + ' Trying again in a few seconds.'),
      );
      detailRetry = setTimeout(() => gen === detailGen && !$('detail').hidden && openDetail(seq, false), 3000);
    } else {
      put(proofBox, h('p', { class: 'error' }, 'no proof: ' + e.message));
    }
    return;
  }
  if (gen !== detailGen) return;
  const ev = shown || p.event;
  if (!shown) {
    $('detail-title').textContent = ev.id;
    body.prepend(...detailHead(ev), ...section('Attributes', attrsTable(ev)));
  }
  put(
    rawBox,
    ...section('CEF', h('pre', { class: 'raw', id: 'detail-cef' }, p.cef || '')),
    ...section('JSON', h('pre', { class: 'raw', id: 'detail-json' }, JSON.stringify(p.event, null, 2))),
  );
  let check;
  try {
    check = await checkProof(p, ev);
  } catch (e) {
    check = { ok: false, reason: e.message, steps: [{ label: 'check', ok: false, detail: e.message }] };
  }
  if (gen !== detailGen) return;
  put(proofBox, ...proofView(p, check, !shown));
}

function detailHead(ev) {
  const def = catalogById.get(ev.id);
  return [
    h(
      'p',
      {},
      sevBadge(ev.severity, ev.severity_name),
      ' ',
      def ? def.description : '',
      ' ',
      h(
        'a',
        {
          href: '?view=catalog&id=' + encodeURIComponent(ev.id),
          class: 'evlink',
          'data-id': ev.id,
          id: 'detail-catalog-link',
        },
        'catalog entry →',
      ),
    ),
  ];
}

function proofView(p, check, selfCheck) {
  const cp = p.checkpoint;
  const rootMatch = check.root && check.root === cp.root;
  return [
    h(
      'p',
      { class: 'proof-status ' + (check.ok ? 'ok' : 'bad'), id: 'proof-status' },
      check.ok ? 'verified' : 'not verified',
    ),
    check.ok
      ? h(
          'p',
          { class: 'muted' },
          `Record ${p.seq} is leaf ${p.proof.leaf_index} of the tree of ${cp.tree_size} records that checkpoint signs; checked in this page with ${check.engine}.`,
        )
      : h('p', { class: 'error', id: 'proof-reason' }, check.reason || 'the proof does not hold'),
    selfCheck ? h('p', { class: 'muted' }, 'The event shown comes from the proof answer itself.') : null,
    h(
      'ul',
      { class: 'proof-steps' },
      check.steps.map((s) => h('li', { class: s.ok ? '' : 'bad' }, h('b', {}, s.label), ': ', s.detail)),
    ),
    h(
      'table',
      { class: 'kv' },
      h(
        'tbody',
        {},
        h('tr', {}, h('th', {}, 'leaf hash'), h('td', { class: 'hash' }, check.leaf || '')),
        h(
          'tr',
          {},
          h('th', {}, 'recomputed root'),
          h('td', { class: 'hash ' + (rootMatch ? 'match' : 'mismatch'), id: 'proof-root' }, check.root || '(none)'),
        ),
        h('tr', {}, h('th', {}, 'checkpoint root'), h('td', { class: 'hash', id: 'checkpoint-root' }, cp.root)),
        h(
          'tr',
          {},
          h('th', {}, 'checkpoint'),
          h('td', {}, `size ${cp.tree_size} · ${localTime(cp.time)} · key ${cp.key_id}`),
        ),
        h('tr', {}, h('th', {}, 'path'), h('td', {}, `${(p.proof.path || []).length} hashes`)),
      ),
    ),
    h(
      'details',
      {},
      h('summary', {}, 'checkpoint line and audit path'),
      h('pre', { class: 'raw' }, cp.text + '\n\n' + (p.proof.path || []).join('\n')),
    ),
  ];
}

function closeDetail() {
  detailGen++;
  clearTimeout(detailRetry);
  $('detail').hidden = true;
  document.querySelector('.split').classList.remove('with-detail');
  state.seq = null;
  saveUrl(false);
  $('results').focus({ preventScroll: true });
}

// ---- the catalog browser ----

function catMatches(e, q, sev) {
  if (sev && e.severity !== sev) return false;
  if (!q) return true;
  if (/[*?[]/.test(q)) return globMatch(q, e.id);
  const hay = (e.id + ' ' + e.description + ' ' + (e.attrs || []).map((a) => a.key).join(' ')).toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .every((w) => hay.includes(w));
}

async function showCatalog() {
  $('cat-q').value = state.catQ;
  let c;
  try {
    c = await loadCatalog();
  } catch (e) {
    put($('cat-detail'), h('p', { class: 'error' }, 'catalog: ' + e.message));
    return;
  }
  const sev = Number($('cat-sev').value) || 0;
  const list = c.events.filter((e) => catMatches(e, state.catQ, sev));
  const custom = c.events.filter((e) => e.custom).length;
  $('cat-count').textContent =
    `${list.length} of ${c.events.length} events (${c.events.length - custom} built in, ${custom} custom) · policy ${c.policy}`;
  put(
    $('cat-list'),
    ...list.map((e) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            href: '?view=catalog&id=' + encodeURIComponent(e.id),
            'data-id': e.id,
            class: 'catlink',
            'aria-current': e.id === state.catId ? 'true' : 'false',
          },
          sevBadge(e.severity, e.severity_name),
          h('code', {}, e.id),
          e.custom ? h('span', { class: 'tag' }, 'custom') : null,
        ),
      ),
    ),
  );
  const cur = $('cat-list').querySelector('a[aria-current="true"]');
  if (cur) cur.scrollIntoView({ block: 'nearest' });
  renderCatalogEntry(catalogById.get(state.catId));
}

function renderCatalogEntry(e) {
  const box = $('cat-detail');
  if (!e) {
    put(
      box,
      h(
        'p',
        { class: 'muted' },
        state.catId
          ? `no event ${state.catId} in the catalog`
          : 'Choose an event to see its description and attributes.',
      ),
    );
    return;
  }
  const attrs = (e.attrs || []).map((a) =>
    h(
      'tr',
      {},
      h('th', {}, a.key),
      h(
        'td',
        {},
        a.type,
        a.required ? ', required' : ', optional',
        a.indexed ? ', indexed' : '',
        a.values ? h('div', { class: 'muted' }, 'values: ' + a.values.join(', ')) : null,
        a.doc ? h('div', { class: 'muted' }, a.doc) : null,
      ),
    ),
  );
  const searchHref = '?' + new URLSearchParams({ event: e.id }).toString();
  put(
    box,
    h('h2', { id: 'cat-title' }, e.id),
    h(
      'p',
      {},
      sevBadge(e.severity, e.severity_name),
      ' ',
      h('span', { class: 'muted' }, `severity ${e.severity}`),
      e.custom ? h('span', { class: 'tag' }, 'custom') : null,
    ),
    h('p', { class: 'desc', id: 'cat-desc' }, e.description),
    e.note ? h('p', { class: 'note' }, e.note) : null,
    h('h3', {}, 'Attributes'),
    attrs.length
      ? h('table', { class: 'kv', id: 'cat-attrs' }, h('tbody', {}, attrs))
      : h('p', { class: 'muted' }, 'none declared'),
    h('p', {}, h('a', { href: searchHref, id: 'cat-search', class: 'searchlink' }, `search ${e.id} events →`)),
  );
}

// ---- the integrity panel ----

let integrityTimer = 0;

function kvTable(rows) {
  return h(
    'table',
    { class: 'kv' },
    h(
      'tbody',
      {},
      rows.filter(Boolean).map(([k, v, cls]) => h('tr', {}, h('th', {}, k), h('td', { class: cls || '' }, v))),
    ),
  );
}

function ago(iso) {
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (isNaN(s)) return '';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

async function loadIntegrity() {
  clearTimeout(integrityTimer);
  const [cp, ver, sinks, health] = await Promise.allSettled([
    getJSON('/v1/checkpoint'),
    getJSON('/v1/verify'),
    getJSON('/v1/sinks'),
    getJSON('/healthz').catch((e) => (e.body ? e.body : Promise.reject(e))),
  ]);
  if (state.view !== 'integrity') return;
  const body = (id) => $(id).querySelector('.card-body');
  if (cp.status === 'fulfilled') {
    const c = cp.value;
    put(
      body('card-checkpoint'),
      kvTable([
        ['tree size', c.tree_size.toLocaleString('en-US') + ' records'],
        ['root', c.root, 'hash'],
        ['chain', c.chain, 'hash'],
        ['signed', `${localTime(c.time)} (${ago(c.time)})`],
        ['key id', c.key_id],
        ['origin', c.origin, 'hash'],
      ]),
      h('details', {}, h('summary', {}, 'the line a witness keeps'), h('pre', { class: 'raw' }, c.text)),
    );
  } else put(body('card-checkpoint'), h('p', { class: 'muted' }, cp.reason.message));

  if (ver.status === 'fulfilled') {
    const v = ver.value;
    const badge =
      v.ok === undefined
        ? h('span', { class: 'badge wait', id: 'verify-badge' }, v.state === 'failed' ? 'could not run' : 'running…')
        : h(
            'span',
            { class: 'badge ' + (v.ok ? 'ok' : 'bad'), id: 'verify-badge' },
            v.ok ? 'intact' : `${v.damage_count} damaged`,
          );
    put(
      body('card-verify'),
      h(
        'p',
        {},
        badge,
        ' ',
        v.state === 'running' && v.ok !== undefined ? h('span', { class: 'muted' }, 'a new run is going on') : '',
      ),
      kvTable([
        v.finished
          ? ['finished', `${localTime(v.finished)} (${ago(v.finished)}), ${v.duration_ms} ms`]
          : ['started', v.started ? localTime(v.started) : 'never'],
        v.records !== undefined
          ? ['records', `${v.records.toLocaleString('en-US')} (seq ${v.first_seq}..${v.last_seq})`]
          : null,
        v.root ? ['root', v.root, 'hash'] : null,
        v.segments !== undefined
          ? ['checked', `${v.segments} segments, ${v.checkpoints} checkpoints, ${v.signatures} signatures`]
          : null,
        v.error ? ['error', v.error, 'error'] : null,
      ]),
      (v.damage || []).length
        ? h(
            'ul',
            { class: 'proof-steps' },
            v.damage.map((d) =>
              h(
                'li',
                { class: 'bad' },
                h('b', {}, d.kind),
                ` seq ${d.seq}${d.seq_last !== d.seq ? '..' + d.seq_last : ''} in ${d.file}: ${d.message}`,
              ),
            ),
          )
        : null,
      (v.notes || []).length
        ? h(
            'ul',
            { class: 'muted' },
            v.notes.map((n) => h('li', {}, n)),
          )
        : null,
    );
    $('verify-now').disabled = v.state === 'running';
  } else put(body('card-verify'), h('p', { class: 'error' }, ver.reason.message));

  if (health.status === 'fulfilled') {
    const s = health.value;
    put(
      body('card-store'),
      kvTable([
        ['status', s.status === 'ok' ? 'accepting events' : 'failing: ' + s.store, s.status === 'ok' ? '' : 'error'],
        ['durable seq', Number(s.durable_seq).toLocaleString('en-US')],
        ['queue', `${s.queue_events} of ${s.queue_limit} events`],
        ['traild', s.version],
      ]),
    );
  } else put(body('card-store'), h('p', { class: 'error' }, health.reason.message));

  if (sinks.status === 'fulfilled') {
    const list = sinks.value.sinks || [];
    put(
      body('card-sinks'),
      list.length
        ? h(
            'table',
            { class: 'sinks', id: 'sinks-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['sink', 'type', 'cursor', 'lag', 'delivered', 'updated', 'last error'].map((t, i) =>
                  h('th', { class: i >= 2 && i <= 4 ? 'num' : '' }, t),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              list.map((s) =>
                h(
                  'tr',
                  {},
                  h('td', {}, s.name),
                  h('td', {}, s.type + (s.witness ? ' (witness)' : '')),
                  h('td', { class: 'num' }, s.cursor.toLocaleString('en-US')),
                  // a cursor past the store's end has no lag: the store lost records it delivered
                  s.lag == null
                    ? h('td', { class: 'num error' }, `past the end by ${(s.past_end || 0).toLocaleString('en-US')}`)
                    : h('td', { class: 'num ' + (s.lag > 0 ? 'error' : '') }, s.lag.toLocaleString('en-US')),
                  h('td', { class: 'num' }, s.delivered.toLocaleString('en-US')),
                  h('td', {}, s.updated ? ago(s.updated) : 'never'),
                  h(
                    'td',
                    { class: s.error ? 'error' : 'muted' },
                    s.error ? (s.error_time ? `${s.error} (${ago(s.error_time)})` : s.error) : 'none',
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No sinks are configured ([sink NAME] sections of the config).'),
    );
  } else put(body('card-sinks'), h('p', { class: 'error' }, sinks.reason.message));

  const running = ver.status === 'fulfilled' && ver.value.state === 'running';
  integrityTimer = setTimeout(
    () => state.view === 'integrity' && !document.hidden && loadIntegrity(),
    running ? 1000 : 5000,
  );
}

// ---- login ----

function showLogin(msg) {
  const d = $('login');
  $('login-error').hidden = !msg;
  $('login-error').textContent = msg || '';
  if (!d.open) d.showModal();
  $('login-token').focus();
}

// ---- views and routing ----

function route() {
  readUrl();
  for (const v of ['search', 'catalog', 'integrity', 'alerts', 'rules']) {
    $('view-' + v).hidden = state.view !== v;
    $('tab-' + v).setAttribute('aria-current', state.view === v ? 'page' : 'false');
  }
  $('logout').hidden = !getToken();
  clearTimeout(integrityTimer);
  if (state.view !== 'search') stopLive();
  stopDetect();
  document.title = {
    search: 'trail · search',
    catalog: 'trail · catalog',
    integrity: 'trail · integrity',
    alerts: 'trail · alerts',
    rules: 'trail · rules',
  }[state.view];
  if (state.view === 'search') {
    writeForm();
    $('detail').hidden = !state.seq;
    document.querySelector('.split').classList.toggle('with-detail', !!state.seq);
    search();
  } else if (state.view === 'catalog') showCatalog();
  else if (state.view === 'alerts') showAlerts();
  else if (state.view === 'rules') showRules(state.catId);
  else loadIntegrity();
}

function go(url) {
  history.pushState(null, '', url);
  route();
}

let gPending = false;

function onKey(e) {
  const t = e.target;
  const typing = t instanceof HTMLElement && t.matches('input, select, textarea');
  if (e.key === 'Escape') {
    if (!$('event-suggest').hidden) return closeSuggest();
    if (typing) return t.blur();
    if (!$('detail').hidden) return closeDetail();
    return;
  }
  if (typing || e.ctrlKey || e.metaKey || e.altKey || $('login').open) return;
  if (gPending) {
    gPending = false;
    const to = { s: './', c: '?view=catalog', i: '?view=integrity', a: '?view=alerts', r: '?view=rules' }[e.key];
    if (to) {
      e.preventDefault();
      go(to);
    }
    return;
  }
  if (e.key === 'g') {
    gPending = true;
    setTimeout(() => (gPending = false), 1200);
    return;
  }
  if (e.key === '?') {
    $('help').showModal();
    return;
  }
  if (state.view === 'catalog' && (e.key === 'j' || e.key === 'k')) {
    const links = [...$('cat-list').querySelectorAll('a')];
    const i = links.findIndex((a) => a.dataset.id === state.catId);
    const next = links[Math.max(0, Math.min(links.length - 1, i + (e.key === 'j' ? 1 : -1)))];
    if (next) {
      state.catId = next.dataset.id;
      saveUrl(false);
      showCatalog();
    }
    return;
  }
  if (state.view !== 'search') return;
  switch (e.key) {
    case '/':
      e.preventDefault();
      $('q-text').focus();
      $('q-text').select();
      break;
    case 'j':
      select(results.selected + 1);
      if (!$('detail').hidden && selectedSeq()) openDetail(selectedSeq(), false);
      break;
    case 'k':
      select(results.selected - 1);
      if (!$('detail').hidden && selectedSeq()) openDetail(selectedSeq(), false);
      break;
    case 'Enter':
      if (selectedSeq()) {
        e.preventDefault();
        openDetail(selectedSeq());
      }
      break;
    case 'l':
      toggleLive();
      break;
  }
}

function init() {
  fillSeveritySelects();
  hist = new Histogram($('hist'), {
    onSelect: (t0, t1) => {
      state.since = new Date(t0).toISOString().replace('.000Z', 'Z');
      state.until = new Date(Math.min(t1, Date.now() + 60000)).toISOString().replace('.000Z', 'Z');
      writeForm();
      search();
    },
  });
  setUnauthorizedHandler(() => showLogin(getToken() ? 'That token was refused.' : ''));

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setToken($('login-token').value.trim());
    $('login-token').value = '';
    $('login').close();
    catalogLoading = null;
    loadCatalog().catch(() => {});
    route();
  });
  $('logout').addEventListener('click', () => {
    setToken('');
    location.reload();
  });
  $('help-btn').addEventListener('click', () => $('help').showModal());

  // the form: selects search at once, typing after a pause
  $('search').addEventListener('submit', (e) => {
    e.preventDefault();
    debouncedSearch.now();
  });
  for (const id of ['q-preset', 'q-sev-min', 'q-sev-max', 'q-order', 'q-since', 'q-until'])
    $(id).addEventListener('change', () => {
      if (id === 'q-preset' && $('q-preset').value === 'custom' && !$('q-since').value) {
        // start the custom range from what was shown
        const now = Date.now();
        $('q-since').value = toLocalInput(resolveTime(state.since, now) ?? now - 864e5);
        $('q-until').value = toLocalInput(now);
      }
      if (id === 'q-order' && $('q-order').value === 'oldest' && state.live) {
        state.live = false;
        setLiveButton();
      }
      debouncedSearch.now();
    });
  $('q-text').addEventListener('input', debouncedSearch);
  const ev = $('q-event');
  // a half-typed id matches nothing: the event field searches on Enter, on a
  // chosen suggestion and when it is left, not on every key
  ev.addEventListener('input', updateSuggest);
  ev.addEventListener('change', () => debouncedSearch.now());
  ev.addEventListener('focus', () => loadCatalog().then(updateSuggest, () => {}));
  ev.addEventListener('blur', () => setTimeout(closeSuggest, 100));
  ev.addEventListener('keydown', (e) => {
    const open = !$('event-suggest').hidden;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) updateSuggest();
      moveSuggest(1);
    } else if (e.key === 'ArrowUp' && open) {
      e.preventDefault();
      moveSuggest(-1);
    } else if ((e.key === 'Enter' || e.key === 'Tab') && open && suggestIndex >= 0) {
      e.preventDefault();
      acceptSuggest(suggestIndex);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      closeSuggest();
      debouncedSearch.now();
    }
  });
  const wh = $('q-where');
  wh.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      if (addWhere(wh.value)) {
        wh.value = '';
        search();
      }
    } else if (e.key === 'Backspace' && !wh.value && state.where.length) {
      removeWhere(state.where.length - 1);
    }
  });
  $('live').addEventListener('click', toggleLive);
  $('reset').addEventListener('click', () => go('./'));
  $('new-events').addEventListener('click', () => {
    $('results').scrollTo({ top: 0, behavior: 'smooth' });
  });

  // the list: infinite scroll, clicks, the pill
  const box = $('results');
  box.addEventListener('scroll', () => {
    if (box.scrollTop < 4 && results.newCount) {
      results.newCount = 0;
      $('new-events').hidden = true;
    }
    maybeMore();
  });
  new IntersectionObserver((entries) => entries.some((x) => x.isIntersecting) && loadMore(), {
    root: box,
    rootMargin: '600px',
  }).observe($('sentinel'));
  rowsEl().addEventListener('click', (e) => {
    const a = e.target.closest('a.evlink');
    if (a) {
      e.preventDefault();
      go(a.getAttribute('href'));
      return;
    }
    const tr = e.target.closest('tr');
    if (tr) openDetail(Number(tr.dataset.seq));
  });
  $('detail-close').addEventListener('click', closeDetail);
  $('detail').addEventListener('click', (e) => {
    const a = e.target.closest('a.evlink');
    if (a) {
      e.preventDefault();
      go(a.getAttribute('href'));
    }
  });

  // catalog
  const catSearch = debounce(() => {
    state.catQ = $('cat-q').value.trim();
    saveUrl(false);
    showCatalog();
  }, 150);
  $('cat-q').addEventListener('input', catSearch);
  $('cat-sev').addEventListener('change', () => showCatalog());
  $('cat-list').addEventListener('click', (e) => {
    const a = e.target.closest('a.catlink');
    if (!a) return;
    e.preventDefault();
    state.catId = a.dataset.id;
    saveUrl(true);
    showCatalog();
  });
  $('cat-detail').addEventListener('click', (e) => {
    const a = e.target.closest('a.searchlink');
    if (!a) return;
    e.preventDefault();
    go(a.getAttribute('href'));
  });

  // integrity
  $('verify-now').addEventListener('click', async () => {
    $('verify-now').disabled = true;
    try {
      await postJSON('/v1/verify');
    } catch (e) {
      if (e.status !== 409) {
        // e.g. 403: running a verification is an admin's
        $('card-verify')
          .querySelector('.card-body')
          .prepend(h('p', { class: 'error' }, 'cannot start one: ' + e.message));
        $('verify-now').disabled = false;
        return;
      }
    }
    loadIntegrity();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.view === 'integrity') loadIntegrity();
  });

  // navigation
  document.querySelectorAll('.tabs a, a.brand').forEach((a) =>
    a.addEventListener('click', (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      go(a.getAttribute('href'));
    }),
  );
  window.addEventListener('popstate', route);
  document.addEventListener('keydown', onKey);

  loadCatalog().catch(() => {});
  route();
}

init();
