// state.js - what the page shows, kept in its URL: the view, the search's
// filters (those of `trail query`), the order, live mode, the open event and
// the catalog browser's choice; read from the URL, written back to it, and
// turned into the API's query parameters.
//
// Not here: the form that edits the filters (form.js), routing (app.js).

import { $ } from './util.js';

/** ORDERS - the API's orders: by seq (received) and by event time. */
export const ORDERS = ['newest', 'oldest', '-time', 'time'];

/** orderOf - a valid order from text, newest otherwise. */
export function orderOf(v) {
  return ORDERS.includes(v) ? v : 'newest';
}

export const state = {
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
  report: '', // the Reports page's report
  reportNow: '', // the instant it runs for (RFC 3339), '' for now
};

export function readUrl() {
  const p = new URLSearchParams(location.search);
  state.view = ['catalog', 'integrity', 'alerts', 'rules', 'reports'].includes(p.get('view')) ? p.get('view') : 'search';
  state.since = p.get('since') || '';
  state.until = p.get('until') || '';
  state.events = p.getAll('event').filter(Boolean);
  state.severity = p.get('severity') || '';
  state.where = p.getAll('where').filter(Boolean);
  state.text = p.getAll('text').filter(Boolean).join(' ');
  state.order = orderOf(p.get('order'));
  // live mode adds arriving events at an end of the list: not in event time order
  state.live = p.get('live') === '1' && !state.order.endsWith('time');
  state.seq = /^\d+$/.test(p.get('seq') || '') ? Number(p.get('seq')) : null;
  state.catId = p.get('id') || '';
  state.catQ = p.get('q') || '';
  state.report = p.get('report') || '';
  state.reportNow = p.get('now') || '';
}

/** filterParams - the filters as the API's query parameters (those of `trail query`). */
export function filterParams() {
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
    if (state.order !== 'newest') p.set('order', state.order);
    if (state.live) p.set('live', '1');
    if (state.seq) p.set('seq', String(state.seq));
  } else {
    p = new URLSearchParams({ view: state.view });
    if (state.view === 'rules' && state.catId) p.set('id', state.catId);
    if (state.view === 'reports' && state.report) {
      p.set('report', state.report);
      if (state.reportNow) p.set('now', state.reportNow);
    }
    if (state.view === 'catalog') {
      if (state.catId) p.set('id', state.catId);
      if (state.catQ) p.set('q', state.catQ);
    }
  }
  const qs = p.toString();
  return location.pathname + (qs ? '?' + qs : '');
}

export function saveUrl(push) {
  const url = pageUrl();
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}
