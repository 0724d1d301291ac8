// search.js - searching: one page of events per request with infinite scroll
// through cursors, the count and the histogram's buckets from /v1/count, the
// runs of the store that could not be read (skipped), requests cancelled when
// the filters change and typing debounced; rows whose event an alert cites
// are marked (cited.js).
//
// Not here: the form (form.js), live mode (live.js), the chart itself
// (histogram.js), the event detail (detail.js).

import { getJSON } from './api.js';
import { PAGE, DEBOUNCE_MS, SEV_NUM, UNIT_MS, $, h, put, sevBadge, debounce, fmtTime, timeParts } from './util.js';
import { state, filterParams, saveUrl } from './state.js';
import { catalogById } from './catalog.js';
import { readForm } from './form.js';
import { startLive, stopLive } from './live.js';
import { openDetail } from './detail.js';
import { loadCited, markRow, markRows, noteAlert } from './cited.js';

export const results = {
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

export let hist = null;

/** setHistogram - the chart the counts are drawn on (init makes it once the page is there). */
export function setHistogram(chart) {
  hist = chart;
}

export function showError(msg) {
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

export function resolveTime(t, now) {
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

export function renderTotal() {
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
        : fmtTime(state.since)
      : 'the start';
    parts.push(state.until ? `${s} to ${fmtTime(state.until)}` : s === 'the start' ? '' : s);
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
    h('td', { class: 'c-time', title: ev.time + ' · seq ' + ev.seq, 'data-t': ev.time, 'data-parts': '' }, ...timeParts(ev.time)),
    h('td', { class: 'c-sev' }, sevBadge(ev.severity, ev.severity_name)),
    h(
      'td',
      { class: 'c-event', title: (catalogById.get(ev.id) || {}).description || ev.id },
      h(
        'div',
        { class: 'evcell' },
        h('span', { class: 'evid' }, ev.id),
        // trail's own records, at a glance: no input can give this mark
        ev.origin === 'trail' ? h('span', { class: 'own', title: 'written by trail itself' }, 'trail') : null,
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

export function rowsEl() {
  return $('rows');
}

export function addRows(events, prepend) {
  const frag = document.createDocumentFragment();
  let n = 0;
  let alerts = false;
  for (const ev of events) {
    if (ev.seq === undefined || results.bySeq.has(ev.seq)) continue;
    results.bySeq.set(ev.seq, ev);
    alerts = noteAlert(ev) || alerts;
    const tr = rowFor(ev);
    if (prepend) tr.classList.add('fresh');
    markRow(tr);
    frag.append(tr);
    n++;
  }
  if (prepend) rowsEl().prepend(frag);
  else rowsEl().append(frag);
  // an alert among the new rows (live mode) may cite rows shown before it
  if (alerts) markRows(rowsEl());
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

export async function search() {
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
  // the alerts are read beside the page; whichever comes second marks the rows
  const cp = loadCited(ctl.signal).then((ok) => {
    if (ok && gen === results.gen) markRows(rowsEl());
  });
  const pp = new URLSearchParams(fp);
  pp.set('limit', String(PAGE));
  if (state.order !== 'newest') pp.set('order', state.order);
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
  await cp;
  if (gen === results.gen) delete document.body.dataset.searching;
  maybeMore();
}

export const debouncedSearch = debounce(() => {
  readForm();
  search();
}, DEBOUNCE_MS);

export async function loadMore() {
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
export function maybeMore() {
  const r = $('results');
  if (results.next && !results.loading && r.scrollTop + r.clientHeight > r.scrollHeight - 600) loadMore();
}
