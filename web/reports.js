// reports.js - the viewer's Reports page (docs/reports.md, docs/viewer.md):
// the reports traild serves, listed by category (GET /v1/reports); one
// report with its sections, its schedule and its last scheduled run; a run
// for an instant ("as of", default now; each section's period is read
// against it) drawn as tables with bars from the JSON run
// (GET /v1/reports/NAME/run?format=json); print; and CSV and HTML downloads
// through one-use links (POST /v1/reports/NAME/run gives one, as the
// search's Export does), so the file comes from traild, byte for byte what
// `trail report run` writes.
//
// The run's HTML page is not shown in a frame: the viewer's CSP allows no
// frames, and the JSON holds the same figures. Everything is made with h(),
// never from HTML: report titles and event values are text.
//
// Not here: routing (app.js), the reports themselves (traild, daemon/reports).

import { getJSON, postJSON } from './api.js';
import { $, h, put, fmtTime, toLocalInput, fromLocalInput } from './util.js';
import { state, saveUrl } from './state.js';

let list = null; // the last GET /v1/reports
let gen = 0; // a newer showReports makes older answers stale

/** the run's parameters: format and, when one is chosen, the instant it runs for */
function runParams(format) {
  const p = new URLSearchParams({ format });
  if (state.reportNow) p.set('now', state.reportNow);
  return p;
}

function lastRunText(r) {
  const l = r.last_run;
  if (!r.schedule) return 'not scheduled';
  if (!l) return 'none yet';
  return `${fmtTime(l.now)}: ${l.status}${l.made_up ? ' (made up)' : ''}`;
}

function listPane(reports) {
  const byCat = new Map();
  for (const r of reports) {
    if (!byCat.has(r.category)) byCat.set(r.category, []);
    byCat.get(r.category).push(r);
  }
  const cats = [...byCat.keys()].sort();
  return cats.map((c) =>
    h(
      'li',
      { class: 'rep-cat', 'data-category': c },
      h('h3', {}, c),
      h(
        'ul',
        {},
        byCat.get(c).map((r) =>
          h(
            'li',
            {},
            h(
              'a',
              {
                href: '?view=reports&report=' + encodeURIComponent(r.name),
                class: 'replink',
                'data-name': r.name,
                'aria-current': r.name === state.report ? 'true' : 'false',
              },
              h('span', { class: 'rep-title' }, r.title),
              r.schedule ? h('span', { class: 'tag', title: r.schedule }, 'scheduled') : null,
              r.source === 'api' ? h('span', { class: 'tag' }, 'api') : null,
            ),
          ),
        ),
      ),
    ),
  );
}

