// detect.js - the viewer's Alerts and Rules pages, over traild's detection
// ([detect] rules, docs/detection.md): alerts are trail_alert records read
// through the normal query API (/v1/events?event=trail_alert, refreshed
// every few seconds while the page shows), each opening the search of the
// events it cites; rules come from GET /v1/rules, each with its file's text,
// its state and its firings per day (/v1/count).
//
// Not here: the search page and the routing between pages (app.js).

import { getJSON } from './api.js';
import { h, put } from './dom.js';

const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);
let timer = 0;
let gen = 0; // a newer showAlerts/showRules makes older answers stale

/** stopDetect - stop refreshing (another page shows). */
export function stopDetect() {
  clearTimeout(timer);
  gen++;
}

/** the search of the events an alert cites: its window, and its group as where filters */
function citedSearch(a) {
  const p = new URLSearchParams();
  if (a.window_start) p.set('since', a.window_start);
  // until is exclusive: a millisecond past the last match
  if (a.window_end) p.set('until', new Date(Date.parse(a.window_end) + 1).toISOString());
  for (const kv of (a.group || '').split(', ').filter(Boolean)) p.append('where', kv);
  p.set('order', 'oldest');
  return './?' + p.toString();
}

function seqLinks(text) {
  return (text || '')
    .split(',')
    .filter(Boolean)
    .map((s, i) => [i ? ', ' : '', h('a', { href: './?seq=' + s, class: 'seq' }, s)]);
}

function alertRow(ev) {
  const a = ev.attrs || {};
  const summary = !!a.updates;
  return h(
    'tr',
    { 'data-seq': ev.seq, class: summary ? 'summary' : null },
    h('td', { class: 'c-time' }, ev.time),
    h('td', {}, h('span', { class: 'level level-' + (a.level || 'medium') }, a.level || 'medium')),
    h(
      'td',
      { class: 'c-title' },
      h('a', { href: './?seq=' + ev.seq, title: a.msg || '' }, a.title || a.rule || '?'),
      summary ? h('span', { class: 'tag', title: 'updates alert ' + a.updates }, 'summary') : null,
    ),
    h('td', {}, a.group || ''),
    h('td', { class: 'num' }, a.count ?? ''),
    h(
      'td',
      { class: 'c-cited' },
      h('a', { href: citedSearch(a), class: 'cited', title: 'the events of its window and group' }, `${a.events ?? ''} events →`),
      h('span', { class: 'muted seqs' }, ' seqs ', seqLinks(a.first_seqs), a.last_seqs ? [' … ', seqLinks(a.last_seqs)] : null),
    ),
  );
}

/** showAlerts - the Alerts page: the newest 100 alerts, refreshed while it shows. */
export async function showAlerts() {
  stopDetect();
  const my = gen;
  let res;
  try {
    res = await getJSON('/v1/events?event=trail_alert&limit=100');
  } catch (e) {
    if (my === gen) put($('alerts-state'), h('span', { class: 'error' }, 'alerts: ' + e.message));
    return;
  }
  if (my !== gen) return;
  const evs = res.events || [];
  put($('alerts-state'), evs.length ? `${evs.length}${res.more ? '+' : ''} alerts, newest first` : 'no alerts');
  put($('alerts-rows'), ...evs.map(alertRow));
  timer = setTimeout(() => my === gen && !document.hidden && showAlerts(), REFRESH_MS);
}

function ruleDetail(r, files, alerts) {
  const f = files.find((x) => x.path === r.file);
  const firing = h('div', { id: 'rule-firings', class: 'muted' }, 'firings per day: …');
  const box = h(
    'div',
    {},
    h('h2', { id: 'rule-title' }, r.title),
    h(
      'p',
      { class: 'muted' },
      `${r.type} · level ${r.level} · ${r.status || 'no status'} · `,
      r.applicable ? (r.alerts_on_its_own ? 'alerts' : 'alerts through the correlations that name it') : 'not applicable (another product)',
      r.grace_s ? ` · grace ${r.grace_s} s` : '',
      r.timespan_s ? ` · window ${r.timespan_s} s` : '',
      r.group_by && r.group_by.length ? ` · by ${r.group_by.join(', ')}` : '',
    ),
    r.description ? h('p', {}, r.description) : null,
    h('p', {}, `alerts since traild started: ${(alerts[r.key] || {}).count || 0}`),
    firing,
    h('h3', {}, `${r.file} (line ${r.line})`),
    h('pre', { id: 'rule-source', class: 'source' }, f ? f.text : '(not shown)'),
  );
  if (r.id || r.name) {
    const where = r.id ? 'rule_id=' + r.id : 'rule=' + r.name;
    getJSON('/v1/count?event=trail_alert&by=day&where=' + encodeURIComponent(where))
      .then((c) =>
        put(
          firing,
          'firings per day: ',
          c.rows.length
            ? c.rows.map((row, i) => [i ? ', ' : '', `${row.keys[0]}: ${row.count}`])
            : 'none stored',
          ' · ',
          h('a', { href: './?event=trail_alert&where=' + encodeURIComponent(where) }, 'search them →'),
        ),
      )
      .catch((e) => put(firing, h('span', { class: 'error' }, e.message)));
  }
  return box;
}

/** showRules - the Rules page: every rule in force, the chosen one's source and firings. */
export async function showRules(chosen) {
  stopDetect();
  const my = gen;
  let d;
  try {
    d = await getJSON('/v1/rules');
  } catch (e) {
    if (my === gen) put($('rules-state'), h('span', { class: 'error' }, 'rules: ' + e.message));
    return;
  }
  if (my !== gen) return;
  if (!d.enabled) {
    put($('rules-state'), 'detection is off: no [detect] rules in the configuration (docs/detection.md)');
    put($('rules-list'));
    put($('rule-detail'));
    return;
  }
  const alerts = d.alerts || {};
  put(
    $('rules-state'),
    `${d.rules.length} rules from ${d.dir} (${d.not_applicable} not applicable), ${d.errors} errors, ${d.warnings} warnings · evaluated to seq ${d.cursor}, ${d.lag} behind`,
    d.problems.length ? h('ul', { class: 'problems' }, d.problems.map((p) => h('li', { class: 'error' }, p))) : null,
  );
  put(
    $('rules-list'),
    ...d.rules.map((r) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            href: '?view=rules&id=' + encodeURIComponent(r.key),
            'data-key': r.key,
            'aria-current': r.key === chosen ? 'true' : 'false',
          },
          h('span', { class: 'level level-' + r.level }, r.level),
          ' ',
          r.title,
          !r.applicable ? h('span', { class: 'tag' }, 'n/a') : null,
          (alerts[r.key] || {}).count ? h('span', { class: 'tag' }, `${alerts[r.key].count} alerts`) : null,
        ),
      ),
    ),
  );
  const r = d.rules.find((x) => x.key === chosen);
  put($('rule-detail'), r ? ruleDetail(r, d.files || [], alerts) : h('p', { class: 'muted' }, 'choose a rule'));
}