/** the schedules of every report that has one: when, where to, next and last run */
function schedulesTable(reports) {
  const sched = reports.filter((r) => r.schedule);
  if (!sched.length) return h('p', { class: 'muted', id: 'rep-schedules' }, 'No report is scheduled.');
  return h(
    'table',
    { class: 'sinks', id: 'rep-schedules' },
    h('thead', {}, h('tr', {}, ['report', 'schedule', 'delivered to', 'next run', 'last run'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      sched.map((r) =>
        h(
          'tr',
          { 'data-name': r.name },
          h('td', {}, h('a', { href: '?view=reports&report=' + encodeURIComponent(r.name), class: 'replink', 'data-name': r.name }, r.name)),
          h('td', {}, r.schedule),
          h('td', {}, r.deliver || 'recorded only'),
          h('td', {}, r.next_run ? fmtTime(r.next_run) : ''),
          h('td', { class: 'c-last' + (r.last_run && r.last_run.status === 'failed' ? ' error' : '') }, lastRunText(r)),
        ),
      ),
    ),
  );
}

function kv(rows) {
  return h(
    'table',
    { class: 'kv' },
    h('tbody', {}, rows.filter(Boolean).map(([k, v, cls]) => h('tr', {}, h('th', {}, k), h('td', { class: cls || '' }, v)))),
  );
}

function lastRunBlock(r) {
  const l = r.last_run;
  if (!r.schedule) return null;
  return h(
    'div',
    { class: 'rep-schedule', id: 'rep-last-run' },
    h('h3', {}, 'Schedule'),
    kv([
      ['schedule', r.schedule],
      ['zone', r.zone],
      ['delivered to', r.deliver || 'recorded only (no deliver)'],
      ['formats', (r.formats || []).join(', ')],
      ['next run', r.next_run ? fmtTime(r.next_run) : ''],
      ['last run', l ? lastRunText(r) : 'none yet', l && l.status === 'failed' ? 'error' : ''],
      l ? ['ran', fmtTime(l.ran)] : null,
      l ? ['period', `${l.since ? fmtTime(l.since) : '…'} to ${l.until ? fmtTime(l.until) : '…'}`] : null,
      l ? ['tree size', String(l.tree_size)] : null,
      l && l.reason ? ['reason', l.reason, 'error'] : null,
    ]),
    l && l.files && l.files.length
      ? h(
          'table',
          { class: 'sinks rep-files' },
          h('thead', {}, h('tr', {}, h('th', {}, 'file'), h('th', {}, 'SHA-256'))),
          h('tbody', {}, l.files.map((f) => h('tr', {}, h('td', {}, f.name), h('td', { class: 'hash' }, f.sha256)))),
        )
      : null,
    l ? h('p', { class: 'muted' }, 'trail report check FILE --store DIR holds a filed copy to this run.') : null,
  );
}

function period(s) {
  return `${s.range}: ${s.since ? fmtTime(s.since) : '…'} to ${s.until ? fmtTime(s.until) : '…'}`;
}

function countSection(s) {
  const max = Math.max(1, ...s.rows.map((r) => r.count));
  return [
    h(
      'table',
      { class: 'sinks rep-count' },
      h('thead', {}, h('tr', {}, (s.by || []).map((b) => h('th', {}, b)), h('th', { class: 'num' }, 'count'), h('th', {}, ''))),
      h(
        'tbody',
        {},
        s.rows.map((r) => {
          const bar = h('span', { class: 'bar' });
          bar.style.width = ((100 * r.count) / max).toFixed(1) + '%'; // CSSOM: allowed by the CSP
          return h(
            'tr',
            { class: 'rep-row' },
            r.keys.map((k) => h('td', { class: 'c-key' }, k === null ? '(none)' : String(k))),
            h('td', { class: 'num' }, String(r.count)),
            h('td', { class: 'c-bar' }, bar),
          );
        }),
        h(
          'tr',
          { class: 'rep-total' },
          h('th', { colspan: String(Math.max(1, (s.by || []).length)) }, 'total'),
          h('td', { class: 'num' }, String(s.total)),
          h('td', {}, s.groups > s.rows.length ? `${s.rows.length} of ${s.groups} rows shown` : ''),
        ),
      ),
    ),
  ];
}

function eventsSection(s) {
  return [
    h(
      'table',
      { class: 'sinks rep-events' },
      h('thead', {}, h('tr', {}, ['time', 'severity', 'event', 'host', 'seq', 'attributes'].map((t) => h('th', {}, t)))),
      h(
        'tbody',
        {},
        s.events.map((e) =>
          h(
            'tr',
            { class: 'rep-row', 'data-seq': e.seq },
            h('td', {}, fmtTime(e.time)),
            h('td', {}, e.severity_name || e.severity),
            h('td', {}, e.id),
            h('td', {}, e.host || ''),
            h('td', { class: 'num' }, h('a', { href: './?seq=' + e.seq }, String(e.seq))),
            h(
              'td',
              { class: 'c-attrs' },
              Object.entries(e.attrs || {})
                .map(([k, v]) => `${k}=${v}`)
                .join(' '),
            ),
          ),
        ),
      ),
    ),
    s.more ? h('p', { class: 'muted' }, `the first ${s.events.length}: the report's limit`) : null,
  ];
}

/** a sinks or checkpoints section: trail's own state, a summary and rows (docs/reports.md) */
function stateSection(s) {
  const text = (v) => (v === null || v === undefined ? '-' : String(v));
  const cols = s.rows.length ? Object.keys(s.rows[0]) : [];
  return [
    h(
      'table',
      { class: 'sinks rep-summary' },
      h('tbody', {}, Object.entries(s.summary || {}).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, text(v))))),
    ),
    cols.length
      ? h(
          'table',
          { class: 'sinks rep-state' },
          h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c)))),
          h('tbody', {}, s.rows.map((r) => h('tr', { class: 'rep-row' }, cols.map((c) => h('td', {}, text(r[c])))))),
        )
      : null,
  ];
}

function sectionBody(s) {
  if (s.kind === 'count') return countSection(s);
  if (s.kind === 'events') return eventsSection(s);
  return stateSection(s);
}

function sectionTotal(s) {
  if (s.kind === 'count') return String(s.total);
  if (s.kind === 'events') return String(s.events.length);
  return String(s.rows.length);
}

function runView(run) {
  return [
    h('h2', { class: 'rep-run-title' }, run.title),
    h('p', { class: 'muted' }, `${run.category} · run for ${fmtTime(run.now)}`),
    run.description ? h('p', { class: 'desc' }, run.description) : null,
    run.sections.map((s, i) =>
      h(
        'section',
        {
          class: 'rep-section',
          'data-index': String(i),
          'data-kind': s.kind,
          'data-total': sectionTotal(s),
        },
        h('h3', {}, s.title),
        h('p', { class: 'muted rep-period' }, period(s)),
        sectionBody(s),
      ),
    ),
  ];
}

/** download the run in format (csv, html) through a one-use link */
async function download(format, btn) {
  btn.disabled = true;
  try {
    const { url } = await postJSON(`/v1/reports/${encodeURIComponent(state.report)}/run?` + runParams(format));
    const a = h('a', { href: url, download: `${state.report}.${format}`, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    put($('rep-run-state'), h('span', { class: 'error' }, `${format}: ${e.message}`));
  } finally {
    btn.disabled = false;
  }
}

async function run() {
  const my = gen;
  put($('rep-result'));
  put($('rep-run-state'), 'running…');
  document.body.dataset.reportRunning = '1';
  try {
    const res = await getJSON(`/v1/reports/${encodeURIComponent(state.report)}/run?` + runParams('json'));
    if (my !== gen) return;
    put($('rep-result'), runView(res));
    put($('rep-run-state'), `run for ${fmtTime(res.now)}`);
  } catch (e) {
    if (my === gen) put($('rep-run-state'), h('span', { class: 'error' }, 'run: ' + e.message));
  } finally {
    if (my === gen) delete document.body.dataset.reportRunning;
  }
}

function reportPane(r) {
  const now = h('input', {
    type: 'datetime-local',
    id: 'rep-now',
    step: '1',
    value: state.reportNow ? toLocalInput(state.reportNow) : '',
    title: 'the instant the report is run for; empty: now',
  });
  now.addEventListener('change', () => {
    state.reportNow = fromLocalInput(now.value);
    saveUrl(false);
  });
  const csv = h('button', { type: 'button', id: 'rep-csv' }, 'CSV');
  const html = h('button', { type: 'button', id: 'rep-html' }, 'HTML');
  csv.addEventListener('click', () => download('csv', csv));
  html.addEventListener('click', () => download('html', html));
  return [
    h('h2', {}, r.name),
    h('p', { class: 'desc' }, r.title),
    h('p', { class: 'muted' }, r.category, r.source === 'api' ? ' · made through the API' : ''),
    r.description ? h('p', {}, r.description) : null,
    h(
      'ul',
      { class: 'rep-sections' },
      r.sections.map((s) => h('li', {}, `${s.title} `, h('span', { class: 'muted' }, `(${s.kind}, ${s.range})`))),
    ),
    lastRunBlock(r),
    h(
      'div',
      { class: 'rep-controls' },
      h('label', {}, 'as of ', now),
      h('button', { type: 'button', id: 'rep-run', onclick: () => run() }, 'Run'),
      h('button', { type: 'button', id: 'rep-print', onclick: () => window.print() }, 'Print'),
      h('span', { class: 'muted' }, 'download'),
      csv,
      html,
      h('span', { id: 'rep-run-state', class: 'muted', 'aria-live': 'polite' }),
    ),
    h('div', { id: 'rep-result', class: 'rep-result' }),
  ];
}

/** showReports - the Reports page: the list by category, and the chosen report. */
export async function showReports() {
  const my = ++gen;
  try {
    list = (await getJSON('/v1/reports')).reports || [];
  } catch (e) {
    if (my === gen) put($('rep-list'), h('li', { class: 'error' }, 'reports: ' + e.message));
    return;
  }
  if (my !== gen) return;
  put($('rep-count'), `${list.length} reports`);
  put($('rep-list'), listPane(list));
  const r = list.find((x) => x.name === state.report);
  if (r) {
    put($('rep-detail'), reportPane(r));
    run();
  } else
    put(
      $('rep-detail'),
      state.report ? h('p', { class: 'error' }, `no report ${state.report}`) : h('h2', {}, 'Schedules'),
      state.report ? null : schedulesTable(list),
    );
}
